#!/bin/sh
# The performance harness's retry rule (perf-run.sh's run_all_cells), without KVM: run_cell is
# replaced by one that replays recorded cell outcomes, and the PERF lines are checked. In the
# nested L1 a cell that crashed or stalled runs once more and its first attempt's figures are
# dropped; a plain failure, or any failure directly on KVM, is not retried.
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
MODES=strict qemu10_reason="not in this test"
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
	*) echo "PERF: vmm=\$who mode=\$mode status=failed reason=request/response: Terminated (\$o)"
	   echo "PERFLOG: log of \$o"
	   [ \$o = error ] || echo "PERF-FLAKE: \$o" ;;
	esac
}
run_all_cells
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
check_case crash-retried-then-fails 1 "crash crash ok" \
	"^PERF: vmm=vmm mode=strict retried=crash " "^PERF: vmm=vmm mode=strict status=failed reason=.*\(crash\)$" \
	"!PERF-FLAKE" "^PERF: vmm=qemu mode=strict status=ok$"
check_case error-not-retried 1 "error ok" \
	"^PERF: vmm=vmm mode=strict status=failed reason=.*\(error\)$" "!retried=" "^PERF: vmm=qemu mode=strict status=ok$"
check_case direct-kvm-not-retried "" "stall ok" \
	"^PERF: vmm=vmm mode=strict status=failed reason=.*\(stall\)$" "!retried=" "!PERF-FLAKE" \
	"^PERF: vmm=qemu mode=strict status=ok$"
check_case peer-stall-retried 1 "ok stall ok" \
	"^PERF: vmm=qemu mode=strict retried=stall " "^PERF: vmm=qemu mode=strict status=ok$" "^PERF: vmm=vmm mode=strict status=ok$"

echo "test_perf_run: $failures failed"
[ $failures = 0 ]
