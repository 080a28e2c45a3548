#!/bin/sh
# Benchmark (figures, not pass/fail). POSIX sh: runs directly or inside the nested L1.
# 1. The boot profile (issue 10): the same guest (2 vCPUs, 1 GiB, the default initramfs, the
#    guest waiting at init) booted by vmm and by QEMU (q35, split irqchip, as the perf harness
#    runs it; QEMU 10 too where the L1 has it), each with the bzImage and with the ELF vmlinux
#    (PVH entry). Per boot, in phases:
#      wall_to_init_ms   the VMM process's start to the guest's init marker on the console;
#      uptime_s          the guest kernel's uptime at init (its clock's start to init);
#      init_ms           init's own work before its init-ready line (modules, markers, the power button);
#      before_clock_ms   the VMM's start to the guest kernel's clock start, in the L1's time:
#                        the VMM's set-up, firmware for QEMU, the bzImage's decompression, the
#                        kernel's earliest code. Stamped by the L1's kvm_msr tracepoint at the
#                        guest's kvmclock registration (see clock_trace_start);
#      guest_clock_rate  the guest's uptime at init-ready over the L1's time from that clock
#                        start to the init-ready line: below 1 where the guest's clock runs slower
#                        than the L1's (0.8-0.9 in the nested L1), so that "wall less uptime" is
#                        not the time before the clock. Where tracefs cannot be used, the boot
#                        line has before_clock_est_ms (wall_to_init_ms less the uptime at
#                        init-ready) instead;
#      setup_ms          vmm only: its start to the first KVM_RUN (`vmm: setup-ms`), so that
#                        before_clock_ms - setup_ms is the guest's own part before its clock;
#      scrub_ms          in the nested L1 only: the scrub of the L1's free memory made before
#                        the boot, outside its timed window (scrub_free_memory).
#    RUNS timed boots per VMM and kernel, in rounds of one boot per VMM (a failed boot replaced
#    in a later round, at most twice), then one more
#    with L1's KVM tracepoints counting every exit (kvm_exit by exit code, kvm_pio by port and
#    value, kvm_msr by MSR, hist triggers in tracefs):
#    most exits (MSR, HLT, APIC, CPUID) are handled inside KVM and never reach the VMM; CF8's
#    values (PCI configuration addresses) are counted by bus and bus-0 function. For vmm
#    that boot also prints its own exits per reason with the time spent on them and the busiest
#    ports and MMIO pages (--exit-stats, SIGUSR2 at init).
#    Then one traced boot per VMM of the vmlinux without `quiet` (kernel=vmlinux-console): what
#    the guest's console output costs; and one with initcall_debug (kernel=vmlinux-profile) whose
#    guest prints its slowest initcalls and longest silences (boot-guest-profile lines).
#    vmm's boots also print its set-up by phase (boot-vmm ... setup-phases-ms).
# 2. The port-I/O exit round trip through our dispatcher against a bare KVM loop.
# 3. The network figures of the virtio-net scenario.
VMM=${VMM:?} GUEST_DIR=${GUEST_DIR:?} WORK=${WORK:-/tmp} RUNS=${RUNS:-5}
QEMU=${QEMU:-$(command -v qemu-system-x86_64)}
QEMU10=${QEMU10:-/opt/qemu10/bin/qemu-system-x86_64}
# The L1's uptime in ms with the shell's own read (10 ms steps): while a guest boots, the
# benchmark starts no program (each costs tens of ms of the CPU the guest boots on, nested).
now_ms() {
	read -r u _ </proc/uptime
	f=${u#*.}
	f=${f#0}
	echo $((${u%.*} * 1000 + ${f:-0} * 10))
}
# cryptomgr.notests, as scripts/boot.sh boots the default guest (and as Kata Containers boots its
# guests): the kernel's self-tests of its built-in crypto algorithms took 0.8-0.9 s of every boot
# under emulation (crypto_algapi_init in the profile below), for every VMM alike.
CMDLINE="console=ttyS0 quiet cryptomgr.notests vmm.mode=wait"
tr=/sys/kernel/tracing
[ -d $tr/events/kvm ] || mount -t tracefs nodev $tr 2>/dev/null
SVM=0
grep -q -w svm /proc/cpuinfo && SVM=1

# The L1's tracepoints, once on, stay on: a tracepoint switched on or off patches the L1 kernel's
# text, with a cross-CPU call that the emulator's multi-threaded TCG sometimes never completes
# (tests/nested/CRASH-STUDY.md: the three L1 hangs of 2026-12-01 came between a boot's start and
# its guest's first line, where each boot switched kvm_msr on, and a traced boot its hist
# triggers; a run made some 130 such patches). kvm_msr goes on before the first boot
# (trace_setup), the hist triggers at the first traced boot, after every timed boot; per boot
# only the ring buffer (tracing_on) and the triggers' pause, cont and clear change, which patch
# nothing.
# hist_start / hist_stop WHO KERNEL: L1 KVM's exits during one boot (all VMs of this machine: in
# the nested L1 the only other one is kvm-keyhold's, which never runs).
HISTS="kvm_exit:exit_reason kvm_msr:ecx"
# Port I/O by port and value, one trigger: the ports' counts, and CF8's values (PCI
# configuration addresses: bus 23:16, devfn 15:8, register 7:2) to see which part of the guest's
# PCI code the CF8/CFC exits come from. Big enough for every address a 256-bus scan writes.
PIO_HIST="hist:keys=port,val:size=65536"
# hist_do COMMAND: pause, cont or clear every hist trigger; pause makes a trigger that is not
# there yet (paused). Appended (>>): a write that truncates the trigger file removes its triggers.
hist_do() {
	for h in $HISTS; do echo "hist:keys=${h#*:}:size=512:$1" >>"$tr/events/kvm/${h%%:*}/trigger" || return 1; done
	echo "$PIO_HIST:$1" >>"$tr/events/kvm/kvm_pio/trigger"
}
hist_start() {
	[ -w $tr/events/kvm/kvm_exit/trigger ] || return 1
	hist_do pause && hist_do clear && hist_do cont
}
# pio_summary WHO KERNEL: port I/O per port (the busiest first), then CF8's writes by bus (0 and
# the others) and per bus-0 function. "{ port: 3320, val: 2147483648 } hitcount: 3".
pio_summary() {
	awk -v who="$1" -v kern="$2" '
		index($0, "{ port:") == 1 {
			port = $3 + 0; v = $5 + 0; n = $NF + 0
			c[port] += n; total += n
			if (port == 3320 && v >= 2147483648) {
				bus = int(v / 65536) % 256; dev = int(v / 2048) % 32; fn = int(v / 256) % 8
				if (bus) { other += n; nbus[bus] = 1 } else { bus0 += n; f[sprintf("00:%02x.%d", dev, fn)] += n }
			}
		}
		/Dropped:/ { dropped = $2 }
		END {
			line = sprintf("BENCH: boot-l1-kvm_pio vmm=%s kernel=%s total=%d", who, kern, total)
			for (k = 0; k < 14; k++) {
				best = -1
				for (p in c) if (!(p in shown) && (best < 0 || c[p] > c[best])) best = p
				if (best < 0) break
				shown[best] = 1; line = line sprintf(" 0x%x=%d", best, c[best])
			}
			print line
			nb = 0; for (b in nbus) nb++
			line = sprintf("BENCH: boot-l1-cf8 vmm=%s kernel=%s bus0=%d other_buses=%d (%d buses)%s", who, kern,
				       bus0, other, nb, dropped ? " dropped=" dropped : "")
			for (k in f) if (f[k] > 1) line = line " " k "=" f[k]
			print line
		}' "$tr/events/kvm/kvm_pio/hist"
}
hist_stop() {
	hist_do pause
	pio_summary "$1" "$2"
	for h in $HISTS; do
		ev=${h%%:*} key=${h#*:}
		# "{ exit_reason:  120 } hitcount:  1234" -> "name=1234", the most frequent first.
		line=$(awk -v key="$key" -v ev="$ev" -v svm="$SVM" '
			# AMD SVM exit codes (arch/x86/include/uapi/asm/svm.h); on Intel the raw VMX reason.
			function name(c) {
				if (!svm) return sprintf("reason%d", c)
				if (c >= 16 && c < 32) return sprintf("write_cr%d", c - 16)
				if (c >= 64 && c < 96) return sprintf("excp%d", c - 64)
				if (c == 96) return "intr"; if (c == 97) return "nmi"; if (c == 100) return "vintr"
				if (c == 101) return "cr0_sel_write"; if (c == 110) return "rdtsc"; if (c == 114) return "cpuid"
				if (c == 119) return "pause"; if (c == 120) return "hlt"; if (c == 123) return "io"
				if (c == 124) return "msr"; if (c == 127) return "shutdown"; if (c == 129) return "vmmcall"
				if (c == 135) return "rdtscp"; if (c == 137) return "wbinvd"; if (c == 141) return "xsetbv"
				if (c == 1024) return "npf"; if (c == 1025) return "avic_incomplete_ipi"
				if (c == 1026) return "avic_unaccelerated_access"
				return sprintf("code0x%x", c)
			}
			index($0, "{ " key ":") == 1 {
				v = $3; n = $NF
				total += n; print n, (ev == "kvm_exit") ? name(v + 0) : sprintf("0x%x", v + 0)
			}
			END { print total + 0, "total" }' "$tr/events/kvm/$ev/hist" | sort -rn | head -n 14 | awk '{ printf "%s%s=%s", sep, $2, $1; sep = " " }')
		echo "BENCH: boot-l1-$ev vmm=$1 kernel=$2 $line"
	done
}

# clock_trace_start / clock_trace_stop: when the guest kernel's clock starts, in the L1's time.
# Linux registers kvmclock (a write of MSR_KVM_SYSTEM_TIME_NEW, 0x4b564d01) early in setup_arch,
# and its uptime counts from there (kvmclock's sched_clock offset); the L1's KVM handles that
# write itself, and its kvm_msr event, filtered to that write, stamps it in the trace buffer
# between two markers the benchmark writes: the VMM's start and the init-ready line. The filter
# asks for a clock area above 1 MiB, where Linux's is (in the kernel's image): QEMU's boots showed
# an earlier registration, about 1 s after QEMU's start and before its bzImage could have been
# decompressed, which is its firmware's own kvmclock. The hist triggers of the traced boots count
# every MSR exit whatever the event's filter (it only decides what the buffer records). The event
# and its filter stay on for the whole run (trace_setup); a boot turns the ring buffer on and off.
# Sets before_clock (ms) and clock_to_ready (ms), or leaves them empty.
KVMCLOCK_MSR=0x4b564d01
clock_trace_start() {
	clock_trace="" before_clock="" clock_to_ready=""
	[ -n "$clock_ready" ] || return 0
	echo 0 >$tr/tracing_on && echo >$tr/trace && echo 1 >$tr/tracing_on && clock_trace=1
}
clock_trace_mark() { [ -z "$clock_trace" ] || echo "bench-$1" >$tr/trace_marker; }
clock_trace_stop() {
	[ -n "$clock_trace" ] || return 0
	echo 0 >$tr/tracing_on
	# "   vmm-123  [001] d..2.  845.123456: kvm_msr: msr_write 4b564d01 = 0x..."; the two
	# numbers printed become $1 and $2.
	# shellcheck disable=SC2046
	set -- $(awk -v msr="msr_write ${KVMCLOCK_MSR#0x} " 'function ts(   s, i) { s = $0; i = index(s, "] "); s = substr(s, i + 2); sub(/^[^ ]* +/, "", s); sub(/:.*/, "", s); return s + 0 }
		/tracing_mark_write: bench-start/ { t0 = ts(); next }
		/tracing_mark_write: bench-ready/ { tr = ts(); next }
		index($0, msr) && t0 != "" && c == "" { c = ts() }
		END { if (t0 != "" && c != "" && tr != "") printf "%d %d", (c - t0) * 1000, (tr - c) * 1000 }' $tr/trace)
	before_clock=${1:-} clock_to_ready=${2:-}
	echo >$tr/trace
}

# scrub_free_memory: in the nested L1, SCRUB_MB (1024) MiB of the L1's free memory written and
# given back before each boot, outside its timed window. The emulator keeps the code it
# translated in the pages the previous guest ran, and the first write to such a page after that
# guest is gone throws that code away, slowly: a cost no real host has, paid by whatever next
# writes fresh memory (vmm's kernel load, QEMU's start-up, the guest's first touches), in amounts
# that vary from boot to boot. Measured, plain and scrubbed boots of the vmlinux interleaved
# within each L1 boot: the time before the guest's clock went from 1.09 to 0.40 s for vmm (its
# load from 490-840 to 108-153 ms), 2.51 to 1.83 s for QEMU 7.2 and 1.98 to 1.40 s for QEMU 10
# (medians of 4-6 boots each). The memory is the L1's tmpfs (WORK); it takes 5-11 s. Directly on
# KVM there is nothing to scrub (SCRUB_MB defaults to 0 there).
if [ -n "${NESTED:-}" ]; then SCRUB_MB=${SCRUB_MB:-1024}; else SCRUB_MB=${SCRUB_MB:-0}; fi
scrub_free_memory() {
	scrub_ms=""
	[ "$SCRUB_MB" -gt 0 ] || return 0
	s0=$(now_ms)
	dd if=/dev/zero of="$WORK/bench-scrub" bs=1M count="$SCRUB_MB" 2>/dev/null
	rm -f "$WORK/bench-scrub"
	scrub_ms=$(($(now_ms) - s0))
}

# boot_once WHO KERNEL TRACE: one boot to init; prints its phases (and, with TRACE, the exits).
boot_once() {
	who=$1 kern=$2 trace=$3 out=$WORK/bench-boot.out
	scrub_free_memory
	case $kern in bzImage) kfile=$GUEST_DIR/bzImage ;; *) kfile=$GUEST_DIR/vmlinux ;; esac
	[ -n "$trace" ] && { hist_start || trace=""; }
	# The VMM's console comes through a FIFO, read line by line by the shell itself: the init
	# marker is seen as it arrives, and no program runs beside the guest while it boots (a grep
	# every 50 ms took a sizeable share of the nested L1's two CPUs from every VMM's boot).
	fifo=$WORK/bench-boot.fifo
	rm -f "$fifo"
	mkfifo "$fifo" || return 1
	clock_trace_start
	t0=$(now_ms)
	clock_trace_mark start
	case $who in
	vmm) "$VMM" run --exit-stats --cpus 2 --memory 1G --kernel "$kfile" --initrd "$GUEST_DIR/initramfs.cpio.lz4" \
		--cmdline "$CMDLINE" </dev/null >"$fifo" 2>&1 & ;;
	qemu*)
		qbin=$QEMU qdirs=""
		[ "$who" = qemu10 ] && qbin=$QEMU10 qdirs="-L /opt/qemu10/share/qemu -L /usr/share/seabios"
		# shellcheck disable=SC2086
		"$qbin" $qdirs -M q35,accel=kvm,kernel-irqchip=split -cpu host -m 1024 -smp 2 -nodefaults -display none \
			-serial stdio -monitor none -no-reboot -kernel "$kfile" -initrd "$GUEST_DIR/initramfs.cpio.lz4" \
			-append "$CMDLINE" </dev/null >"$fifo" 2>&1 & ;;
	esac
	pid=$!
	# A guest that never reaches init is stopped after 180 s, and the watchdog's own line ends the
	# read even if the VMM cannot die (a VMM stuck in the L1's KVM keeps its end of the FIFO). The
	# watchdog keeps no pipe of the caller open (its output to /dev/null): tee would wait for it.
	(sleep 180 && kill -9 $pid; echo "BENCH-WATCHDOG: timeout" >"$fifo") >/dev/null 2>&1 &
	watchdog=$!
	exec 3<"$fifo"
	: >"$out"
	while IFS= read -r line <&3; do
		printf '%s\n' "$line" >>"$out"
		case $line in *"VMM-GUEST: init-ready"* | "BENCH-WATCHDOG: timeout") break ;; esac
	done
	t1=$(now_ms)
	clock_trace_mark ready
	kill $watchdog 2>/dev/null
	# The rest of the VMM's output (the profile, the exit statistics) goes to the file.
	cat <&3 >>"$out" &
	drain=$!
	exec 3<&-
	if [ "$kern" = vmlinux-profile ]; then
		end=$(($(now_ms) + 120000))
		while ! grep -q "VMM-GUEST: profile-done" "$out" 2>/dev/null && [ "$(now_ms)" -lt $end ]; do sleep 0.2; done
	fi
	if [ "$who" = vmm ]; then
		kill -USR2 $pid 2>/dev/null
		sleep 0.5
	fi
	[ -n "$trace" ] && hist_stop "$who" "$kern"
	clock_trace_stop
	kill -9 $pid 2>/dev/null
	sleep 1
	if kill -0 $pid 2>/dev/null; then
		# Killed but not gone: stuck in the kernel (the L1's KVM). Waiting would hang the run.
		echo "BENCH: boot vmm=$who kernel=$kern ${trace:+traced=1 }failed: the VMM did not exit after SIGKILL (stuck in the L1's kernel)"
		rm -f "$fifo"
		return 1
	fi
	wait $pid 2>/dev/null
	wait $drain 2>/dev/null
	rm -f "$fifo"
	if ! grep -q "VMM-GUEST: init-ready" "$out"; then
		echo "BENCH: boot vmm=$who kernel=$kern ${trace:+traced=1 }failed: no init marker ($(tail -n 2 "$out" | tr -d '\r' | tr '\n' ' '))"
		return 1
	fi
	up=$(sed -n 's/^VMM-GUEST: uptime-at-init=\([0-9.]*\).*/\1/p' "$out" | head -n 1)
	ready=$(sed -n 's/^VMM-GUEST: uptime-at-ready=\([0-9.]*\).*/\1/p' "$out" | head -n 1)
	setup=$(sed -n 's/^vmm: setup-ms: \([0-9.]*\).*/\1/p' "$out" | head -n 1)
	wall=$((t1 - t0))
	initms=${ready:+$(awk -v r="$ready" -v u="$up" 'BEGIN { printf "%d", (r - u) * 1000 }')}
	if [ -n "$before_clock" ] && [ "$clock_to_ready" -gt 0 ]; then
		clock="before_clock_ms=$before_clock guest_clock_rate=$(awk -v u="${ready:-$up}" -v l="$clock_to_ready" 'BEGIN { printf "%.2f", u * 1000 / l }')"
	else
		# No trace: the wall time less the guest's uptime at the init-ready line (init's own
		# work, init_ms, counts as the guest's), which also counts the guest clock's lag.
		clock="before_clock_est_ms=$(awk -v w=$wall -v u="${ready:-$up}" 'BEGIN { printf "%d", w - u * 1000 }')"
	fi
	echo "BENCH: boot vmm=$who kernel=$kern ${trace:+traced=1 }wall_to_init_ms=$wall uptime_s=$up${initms:+ init_ms=$initms} $clock${setup:+ setup_ms=$setup}${scrub_ms:+ scrub_ms=$scrub_ms}"
	if [ "$who" = vmm ] && [ -n "$trace" ]; then
		grep -E "^vmm: (exits|exit-time-us|exit-sites):" "$out" | tail -n 3 | sed "s/^vmm: /BENCH: boot-vmm kernel=$kern /"
	fi
	# Where vmm's set-up time goes, phase by phase (host: the files, tap and vhost before the VM).
	[ "$who" = vmm ] && grep "^vmm: setup-phases-ms:" "$out" | tail -n 1 | sed "s/^vmm: /BENCH: boot-vmm kernel=$kern /"
	# init_ms by step (guest/init.c): module loading, the /proc reads, the power button's device.
	tr -d '\r' <"$out" | sed -n "s/^VMM-GUEST: init-steps-ms: /BENCH: boot-guest-init-steps-ms vmm=$who kernel=$kern /p" | head -n 1
	# The guest's half of the profile (guest/init-mode.sh's vmm.mode=profile): its slowest initcalls and
	# longest silences, in ms of its uptime.
	tr -d '\r' <"$out" | sed -n "s/^VMM-GUEST: profile-/BENCH: boot-guest-profile vmm=$who /p"
	return 0
}

# guarded_boot WHO KERNEL TRACE: boot_once in a subshell that is killed, with a failure line, if
# it has not ended after BOOT_LIMIT s (its own watchdog stops a guest after 180 s, the profile
# boot waits 120 s more): twice a QEMU 10 boot left the benchmark's shell waiting for ever, with
# both L1 CPUs idle, so that the whole L1 boot was lost to the runner's no-progress limit.
BOOT_LIMIT=${BOOT_LIMIT:-420}
guarded_boot() {
	(boot_once "$@") &
	g=$!
	# The sleep holds no pipe of the caller (its output to /dev/null), or the `| tee` below would
	# wait for it after the last boot.
	(sleep "$BOOT_LIMIT" >/dev/null 2>&1 && kill -9 $g &&
		echo "BENCH: boot vmm=$1 kernel=$2 ${3:+traced=1 }failed: the boot did not end within $BOOT_LIMIT s (the benchmark's shell was stuck)") &
	gw=$!
	wait $g 2>/dev/null
	g_rc=$?
	kill $gw 2>/dev/null
	return $g_rc
}

# What an earlier L1 boot of this run already did (the runner's SKIP, after an L1 panic or hang,
# tests/boot/run-boot-tests.sh): t.WHO.KERNEL.OK.TRIED, the timed boots that succeeded and were
# tried; d.WHO.KERNEL or d.WHO.KERNEL-traced, a boot made once (the traced boots,
# vmlinux-lastbus0, vmlinux-profile); exitbench; net. This L1 goes on from there, so that each L1
# that dies mid-way (tests/nested/CRASH-STUDY.md: three in a row in one run) still adds its boots.
done_before() { case ",${SKIP:-}," in *",$1,"*) return 0 ;; esac; return 1; }
# once WHO KERNEL TRACE: a boot made once, unless an earlier L1 boot made it.
once() {
	done_before "d.$1.$2${3:+-traced}" || guarded_boot "$1" "$2" "$3"
}
timed_before() {
	for tok in $(echo "${SKIP:-}" | tr , ' '); do
		case $tok in "t.$1.$2".*) echo "${tok#t."$1"."$2".}" | tr . ' '; return ;; esac
	done
	echo "0 0"
}

# trace_setup: kvm_msr and its kvmclock filter on for the whole run (clock_trace_start; see
# hist_start). Sets clock_ready where tracefs allows it.
clock_ready=""
trace_setup() {
	[ -w $tr/tracing_on ] || return 0
	echo 0 >$tr/tracing_on
	if [ -w $tr/trace_marker ] && [ -w $tr/events/kvm/kvm_msr/filter ] &&
		echo "ecx == $KVMCLOCK_MSR && write == 1 && data >= 0x100000" >$tr/events/kvm/kvm_msr/filter &&
		echo 1 >$tr/events/kvm/kvm_msr/enable; then
		clock_ready=1
	fi
}
trace_setup

whos="vmm qemu"
[ -x "$QEMU10" ] && whos="$whos qemu10"
[ -n "$QEMU" ] || whos=vmm
kernels=bzImage
[ -f "$GUEST_DIR/vmlinux" ] && kernels="bzImage vmlinux"
{
for kern in $kernels; do
	# The timed boots go in rounds, one boot of each VMM per round, and each round starts with
	# the next VMM (vmm qemu qemu10, then qemu qemu10 vmm, ...): the nested L1's speed drifts
	# within one of its boots (the same vmm took 4.9-7.2 s in one), and each boot pays for the
	# memory the previous one left (the emulator's translated code in it), so every VMM meets
	# the same conditions. A boot that fails (the nested L1's early triple faults and stalls,
	# which every VMM's guests meet: tests/nested/CRASH-STUDY.md) is printed and replaced in a
	# later round, at most twice per VMM, so that each median has RUNS boots where it can.
	order=$whos
	for who in $whos; do
		# shellcheck disable=SC2046
		set -- $(timed_before "$who" "$kern")
		eval "ok_$who=$1 tried_$who=$2"
	done
	round=1 ok=0 tried=0
	while [ $round -le $((RUNS + 2)) ]; do
		marked=""
		for who in $order; do
			eval "ok=\$ok_$who tried=\$tried_$who"
			if [ "$ok" -lt "$RUNS" ] && [ "$tried" -lt $((RUNS + 2)) ]; then
				# The round's line (bench-medians.sh pairs the boots by it), for rounds that boot.
				[ -n "$marked" ] || echo "BENCH: round $round kernel=$kern"
				marked=1
				guarded_boot "$who" "$kern" "" && ok=$((ok + 1))
				eval "ok_$who=$ok tried_$who=$((tried + 1))"
			fi
		done
		# shellcheck disable=SC2086
		set -- $order
		shift
		order="$* ${order%% *}"
		round=$((round + 1))
	done
done
# The traced boots after every timed boot: their hist triggers stay on once on (hist_start).
for kern in $kernels; do
	for who in $whos; do once "$who" "$kern" traced; done
done
} | tee "$WORK/bench-boots.txt"
# Medians and the ratio (bench-medians.sh). In the nested L1 the runner prints them after the
# last L1 boot, over the boots of all L1 boots of the run (an L1 that dies mid-way hands on).
[ -n "${NESTED:-}" ] || sh "$(dirname "$0")/bench-medians.sh" "$WORK/bench-boots.txt"
# The peers with the parameter their users add for QEMU's q35 (Kata Containers' guests have it):
# pci=lastbus=0 spares the guest its peer-bridge scan of the 255 further buses QEMU's MCFG
# declares (1.4-4 s of pci_subsys_init in the profiles). One boot each, outside the medians and
# the ratio, which compare the same command line; vmm's board needs no such parameter.
if [ -f "$GUEST_DIR/vmlinux" ]; then
	plain=$CMDLINE
	CMDLINE="$plain pci=lastbus=0"
	for who in $whos; do
		[ "$who" = vmm ] || once "$who" vmlinux-lastbus0 ""
	done
	CMDLINE=$plain
fi
# The console's cost: the vmlinux boot without `quiet` (the kernel's whole log through the UART,
# one exit per byte), one traced boot per VMM: wall time, and for vmm the time on port 0x3f8.
if [ -f "$GUEST_DIR/vmlinux" ]; then
	CMDLINE="console=ttyS0 cryptomgr.notests vmm.mode=wait"
	for who in $whos; do once "$who" vmlinux-console traced; done
	# The guest's own boot, per initcall and per silence (initcall_debug's lines stay out of
	# the console under quiet, so the boot is timed as the others), one boot per VMM.
	CMDLINE="console=ttyS0 quiet cryptomgr.notests initcall_debug vmm.mode=profile"
	for who in $whos; do once "$who" vmlinux-profile ""; done
fi
done_before exitbench || "$VMM" bench-exit 20000 | sed 's/^/BENCH: /'
# Network over vhost-net: the virtio-net scenario prints its figures on BENCH lines.
if ! done_before net; then
	ONLY=net SCALE=${SCALE:-4} sh "$(dirname "$0")/scenarios.sh" | grep -E "^BENCH|^BOOTTEST: FAIL"
	echo "BENCH: ran net"
fi
