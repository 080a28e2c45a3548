#!/bin/sh
# Builds the default guest from this machine's Debian packages: the linux-image-amd64 kernel,
# busybox-static and the kernel's own modules.
# Usage: guest/build-guest.sh OUTDIR INIT_BINARY RR_BINARY VPOKE_BINARY DATACHECK_BINARY
# Writes OUTDIR/bzImage and two initramfs archives:
#   initramfs.cpio.lz4       the default guest (scripts/boot.sh, the benchmark): /init, busybox,
#                            the power button's and virtio-net's modules;
#   initramfs-test.cpio.lz4  the same with the test programs (iperf3 and its libraries, rr,
#                            vpoke, datacheck), for the boot test scenarios and the perf harness.
# The default guest leaves the test programs out because the kernel unpacks the archive during
# its boot and the crypto initcall waits for that (request_module): iperf3's libraries
# (libcrypto alone is 4.7 MB) and the three static programs were 10 of the 12.6 MB, and the
# unpacking 0.9 s of a nested boot.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/modules.sh"
out=${1:?usage: build-guest.sh OUTDIR}
usage="usage: build-guest.sh OUTDIR INIT_BINARY RR_BINARY VPOKE_BINARY DATACHECK_BINARY"
init=${2:?$usage}
rr=${3:?$usage}
vpoke=${4:?$usage}
datacheck=${5:?$usage}
mkdir -p "$out"
kver=$(newest_kernel) || { echo "guest: no kernel found: apt-get install linux-image-amd64" >&2; exit 1; }
[ -x /bin/busybox ] || { echo "guest: no /bin/busybox: apt-get install busybox-static" >&2; exit 1; }
echo "guest: kernel $kver"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/etc" "$stage/proc" "$stage/sys" "$stage/dev" "$stage/tmp" "$stage/run"
# /init (init.c) mounts these itself; the table is there for a user's `mount -a`.
printf '%s\n' "proc /proc proc defaults 0 0" "sysfs /sys sysfs defaults 0 0" "devtmpfs /dev devtmpfs defaults 0 0" \
	>"$stage/etc/fstab"
cp /bin/busybox "$stage/bin/busybox"
# busybox's applets as links in the archive: `busybox --install -s` at boot made ~400 symlinks
# one system call at a time, under a nested guest's emulation a sizeable part of init's work.
# No modprobe: the kernel runs /sbin/modprobe for each module it asks for (crypto templates at
# boot, among others), and busybox's could only fail (no modules.dep here) after a process start.
for applet in $(/bin/busybox --list-full); do
	case "$applet" in */modprobe) continue ;; esac
	[ -e "$stage/$applet" ] && continue
	mkdir -p "$stage/$(dirname "$applet")"
	ln -s /bin/busybox "$stage/$applet"
done
install -m 0755 "$init" "$stage/init"
install -m 0755 "$here/init-mode.sh" "$stage/etc/init-mode.sh"
echo "guest: modules (power button: evdev, button; virtio-net)"
add_modules "$kver" "$stage" evdev button
# virtio-net's modules are loaded only when the board has a virtio device (guest/init.c).
add_modules_to modules.virtio "$kver" "$stage" virtio_pci virtio_net
install -m 0755 "$here/irqs" "$stage/usr/bin/irqs"
command -v lz4 >/dev/null || { echo "guest: no lz4: apt-get install lz4" >&2; exit 1; }
echo "guest: packing the default guest's initramfs"
make_cpio "$stage" "$out/initramfs.cpio.lz4.tmp" lz4
command -v iperf3 >/dev/null || { echo "guest: no iperf3: apt-get install iperf3" >&2; exit 1; }
echo "guest: test programs (iperf3, rr, vpoke, datacheck)"
add_binary "$stage" "$(command -v iperf3)"
cp "$rr" "$stage/usr/bin/rr"
cp "$vpoke" "$stage/usr/bin/vpoke"
cp "$datacheck" "$stage/usr/bin/datacheck"
echo "guest: packing the test guest's initramfs"
make_cpio "$stage" "$out/initramfs-test.cpio.lz4.tmp" lz4
mv "$out/initramfs.cpio.lz4.tmp" "$out/initramfs.cpio.lz4"
mv "$out/initramfs-test.cpio.lz4.tmp" "$out/initramfs-test.cpio.lz4"
cp "/boot/vmlinuz-$kver" "$out/bzImage"
echo "$kver" >"$out/kernel-version"
echo "guest: ready: $out/bzImage, $out/initramfs.cpio.lz4 ($(du -k "$out/initramfs.cpio.lz4" | cut -f1) KiB)," \
	"$out/initramfs-test.cpio.lz4 ($(du -k "$out/initramfs-test.cpio.lz4" | cut -f1) KiB)"
