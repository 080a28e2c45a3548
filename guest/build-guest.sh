#!/bin/sh
# Builds the default guest from this machine's Debian packages: the linux-image-amd64 kernel,
# busybox-static and the kernel's own modules.  Usage: guest/build-guest.sh OUTDIR
# Writes OUTDIR/bzImage and OUTDIR/initramfs.cpio.gz.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/modules.sh"
out=${1:?usage: build-guest.sh OUTDIR}
usage="usage: build-guest.sh OUTDIR RR_BINARY VPOKE_BINARY DATACHECK_BINARY"
rr=${2:?$usage}
vpoke=${3:?$usage}
datacheck=${4:?$usage}
mkdir -p "$out"
kver=$(newest_kernel) || { echo "guest: no kernel found: apt-get install linux-image-amd64" >&2; exit 1; }
[ -x /bin/busybox ] || { echo "guest: no /bin/busybox: apt-get install busybox-static" >&2; exit 1; }
echo "guest: kernel $kver"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/etc/acpi/PWRF"
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
install -m 0755 "$here/init" "$stage/init"
install -m 0755 "$here/acpi-power-button" "$stage/etc/acpi/PWRF/00000080"
echo "guest: modules (power button: evdev, button; virtio-net)"
add_modules "$kver" "$stage" evdev button
# virtio-net's modules are loaded only when the board has a virtio device (guest/init).
add_modules_to modules.virtio "$kver" "$stage" virtio_pci virtio_net
command -v iperf3 >/dev/null || { echo "guest: no iperf3: apt-get install iperf3" >&2; exit 1; }
echo "guest: programs (iperf3, rr, vpoke, datacheck, irqs)"
add_binary "$stage" "$(command -v iperf3)"
cp "$rr" "$stage/usr/bin/rr"
cp "$vpoke" "$stage/usr/bin/vpoke"
cp "$datacheck" "$stage/usr/bin/datacheck"
install -m 0755 "$here/irqs" "$stage/usr/bin/irqs"
echo "guest: packing initramfs"
make_cpio "$stage" "$out/initramfs.cpio.gz.tmp"
mv "$out/initramfs.cpio.gz.tmp" "$out/initramfs.cpio.gz"
cp "/boot/vmlinuz-$kver" "$out/bzImage"
echo "$kver" >"$out/kernel-version"
echo "guest: ready: $out/bzImage $out/initramfs.cpio.gz ($(du -k "$out/initramfs.cpio.gz" | cut -f1) KiB)"
