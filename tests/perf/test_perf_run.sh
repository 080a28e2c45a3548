#!/bin/sh
# The performance harness's retry rule (perf-run.sh's run_all_cells), without KVM: run_cell is
# replaced by one that replays recorded cell outcomes, and the PERF lines are checked. In the
# nested L1 a cell that stalled runs once more and one that crashed up to twice more, and a
# failed attempt's figures are dropped; a plain failure, or any failure directly on KVM, is not
# retried.
# Usage: test_perf_run.sh (exit status 0 when every case passes).
set -u
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$here/perf-run.sh" "$here/../boot/console-lib.sh" "$tmp/"
failures=0

# case NAME NESTED OUTCOMES EXPECT...: OUTCOMES is one word per run_cell call, in order (ok,
# stall, crash, error); each EXPECT is an extended regexp that must match a line of the output,
# or, with a leading "!", must match none.
check_case() {
	name=$1 nested=$2 outcomes=$3
	shift 3
	cat >"$tmp/driver.sh" <<EOF
PERF_RUN_LIB=1 VMM=/nonexistent GUEST_DIR=/nonexistent WORK=$tmp
. "$tmp/perf-run.sh"
MODES=\${CASE_MODES:-strict} qemu10_reason="not in this test" SKIP="\${CASE_SKIP:-}"
NESTED=$nested
echo "$outcomes" >"$tmp/outcomes"
run_cell() {
	set -- \$(cat "$tmp/outcomes")
	o=\$1
	shift
	echo "\$*" >"$tmp/outcomes"
	echo "PERF: vmm=\$who mode=\$mode metric=boot_to_init_ms value=\${#o}000"
	case \$o in
	ok) echo "PERF: vmm=\$who mode=\$mode metric=rr_tps value=200"; echo "PERF: vmm=\$who mode=\$mode status=ok" ;;
	noinit) echo "PERF: vmm=\$who mode=\$mode status=failed reason=the guest did not reach init (twice) (the VMM exited with status 1)"
	   echo "PERF-FLAKE: crash" ;;
	*) echo "PERF: vmm=\$who mode=\$mode status=failed reason=request/response: Terminated (\$o)"
	   echo "PERFLOG: log of \$o"
	   [ \$o = error ] || echo "PERF-FLAKE: \$o" ;;
	esac
}
run_all_cells
echo "run_all_cells returned \$?"
EOF
	sh "$tmp/driver.sh" >"$tmp/out.txt" 2>&1
	for want in "$@"; do
		case $want in
		!*) grep -q -E -- "${want#!}" "$tmp/out.txt" || continue ;;
		*) grep -q -E -- "$want" "$tmp/out.txt" && continue ;;
		esac
		echo "test_perf_run: FAIL $name: '$want'"
		sed 's/^/    /' "$tmp/out.txt"
		failures=$((failures + 1))
		return
	done
	echo "test_perf_run: ok $name"
}

check_case stall-retried 1 "stall ok ok" \
	"^PERF: vmm=vmm mode=strict retried=stall reason=request/response: Terminated \(stall\)$" \
	"^PERFLOG: log of stall$" "^PERF: vmm=vmm mode=strict status=ok$" \
	"!value=5000" "!PERF-FLAKE" "!mode=strict status=failed" "^PERF: vmm=qemu mode=strict status=ok$" \
	"^PERF: vmm=qemu10 mode=strict status=unavailable"
# A guest that died after init gets a third attempt; a stall only a second.
check_case crash-retried-twice 1 "crash crash ok ok" \
	"^PERF: vmm=vmm mode=strict retried=crash " "^PERF: vmm=vmm mode=strict status=ok$" \
	"!PERF-FLAKE" "!mode=strict status=failed" "^PERF: vmm=qemu mode=strict status=ok$"
check_case crash-retried-then-fails 1 "crash crash crash ok" \
	"^PERF: vmm=vmm mode=strict retried=crash " "^PERF: vmm=vmm mode=strict status=failed reason=.*\(crash\)$" \
	"!PERF-FLAKE" "^PERF: vmm=qemu mode=strict status=ok$"
check_case stall-crash-crash-fails 1 "stall crash crash ok" \
	"^PERF: vmm=vmm mode=strict retried=stall " "^PERF: vmm=vmm mode=strict retried=crash " \
	"^PERF: vmm=vmm mode=strict status=failed reason=.*\(crash\)$" "^PERF: vmm=qemu mode=strict status=ok$"
check_case crash-then-stall-fails 1 "crash stall ok" \
	"^PERF: vmm=vmm mode=strict retried=crash " "^PERF: vmm=vmm mode=strict status=failed reason=.*\(stall\)$" \
	"^PERF: vmm=qemu mode=strict status=ok$"
check_case stall-twice-fails 1 "stall stall ok" \
	"^PERF: vmm=vmm mode=strict status=failed reason=.*\(stall\)$" "^PERF: vmm=qemu mode=strict status=ok$"
check_case error-not-retried 1 "error ok" \
	"^PERF: vmm=vmm mode=strict status=failed reason=.*\(error\)$" "!retried=" "^PERF: vmm=qemu mode=strict status=ok$"
check_case direct-kvm-not-retried "" "stall ok" \
	"^PERF: vmm=vmm mode=strict status=failed reason=.*\(stall\)$" "!retried=" "!PERF-FLAKE" \
	"^PERF: vmm=qemu mode=strict status=ok$"
check_case peer-stall-retried 1 "ok stall ok" \
	"^PERF: vmm=qemu mode=strict retried=stall " "^PERF: vmm=qemu mode=strict status=ok$" "^PERF: vmm=vmm mode=strict status=ok$"

# An L1 that can run no more guests: two cells in a row (each tried twice) whose guests did not
# reach init end the L1's run, and neither is reported; one such cell alone is reported.
check_case wedged-l1 1 "noinit noinit noinit noinit ok" \
	"^PERF: L1-WEDGED cells=vmm:strict,qemu:strict " "!status=failed reason=the guest did not reach init" \
	"!qemu10" "^run_all_cells returned 3$"
check_case one-cell-without-init 1 "noinit noinit ok" \
	"^PERF: vmm=vmm mode=strict status=failed reason=the guest did not reach init" \
	"^PERF: vmm=qemu mode=strict status=ok$" "!L1-WEDGED" "^run_all_cells returned 0$"
check_case no-init-at-the-end 1 "ok noinit noinit" \
	"^PERF: vmm=qemu mode=strict status=failed reason=the guest did not reach init" "^run_all_cells returned 0$"
# The next L1 boot skips what an earlier one finished (l1.skip=).
CASE_SKIP=vmm:strict check_case skip-finished 1 "ok" \
	"!vmm=vmm mode=strict" "^PERF: vmm=qemu mode=strict status=ok$" "^run_all_cells returned 0$"
CASE_MODES="strict lazy" CASE_SKIP=vmm:strict,qemu:strict check_case skip-then-run 1 "ok ok" \
	"!vmm=(vmm|qemu) mode=strict" "^PERF: vmm=vmm mode=lazy status=ok$" "^PERF: vmm=qemu mode=lazy status=ok$"

# A client killed by the L1's busybox timeout exits 143, not 124: a stall (retried), not an error.
cat >"$tmp/cf.sh" <<EOF
PERF_RUN_LIB=1 VMM=/nonexistent GUEST_DIR=/nonexistent WORK=$tmp
. "$tmp/perf-run.sh"
echo "\$(client_failed 124) \$(client_failed 137) \$(client_failed 143) \$(client_failed 1)"
EOF
if [ "$(sh "$tmp/cf.sh" 2>&1)" = "stall stall stall error" ]; then
	echo "test_perf_run: ok client-timeouts"
else
	echo "test_perf_run: FAIL client-timeouts: $(sh "$tmp/cf.sh" 2>&1)"
	failures=$((failures + 1))
fi

# After an L1 boot that did not finish (carry-cells.sh, used by run-perf.sh): cells that ended ok
# or unavailable are kept and skipped; a failed one runs again, its failure kept as a retried line.
cat >"$tmp/attempt.log" <<EOF
PERF: vmm=vmm mode=noiommu metric=rr_tps value=500
PERF: vmm=vmm mode=noiommu status=ok
PERF: vmm=qemu10 mode=noiommu status=unavailable reason=not fetched
PERF: vmm=vmm mode=strict-ir metric=boot_to_init_ms value=9000
PERF: vmm=vmm mode=strict-ir status=failed reason=iperf3 from the guest: Connection reset by peer
PERFLOG: a failure log line
PERF: vmm=qemu mode=strict-ir metric=boot_to_init_ms value=9000
EOF
: >"$tmp/earlier.log"
skip=$(sh "$here/carry-cells.sh" "$tmp/attempt.log" "$tmp/earlier.log")
cat >"$tmp/want.log" <<EOF
PERF: vmm=vmm mode=noiommu metric=rr_tps value=500
PERF: vmm=vmm mode=noiommu status=ok
PERF: vmm=qemu10 mode=noiommu status=unavailable reason=not fetched
PERF: vmm=vmm mode=strict-ir retried=lost-l1 reason=iperf3 from the guest: Connection reset by peer (in an L1 boot that did not finish; run again in the next)
EOF
if [ "$skip" = "vmm:noiommu,qemu10:noiommu" ] && cmp -s "$tmp/earlier.log" "$tmp/want.log"; then
	echo "test_perf_run: ok carry-cells"
else
	echo "test_perf_run: FAIL carry-cells: skip '$skip', kept:"
	sed 's/^/    /' "$tmp/earlier.log"
	failures=$((failures + 1))
fi

echo "test_perf_run: $failures failed"
[ $failures = 0 ]
