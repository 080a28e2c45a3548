#!/bin/sh
# The benchmark's history (issue 10): one run's boots are too few for its ratio. In the nested L1
# the same boots gave 0.40 as a median of round ratios and 0.50 as a ratio of medians, and runs on
# one day ranged 0.39-0.50, moved by how fast the emulator ran that L1. Each run's boot and round
# lines are appended to HISTORY under a "BENCH: run" line naming its set-up (SETUP: a hash of vmm,
# the guest and the benchmark's scripts, from run-boot-tests.sh), and bench-medians.sh then
# prints the medians and ratios over every run of the same set-up: "BENCH: pooled-...". Runs of
# another set-up (another vmm or guest) stay in the file and out of the figures; delete the file
# to start afresh. Each round's ratio compares boots of one L1 boot, so rounds pool across runs.
# Usage: bench-history.sh HISTORY SETUP FILE... (FILE: the run's BENCH lines)
set -u
history=${1:?usage: bench-history.sh HISTORY SETUP FILE...}
setup=${2:?usage: bench-history.sh HISTORY SETUP FILE...}
shift 2
here=$(cd "$(dirname "$0")" && pwd)
lines=$(cat "$@" | tr -d '\r' | grep -E "^BENCH: (round [0-9]+ kernel=|boot vmm=|boot-vmm kernel=(bzImage|vmlinux) exits: |bench-exit: )")
if [ -z "$lines" ]; then
	echo "BENCH: pooled: this run made no boot; nothing added to $history"
	exit 0
fi
{
	echo "BENCH: run setup=$setup date=$(date -u +%Y-%m-%dT%H:%MZ)"
	printf '%s\n' "$lines"
} >>"$history" || { echo "BENCH: pooled: cannot append to $history" >&2; exit 1; }
# The lines of this set-up's runs (each block from its "BENCH: run" line to the next).
runs=$(grep -c "^BENCH: run setup=$setup " "$history")
others=$(grep "^BENCH: run setup=" "$history" | grep -c -v "^BENCH: run setup=$setup ")
echo "BENCH: pooled over $runs run(s) of set-up $setup in $history ($others run(s) of other set-ups left out)"
[ "$runs" -gt 1 ] || exit 0
awk -v s="$setup" '/^BENCH: run setup=/ { keep = ($3 == "setup=" s) } keep' "$history" |
	sh "$here/bench-medians.sh" | sed 's/^BENCH: /BENCH: pooled-/'
