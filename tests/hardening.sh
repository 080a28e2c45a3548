#!/bin/bash
# The hardening suite (issue 11), no KVM needed:
#   1. every libFuzzer target (clang, ASan + UBSan) for SECONDS each, from the committed seeds,
#      with the committed regression inputs (tests/fuzz/run-fuzz.sh, built in BUILD/fuzz); then
#      under MSan for SECONDS/2 each (BUILD/fuzz-msan);
#   2. vmm and the unit tests built with -Dsanitize=true (gcc, ASan + UBSan, in BUILD/sanitize):
#      the unit suite and the command-line tests (tests/cli.sh, the default guest of BUILD) pass
#      under them.
# One line per part, then "N passed, M failed".
#   usage: tests/hardening.sh BUILD [SECONDS]
set -uo pipefail
build=$(cd "${1:?usage: hardening.sh BUILD [SECONDS]}" && pwd)
secs=${2:-30}
src=$(cd "$(dirname "$0")/.." && pwd)
passed=0 failed=0
part() {
	if [ "$1" = 0 ]; then passed=$((passed + 1)); echo "hardening: PASS $2"; else failed=$((failed + 1)); echo "hardening: FAIL $2"; fi
}

# 1. Fuzz targets.
fuzz_out=$(FUZZ_BUILD_DIR=$build/fuzz "$src/tests/fuzz/run-fuzz.sh" "$secs" 2>&1)
rc=$?
echo "$fuzz_out" | sed 's/^/    /'
part $rc "fuzz targets under ASan + UBSan, ${secs} s each (logs in $build/fuzz)"
# The same targets under MSan (reads of uninitialised memory), half the time each.
fuzz_out=$(FUZZ_SANITIZER=memory FUZZ_BUILD_DIR=$build/fuzz-msan "$src/tests/fuzz/run-fuzz.sh" $((secs / 2)) 2>&1)
rc=$?
echo "$fuzz_out" | sed 's/^/    /'
part $rc "fuzz targets under MSan, $((secs / 2)) s each (logs in $build/fuzz-msan)"

# 2. Sanitizer build: vmm and the unit tests only (the guest's static programs are not
#    instrumented, and BUILD's guest serves the command-line tests).
san=$build/sanitize
if [ ! -f "$san/build.ninja" ]; then
	meson setup "$san" "$src" -Dsanitize=true >"$build/sanitize-setup.log" 2>&1 ||
		{ tail -n 20 "$build/sanitize-setup.log"; part 1 "sanitizer build: meson setup (log: $build/sanitize-setup.log)"; san=""; }
fi
if [ -n "$san" ]; then
	targets=$(ninja -C "$san" -t targets all 2>/dev/null | grep -o '^tests/test_[a-z_]*' | sort -u)
	# shellcheck disable=SC2086
	if ! ninja -C "$san" vmm $targets >"$build/sanitize-build.log" 2>&1; then
		tail -n 20 "$build/sanitize-build.log"
		part 1 "sanitizer build (log: $build/sanitize-build.log)"
	else
		meson test -C "$san" --no-rebuild --suite unit --print-errorlogs >"$build/sanitize-unit.log" 2>&1
		rc=$?
		grep -E "^ *[0-9]+/[0-9]+ " "$build/sanitize-unit.log" | sed 's/^/    /'
		part $rc "unit tests under ASan + UBSan (log: $build/sanitize-unit.log)"
		# The environment meson gives the sanitized tests (tests/meson.build), the caller's after it.
		ASAN_OPTIONS=detect_leaks=1:halt_on_error=1${ASAN_OPTIONS:+:$ASAN_OPTIONS} \
			UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS} \
			"$src/tests/cli.sh" "$san/vmm" "$build/guest" >"$build/sanitize-cli.log" 2>&1
		rc=$?
		grep -E "^FAIL|passed" "$build/sanitize-cli.log" | sed 's/^/    /'
		part $rc "command-line tests with vmm under ASan + UBSan (log: $build/sanitize-cli.log)"
	fi
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
