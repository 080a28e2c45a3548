#!/bin/sh
# Unpacks the uncompressed ELF vmlinux from a bzImage, for vmm's PVH boot (issue 10), and checks
# that it has the PVH entry note.  Usage: guest/extract-vmlinux.sh BZIMAGE OUT
# Debian's kernels are XZ-compressed (CONFIG_KERNEL_XZ): the payload is an XZ stream inside the
# bzImage, found by its magic (FD 37 7A 58 5A 00, xz file format 2.1.1.1) and unpacked with xz.
# As the kernel's scripts/extract-vmlinux does, each occurrence of the magic is tried until one
# unpacks to an ELF file: the bytes may also occur by chance before the real stream.
set -eu
img=${1:?usage: extract-vmlinux.sh BZIMAGE OUT}
out=${2:?usage: extract-vmlinux.sh BZIMAGE OUT}
tmp=$out.tmp
trap 'rm -f "$tmp"' EXIT
command -v xz >/dev/null || { echo "guest: no xz to unpack the kernel: apt-get install xz-utils" >&2; exit 1; }
command -v readelf >/dev/null || { echo "guest: no readelf to check the vmlinux: apt-get install binutils" >&2; exit 1; }

is_elf() { [ "$(od -An -tx1 -N4 "$1" | tr -d ' \n')" = 7f454c46 ]; }

found=
for off in $(LC_ALL=C grep -obUaP '\xFD7zXZ\x00' "$img" | cut -d: -f1); do
	# --single-stream: stop at the end of the kernel's stream, whatever follows it in the file.
	if tail -c +$((off + 1)) "$img" | xz -dc --single-stream >"$tmp" 2>/dev/null && is_elf "$tmp"; then
		found=$off
		break
	fi
done
if [ -z "$found" ]; then
	echo "guest: no XZ-compressed ELF kernel in $img: this builder unpacks XZ kernels only (CONFIG_KERNEL_XZ=y, as Debian's)" >&2
	exit 1
fi
# The PVH entry point is the Xen note of type 18 (XEN_ELFNOTE_PHYS32_ENTRY); readelf prints
# unknown note types by number, newer binutils may name it.
if ! readelf -nW "$tmp" | grep -Eq '^[[:space:]]*Xen[[:space:]].*(\(0x00000012\)|PHYS32_ENTRY)'; then
	echo "guest: $img's vmlinux has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY): the kernel was built without CONFIG_PVH" >&2
	exit 1
fi
mv "$tmp" "$out"
echo "guest: vmlinux with a PVH entry point: $out ($(($(wc -c <"$out") >> 20)) MiB, XZ stream at byte $found of $img)"
