#!/bin/bash
# The main job: installs what is missing, builds vmm and the default guest (Debian kernel +
# busybox) and boots it with its console on this terminal. Uses /dev/kvm directly where it can
# run guests; otherwise boots an L1 Linux under QEMU's emulator with kvm_amd and runs vmm there.
# Quit the guest with 'poweroff -f' or Ctrl-A x.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh" || exit 1
build=$root/build
if why=$("$build/vmm" kvm-check 2>&1 >/dev/null); then
	echo "boot: running vmm directly on /dev/kvm" >&2
	exec "$build/vmm" run --kernel "$build/guest/vmlinux" --initrd "$build/guest/initramfs.cpio.lz4" \
		--cmdline "console=ttyS0 cryptomgr.notests" --memory 1G --cpus 2
fi
echo "boot: /dev/kvm cannot run guests here (${why#vmm: })" >&2
echo "boot: booting a nested L1 under QEMU's emulator (about 5 s), then vmm inside it (about 10 s more)" >&2
. "$root/tests/nested/l1.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
build_l1_initramfs "$build/vmm" "$build/guest" "$tmp/l1.cpio.gz" || exit 1
l1_pick_emulator "$build"
# -serial stdio without a monitor: every key, Ctrl-A included, reaches vmm inside L1.
"$L1_EMULATOR" -M q35 -cpu "$L1_CPU" -m 4G -smp 2 ${L1_EMULATOR_ARGS:-} -display none -serial stdio -monitor none \
	-no-reboot -nic none -kernel "$(l1_kernel)" -initrd "$tmp/l1.cpio.gz" \
	-append "console=ttyS0 quiet panic=-1 l1.run=boot" | tee "$tmp/console.log"
status=$(tr -d '\r' <"$tmp/console.log" | sed -n 's/^L1: vmm exited with status \([0-9]*\).*/\1/p' | tail -n 1)
exit "${status:-1}"
