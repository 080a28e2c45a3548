#!/bin/bash
# Builds the libFuzzer targets (clang, ASan + UBSan) in build-fuzz/ (or $FUZZ_BUILD_DIR) and runs
# each for SECONDS (default 60), one after the other, one job each; TARGETs: only those. For each
# target:
#   1. every regress-* input of tests/fuzz/corpus/<target>/ runs once: each reproduces a finding
#      and must pass once the bug is fixed;
#   2. the fuzzer starts from the seed-* inputs there (read only) and from what earlier runs found
#      in build-fuzz/fuzz-corpus/<target>/, where new inputs go.
# One line per target; exits non-zero when a target crashed or a regression input still fails
# (crash inputs in build-fuzz/fuzz-artifacts/<target>/, logs in build-fuzz/fuzz-*.log).
#   usage: tests/fuzz/run-fuzz.sh [SECONDS [TARGET...]]
# Reproduce a crash:  build-fuzz/tests/fuzz/<target> <crash-file>
# Minimise it:        build-fuzz/tests/fuzz/<target> -minimize_crash=1 -runs=100000 <crash-file>
# While the Bus Master Enable finding of fuzz_vhost_iotlb is open, FUZZ_VHOST_NO_BME_CHECK=1
# skips that one check so that the rest can be fuzzed.
set -uo pipefail

secs=${1:-60}
case $secs in '' | *[!0-9]*) echo "usage: $0 [SECONDS [TARGET...]]" >&2; exit 2 ;; esac
shift $(($# > 0 ? 1 : 0))
src=$(cd "$(dirname "$0")/../.." && pwd)
cd "$src" || exit 2
bd=${FUZZ_BUILD_DIR:-build-fuzz}
targets="fuzz_vtd fuzz_vtd_ir fuzz_vhost_iotlb fuzz_board fuzz_boot_pvh fuzz_bzimage fuzz_cmdline fuzz_tap_watch"
for t in "$@"; do
	case " $targets " in *" $t "*) ;; *) echo "run-fuzz: no target $t (targets: $targets)" >&2; exit 2 ;; esac
done
[ $# -eq 0 ] || targets="$*"

if ! command -v clang >/dev/null; then
	echo "run-fuzz: clang is missing (Debian: apt-get install -y clang)" >&2
	exit 2
fi
# FUZZ_SANITIZER=memory: the targets under MSan instead of ASan + UBSan (its own build directory).
san=${FUZZ_SANITIZER:-address}
if [ -f "$bd/build.ninja" ]; then
	# --reconfigure, not configure: it also learns options added since the folder was set up.
	meson setup --reconfigure "$bd" -Dfuzz=true -Dstatic=false -Dfuzz_sanitizer="$san" >/dev/null || {
		echo "run-fuzz: meson setup --reconfigure $bd failed" >&2
		exit 2
	}
else
	CC=clang meson setup "$bd" -Dfuzz=true -Dstatic=false -Dfuzz_sanitizer="$san" >/dev/null || {
		echo "run-fuzz: meson setup failed (see $bd/meson-logs/meson-log.txt)" >&2
		exit 2
	}
fi
# Only the fuzz targets: the default targets include the guest image.
ninja -C "$bd" $(for t in $targets; do echo "tests/fuzz/$t"; done) >"$bd/fuzz-build.log" 2>&1 || {
	tail -30 "$bd/fuzz-build.log" >&2
	echo "run-fuzz: build failed (log: $bd/fuzz-build.log)" >&2
	exit 2
}

failed=0
for t in $targets; do
	bin=$bd/tests/fuzz/$t
	corpus=$bd/fuzz-corpus/$t
	artifacts=$bd/fuzz-artifacts/$t
	log=$bd/fuzz-$t.log
	mkdir -p "$corpus" "$artifacts"

	# 1. The regressions, one process each (a crash ends the process).
	still=""
	for f in tests/fuzz/corpus/$t/regress-*; do
		[ -e "$f" ] || continue
		if ! "$bin" "$f" >"$bd/fuzz-$t-$(basename "$f").log" 2>&1; then
			still="$still $(basename "$f")"
		fi
	done

	# 2. Fuzzing from the seeds and the corpus of earlier runs.
	seeds=$(ls tests/fuzz/corpus/$t/seed-* 2>/dev/null | paste -sd, -)
	"$bin" -max_total_time="$secs" -timeout=10 -print_final_stats=1 -artifact_prefix="$artifacts/" \
		${seeds:+-seed_inputs="$seeds"} "$corpus" >"$log" 2>&1
	status=$?
	last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	[ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$last")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
	units=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tr '\n' ' ')
	if [ "$status" -eq 0 ] && [ -z "$units" ]; then
		crashes=none
	else
		failed=1
		why=$(grep -m1 -E 'invariant violated|ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error' "$log")
		crashes="$(wc -w <<<"$units") (exit status $status: ${why:-see the log}; input: ${units:-none written}; log: $log)"
	fi
	regress=""
	if [ -n "$still" ]; then
		failed=1
		regress="; regressions still failing:$still (logs: $bd/fuzz-$t-regress-*.log)"
	fi
	echo "$t: execs ${execs:-?} (${rate:-?}/s), coverage ${cov:-?} edges, ${ft:-?} features, corpus ${corp:-?}, crashes: $crashes$regress"
done
exit $failed
