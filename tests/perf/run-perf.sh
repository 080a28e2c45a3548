#!/bin/bash
# Runs the vmm-against-QEMU harness (perf-run.sh) where KVM is: directly when `vmm kvm-check`
# passes and /dev/vhost-net exists, else inside one nested L1 that runs all the VMMs: vmm, the
# machine's QEMU (Debian 12: 7.2) and QEMU 10 from bookworm-backports, fetched once into
# BUILD_DIR/qemu10 by fetch-qemu10.sh (its cells say "unavailable", with the reason, when it
# cannot be had; the run goes on). Then writes perf.json, perf.md and the plots with report.py.
# Usage: run-perf.sh BUILD_DIR OUTDIR quick|short|full [--check]
set -u
build=$(cd "${1:?usage: run-perf.sh BUILD_DIR OUTDIR quick|short|full [--check]}" && pwd)
outdir=${2:?}
level=${3:-short}
check=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../nested/l1.sh"
case "$level" in
# l1_limit: the whole L1 run's time limit (three VMMs' cells in one boot; a hang is caught sooner,
# by the serial log's silence).
quick) reps=1 secs=2 rrn=500 l1_limit=3000 ;;
short) reps=3 secs=5 rrn=2000 l1_limit=4500 ;;
full) reps=5 secs=15 rrn=10000 l1_limit=9000 ;;
*) echo "run-perf: unknown level '$level' (quick, short or full)" >&2; exit 2 ;;
esac
modes=${PERF_MODES:-noiommu,strict,lazy,passthrough,strict-ir,passthrough-ir}
mkdir -p "$outdir"
log=$outdir/perf-raw.log
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "perf: $level run: $reps repetition(s), ${secs}s transfers, $rrn request/response transactions; modes $modes"
qemu10="" qemu10_reason=""
if q10=$("$here/fetch-qemu10.sh" "$build/qemu10" 2>"$work/qemu10.err"); then
	qemu10=$(echo "$q10" | head -n 1)
	echo "perf: QEMU 10: $(echo "$q10" | sed -n 2p) ($qemu10)"
else
	qemu10_reason=$(tail -n 1 "$work/qemu10.err")
	echo "perf: QEMU 10 unavailable: ${qemu10_reason:=fetch-qemu10.sh failed}"
fi
qemu10_root=${qemu10%/usr/bin/qemu-system-x86_64}

if "$build/vmm" kvm-check >/dev/null 2>&1 && [ -c /dev/vhost-net ]; then
	echo "perf: running directly on /dev/kvm"
	VMM=$build/vmm GUEST_DIR=$build/guest WORK=$work REPS=$reps SECS=$secs RR_N=$rrn SCALE=1 \
		QEMU10=$qemu10 QEMU10_DATA=${qemu10:+$qemu10_root/usr/share/qemu} QEMU10_UNAVAILABLE=$qemu10_reason \
		MODES=$(echo "$modes" | tr , ' ') sh "$here/perf-run.sh" 2>&1 | tee "$log" | grep --line-buffered -E "^perf:"
else
	echo "perf: /dev/kvm cannot run guests here; all VMMs run inside one nested L1 under QEMU's emulator"
	L1_QEMU10=${qemu10:+$qemu10_root} L1_QEMU10_UNAVAILABLE=$qemu10_reason \
		build_l1_initramfs "$build/vmm" "$build/guest" "$work/l1.cpio.gz" qemu || exit 1
	l1_pick_emulator "$build"
	# The cells an L1 boot finished are kept (their lines in $work/earlier.log) and not run again
	# by the next L1 boot of this run (l1.skip=).
	: >"$work/earlier.log"
	skip=""
	for attempt in 1 2 3; do
		l1_boots=$attempt
		: >"$log"
		tail -n +1 -F "$log" 2>/dev/null | grep --line-buffered -E "^(perf:|L1: ready)" &
		tailpid=$!
		# A cell prints a "perf:" line when it starts and when it retries a boot: 720 s without
		# one is a stuck L1, killed and run again like a hung one.
		run_l1_batch "$work/l1.cpio.gz" "l1.run=perf l1.reps=$reps l1.secs=$secs l1.rrn=$rrn l1.modes=$modes${skip:+ l1.skip=$skip}" \
			"$log" "${PERF_TIMEOUT:-$l1_limit}" "${PERF_STALL:-240}" "^(perf|PERF):" "${PERF_PROGRESS:-720}"
		rc=$?
		sleep 1
		kill "$tailpid" 2>/dev/null
		grep -q "^PERF: done" "$log" && break
		echo "perf: the L1 run did not finish (status $rc), attempt $attempt; log tail:"
		tail -n 30 "$log" | tr -d '\r' | sed 's/^/    /'
		# An L1 that hung, whose kernel panicked, that reset (with -no-reboot the emulator then
		# exits at once, status 0, no line before it: seen once after 160 s) or that could run no
		# more guests (PERF: L1-WEDGED) is run again, up to three boots in all, for the cells it
		# did not finish; one that ran out of time is not.
		[ $rc -ne 124 ] || break
		tr -d '\r' <"$log" >"$work/attempt.log"
		kept=$(sh "$here/carry-cells.sh" "$work/attempt.log" "$work/earlier.log")
		[ -n "$kept" ] && skip=${skip:+$skip,}$kept
		[ -n "$skip" ] && echo "perf: the next L1 boot skips what earlier ones finished (a failed cell runs again): $skip"
	done
fi
{
	cat "$work/earlier.log" 2>/dev/null
	tr -d '\r' <"$log"
	[ -n "${l1_boots:-}" ] && echo "PERF: nested l1_boots=$l1_boots emulator=$("$L1_EMULATOR" --version | head -n 1)"
} >"$work/clean.log"
# A stalled L2's RIPs (sampled in the L1), named with the kernel's symbols.
if grep -q "guest RIPs at those exits" "$work/clean.log" && [ -f "$log.kallsyms" ]; then
	python3 "$here/../nested/l2-rips.py" "$work/clean.log" "$log.kallsyms" 2>&1 | sed 's/^/perf: /'
fi
python3 "$here/report.py" "$work/clean.log" "$outdir" $check
