#!/bin/sh
# Command-line behaviour that needs no KVM: help, version, and one clear line with the documented
# exit status for each kind of bad input. Usage: cli.sh VMM GUEST_DIR
vmm=$1 guest=$2
fails=0 passes=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Runs vmm under a timeout, so that one blocked on an input (a FIFO) fails (status 124) rather
# than hangs, and, where GNU time is installed, records its peak RSS in KiB in $tmp/rss.
run_vmm() {
	rm -f "$tmp/rss"
	if [ -x /usr/bin/time ]; then
		timeout -k 5 10 /usr/bin/time -q -f %M -o "$tmp/rss" "$vmm" "$@"
	else
		echo 0 >"$tmp/rss"
		timeout -k 5 10 "$vmm" "$@"
	fi
}

# expect STATUS PATTERN ARGS...: vmm exits with STATUS and stderr matches PATTERN in one line,
# within the timeout and 64 MiB of RSS (bad input files are refused before they are read whole).
expect() {
	want=$1 pattern=$2
	shift 2
	run_vmm "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	got=$?
	rss=$(cat "$tmp/rss" 2>/dev/null)
	if [ "$got" = "$want" ] && grep -q -E -e "$pattern" "$tmp/err" && [ "$(wc -l <"$tmp/err")" -le 1 ] && [ ! -s "$tmp/out" ] &&
	   [ "${rss:-999999}" -lt 65536 ]; then
		passes=$((passes + 1))
	else
		fails=$((fails + 1))
		echo "FAIL: vmm $* -> status $got (want $want), peak RSS ${rss:-?} KiB, stderr: $(cat "$tmp/err"), stdout: $(head -c 200 "$tmp/out")"
	fi
}

"$vmm" --help >"$tmp/help" && grep -q "vmm run --kernel" "$tmp/help" && passes=$((passes + 1)) || { fails=$((fails + 1)); echo "FAIL: --help"; }
"$vmm" --version | grep -q -E "^vmm [0-9]+\.[0-9]+" && passes=$((passes + 1)) || { fails=$((fails + 1)); echo "FAIL: --version"; }

k=$guest/bzImage
printf 'not a kernel at all, but long enough? no.\n' >"$tmp/notkernel"
head -c 8192 /dev/zero >"$tmp/zeros"
mkfifo "$tmp/fifo"                 # open() without O_NONBLOCK would wait for a writer forever
truncate -s 100G "$tmp/huge"       # sparse: refused from its size, never read
mkdir "$tmp/dir"
# The real kernel with init_size (at 0x260) patched to 256 MiB: it needs more than 128M of RAM.
cp "$k" "$tmp/bigkernel"
printf '\000\000\000\020' | dd of="$tmp/bigkernel" bs=1 seek=$((0x260)) conv=notrunc 2>/dev/null
# 257 bytes: cut at 255 the MAC would read 52:54:00:00:00:01.
longnet="tap=t0$(printf '%228s' '' | tr ' ' ,)mac=52:54:00:00:00:0123"
expect 2 "no command given"
expect 2 "run needs --kernel" run
expect 2 "cannot read kernel '/nonexistent/bzImage'" run --kernel /nonexistent/bzImage
expect 2 "not a bzImage" run --kernel "$tmp/notkernel"
expect 2 "not a bzImage: no Linux boot header" run --kernel "$tmp/zeros"
expect 2 "cannot read initrd" run --kernel "$k" --initrd /nonexistent/initrd
expect 2 "kernel '$tmp/fifo' is a FIFO, not a regular file" run --kernel "$tmp/fifo"
expect 2 "initrd '$tmp/fifo' is a FIFO, not a regular file" run --kernel "$k" --initrd "$tmp/fifo"
expect 2 "kernel '$tmp/dir' is a directory, not a regular file" run --kernel "$tmp/dir"
expect 2 "initrd '$tmp/dir' is a directory, not a regular file: give the path" run --kernel "$k" --initrd "$tmp/dir"
expect 2 "initrd '/dev/zero' is a character device, not a regular file" run --kernel "$k" --initrd /dev/zero
expect 2 "huge: the initrd \(102400 MiB\) does not fit below 512 MiB next to the kernel .*give the guest more memory" run --kernel "$k" --initrd "$tmp/huge"
expect 2 "kernel '$tmp/huge' is 102400 MiB, larger than the guest's 512 MiB of RAM; give the guest more memory" run --kernel "$tmp/huge"
expect 2 "bigkernel: the kernel needs 257 MiB of RAM .*more than the guest's 128 MiB.*give the guest more memory" run --kernel "$tmp/bigkernel" --memory 128M
expect 2 "bad memory size '12Q'" run --kernel "$k" --memory 12Q
expect 2 "memory size '1M' is out of range" run --kernel "$k" --memory 1M
expect 2 "not a multiple of 2 MiB" run --kernel "$k" --memory 513M
expect 2 "bad CPU count '0'" run --kernel "$k" --cpus 0
expect 2 "bad CPU count '65'" run --kernel "$k" --cpus 65
expect 2 "bad CPU count 'two'" run --kernel "$k" --cpus two
# Digits first: strtoull()/strtol() alone took a leading blank or sign (found by fuzz_cmdline's model).
expect 2 "bad CPU count ' 2'" run --kernel "$k" --cpus " 2"
expect 2 "bad CPU count '[+]2'" run --kernel "$k" --cpus +2
expect 2 "bad memory size ' 512M'" run --kernel "$k" --memory " 512M"
expect 2 "bad memory size '[+]1G'" run --kernel "$k" --memory +1G
expect 2 "bad --on-reboot value 'maybe'" run --kernel "$k" --on-reboot=maybe
expect 2 "unknown or incomplete option '--frobnicate'" run --kernel "$k" --frobnicate
expect 2 "unknown or incomplete option '-xyz'" run --kernel "$k" -xyz
expect 2 "unknown or incomplete option '-x'" run -x --kernel "$k"
expect 2 "unexpected argument 'extra'" run --kernel "$k" extra
expect 2 "--net needs tap=NAME" run --kernel "$k" --net mac=52:54:00:00:00:01
expect 2 "bad MAC address '52:54:00'" run --kernel "$k" --net tap=t0,mac=52:54:00
expect 2 "bad MAC address '52:54:00:00:00:1ff'" run --kernel "$k" --net tap=t0,mac=52:54:00:00:00:1ff
expect 2 "is a multicast address" run --kernel "$k" --net tap=t0,mac=01:00:5e:00:00:01
expect 2 "is a multicast address" run --kernel "$k" --net tap=t0,mac=ff:ff:ff:ff:ff:ff
expect 2 "MAC address '00:00:00:00:00:00' is all zeros" run --kernel "$k" --net tap=t0,mac=00:00:00:00:00:00
expect 2 "bad MAC address '0x52:54:00:12:34:56'" run --kernel "$k" --net tap=t0,mac=0x52:54:00:12:34:56
expect 2 "bad MAC address '52:54:00:12:34'" run --kernel "$k" --net tap=t0,mac=52:54:00:12:34
expect 2 "bad MAC address '52:54:00:12:34:5'" run --kernel "$k" --net tap=t0,mac=52:54:00:12:34:5
expect 2 "bad MAC address '52:54:00:12:34: 5'" run --kernel "$k" --net "tap=t0,mac=52:54:00:12:34: 5"
expect 2 "--net value is 257 bytes long, more than 255" run --kernel "$k" --net "$longnet"
expect 2 "tap name 'a23456789012345x' in --net is longer than 15 bytes" run --kernel "$k" --net tap=a23456789012345x
expect 2 "bad --net option 'queues=9'" run --kernel "$k" --net tap=t0,queues=9
expect 2 "only one --net" run --kernel "$k" --net tap=t0 --net tap=t1
# --user: UID:GID (numbers) or a name from /etc/passwd; an accepted one gets as far as the
# kernel's check. --no-sandbox is documented and accepted.
expect 2 "user 'no-such-user-vmm' is not in /etc/passwd: give a user listed there, or UID:GID" run --kernel "$k" --user no-such-user-vmm
for bad in 1000: :1000 1000:x x:1000 -1:0 1:2:3 4294967295:0 0:4294967295 " 1:1" 0x10:0; do
	expect 2 "bad --user value '$bad': use UID:GID, two decimal numbers" run --kernel "$k" --user "$bad"
done
expect 2 "bad --user value '': give a user name or UID:GID" run --kernel "$k" --user ""
expect 2 "cannot read kernel '/nonexistent/bzImage'" run --kernel /nonexistent/bzImage --user 65534:65534
root_name=$(awk -F: '$3 == 0 { print $1; exit }' /etc/passwd)
[ -n "$root_name" ] && expect 2 "cannot read kernel '/nonexistent/bzImage'" run --user "$root_name" --kernel /nonexistent/bzImage
expect 2 "cannot read kernel '/nonexistent/bzImage'" run --no-sandbox --kernel /nonexistent/bzImage
grep -q -e "--user NAME|UID:GID" "$tmp/help" && grep -q -e "--no-sandbox" "$tmp/help" && passes=$((passes + 1)) ||
	{ fails=$((fails + 1)); echo "FAIL: --help does not document --user and --no-sandbox"; }
expect 2 "unknown command 'fly'" fly
expect 2 "bad iteration count '-5'" bench-exit -5
expect 2 "bad iteration count '0'" bench-exit 0
expect 2 "bad iteration count '10x'" bench-exit 10x
expect 2 "bad iteration count ' 7'" bench-exit " 7"
expect 2 "bad iteration count '99999999999999999999'" bench-exit 99999999999999999999
expect 2 "unexpected argument 'x' after the iteration count" bench-exit 5 x
# ELF kernels (the PVH boot): refused with the reason, before anything is read whole. elf64 is an
# x86-64 executable (ET_EXEC, one PT_LOAD at 16 MiB) without the PVH note; the others are cut or
# patched from it.
python3 - "$tmp/elf64" <<'EOF'
import struct, sys
ehdr = struct.pack("<4sBBBBB7sHHIQQQIHHHHHH", b"\x7fELF", 2, 1, 1, 0, 0, bytes(7),
                   2, 62, 1, 0x1000000, 64, 0, 0, 64, 56, 1, 0, 0, 0)
phdr = struct.pack("<IIQQQQQQ", 1, 5, 0, 0x1000000, 0x1000000, 0x1000, 0x1000, 0x1000)
open(sys.argv[1], "wb").write(ehdr + phdr + bytes(0x1000 - len(ehdr) - len(phdr)))
EOF
printf '\177ELF\001\001\001' >"$tmp/elf32" && head -c 57 /dev/zero >>"$tmp/elf32"
head -c 100 "$tmp/elf64" >"$tmp/elfcut"
cp "$tmp/elf64" "$tmp/elfarm" && printf '\267\000' | dd of="$tmp/elfarm" bs=1 seek=18 conv=notrunc 2>/dev/null  # EM_AARCH64
expect 2 "elf32: a 32-bit ELF \(ELFCLASS32\): vmm boots x86-64 kernels" run --kernel "$tmp/elf32"
expect 2 "elfcut: truncated ELF: .* program headers at file offset 0x40 end past the file's 100 bytes" run --kernel "$tmp/elfcut"
expect 2 "elfarm: an ELF for machine 183, not x86-64" run --kernel "$tmp/elfarm"
expect 2 "elf64: no PVH entry point: the ELF has no XEN_ELFNOTE_PHYS32_ENTRY note" run --kernel "$tmp/elf64"
# The vmlinux that guest/ unpacks (66 MB, its segments up to 74 MiB): too big for 64M of RAM, and
# a huge initrd does not fit next to it; the peak-RSS bound shows it is not read whole.
if [ -f "$guest/vmlinux" ]; then
	expect 2 "vmlinux: the kernel needs 74 MiB of RAM .*more than the guest's 64 MiB.*give the guest more memory" run --kernel "$guest/vmlinux" --memory 64M
	expect 2 "huge: the initrd \(102400 MiB\) does not fit below 512 MiB next to the kernel \(74 MiB\)" run --kernel "$guest/vmlinux" --initrd "$tmp/huge"
else
	echo "SKIP: no $guest/vmlinux: the ELF kernel checks on the real vmlinux did not run"
fi
echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
