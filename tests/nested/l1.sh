# Nested KVM: an L1 Linux under QEMU's emulator (TCG) with kvm_amd, in which vmm runs its guest.
# Sourced by scripts/boot.sh and tests/boot/run-boot-tests.sh. Facts: ../shared/NESTED-KVM.md.

L1_HERE=$(cd "$(dirname "${BASH_SOURCE:-$0}")" && pwd)
L1_ROOT=$(cd "$L1_HERE/../.." && pwd)
. "$L1_ROOT/guest/modules.sh"

# build_l1_initramfs VMM_BINARY GUEST_DIR OUT [qemu]: busybox, KVM and vhost modules, vmm, the
# guest and the test scripts in one initramfs; with "qemu", QEMU and its firmware too.
build_l1_initramfs() {
	vmm_bin=$1 guest_dir=$2 out=$3 with=${4:-}
	kver=$(newest_kernel) || { echo "nested: no kernel: apt-get install linux-image-amd64" >&2; return 1; }
	stage=$(mktemp -d)
	mkdir -p "$stage/bin" "$stage/opt/vmm/bin" "$stage/opt/vmm/guest" "$stage/opt/vmm/tests"
	cp /bin/busybox "$stage/bin/busybox"
	install -m 0755 "$L1_HERE/l1-init" "$stage/init"
	add_modules "$kver" "$stage" irqbypass ccp kvm kvm-amd tun vhost_iotlb vhost tap vhost_net || return 1
	# vmm's --user takes names from /etc/passwd (the sandbox scenario runs it as nobody).
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$stage/etc/passwd"
	cp "$vmm_bin" "$stage/opt/vmm/bin/vmm"
	# A dynamic vmm (-Dstatic=false, or -Dsanitize=true: ASan cannot be static) brings its libraries.
	if ldd "$vmm_bin" >/dev/null 2>&1; then
		echo "nested: $vmm_bin is dynamically linked: its libraries and loader go into L1 too" >&2
		add_libs "$stage" "$vmm_bin" || return 1
	fi
	cp "$guest_dir/rr" "$guest_dir/datacheck" "$stage/opt/vmm/bin/"
	# The static-key holder (kvm-keyhold.c) and pty-run (the console_tty scenario's terminal),
	# built beside vmm in the same build folder.
	for b in kvm-keyhold pty-run; do
		cp "$(dirname "$vmm_bin")/tests/nested/$b" "$stage/opt/vmm/bin/" ||
			{ echo "nested: no $b beside $vmm_bin: build the tests (ninja -C BUILD)" >&2; return 1; }
	done
	add_binary "$stage" "$(command -v iperf3)" || return 1
	cp "$guest_dir/bzImage" "$guest_dir/initramfs.cpio.lz4" "$guest_dir/initramfs-test.cpio.lz4" "$guest_dir/kernel-version" \
		"$stage/opt/vmm/guest/"
	# The same kernel as an ELF vmlinux, for the PVH boot scenario (guest/extract-vmlinux.sh).
	[ -f "$guest_dir/vmlinux" ] && cp "$guest_dir/vmlinux" "$stage/opt/vmm/guest/"
	cp "$L1_ROOT"/tests/boot/*.sh "$L1_ROOT"/tests/perf/*.sh "$L1_ROOT"/tests/nested/crash-study-l1.sh "$stage/opt/vmm/tests/"
	if [ "$with" = qemu ]; then
		add_binary "$stage" "$(command -v qemu-system-x86_64)" || return 1
		mkdir -p "$stage/usr/share" "$stage/usr/lib/ipxe"
		cp -a /usr/share/qemu /usr/share/seabios "$stage/usr/share/"
		cp -a /usr/lib/ipxe/qemu "$stage/usr/lib/ipxe/"
		# QEMU 10, the harness's second peer (tests/perf/fetch-qemu10.sh), when the caller has it:
		# L1_QEMU10 is its unpacked root, L1_QEMU10_UNAVAILABLE the reason it has none.
		mkdir -p "$stage/opt/qemu10/share"
		if [ -n "${L1_QEMU10:-}" ]; then
			add_binary "$stage" "$L1_QEMU10/usr/bin/qemu-system-x86_64" /opt/qemu10/bin || return 1
			cp -a "$L1_QEMU10/usr/share/qemu" "$stage/opt/qemu10/share/"
		else
			echo "${L1_QEMU10_UNAVAILABLE:-not fetched for this L1}" >"$stage/opt/qemu10/unavailable"
		fi
	fi
	make_cpio "$stage" "$out"
	rm -rf "$stage"
}

# l1_pick_emulator BUILD_DIR: sets L1_EMULATOR and L1_EMULATOR_ARGS, the emulator that runs the
# L1. QEMU 10 from bookworm-backports (tests/perf/fetch-qemu10.sh, cached in BUILD_DIR/qemu10)
# where it can be had, else the machine's qemu-system-x86_64 (Debian 12: 7.2). Why not 7.2 first:
# tests/nested/CRASH-STUDY.md ("The emulator as the cause"). L1_EMULATOR=system keeps the
# machine's; any other preset L1_EMULATOR is used as it is (with the caller's L1_EMULATOR_ARGS).
l1_pick_emulator() {
	case "${L1_EMULATOR:-}" in
	system) L1_EMULATOR=qemu-system-x86_64 L1_EMULATOR_ARGS="" ;;
	"")
		if q=$("$L1_ROOT/tests/perf/fetch-qemu10.sh" "$1/qemu10" 2>"$1/qemu10-l0.err"); then
			L1_EMULATOR=$(echo "$q" | head -n 1)
			r=${L1_EMULATOR%/usr/bin/qemu-system-x86_64}
			# Its own ROMs, Debian's BIOS; its own modules (else it tries the machine's 7.2 ones).
			L1_EMULATOR_ARGS="-L $r/usr/share/qemu -L /usr/share/seabios"
			export QEMU_MODULE_DIR=$r/usr/lib/x86_64-linux-gnu/qemu
			echo "nested: the L1 runs under $(echo "$q" | sed -n 2p) ($L1_EMULATOR)" >&2
		else
			L1_EMULATOR=qemu-system-x86_64 L1_EMULATOR_ARGS=""
			echo "nested: QEMU 10 unavailable ($(tail -n 1 "$1/qemu10-l0.err")); the L1 runs under" \
				"the machine's $(qemu-system-x86_64 --version | head -n 1), which crashes nested guests more often" >&2
		fi
		;;
	esac
}

l1_kernel() { echo "/boot/vmlinuz-$(newest_kernel)"; }

# The L1's CPU: QEMU's -cpu max without ERMS and FSRM. Linux copies and clears memory with
# `rep movsb`/`rep stosb` where the CPU says those are fast, and QEMU's emulator runs such a
# string instruction one byte per iteration; without them it uses `rep movsq`/`rep stosq`, 8 bytes
# per iteration. In the L1, reading the 63 MiB vmlinux into fresh huge pages took 765-1,657 ms
# with them and 94-369 ms without (page faults and clearing included); the guests inherit the
# L1's CPUID (vmm's KVM_GET_SUPPORTED_CPUID, QEMU's -cpu host), so their kernels gain as well.
L1_CPU=${L1_CPU:-max,-erms,-fsrm}

# l1_user_lines LOG: how many lines of LOG the L1's user space printed (its heartbeat, every 30 s,
# and the workload's lines): every line but its kernel's own messages ("[  225.696476] ...").
l1_user_lines() { tr -d '\r' <"$1" 2>/dev/null | grep -c -v '^\['; }

# run_l1_batch INITRD APPEND LOG TIMEOUT_S STALL_S [PROGRESS_RE PROGRESS_S]: boots L1
# non-interactively with its serial console in LOG. Kills it when its user space has printed
# nothing for STALL_S seconds (l1_user_lines: the L1 hangs of NESTED-KVM.md and CRASH-STUDY.md;
# in one, a CPU waited in smp_call_function_many_cond for the other, which the emulator never
# woke from HLT, and the kernel went on printing a soft-lockup report every 28 s, so that a log
# that still grew did not mean a live L1), when no new line matching PROGRESS_RE (grep -E)
# came for PROGRESS_S seconds although the L1 still prints its heartbeat (an L1 whose workload
# is stuck: CI run 21's perf run waited for ever behind a hung khugepaged), or after TIMEOUT_S
# in all. Returns 0 when L1 ran to its end, 124 on timeout, 125 on a hang (a stuck workload
# included: its line "L1-NO-PROGRESS: ..." is appended to LOG).
run_l1_batch() {
	initrd=$1 append=$2 log=$3 timeout_s=$4 stall_s=$5 progress_re=${6:-} progress_s=${7:-0}
	: >"$log"
	rm -f "$log.mon" "$log.kallsyms"
	# Second serial port: the L1's kernel symbols (l1-init), to name a hang's RIPs (l1-cpus.py).
	"${L1_EMULATOR:-qemu-system-x86_64}" -M q35 -cpu "$L1_CPU" -m 8G -smp 2 ${L1_EMULATOR_ARGS:-} ${L1_QEMU_ARGS:-} \
		-display none -serial "file:$log" \
		-serial "file:$log.kallsyms" \
		-monitor "unix:$log.mon,server=on,wait=off" -no-reboot -nic none -kernel "$(l1_kernel)" -initrd "$initrd" \
		-append "console=ttyS0 quiet panic=-1 $append" </dev/null >"$log.qemu" 2>&1 &
	qpid=$!
	start=$(date +%s)
	last_user_lines=-1
	last_change=$start
	last_lines=0
	last_progress=$start
	result=0
	while kill -0 "$qpid" 2>/dev/null; do
		sleep 2
		now=$(date +%s)
		user_lines=$(l1_user_lines "$log")
		if [ "$user_lines" != "$last_user_lines" ]; then
			last_user_lines=$user_lines
			last_change=$now
		fi
		if [ $((now - start)) -ge "$timeout_s" ]; then
			result=124
			break
		fi
		if [ $((now - last_change)) -ge "$stall_s" ]; then
			result=125
			break
		fi
		if [ -n "$progress_re" ]; then
			lines=$(tr -d '\r' <"$log" | grep -c -E "$progress_re")
			if [ "$lines" != "$last_lines" ]; then
				last_lines=$lines
				last_progress=$now
			elif [ $((now - last_progress)) -ge "$progress_s" ]; then
				echo "L1-NO-PROGRESS: no line matching '$progress_re' for $progress_s s (the L1's heartbeat went on)" >>"$log"
				result=125
				break
			fi
		fi
	done
	if [ $result -ne 0 ]; then
		# Evidence for the crash study: where each L1 vCPU is, before the emulator goes.
		python3 "$L1_HERE/l1-cpus.py" "$log.mon" "$log.kallsyms" >"$log.cpus" 2>&1
		kill "$qpid" 2>/dev/null
		sleep 1
		kill -9 "$qpid" 2>/dev/null
	fi
	wait "$qpid" 2>/dev/null
	return $result
}
