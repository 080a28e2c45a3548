#!/bin/bash
# The nested crash study (not part of the default suite): boots the default guest many times in
# nested L1s, with vmm and with QEMU (-M q35,accel=kvm,kernel-irqchip=split -cpu host), 1 vCPU /
# 512 MiB and 2 vCPUs / 4 GiB, and counts each outcome per arm: ok, crash (the L2 guest died
# before init, e.g. a triple fault), hang, fail, and L1 kernel panics (charged to the arm that
# was running). An L1 that panics or hangs is booted again and the study goes on from the next
# round. Results: tests/nested/CRASH-STUDY.md explains the method and what was found.
# Usage: crash-study.sh BUILD_DIR OUTDIR [MINUTES [ROUNDS_PER_L1 [L1_ARGS...]]]
#   L1_ARGS: l1.flood=N (a console flood of N lines after init, see crash-study-l1.sh),
#   l1.arms=vmm-1c-512M,qemu-1c-512M (which arms), l1.keyhold=0 (no static-key holder).
#   L1_QEMU_ARGS="-accel tcg,thread=single" runs the emulator single-threaded.
set -u
build=$(cd "${1:?usage: crash-study.sh BUILD_DIR OUTDIR [MINUTES [ROUNDS_PER_L1 [L1_ARGS...]]]}" && pwd)
outdir=${2:?}
minutes=${3:-60}
per_l1=${4:-25}
shift 4 2>/dev/null || shift $#
l1_args="$*"
here=$(cd "$(dirname "$0")" && pwd)
. "$here/l1.sh"
mkdir -p "$outdir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
build_l1_initramfs "$build/vmm" "$build/guest" "$work/l1.cpio.gz" qemu || exit 1
l1_pick_emulator "$build"
deadline=$(($(date +%s) + minutes * 60))
round=1 l1_boots=0
: >"$outdir/study.log"
while [ "$(date +%s)" -lt "$deadline" ]; do
	l1_boots=$((l1_boots + 1))
	left=$(( (deadline - $(date +%s)) ))
	log=$work/l1-$l1_boots.log
	run_l1_batch "$work/l1.cpio.gz" "l1.run=study l1.rounds=$per_l1 l1.first=$round $l1_args" "$log" "$left" 300
	rc=$?
	tr -d '\r' <"$log" | grep -E "^STUDY:" >>"$outdir/study.log"
	if grep -q "Kernel panic" "$log"; then
		arm=$(tr -d '\r' <"$log" | sed -n 's/^STUDY: start arm=\([^ ]*\).*/\1/p' | tail -n 1)
		echo "STUDY: l1-panic arm=${arm:-none} l1_boot=$l1_boots" >>"$outdir/study.log"
		tr -d '\r' <"$log" | grep -E "RIP:|Kernel panic|BUG:|stack" | head -n 6 | sed 's/^/STUDY:     panic: /' >>"$outdir/study.log"
	elif [ $rc -eq 125 ]; then
		arm=$(tr -d '\r' <"$log" | sed -n 's/^STUDY: start arm=\([^ ]*\).*/\1/p' | tail -n 1)
		echo "STUDY: l1-hang arm=${arm:-none} l1_boot=$l1_boots" >>"$outdir/study.log"
	fi
	last=$(sed -n 's/^STUDY: run arm=[^ ]* round=\([0-9]*\).*/\1/p' "$outdir/study.log" | tail -n 1)
	round=$(( ${last:-$((round - 1))} + 1 ))
done
# Counts per arm.
awk '
	/^STUDY: run / { split($3, a, "="); split($5, o, "="); n[a[2]]++; c[a[2], o[2]]++; arms[a[2]] = 1 }
	/^STUDY: l1-panic / { split($3, a, "="); p[a[2]]++ }
	/^STUDY: l1-hang / { split($3, a, "="); h[a[2]]++ }
	END {
		printf "| arm | boots | ok | crash | hang | fail | L1 panics | L1 hangs |\n|---|---|---|---|---|---|---|---|\n"
		for (arm in arms) printf "| %s | %d | %d | %d | %d | %d | %d | %d |\n", arm, n[arm], c[arm, "ok"], c[arm, "crash"], c[arm, "hang"], c[arm, "fail"], p[arm], h[arm]
	}' "$outdir/study.log" | tee "$outdir/summary.md"
echo "L1 boots: $l1_boots" | tee -a "$outdir/summary.md"
