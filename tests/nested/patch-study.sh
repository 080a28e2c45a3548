#!/bin/bash
# Does the emulator survive kernel text patching? The L1 hangs seen in the boot tests leave one
# vCPU looping through the int3 handler (asm_exc_int3, error_entry) while the other waits in
# the scheduler (tests/nested/l1-cpus.py dumps): the trace of text_poke_bp(), which patches
# kernel code under int3 breakpoints while the other CPUs run (static keys, static calls). KVM
# flips such keys when VMs and vCPUs come and go. This boots one L1 and flips a static key in a
# loop while the other vCPU is busy, printing progress: kernel.sched_schedstats (no KVM involved,
# so a hang there is the emulator's, whatever vmm does) or VM creations and destructions
# (kvm-keyhold cycle: the keys VM starts flip, with or without the holder that pins them).
# Usage: patch-study.sh BUILD_DIR OUTDIR [MINUTES [L1_ARGS...]]
#   L1_ARGS: l1.patch=schedstats (default) or l1.patch=vm (VM starts and ends through
#   kvm-keyhold cycle), l1.keyhold=0|1 (the static-key holder, on by default).
#   L1_QEMU_ARGS="-accel tcg,thread=single" runs the emulator single-threaded.
set -u
build=$(cd "${1:?usage: patch-study.sh BUILD_DIR OUTDIR [MINUTES [L1_ARGS...]]}" && pwd)
outdir=${2:?}
minutes=${3:-10}
shift 3 2>/dev/null || shift $#
l1_args="$*"
here=$(cd "$(dirname "$0")" && pwd)
. "$here/l1.sh"
mkdir -p "$outdir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
build_l1_initramfs "$build/vmm" "$build/guest" "$work/l1.cpio.gz" || exit 1
l1_pick_emulator "$build"
log=$outdir/patch-l1.log
run_l1_batch "$work/l1.cpio.gz" "l1.run=patch l1.minutes=$minutes $l1_args" "$log" $((minutes * 60 + 300)) 120
rc=$?
cp "$log.cpus" "$outdir/patch-l1-cpus.txt" 2>/dev/null
flips=$(tr -d '\r' <"$log" | sed -n 's/^PATCH: flips=\([0-9]*\).*/\1/p' | tail -n 1)
case $rc in
0) echo "patch study ($(tr -d '\r' <"$log" | sed -n 's/^PATCH: flipping //p' | head -n 1)): L1 survived ${flips:-0} static-key flips in $minutes min" ;;
125) echo "patch study: L1 HUNG after ${flips:-0} static-key flips (serial silent 120 s); vCPUs:"; cat "$outdir/patch-l1-cpus.txt" 2>/dev/null ;;
*) echo "patch study: L1 ended with status $rc after ${flips:-0} flips"; tail -n 20 "$log" ;;
esac
