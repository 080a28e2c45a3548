#!/bin/bash
# Checks run-boot-tests.sh's own decisions without KVM: recorded L1 serial logs are replayed
# through it (BOOT_TEST_REPLAY) and its exit status and report are compared with what each
# case must give. Cases: a clean pass; a scenario that triple-faulted and passed on its retry
# (must pass, and say why it retried); a retry that failed again; a failure without retry; an
# L1 panic, then a pass; an L1 hang, then a pass; six hangs (the cap); five L1 panics, then a pass; an L1 out of time, then a pass; an L1 panic after some scenarios
# ran (the next boot skips them, their results count, a failure among them stands); an L1 that
# can run no more guests, then a pass, and six such L1s; a scenario whose attempts all ended in
# nested crashes, run again in a new L1 (passing, and failing again); a timeout;
# a benchmark whose L1 panicked mid-way, resumed in the next (its medians over both); the
# benchmark's history, pooled over the runs of one set-up;
# an L1 that stopped before the end; all scenarios passing while the script's status says
# otherwise; no scenario.
# Usage: test-runner.sh BUILD_DIR
set -u
build=${1:?usage: test-runner.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
pass_log=$here/replay/pass.log
panic_log=$here/replay/l1-panic.log
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0 cases=0

# The recorded passing log with its virtio-net result replaced by FILE's lines.
with_net_result() {
	awk -v repl="$1" '
		/^BOOTTEST: PASS virtio-net-vhost/ { while ((getline l < repl) > 0) print l; next }
		{ print }' "$pass_log"
}

# expect NAME STATUS PATTERN...: replays $work/NAME/ and wants that exit status and every
# extended-regexp PATTERN in the report.
expect() {
	name=$1 want=$2
	shift 2
	cases=$((cases + 1))
	BOOT_TEST_REPLAY=$work/$name "$here/run-boot-tests.sh" "$build" "${WHAT:-tests}" >"$work/$name.report" 2>&1
	got=$?
	ok=1
	[ "$got" = "$want" ] || { echo "test-runner: FAIL $name: exit status $got, want $want"; ok=0; }
	for p in "$@"; do
		grep -q -E -- "$p" "$work/$name.report" || { echo "test-runner: FAIL $name: report lacks /$p/"; ok=0; }
	done
	if [ $ok = 1 ]; then
		echo "test-runner: ok $name (status $got)"
	else
		failures=$((failures + 1))
		sed 's/^/    | /' "$work/$name.report" | tail -n 25
	fi
}

mkcase() { mkdir -p "$work/$1"; }

mkcase pass
cp "$pass_log" "$work/pass/1.log"
expect pass 0 "verdict PASS: 6 scenario\(s\) passed on their last attempt; retries: 0" "L1 panics in this run: 0"

# The case of issue 7: the first attempt failed with a triple fault, the retry passed.
mkcase retry-pass
cat >"$work/retry.txt" <<'T'
BOOTTEST: FAIL virtio-net-vhost: no init marker
--- virtio-net-vhost: vmm stderr
    vmm: exits: io=1 shutdown=1
    vmm: guest reset (triple fault (KVM_EXIT_SHUTDOWN)); exiting with status 4 (use --on-reboot=restart to restart)
BOOTTEST: RETRY virtio-net-vhost: the L2 guest triple-faulted (nested flake: vmm: exits: io=1 shutdown=1 vmm: guest reset (triple fault (KVM_EXIT_SHUTDOWN)); exiting with status 4 (use --on-reboot=restart to restart) ); running it again
BOOTTEST: PASS virtio-net-vhost rx=787Mbit/s tx=520Mbit/s rr=900/s exits=12 packets=20000
T
with_net_result "$work/retry.txt" | sed 's/^BOOTTEST: nested guest crashes retried: 0/BOOTTEST: nested guest crashes retried: 1/' >"$work/retry-pass/1.log"
expect retry-pass 0 "verdict PASS: 6 scenario\(s\) passed on their last attempt; retries: 1" \
	"BOOTTEST: RETRY virtio-net-vhost: the L2 guest triple-faulted .*triple fault \(KVM_EXIT_SHUTDOWN\)"

mkcase retry-fail
head -n 5 "$work/retry.txt" >"$work/retry-fail.txt"
echo "BOOTTEST: FAIL virtio-net-vhost: no init marker" >>"$work/retry-fail.txt"
with_net_result "$work/retry-fail.txt" | sed 's/^L1: tests finished status=0/L1: tests finished status=1/' >"$work/retry-fail/1.log"
expect retry-fail 1 "verdict FAIL: 5 scenario\(s\) passed, 1 failed on their last attempt: virtio-net-vhost; retries: 1"

mkcase fail
echo "BOOTTEST: FAIL virtio-net-vhost: the guest cannot ping the tap" >"$work/fail.txt"
with_net_result "$work/fail.txt" | sed 's/^L1: tests finished status=0/L1: tests finished status=1/' >"$work/fail/1.log"
expect fail 1 "verdict FAIL: .*1 failed on their last attempt: virtio-net-vhost"

mkcase panic-then-pass
cp "$panic_log" "$work/panic-then-pass/1.log"
cp "$pass_log" "$work/panic-then-pass/2.log"
expect panic-then-pass 0 "RETRY L1: its kernel panicked, attempt 1" "Kernel panic - not syncing" \
	"L1 panics in this run: 1" "verdict PASS"

mkcase hang-then-pass
head -n 5 "$pass_log" >"$work/hang-then-pass/1.log"
echo 125 >"$work/hang-then-pass/1.rc"
cp "$pass_log" "$work/hang-then-pass/2.log"
expect hang-then-pass 0 "RETRY L1: hung .*attempt 1" "L1 hangs in this run: 1" "verdict PASS"

# The L1's heartbeat goes on but no scenario line comes (run_l1_batch's L1-NO-PROGRESS).
mkcase stuck-then-pass
{ head -n 5 "$pass_log"; echo "L1: alive 900.1"; echo "L1-NO-PROGRESS: no line matching '^(BOOTTEST|BENCH):' for 900 s (the L1's heartbeat went on)"; } >"$work/stuck-then-pass/1.log"
echo 125 >"$work/stuck-then-pass/1.rc"
cp "$pass_log" "$work/stuck-then-pass/2.log"
expect stuck-then-pass 0 "RETRY L1: its scenarios stopped \(no line matching .* for 900 s" "L1 hangs in this run: 1" "verdict PASS"

mkcase six-hangs
for n in 1 2 3 4 5 6 7; do head -n 5 "$pass_log" >"$work/six-hangs/$n.log"; echo 125 >"$work/six-hangs/$n.rc"; done
expect six-hangs 1 "L1 hangs in this run: 6" "verdict FAIL"

# Five L1 panics (the known signature), then an L1 that runs everything: the sixth boot counts.
mkcase five-panics-then-pass
for n in 1 2 3 4 5; do cp "$panic_log" "$work/five-panics-then-pass/$n.log"; done
cp "$pass_log" "$work/five-panics-then-pass/6.log"
expect five-panics-then-pass 0 "RETRY L1: its kernel panicked, attempt 5" "L1 panics in this run: 5" "verdict PASS"

# An L1 panic after two scenarios ran: the next L1 boot skips them, and their results count.
mkcase panic-resume
{
	echo "L1: ready (6.1.0-56-amd64, /dev/kvm present)"
	echo "BOOTTEST: PASS smp1-console-poweroff ttyS0-irqs=489->1689 uptime-at-init=6.87s"
	echo "BOOTTEST: ran smp1_console"
	echo "BOOTTEST: PASS smp2-reboot cpus=2 status=4"
	echo "BOOTTEST: ran smp2_reboot"
	grep -E "BUG:|RIP:|Kernel panic" "$panic_log"
} >"$work/panic-resume/1.log"
{
	echo "L1: ready (6.1.0-56-amd64, /dev/kvm present)"
	echo "BOOTTEST: skipped smp1_console (ran in an earlier L1 boot)"
	echo "BOOTTEST: skipped smp2_reboot (ran in an earlier L1 boot)"
	grep -E "^BOOTTEST: PASS (bigmem|sigterm|reboot-restart|virtio-net)" "$pass_log"
	echo "BOOTTEST: done"
	echo "L1: tests finished status=0"
} >"$work/panic-resume/2.log"
expect panic-resume 0 "RETRY L1: its kernel panicked, attempt 1" "next L1 boot skips what has run: smp1_console,smp2_reboot" \
	"L1 boot 2, command line: l1.run=tests l1.skip=smp1_console,smp2_reboot" \
	"verdict PASS: 6 scenario\(s\) passed on their last attempt"

# A scenario that failed before the L1 panicked is not run again: its failure stands.
mkcase fail-then-panic
sed 's/^BOOTTEST: PASS smp2-reboot.*/BOOTTEST: FAIL smp2-reboot: exit status 0 after reboot, want 4/' "$work/panic-resume/1.log" >"$work/fail-then-panic/1.log"
cp "$work/panic-resume/2.log" "$work/fail-then-panic/2.log"
expect fail-then-panic 1 "l1.skip=smp1_console,smp2_reboot" "verdict FAIL: 5 scenario\(s\) passed, 1 failed on their last attempt: smp2-reboot"

# The L1 lives but can run no more guests (a stalled L2 left its vhost device unreleased): the
# scenario that met it is not marked as run, so a new L1 runs it and what is left; the stall's
# FAIL line from the first L1 does not decide.
mkcase wedge-then-pass
{
	echo "L1: ready (6.1.0-56-amd64, /dev/kvm present)"
	for n in smp1-console-poweroff smp2-reboot bigmem-4G sigterm-power-button reboot-restart; do grep "^BOOTTEST: PASS $n" "$pass_log"; done
	echo "BOOTTEST: ran smp1_console"
	echo "BOOTTEST: FAIL virtio-net-vhost: no init marker"
	echo "BOOTTEST: RETRY virtio-net-vhost: the L2 guest stopped making progress (waiting for 'VMM-GUEST: init-ready'; vmm: exits: io=101157 mmio=290 ); running it again"
	echo "BOOTTEST: FAIL virtio-net-vhost: vmmtap0 still exists 60 s after the last VMM ended (its vhost device is not released)"
	echo "BOOTTEST: L1-WEDGED net: vmmtap0 still exists 60 s after the last VMM ended (its vhost device is not released)"
	echo "--- L1: tasks in uninterruptible sleep"
	echo "BOOTTEST: done"
	echo "5 passed, 0 failed"
	echo "L1: tests finished status=0"
} >"$work/wedge-then-pass/1.log"
{
	echo "L1: ready (6.1.0-56-amd64, /dev/kvm present)"
	echo "BOOTTEST: skipped smp1_console (ran in an earlier L1 boot)"
	grep -E "^BOOTTEST: PASS virtio-net" "$pass_log"
	echo "BOOTTEST: ran net"
	echo "BOOTTEST: done"
	echo "L1: tests finished status=0"
} >"$work/wedge-then-pass/2.log"
expect wedge-then-pass 0 "RETRY L1: it can run no more guests, attempt 1: net: vmmtap0 still exists" \
	"L1 boot 2, command line: l1.run=tests l1.skip=smp1_console " "L1s that could run no more guests in this run: 1" \
	"verdict PASS: 6 scenario\(s\) passed on their last attempt"

# Every attempt of a scenario in one L1 ended in a nested crash (scenarios.sh's NESTED-EXHAUSTED):
# it is not marked as run, and a new L1 boot runs it once more; its result there decides.
mkcase exhausted-then-pass
cat >"$work/exhausted.txt" <<'T'
BOOTTEST: FAIL virtio-net-vhost: no init marker
BOOTTEST: RETRY virtio-net-vhost: the L2 guest triple-faulted (nested flake: vmm: exits: io=1 shutdown=1 ); running it again (attempt 2)
BOOTTEST: FAIL virtio-net-vhost: no init marker
BOOTTEST: RETRY virtio-net-vhost: the L2 guest triple-faulted (nested flake: vmm: exits: io=1 shutdown=1 ); running it again (attempt 3)
BOOTTEST: FAIL virtio-net-vhost: checked transfer to the guest: datacheck: STALLED: write moved nothing for 60 s
BOOTTEST: NESTED-EXHAUSTED net: its 3 attempts in this L1 ended in nested crashes or stalls
T
{
	echo "BOOTTEST: ran smp1_console"
	with_net_result "$work/exhausted.txt"
} | sed 's/^L1: tests finished status=0/L1: tests finished status=1/' >"$work/exhausted-then-pass/1.log"
cp "$work/wedge-then-pass/2.log" "$work/exhausted-then-pass/2.log" # net alone, passing
expect exhausted-then-pass 0 "RETRY in a new L1: net \(every attempt in this L1 ended in a nested crash or stall\), attempt 1" \
	"L1 boot 2, command line: l1.run=tests l1.skip=smp1_console " \
	"new L1 boots for scenarios whose attempts all ended in nested flakes: 1" \
	"verdict PASS: 6 scenario\(s\) passed on their last attempt"

# Only once per run: when the new L1's attempts end the same way, the failure stands.
mkcase exhausted-twice
cp "$work/exhausted-then-pass/1.log" "$work/exhausted-twice/1.log"
{
	echo "L1: ready (6.1.0-56-amd64, /dev/kvm present)"
	echo "BOOTTEST: skipped smp1_console (ran in an earlier L1 boot)"
	cat "$work/exhausted.txt"
	echo "BOOTTEST: done"
	echo "L1: tests finished status=1"
} >"$work/exhausted-twice/2.log"
cp "$pass_log" "$work/exhausted-twice/3.log"
expect exhausted-twice 1 "new L1 boots for scenarios whose attempts all ended in nested flakes: 1" \
	"verdict FAIL: 5 scenario\(s\) passed, 1 failed on their last attempt: virtio-net-vhost"

# The same, but no L1 boot is left to run the scenario again: its failure stands.
mkcase six-wedges
for n in 1 2 3 4 5 6; do cp "$work/wedge-then-pass/1.log" "$work/six-wedges/$n.log"; done
expect six-wedges 1 "L1s that could run no more guests in this run: 6" "verdict FAIL: .*virtio-net-vhost"

# An L1 that ran out of time: what it did not run, runs in the next L1 boot.
mkcase timeout-then-pass
head -n 8 "$pass_log" >"$work/timeout-then-pass/1.log"
echo 124 >"$work/timeout-then-pass/1.rc"
cp "$pass_log" "$work/timeout-then-pass/2.log"
expect timeout-then-pass 0 "RETRY L1: it timed out after [0-9]+ s, attempt 1" "L1 boots that ran out of time in this run: 1" \
	"verdict PASS"

# Every L1 boot ran out of time: the suite fails.
mkcase timeout
for n in 1 2 3 4 5 6; do head -n 8 "$pass_log" >"$work/timeout/$n.log"; echo 124 >"$work/timeout/$n.rc"; done
expect timeout 1 "L1 timed out" "L1 boots that ran out of time in this run: 6" "verdict FAIL"

# No time left for another L1 boot after the first ran out of it.
mkcase no-budget
head -n 8 "$pass_log" >"$work/no-budget/1.log"
echo 124 >"$work/no-budget/1.rc"
cp "$pass_log" "$work/no-budget/2.log"
BOOT_TEST_BUDGET=100 expect no-budget 1 "no L1 boot is left" "verdict FAIL"

mkcase cut-short
head -n 8 "$pass_log" >"$work/cut-short/1.log"
expect cut-short 1 "L1 ended before the scenarios finished" "verdict FAIL: the run did not reach its end"

mkcase status-mismatch
sed 's/^L1: tests finished status=0/L1: tests finished status=1/' "$pass_log" >"$work/status-mismatch/1.log"
expect status-mismatch 1 "verdict FAIL: every scenario's last attempt passed, but the scenario script ended with status '1'"

mkcase no-scenarios
grep -v "^BOOTTEST: \(PASS\|FAIL\)" "$pass_log" >"$work/no-scenarios/1.log"
expect no-scenarios 1 "verdict FAIL: no scenario reported a result"

# The benchmark: an L1 panic after some of its boots. The next L1 boot is told what was done
# (bench.sh's SKIP) and goes on from there; the medians and the ratio count the boots of both,
# and the round-by-round ratios keep each L1 boot's rounds apart.
mkcase bench-resume
{
	echo "L1: ready (6.1.0-57-amd64, /dev/kvm present)"
	echo "BENCH: round 1 kernel=bzImage"
	echo "BENCH: boot vmm=vmm kernel=bzImage wall_to_init_ms=14000 uptime_s=4.0 setup_ms=100"
	echo "BENCH: boot vmm=qemu kernel=bzImage failed: no init marker ()"
	echo "BENCH: round 2 kernel=bzImage"
	echo "BENCH: boot vmm=qemu kernel=bzImage wall_to_init_ms=20000 uptime_s=9.0"
	echo "BENCH: boot vmm=vmm kernel=bzImage traced=1 wall_to_init_ms=15000 uptime_s=4.0 setup_ms=100"
	echo "BENCH: round 1 kernel=vmlinux"
	echo "BENCH: boot vmm=vmm kernel=vmlinux wall_to_init_ms=5000 uptime_s=3.0 setup_ms=600 scrub_ms=7000"
	echo "BENCH: boot vmm=qemu kernel=vmlinux wall_to_init_ms=13000 uptime_s=8.0"
	grep -E "BUG:|RIP:|Kernel panic" "$panic_log"
} >"$work/bench-resume/1.log"
{
	echo "L1: ready (6.1.0-57-amd64, /dev/kvm present)"
	echo "BENCH: round 1 kernel=vmlinux"
	echo "BENCH: boot vmm=vmm kernel=vmlinux wall_to_init_ms=6000 uptime_s=3.5 setup_ms=700 scrub_ms=5000"
	echo "BENCH: boot vmm=qemu kernel=vmlinux wall_to_init_ms=15000 uptime_s=9.0"
	echo "BENCH: round 2 kernel=vmlinux"
	echo "BENCH: boot vmm=vmm kernel=vmlinux wall_to_init_ms=5500 uptime_s=3.2 setup_ms=650 scrub_ms=6000"
	echo "BENCH: boot vmm=qemu kernel=vmlinux wall_to_init_ms=14000 uptime_s=8.5"
	echo "BENCH: boot vmm=qemu kernel=vmlinux-lastbus0 wall_to_init_ms=9000 uptime_s=4.5"
	echo "BENCH: boot-vmm kernel=vmlinux exits: io=1000 mmio=200"
	echo "BENCH: boot-vmm kernel=vmlinux-console exits: io=90000 mmio=200"
	echo "BENCH: bench-exit: iterations=20000 bare_ns_per_exit=30000 dispatch_ns_per_exit=40000 ratio=1.333 dispatcher_user_ns_per_exit=1000.0"
	echo "L1: bench finished status=0"
} >"$work/bench-resume/2.log"
WHAT=bench expect bench-resume 0 "RETRY L1: its kernel panicked, attempt 1" \
	"L1 boot 2, command line: l1.run=bench l1.skip=([^ ]*,)?t\.vmm\.bzImage\.1\.1[, ]" \
	"l1.skip=([^ ]*,)?t\.qemu\.bzImage\.1\.2[, ]" "l1.skip=([^ ]*,)?d\.vmm\.bzImage-traced[, ]" \
	"l1.skip=([^ ]*,)?t\.vmm\.vmlinux\.1\.1[, ]" \
	"BENCH: boot-median vmm=vmm kernel=vmlinux boots=3 wall_to_init_ms=5500 uptime_s=3\.2 setup_ms=650 scrub_ms=6000$" \
	"BENCH: boot-median vmm=qemu kernel=vmlinux boots=3 wall_to_init_ms=14000 " \
	"BENCH: boot-ratio vmm \(vmm vmlinux\) 5500 ms / best peer \(qemu vmlinux\) 14000 ms = 0\.39" \
	"BENCH: boot-ratio-rounds kernel=vmlinux vmm / the faster peer of its round: 0\.38 0\.40 0\.39 \(median 0\.39 of 3 rounds\)" \
	"BENCH: boot-ratio-floor vmm \(vmm vmlinux\) 5500 ms less its own 698 ms \(set-up 650 ms, 1200 exits at 40\.0 us\) / best peer \(qemu vmlinux\) 14000 ms = 0\.34" \
	"verdict PASS: benchmark figures printed"

# The benchmark's history (bench-history.sh): this run's boots are appended, and the figures
# are printed again over every run of the same set-up, here two (the earlier one in the file);
# a run of another set-up stays out. The bench-resume case above wrote no history (a replay
# writes one only where BENCH_HISTORY names it).
mkcase bench-history
cp "$work/bench-resume/2.log" "$work/bench-history/1.log"
{
	echo "BENCH: run setup=0123456789ab date=2026-12-01T09:00Z"
	echo "BENCH: round 1 kernel=vmlinux"
	echo "BENCH: boot vmm=vmm kernel=vmlinux wall_to_init_ms=4000 uptime_s=3.0"
	echo "BENCH: boot vmm=qemu kernel=vmlinux wall_to_init_ms=10000 uptime_s=8.0"
	echo "BENCH: run setup=ffffffffffff date=2026-12-01T10:00Z"
	echo "BENCH: round 1 kernel=vmlinux"
	echo "BENCH: boot vmm=vmm kernel=vmlinux wall_to_init_ms=1000 uptime_s=3.0"
	echo "BENCH: boot vmm=qemu kernel=vmlinux wall_to_init_ms=10000 uptime_s=8.0"
} >"$work/bench-history.txt"
WHAT=bench BENCH_HISTORY=$work/bench-history.txt BENCH_SETUP=0123456789ab expect bench-history 0 \
	"BENCH: boot-ratio vmm \(vmm vmlinux\) 5750 ms / best peer \(qemu vmlinux\) 14500 ms = 0\.40" \
	"BENCH: pooled over 2 run\(s\) of set-up 0123456789ab in .*bench-history\.txt \(1 run\(s\) of other set-ups left out\)" \
	"BENCH: pooled-boot-median vmm=vmm kernel=vmlinux boots=3 wall_to_init_ms=5500 " \
	"BENCH: pooled-boot-ratio vmm \(vmm vmlinux\) 5500 ms / best peer \(qemu vmlinux\) 14000 ms = 0\.39" \
	"BENCH: pooled-boot-ratio-rounds kernel=vmlinux vmm / the faster peer of its round: 0\.40 0\.40 0\.39 \(median 0\.40 of 3 rounds\)" \
	"BENCH: pooled-boot-ratio-floor vmm \(vmm vmlinux\) 5500 ms less its own 723 ms \(set-up 675 ms, 1200 exits at 40\.0 us\) / best peer \(qemu vmlinux\) 14000 ms = 0\.34"
n=$(grep -c "^BENCH: run setup=0123456789ab " "$work/bench-history.txt")
cases=$((cases + 1))
if [ "$n" = 2 ] && [ "$(grep -c "^BENCH: boot vmm=" "$work/bench-history.txt")" = 9 ]; then
	echo "test-runner: ok bench-history-file (the run's five boots appended under its own run line)"
else
	echo "test-runner: FAIL bench-history-file: $n runs of the set-up and $(grep -c "^BENCH: boot vmm=" "$work/bench-history.txt") boot lines in the file, want 2 and 9"
	failures=$((failures + 1))
fi

echo "test-runner: $cases cases, $failures failed"
[ "$failures" = 0 ]
