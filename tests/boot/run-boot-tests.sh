#!/bin/bash
# Runs the boot test scenarios (tests/boot/scenarios.sh) with a real Linux guest: directly where
# /dev/kvm can run guests (vmm kvm-check), otherwise inside a nested L1 under QEMU's emulator.
# Usage: run-boot-tests.sh BUILD_DIR [tests|bench]
set -u
build=$(cd "${1:?usage: run-boot-tests.sh BUILD_DIR [tests|bench]}" && pwd)
what=${2:-tests}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../nested/l1.sh"
vmm=$build/vmm
guest=$build/guest
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -n "${BOOT_TEST_REPLAY:-}" ] || [ -r "$guest/bzImage" ] || { echo "no guest in $guest: build it with guest/build-guest.sh" >&2; exit 1; }
script=scenarios.sh
[ "$what" = bench ] && script=bench.sh

# BOOT_TEST_REPLAY=DIR: no KVM and no emulator; attempt N's serial log is DIR/N.log and the
# emulator status it pretends is DIR/N.rc (default 0). tests/boot/test-runner.sh uses it to check
# this script's decisions (retries, L1 hangs and panics, the verdict) on recorded logs.
replay=${BOOT_TEST_REPLAY:-}
# The benchmark's history (bench-history.sh): every run's boots, pooled with the earlier runs of
# the same set-up. A replay writes none unless BENCH_HISTORY names a file.
history=${BENCH_HISTORY:-}
[ -n "$history$replay" ] || history=$build/bench-history.txt
# bench_pool FILE...: this run's BENCH lines into the history, and the pooled figures.
bench_pool() {
	[ "$what" = bench ] && [ -n "$history" ] || return 0
	# The set-up: what decides the figures (vmm, the guest, the benchmark and the L1's /init).
	setup=${BENCH_SETUP:-$(cat "$vmm" "$guest/vmlinux" "$guest/bzImage" "$guest/initramfs.cpio.lz4" \
		"$here/bench.sh" "$here/../nested/l1-init" 2>/dev/null | sha256sum | cut -c1-12)}
	sh "$here/bench-history.sh" "$history" "$setup" "$@"
}
. "$here/verdict.sh"

if [ -z "$replay" ] && "$vmm" kvm-check >/dev/null 2>"$work/kvm-check.err"; then
	echo "boot tests: running directly on /dev/kvm"
	log=$work/direct.log
	VMM=$vmm GUEST_DIR=$guest WORK=$work SCALE=1 sh "$here/$script" | tee "$log"
	echo "L1: $what finished status=${PIPESTATUS[0]}" >>"$log"
	bench_pool "$log"
	boot_verdict "$log" "$what"
	exit $?
fi
if [ -n "$replay" ]; then
	echo "boot tests: replaying recorded L1 logs from $replay"
	run_l1_batch() {
		replay_n=$((${replay_n:-0} + 1))
		echo "boot tests: (replay) L1 boot $replay_n, command line: $2"
		cp "$replay/$replay_n.log" "$3" 2>/dev/null || : >"$3"
		return "$(cat "$replay/$replay_n.rc" 2>/dev/null || echo 0)"
	}
else
	echo "boot tests: /dev/kvm not usable here ($(head -n 1 "$work/kvm-check.err" | sed 's/^vmm: //')); running inside a nested L1 under QEMU's emulator"
	command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 is missing: apt-get install qemu-system-x86" >&2; exit 1; }
	with=""
	if [ "$what" = bench ]; then
		# The boot profile compares with QEMU: the machine's, and QEMU 10 when it can be had
		# (tests/perf/fetch-qemu10.sh, cached in the build folder).
		with=qemu
		q10=$("$here/../perf/fetch-qemu10.sh" "$build/qemu10" 2>/dev/null | head -n 1)
		[ -n "$q10" ] && export L1_QEMU10=${q10%/usr/bin/qemu-system-x86_64}
	fi
	build_l1_initramfs "$vmm" "$guest" "$work/l1.cpio.gz" $with || exit 1
	l1_pick_emulator "$build"
fi
hangs=0 panics=0 wedges=0 timeouts=0 fresh=0 log_kept=""
# All L1 boots together get BOOT_TEST_BUDGET seconds (below meson's timeout for the suite), each
# one at most BOOT_TEST_TIMEOUT of what is left; another L1 starts only with 5 minutes left.
budget=${BOOT_TEST_BUDGET:-3300}
started=$(date +%s)
# Up to BOOT_TEST_L1_BOOTS L1 boots (6), within the budget: L1 hangs and L1 kernel panics (a stack
# overflow in the kernel's exception path inside KVM_RUN, see tests/nested/CRASH-STUDY.md) are
# counted and retried. The budget is what bounds a run; the count only stops an L1 that dies at
# once from being booted for an hour (a slow CI machine lost four L1s in 1,626 s). A retried L1
# runs only the scenarios that have not run yet: the earlier boots' results are kept in
# $earlier and count in the verdict with the last boot's.
earlier=$work/earlier-results.log
: >"$earlier"
skip=""
# bench_skip FILE: what the benchmark's BENCH lines in FILE say is done, as bench.sh's SKIP reads
# it: t.WHO.KERNEL.OK.TRIED for the timed boots, d.WHO.KERNEL[-traced] for the boots made once,
# exitbench and net.
bench_skip() {
	awk '
		/^BENCH: boot vmm=/ {
			split($3, w, "="); split($4, k, "="); traced = index($0, " traced=1 ") > 0
			if (!traced && (k[2] == "bzImage" || k[2] == "vmlinux")) {
				key = w[2] "." k[2]; tried[key]++
				if (!index($0, " failed")) ok[key]++
			} else
				once["d." w[2] "." k[2] (traced ? "-traced" : "")] = 1
		}
		/^BENCH: bench-exit/ { once["exitbench"] = 1 }
		/^BENCH: ran net/ { once["net"] = 1 }
		END {
			for (key in tried) { printf "%st.%s.%d.%d", sep, key, ok[key], tried[key]; sep = "," }
			for (o in once) { printf "%s%s", sep, o; sep = "," }
		}' "$1"
}
l1_boots=${BOOT_TEST_L1_BOOTS:-6}
for attempt in $(seq 1 "$l1_boots"); do
	log=$work/l1-serial.log
	left=$((budget - ($(date +%s) - started)))
	if [ $attempt -gt 1 ] && [ $left -lt 300 ]; then
		echo "boot tests: no L1 boot is left: ${left} s of the ${budget} s budget remain"
		break
	fi
	l1_limit=${BOOT_TEST_TIMEOUT:-2400}
	[ $left -lt "$l1_limit" ] && l1_limit=$left
	# Scenarios print BOOTTEST lines as they go: 900 s without one is a stuck L1 (treated as hung).
	# log_kept: this boot's results are in $earlier already (set below).
	log_kept=""
	run_l1_batch "$work/l1.cpio.gz" "l1.run=$what ${skip:+l1.skip=$skip} ${BOOT_TEST_L1_ARGS:-}" "$log" \
		"$l1_limit" "${BOOT_TEST_STALL:-180}" "^(BOOTTEST|BENCH):" "${BOOT_TEST_PROGRESS:-900}"
	rc=$?
	# Every attempt's serial log stays in the build folder: an L1 hang or panic is evidence for
	# the nested crash study (tests/nested/CRASH-STUDY.md).
	[ -z "$replay" ] && cp "$log" "$build/boot-$what-l1-serial-attempt$attempt.log" 2>/dev/null
	[ -z "$replay" ] && cp "$log.kallsyms" "$build/boot-$what-l1-kallsyms-attempt$attempt.gz" 2>/dev/null
	# A stalled L2's RIPs (sampled in the L1), named with the kernel's symbols.
	if [ -z "$replay" ] && grep -q "guest RIPs at those exits" "$log"; then
		python3 "$here/../nested/l2-rips.py" "$log" "$log.kallsyms" 2>&1 | sed 's/^/boot tests: /'
	fi
	crashed=""
	if [ $rc -eq 124 ]; then
		# The L1 ran out of time (many L2 retries in one boot): what is left runs in another.
		timeouts=$((timeouts + 1))
		crashed=1
		echo "boot tests: RETRY L1: it timed out after $l1_limit s, attempt $attempt; results so far:"
		tr -d '\r' <"$log" | grep -E "^BOOTTEST: (PASS|FAIL|RETRY)" | sed 's/^/    /'
	elif [ $rc -eq 125 ]; then
		hangs=$((hangs + 1))
		crashed=1
		if grep -q "^L1-NO-PROGRESS" "$log"; then
			echo "boot tests: RETRY L1: its scenarios stopped ($(sed -n 's/^L1-NO-PROGRESS: //p' "$log" | head -n 1)), attempt $attempt; log tail:"
		else
			echo "boot tests: RETRY L1: hung (nothing from its user space for ${BOOT_TEST_STALL:-180}s), attempt $attempt; log tail:"
		fi
		tail -n 20 "$log" | tr -d '\r' | sed 's/^/    /'
		sed 's/^/    /' "$log.cpus" 2>/dev/null
		[ -z "$replay" ] && cp "$log.cpus" "$build/boot-$what-l1-cpus-attempt$attempt.txt" 2>/dev/null
	elif tr -d '\r' <"$log" | grep -q "^BOOTTEST: L1-WEDGED"; then
		# The L1 lives but can run no more guests (scenarios.sh: a VMM's vhost device that is never
		# released after its L2 guest stalled).
		wedges=$((wedges + 1))
		crashed=1
		echo "boot tests: RETRY L1: it can run no more guests, attempt $attempt: $(tr -d '\r' <"$log" | sed -n 's/^BOOTTEST: L1-WEDGED //p' | head -n 1)"
		tr -d '\r' <"$log" | grep -E "^BOOTTEST: (PASS|FAIL|RETRY)" | sed 's/^/    /'
	elif grep -q "Kernel panic" "$log" && ! grep -q "^L1: \(tests\|bench\) finished" "$log"; then
		panics=$((panics + 1))
		crashed=1
		echo "boot tests: RETRY L1: its kernel panicked, attempt $attempt; results so far and the panic:"
		tr -d '\r' <"$log" | grep -E "^BOOTTEST: (PASS|FAIL|RETRY)" | sed 's/^/    /'
		tr -d '\r' <"$log" | grep -E "RIP:|Kernel panic|BUG:|Oops" | head -n 5 | sed 's/^/    /'
	fi
	if [ -z "$crashed" ]; then
		# The L1 finished. A scenario whose every attempt in it ended in a nested crash or stall
		# (scenarios.sh's NESTED-EXHAUSTED, not marked as run) runs once more in a new L1 boot:
		# once per run, so that a scenario that always dies still fails.
		exhausted=$(tr -d '\r' <"$log" | sed -n 's/^BOOTTEST: NESTED-EXHAUSTED \([a-z0-9_]*\):.*/\1/p' | tr '\n' ' ')
		[ -n "$exhausted" ] && [ $fresh = 0 ] || break
		fresh=1
		echo "boot tests: RETRY in a new L1: ${exhausted% } (every attempt in this L1 ended in a nested crash or stall), attempt $attempt"
	fi
	# Keep what this boot finished; the next boot skips those scenarios (for the benchmark: the
	# boots it made, and counts them in the medians).
	if [ "$what" = bench ]; then
		tr -d '\r' <"$log" | grep -E "^BENCH: " >>"$earlier"
		skip=$(bench_skip "$earlier")
	else
		tr -d '\r' <"$log" | grep -E "^BOOTTEST: (PASS|FAIL|RETRY)" >>"$earlier"
		for s in $(tr -d '\r' <"$log" | sed -n 's/^BOOTTEST: ran \([a-z0-9_]*\).*/\1/p'); do
			skip=${skip:+$skip,}$s
		done
	fi
	log_kept=1
	[ -n "$skip" ] && echo "boot tests: the next L1 boot skips what has run: $skip"
done
echo "boot tests: L1 panics in this run: $panics"
echo "boot tests: L1 hangs in this run: $hangs"
echo "boot tests: L1s that could run no more guests in this run: $wedges"
echo "boot tests: L1 boots that ran out of time in this run: $timeouts"
echo "boot tests: new L1 boots for scenarios whose attempts all ended in nested flakes: $fresh"
[ -s "$earlier" ] && { echo "boot tests: results of the earlier L1 boots:"; sed 's/^/  /' "$earlier"; }
tr -d '\r' <"$log" | grep -E "^(BOOTTEST|BENCH|L1:|    |---|[0-9]+ passed)" | grep -v "^L1: \(tests\|bench\) finished\|^L1: alive"
# The benchmark's medians and ratio, over the boots of every L1 boot of this run.
if [ "$what" = bench ]; then
	if [ -n "$log_kept" ]; then set -- "$earlier"; else set -- "$earlier" "$log"; fi
	sh "$here/bench-medians.sh" "$@"
	bench_pool "$@"
fi
if [ $rc -eq 124 ]; then
	echo "boot tests: L1 timed out; log tail:"
	tail -n 30 "$log" | tr -d '\r' | sed 's/^/    /'
	echo "boot tests: verdict FAIL: the L1 timed out"
	exit 1
fi
if ! grep -q "^L1: \(tests\|bench\) finished" "$log"; then
	echo "boot tests: L1 ended before the scenarios finished (emulator status $rc); log tail:"
	tail -n 40 "$log" | tr -d '\r' | sed 's/^/    /'
	tail -n 5 "$log.qemu" 2>/dev/null | sed 's/^/    qemu: /'
fi
# Kept for a look after the run (CI prints only the report above).
[ -z "$replay" ] && cp "$log" "$build/boot-$what-l1-serial.log" 2>/dev/null
# The verdict over every boot's results: the earlier boots' first, so that each scenario's last
# attempt decides.
cat "$earlier" "$log" >"$work/all-results.log"
boot_verdict "$work/all-results.log" "$what"
