#!/bin/bash
# Installs what is missing, builds, and runs every test: unit tests, command-line tests and the
# boot tests with a real Linux guest (directly on /dev/kvm, or in a nested L1 where it is not
# usable). Extra arguments go to `meson test` (e.g. --suite unit).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh" || exit 1
cd "$root"
meson test -C build --print-errorlogs "$@" 2>&1 | tee build/test-output.txt
status=${PIPESTATUS[0]}
ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' build/test-output.txt | tail -n 1)
failed=$(sed -n 's/^Fail: *\([0-9]*\).*/\1/p' build/test-output.txt | tail -n 1)
timeouts=$(sed -n 's/^Timeout: *\([0-9]*\).*/\1/p' build/test-output.txt | tail -n 1)
echo "${ok:-0} passed, $(( ${failed:-0} + ${timeouts:-0} )) failed"
exit "$status"
