#!/bin/sh
# Boot tests: each scenario runs vmm with the default guest and asserts what the guest saw.
# POSIX sh, so that it runs the same directly on a host with /dev/kvm and under busybox in the
# nested L1. Environment: VMM (binary), GUEST_DIR (bzImage, vmlinux, initramfs-test.cpio.lz4,
# initramfs.cpio.lz4, kernel-version),
# WORK (scratch dir), SCALE (timeout multiplier: 1 direct, more when nested).
# Prints "BOOTTEST: PASS name ..." / "BOOTTEST: FAIL name: why" and a closing count line.
VMM=${VMM:?} GUEST_DIR=${GUEST_DIR:?} WORK=${WORK:-/tmp} SCALE=${SCALE:-1}
BZIMAGE=$GUEST_DIR/bzImage
# The test guest: the default guest with the test programs (iperf3, rr, vpoke, datacheck); the
# pvh scenario boots the default guest's own archive, as scripts/boot.sh does.
INITRD=$GUEST_DIR/initramfs-test.cpio.lz4
DEFAULT_INITRD=$GUEST_DIR/initramfs.cpio.lz4
VMLINUX=$GUEST_DIR/vmlinux
# The scenarios boot the ELF vmlinux through its PVH entry (the faster boot, as scripts/boot.sh
# does); smp1_console keeps the bzImage path tested. Without a vmlinux, all take the bzImage.
KERNEL=$VMLINUX
[ -f "$VMLINUX" ] || KERNEL=$BZIMAGE
KVER=$(cat "$GUEST_DIR/kernel-version")
ONLY=${ONLY:-}
passed=0 failed=0
vmm_pid=""

. "$(dirname "$0")/console-lib.sh"

# start_vmm NAME ARGS...: vmm with the default guest in the background (console-lib.sh).
start_vmm() {
	name=$1
	shift
	start_guest "$name" "$VMM" run --exit-stats --kernel "$KERNEL" --initrd "$INITRD" "$@"
}

marker() { sed -n "s/^VMM-GUEST: $1=\([^[:space:]]*\).*/\1/p" "$out" | tr -d '\r' | head -n 1; }

pass() { passed=$((passed + 1)); echo "BOOTTEST: PASS $name $*"; stop_vmm; }
fail() {
	failed=$((failed + 1))
	echo "BOOTTEST: FAIL $name: $*"
	# What the guest was doing: vmm's exit counts now and a second later (a guest that spins
	# exits differently from one that is halted or gone).
	if [ -n "$vmm_pid" ] && kill -0 "$vmm_pid" 2>/dev/null; then
		kill -USR2 "$vmm_pid"; sleep 1; kill -USR2 "$vmm_pid"; sleep 1
		# A wait that ran out at a guest shell: does the guest itself still answer?
		if [ -n "$wait_timed_out" ] && grep -q "init-ready mode=shell" "$out" 2>/dev/null; then
			echo "--- $name: after the wait for '$wait_timed_out': $(guest_liveness)"
		fi
		# A stalled L2 in the nested L1: what its vCPUs make L1's KVM do, and where they are.
		if [ -n "${NESTED:-}" ] && [ -n "$wait_timed_out" ]; then
			l1_kvm_sample 3 | sed "s/^/--- $name: /"
			echo "--- $name: L1 tasks in uninterruptible sleep"
			l1_d_tasks
		fi
	fi
	echo "--- $name: last console lines"
	tail -n 25 "$out" 2>/dev/null | tr -d '\r' | sed 's/^/    /'
	echo "--- $name: vmm stderr"
	tail -n 14 "$err" 2>/dev/null | sed 's/^/    /'
	# A guest that stopped making progress in the nested L1: where each of vmm's threads is (a
	# vCPU thread running, i.e. inside the L2 guest or VMRUN, or asleep in the L1 kernel).
	if [ -n "${NESTED:-}" ] && [ -n "${wait_timed_out:-}" ] && [ -n "$vmm_pid" ] && [ -d "/proc/$vmm_pid" ]; then
		echo "--- $name: vmm's threads in the L1"
		for d in /proc/$vmm_pid/task/[0-9]*; do task_report "$d"; done
	fi
	stop_vmm
	return 1
}

# ONLY: a scenario name, or several separated by commas.
want() { [ -z "$ONLY" ] || case ",$ONLY," in *",$1,"*) true ;; *) false ;; esac; }

# Common checks once init is up: it ran this kernel, saw no ACPI errors and used MMCONFIG.
check_boot() {
	wait_out "VMM-GUEST: init-ready" "$(t 60)" || { fail "no init marker"; return 1; }
	[ "$(marker kernel)" = "$KVER" ] || { fail "kernel is '$(marker kernel)', want '$KVER'"; return 1; }
	[ "$(marker acpi-errors)" = 0 ] || { fail "dmesg has $(marker acpi-errors) ACPI error lines"; return 1; }
	[ "$(marker mmconfig)" -ge 1 ] 2>/dev/null || { fail "the guest did not take the MMCONFIG window as reserved"; return 1; }
	[ "$(marker kvm-hypervisor)" -ge 1 ] 2>/dev/null || { fail "the guest did not detect KVM (no 'Hypervisor detected: KVM' in dmesg)"; return 1; }
	if grep -q "^VMM-GUEST: insmod-failed=" "$out"; then
		fail "modules failed to load in the guest: $(sed -n 's/^VMM-GUEST: insmod-failed=//p' "$out" | tr -d '\r' | tr '\n' ' ')"
		return 1
	fi
	return 0
}

scenario_smp1_console() {
	name=smp1-console-poweroff
	# The bzImage (x86 boot protocol) path; the other scenarios boot the vmlinux.
	start_guest "$name" "$VMM" run --exit-stats --kernel "$BZIMAGE" --initrd "$INITRD" --cpus 1 --memory 512M \
		--cmdline "console=ttyS0 vmm.mode=shell"
	check_boot || return
	[ "$(marker cpus)" = 1 ] || { fail "guest sees $(marker cpus) CPUs, want 1"; return; }
	# Console both ways: what we type reaches the guest's shell, its answer comes back.
	sleep 1
	send "echo typed-\$((6*7)) | tr a-z A-Z"
	wait_out "^TYPED-42" "$(t 20)" || { fail "no answer to a typed command"; return; }
	# The serial line's interrupt count rises on an IO-APIC line while the guest prints.
	send 'a=$(awk "/ttyS0/ {print \$2}" /proc/interrupts); seq 1 300; b=$(awk "/ttyS0/ {print \$2}" /proc/interrupts); echo "IRQS $a $b $(grep ttyS0 /proc/interrupts | grep -c IO-APIC)"'
	wait_out "^IRQS [0-9]+ [0-9]+ [0-9]" "$(t 30)" || { fail "no interrupt count line"; return; }
	set -- $(grep -E "^IRQS [0-9]+ [0-9]+ [0-9]" "$out" | tr -d '\r' | head -n 1)
	[ "$4" = 1 ] || { fail "ttyS0 is not on an IO-APIC line"; return; }
	[ "$3" -gt "$2" ] || { fail "ttyS0 interrupts did not rise ($2 -> $3)"; return; }
	irqs="ttyS0-irqs=$2->$3"
	# KASLR: the bzImage's decompressor puts the kernel at a random physical and a random virtual
	# base, given a memory map and room in RAM (the vmlinux's PVH entry runs it where it was
	# linked: README). Both at the link-time defaults (0xffffffff81000000, CONFIG_PHYSICAL_START
	# 16 MiB) would mean the loader left it no choice; both drawn there by chance is about 1 in
	# 250,000.
	send 'echo "KBASE $(awk "/Kernel code/ {print \$1}" /proc/iomem | cut -d- -f1)"'
	wait_out "^KBASE [0-9a-f]+" "$(t 20)" || { fail "no kernel base line"; return; }
	phys=$(grep -E "^KBASE [0-9a-f]+" "$out" | tr -d '\r' | head -n 1 | cut -d' ' -f2)
	virt=$(marker text-base)
	[ -n "$virt" ] || { fail "no text-base marker"; return; }
	phys_n=$((0x$phys))
	# Zeros are what a kernel shows where it hides its addresses: then nothing was checked.
	[ "$phys_n" != 0 ] && [ "${virt#*[1-9a-f]}" != "$virt" ] ||
		{ fail "a kernel base read as zero (virtual $virt, physical 0x$phys)"; return; }
	if [ "$virt" = ffffffff81000000 ] && [ "$phys_n" = $((0x1000000)) ]; then
		fail "kernel at its link-time bases (virtual $virt, physical 0x$phys): no KASLR"
		return
	fi
	kaslr="kaslr=virt:$virt,phys:0x$phys"
	send "poweroff -f"
	wait_exit "$(t 30)" || { fail "vmm still running after poweroff -f"; return; }
	[ "$status" = 0 ] || { fail "exit status $status after poweroff, want 0"; return; }
	# CF8 writes (one before every configuration access made through CF8/CFC) go through KVM's
	# coalesced ring, not exits to vmm (vmm/coalesced_io.c): only CF8's reads may exit. How many
	# there are depends on the CPU model: about 170 in a boot, 16,700 where the guest also scans
	# 256 buses for an AGP bridge (AMD family 0xf/0x10, which QEMU 7.2's -cpu max gives the L1).
	cf8_queued=$(sed -n 's/^vmm: coalesced-io: writes=\([0-9]*\).*/\1/p' "$err" | tail -n 1)
	cf8_exits=$(grep "^vmm: exit-sites:" "$err" | tail -n 1 | tr ' ' '\n' | sed -n 's#^io:0xcf8=\([0-9]*\)/.*#\1#p')
	[ "${cf8_queued:-0}" -ge 100 ] || { fail "CF8 writes were not coalesced: $(grep coalesced-io "$err")"; return; }
	[ "${cf8_exits:-0}" -le $((cf8_queued / 10)) ] ||
		{ fail "$cf8_exits exits at port 0xcf8 against $cf8_queued writes queued (its writes should be queued)"; return; }
	pass "kernel=bzImage $irqs $kaslr uptime-at-init=$(marker uptime-at-init)s cf8-queued=$cf8_queued cf8-exits=${cf8_exits:-0}"
}

scenario_smp2_reboot() {
	name=smp2-reboot
	start_vmm $name --cpus 2 --memory 512M --cmdline "console=ttyS0 vmm.mode=reboot"
	check_boot || return
	[ "$(marker cpus)" = 2 ] || { fail "guest sees $(marker cpus) CPUs, want 2"; return; }
	wait_exit "$(t 30)" || { fail "vmm still running after reboot -f"; return; }
	[ "$status" = 4 ] || { fail "exit status $status after reboot, want 4"; return; }
	grep -q "guest reset" "$err" || { fail "no 'guest reset' message"; return; }
	pass "cpus=2 status=4"
}

# wait_boots N SECONDS: until the guest has reached init N times (--on-reboot=restart) or vmm
# ended; fails if it has not. A guest still running at the deadline stopped making progress
# (wait_timed_out, as wait_out sets it): scenarios.sh reports and retries that as a stall.
wait_boots() {
	end=$(($(date +%s) + $2))
	while [ "$(grep -c 'VMM-GUEST: init-ready' "$out")" -lt "$1" ] && [ "$(date +%s)" -le $end ]; do
		kill -0 "$vmm_pid" 2>/dev/null || break
		sleep 0.5
	done
	[ "$(grep -c 'VMM-GUEST: init-ready' "$out")" -ge "$1" ] && return 0
	kill -0 "$vmm_pid" 2>/dev/null && wait_timed_out="init to be reached $1 times"
	return 1
}

# second_boot_then_sigint: a guest that rebooted at init (vmm.mode=reboot, --on-reboot=restart)
# reaches init again, and SIGINT then stops vmm with status 130.
second_boot_then_sigint() {
	wait_boots 2 "$(t 120)" || { fail "the guest did not boot a second time after its reset"; return 1; }
	kill -INT "$vmm_pid"
	wait_exit "$(t 20)" || { fail "vmm ignored SIGINT"; return 1; }
	[ "$status" = 130 ] || { fail "exit status $status after SIGINT, want 130"; return 1; }
}

# The PVH boot (vmm/boot_pvh.c): the same kernel unpacked to its ELF vmlinux, entered at its PVH
# note with 2 vCPUs, and the default guest's archive: scripts/boot.sh's guest. A guest reset
# with --on-reboot=restart loads it again, from the file vmm opened before it dropped its
# privileges.
scenario_pvh() {
	name=pvh-vmlinux
	[ -f "$VMLINUX" ] || { fail "no $VMLINUX (the guest build unpacks it: guest/extract-vmlinux.sh)"; return; }
	start_guest "$name" "$VMM" run --exit-stats --kernel "$VMLINUX" --initrd "$DEFAULT_INITRD" --cpus 2 --memory 1G \
		--on-reboot=restart --cmdline "console=ttyS0 vmm.mode=reboot"
	check_boot || return
	[ "$(marker cpus)" = 2 ] || { fail "guest sees $(marker cpus) CPUs, want 2"; return; }
	second_boot_then_sigint || return
	pass "cpus=2 booted twice uptime-at-init=$(marker uptime-at-init)s"
}

scenario_restart() {
	name=reboot-restart
	start_vmm $name --cpus 1 --memory 512M --on-reboot=restart --cmdline "console=ttyS0 vmm.mode=reboot"
	second_boot_then_sigint || return
	pass "booted twice, SIGINT status=130"
}

scenario_bigmem() {
	name=bigmem-4G
	start_vmm $name --cpus 1 --memory 4G --cmdline "console=ttyS0 vmm.mode=poweroff"
	check_boot || return
	mem=$(marker memtotal-kb)
	# RAM below the PCI hole is at most 3 GiB: more than that means RAM above 4 GiB is in use.
	[ "$mem" -gt 3200000 ] 2>/dev/null || { fail "MemTotal is ${mem} kB; RAM above 4 GiB is not used"; return; }
	wait_exit "$(t 30)" || { fail "vmm still running after poweroff"; return; }
	[ "$status" = 0 ] || { fail "exit status $status, want 0"; return; }
	pass "memtotal-kb=$mem"
}

scenario_sigterm() {
	name=sigterm-power-button
	# The guest powers off at the second press: the second SCI is only delivered if the first
	# was EOIed (level-triggered: remote IRR), so this checks the EOI path too.
	start_vmm $name --cpus 1 --memory 512M --cmdline "console=ttyS0 vmm.mode=wait vmm.pwrbtn-presses=2"
	check_boot || return
	grep -q "VMM-GUEST: power-button=watched" "$out" || { fail "init found no power button to watch"; return; }
	kill -TERM "$vmm_pid"
	wait_out "VMM-GUEST: power-button 1" "$(t 20)" || { fail "first power button press not seen by the guest"; return; }
	t0=$(date +%s)
	kill -TERM "$vmm_pid"
	wait_out "VMM-GUEST: power-button 2" "$(t 20)" || { fail "second press not seen: SCI not re-delivered (EOI path)"; return; }
	wait_exit "$(t 30)" || { fail "vmm still running after the power button"; return; }
	[ "$status" = 0 ] || { fail "exit status $status, want 0"; return; }
	pass "two presses, shutdown in $(($(date +%s) - t0))s"
}

# vmm's console on a terminal, as a user at a shell runs it (pty-run, tests/nested/pty-run.c):
# raw mode, typed input reaching the guest's shell, and at power-off the terminal restored and
# status 0. Every other scenario gives vmm a FIFO, which is not a terminal: a forbidden TCGETS
# once killed vmm with SIGSYS (status 159) after every power-off at a terminal, unseen here.
scenario_console_tty() {
	name=console-tty
	pty_run=$(dirname "$VMM")/pty-run
	[ -x "$pty_run" ] || pty_run=$(dirname "$VMM")/tests/nested/pty-run
	[ -x "$pty_run" ] || { fail "no pty-run beside $VMM (ninja builds it in tests/nested)"; return; }
	# shellcheck disable=SC2016
	start_guest $name "$pty_run" -e "VMM-GUEST: init-ready" -s 'echo tty-$((6 * 7))\r' -e "tty-42" -s 'poweroff -f\r' -- \
		"$VMM" run --exit-stats --kernel "$KERNEL" --initrd "$INITRD" --cpus 1 --memory 512M \
		--cmdline "console=ttyS0 quiet vmm.mode=shell"
	check_boot || return
	wait_out "tty-42" "$(t 30)" || { fail "typed input did not reach the guest's shell"; return; }
	wait_exit "$(t 30)" || { fail "vmm still running after poweroff -f"; return; }
	[ "$status" = 0 ] || { fail "exit status $status after poweroff -f at a terminal, want 0"; return; }
	grep -q "^pty-run: terminal restored" "$out" ||
		{ fail "$(grep "^pty-run: terminal" "$out" | tr -d '\r' | grep . || echo "pty-run printed no terminal line")"; return; }
	pass "typed input reached the guest's shell, terminal restored, status 0"
}

# Up to 60 s for the last VMM's tap (console-lib.sh), and a note when it took more than 10.
wait_tap_gone() {
	wait_tap_free 60
	if [ -e "/sys/class/net/$TAP" ]; then
		# Seen in the nested L1 after an L2 guest stalled: the last VMM's vhost device cannot be
		# released (a kernel thread stuck), so no guest can have a network here any more.
		l1_wedged="$TAP still exists 60 s after the last VMM ended (its vhost device is not released)"
		return 1
	fi
	[ "$tap_wait_ds" -gt 100 ] && echo "BOOTTEST: note: $TAP took $((tap_wait_ds / 10)) s to go after the last VMM (vhost teardown)"
	return 0
}


# l1_evidence: where the L1 is stuck when it can run no more guests: every task in
# uninterruptible sleep (D) with its kernel stack, and every CPU's backtrace (sysrq l) from dmesg.
l1_evidence() {
	echo "--- L1: tasks in uninterruptible sleep"
	l1_d_tasks
	echo l >/proc/sysrq-trigger 2>/dev/null
	sleep 1
	echo "--- L1: dmesg tail (sysrq l: a backtrace of each CPU)"
	dmesg | tail -n 60 | sed 's/^/    /'
}

# net_up: the guest's eth0 and the tap both configured, and the guest reaches the tap.
net_up() {
	grep -q "VMM-GUEST: eth0=169.254.10.2/24" "$out" || { fail "the guest has no eth0"; return 1; }
	ip addr replace 169.254.10.1/24 dev $TAP && ip link set $TAP up || { fail "cannot configure $TAP"; return 1; }
	sleep 1
	send "ping -c 3 -W 5 169.254.10.1 | tail -n 2"
	wait_out "3 packets transmitted, 3 packets received" "$(t 30)" || { fail "the guest cannot ping the tap"; return 1; }
	send "iperf3 -s -D; rr server 7777 & datacheck serve 7778 & echo SERVERS-UP-\$((40+2))"
	wait_out "^SERVERS-UP-42" "$(t 20)" || { fail "servers did not start in the guest"; return 1; }
	sleep 1
}

# iperf_client OUT [-R]: one 3-second iperf3 run. The server (iperf3 -s -D) refuses a connection
# now and then while it resets after the previous test: a refusal is tried again, twice at most,
# and said.
# bounded SECS CMD...: CMD, killed if it has not ended after SECS seconds. A network client that
# never returns is the guest or its device no longer answering: that sets wait_timed_out, so that
# the scenario is reported and retried as a stall instead of blocking the suite.
bounded() {
	b_secs=$1
	shift
	timeout -s KILL "$b_secs" "$@"
	b_status=$?
	[ $b_status = 137 ] || [ $b_status = 124 ] && wait_timed_out="$1 $2 to end (killed after $b_secs s)"
	return $b_status
}

iperf_client() {
	for try in 1 2 3; do
		bounded "$(t 30)" iperf3 -c 169.254.10.2 -t 3 -f m $2 >"$1" 2>&1 && return 0
		[ -n "$wait_timed_out" ] && return 1
		# iperf3 under the emulator now and then ends a finished test with a control-socket
		# error: one more run is allowed for that, and said; data integrity is checked apart
		# (datacheck) and a dead data path fails every try.
		if ! grep -q "unable to connect" "$1"; then
			[ $try -ge 2 ] && return 1
			echo "BOOTTEST: note $name: iperf3 $2 failed ($(grep -i error "$1" | tail -n 1)), trying again"
		else
			echo "BOOTTEST: note $name: iperf3 server refused the connection (try $try), trying again"
		fi
		sleep 2
	done
	return 1
}

# net_traffic: iperf3 both ways and request/response; sets rx, tx, tps, exits, packets.
net_traffic() {
	e0=$(exit_count) p0=$(tap_packets)
	iperf_client "$WORK/iperf-rx.txt" || { fail "iperf3 to the guest failed: $(tail -n 2 "$WORK/iperf-rx.txt")"; return 1; }
	iperf_client "$WORK/iperf-tx.txt" -R || { fail "iperf3 from the guest failed: $(tail -n 2 "$WORK/iperf-tx.txt")"; return 1; }
	bounded "$(t 60)" rr client 169.254.10.2 7777 2000 >"$WORK/rr.txt" 2>&1 || { fail "request/response failed: $(cat "$WORK/rr.txt")"; return 1; }
	e1=$(exit_count) p1=$(tap_packets)
	rx=$(iperf_mbits "$WORK/iperf-rx.txt") tx=$(iperf_mbits "$WORK/iperf-tx.txt")
	tps=$(rr_tps "$WORK/rr.txt")
	exits=$((e1 - e0)) packets=$((p1 - p0))
	[ "$packets" -gt 1000 ] || { fail "only $packets packets crossed the tap"; return 1; }
}

# net_checked MIB: MIB MiB to the guest and MIB MiB from it, every byte compared with the
# sender's stream (a stale translation would corrupt data silently); sets check_in, check_out.
# datacheck gives up on a transfer that moves nothing for 60 s (STALLED): that is the guest or its
# device stopping, reported and retried as a stall (wait_timed_out), with vmm's state.
net_checked() {
	if ! datacheck send 169.254.10.2 7778 "$1" >"$WORK/dc-in.txt" 2>&1; then
		grep -q STALLED "$WORK/dc-in.txt" && wait_timed_out="the checked transfer to the guest"
		fail "checked transfer to the guest: $(cat "$WORK/dc-in.txt")"
		return 1
	fi
	if ! datacheck recv 169.254.10.2 7778 "$1" >"$WORK/dc-out.txt" 2>&1; then
		grep -q STALLED "$WORK/dc-out.txt" && wait_timed_out="the checked transfer from the guest"
		fail "checked transfer from the guest: $(cat "$WORK/dc-out.txt")"
		return 1
	fi
	check_in=$(sed -n 's/.*mbits=\([0-9]*\).*/\1/p' "$WORK/dc-in.txt") check_out=$(sed -n 's/.*mbits=\([0-9]*\).*/\1/p' "$WORK/dc-out.txt")
}


scenario_net() {
	name=virtio-net-vhost
	TAP=vmmtap0
	if [ ! -c /dev/vhost-net ]; then
		fail "no /dev/vhost-net on this host (load vhost_net)"
		return
	fi
	wait_tap_gone || { fail "$l1_wedged"; return; }
	start_vmm $name --cpus 2 --memory 1G --net tap=$TAP --cmdline "console=ttyS0 vmm.mode=shell vmm.ip=169.254.10.2/24"
	check_boot || return
	net_up || return
	net_traffic || return
	echo "BENCH: net guest_rx_mbits=$rx guest_tx_mbits=$tx rr_tps=$tps exits=$exits packets=$packets"
	echo "BENCH: net exits-during-transfer: $(exit_delta_by_reason)"
	[ $((exits * 100)) -lt "$packets" ] || { fail "$exits exits to vmm for $packets packets: the data path enters vmm"; return; }
	send 'grep -E "virtio[0-9]-(input|output)" /proc/interrupts | awk "{ s = 0; for (i = 2; i <= NF; i++) if (\$i ~ /^[0-9]+$/) s += \$i; print \$NF, s, (\$0 ~ /PCI-MSI/) }" | tr "\n" " "; echo QIRQS-$((3*3))'
	wait_out "QIRQS-9" "$(t 20)" || { fail "no interrupt lines for the queues"; return; }
	line=$(grep "QIRQS-9" "$out" | tail -n 1 | tr -d '\r')
	set -- $line
	[ "$#" -ge 7 ] || { fail "virtio queue vectors missing from /proc/interrupts: $line"; return; }
	[ "$3" = 1 ] && [ "$6" = 1 ] && [ "$2" -gt 0 ] && [ "$5" -gt 0 ] || { fail "queue vectors not PCI-MSI or not counting: $line"; return; }
	rebind_after_vpoke || return
	send "poweroff -f"
	wait_exit "$(t 30)" || { fail "vmm still running after poweroff"; return; }
	[ "$status" = 0 ] || { fail "exit status $status, want 0"; return; }
	pass "rx=${rx}Mbit/s tx=${tx}Mbit/s rr=${tps}/s exits=$exits packets=$packets irqs: $line"
}

# vmm_status KEY: the value of KEY in vmm's /proc/PID/status, blanks squeezed to one space.
vmm_status() { sed -n "s/^$1:[[:space:]]*//p" "/proc/$vmm_pid/status" | tr -s ' \t' '  ' | sed 's/ *$//'; }

# sandbox_checks: vmm runs as nobody (65534) with no capability, no_new_privs and its filter.
sandbox_checks() {
	[ -r "/proc/$vmm_pid/status" ] || { fail "cannot read /proc/$vmm_pid/status"; return 1; }
	for k in CapEff CapPrm CapInh CapBnd CapAmb; do
		[ "$(vmm_status $k)" = 0000000000000000 ] || { fail "vmm's $k is '$(vmm_status $k)', want 0000000000000000"; return 1; }
	done
	[ "$(vmm_status NoNewPrivs)" = 1 ] || { fail "vmm's NoNewPrivs is '$(vmm_status NoNewPrivs)', want 1"; return 1; }
	[ "$(vmm_status Seccomp)" = 2 ] || { fail "vmm's Seccomp is '$(vmm_status Seccomp)', want 2 (a filter)"; return 1; }
	[ "$(vmm_status Uid)" = "65534 65534 65534 65534" ] || { fail "vmm's Uid line is '$(vmm_status Uid)', want 65534 four times"; return 1; }
	[ "$(vmm_status Gid)" = "65534 65534 65534 65534" ] || { fail "vmm's Gid line is '$(vmm_status Gid)', want 65534 four times"; return 1; }
	[ "$(vmm_status Groups)" = 65534 ] || { fail "vmm's Groups line is '$(vmm_status Groups)', want 65534 alone"; return 1; }
}

# Least privilege (vmm/sandbox.c): vmm, started as root with --user, runs its guest as that user
# with no capability, no_new_privs and its seccomp filter, as /proc shows them; the console, the
# network, a guest restart (a new VM from the fds opened before the drop: the same vhost fd and
# tap) and the power button still work, and nothing was refused. Then the test hook
# VMM_TEST_FORBIDDEN_SYSCALL=1 (vmm/main.c: one socket() from the event loop as soon as the
# first guest runs) must end vmm with status 5 and the line naming the call. --user is given as
# a name, so that the /etc/passwd lookup runs too (the L1 initramfs has one: tests/nested/l1.sh).
scenario_sandbox() {
	name=sandbox
	TAP=vmmtap0
	[ "$(id -u)" = 0 ] || { fail "needs root: vmm switches to --user nobody and creates $TAP"; return; }
	[ -c /dev/vhost-net ] || { fail "no /dev/vhost-net on this host (load vhost_net)"; return; }
	ids=$(awk -F: '$1 == "nobody" { print $3 ":" $4 }' /etc/passwd)
	[ "$ids" = 65534:65534 ] || { fail "/etc/passwd has no nobody with uid and gid 65534 (found '$ids')"; return; }
	wait_tap_gone || { fail "$l1_wedged"; return; }
	start_vmm $name --cpus 2 --memory 512M --net tap=$TAP --user nobody --on-reboot=restart \
		--cmdline "console=ttyS0 vmm.mode=shell vmm.ip=169.254.10.2/24"
	check_boot || return
	sandbox_checks || return
	sleep 1
	send "echo sandboxed-\$((6*7))"
	wait_out "^sandboxed-42" "$(t 20)" || { fail "no answer to a typed command"; return; }
	net_up || return
	net_checked 8 || return
	first="$check_in/$check_out"
	# The reset makes vmm build a new VM after the drop: it must take the vhost fd over again
	# (VHOST_RESET_OWNER, VHOST_SET_OWNER) and reuse the tap, the kernel and the initrd.
	send "reboot -f"
	wait_boots 2 "$(t 120)" || { fail "the guest did not boot again after its reset"; return; }
	sandbox_checks || return
	sleep 1
	send "ping -c 3 -W 5 169.254.10.1 | tail -n 2 | sed 's/^/RESTARTED: /'; datacheck serve 7778 & echo SERVER-AGAIN-\$((40+2))"
	wait_out "^RESTARTED: 3 packets transmitted, 3 packets received" "$(t 30)" || { fail "no network after the restart"; return; }
	wait_out "^SERVER-AGAIN-42" "$(t 20)" || { fail "datacheck did not start after the restart"; return; }
	sleep 1
	net_checked 8 || return
	kill -TERM "$vmm_pid"
	wait_out "VMM-GUEST: power-button 1" "$(t 20)" || { fail "the power button (SIGTERM) did not reach the guest"; return; }
	wait_exit "$(t 30)" || { fail "vmm still running after the power button"; return; }
	[ "$status" = 0 ] || { fail "exit status $status after the power button, want 0"; return; }
	if grep -q "seccomp\|EACCES\|Permission denied" "$err"; then
		fail "vmm was refused something: $(grep "seccomp\|EACCES\|Permission denied" "$err" | head -n 2 | tr '\n' ' ')"
		return
	fi
	pass "uid=65534 caps=0 no_new_privs=1 seccomp=2; console, datacheck ${first} then ${check_in}/${check_out} Mbit/s across a restart, power button"

	name=sandbox-forbidden-syscall
	export VMM_TEST_FORBIDDEN_SYSCALL=1
	start_vmm $name --cpus 1 --memory 256M --user nobody --cmdline "console=ttyS0 vmm.mode=wait"
	unset VMM_TEST_FORBIDDEN_SYSCALL
	wait_exit "$(t 30)" || { fail "vmm still running after its forbidden system call"; return; }
	[ "$status" = 5 ] || { fail "exit status $status, want 5 (a system call the filter forbids)"; return; }
	grep -q "^vmm: seccomp: forbidden system call 41 (socket)" "$err" ||
		{ fail "no 'vmm: seccomp: forbidden system call 41 (socket)' line on stderr"; return; }
	pass "socket() from the event loop: status 5 and the line naming it"
}

# A driver that goes away mid-traffic (device reset), a hostile one poking the registers, then
# the real driver again: vmm keeps running and the device works afterwards. With "irte", vpoke
# also unmasks an MSI-X vector whose remappable message names an absent IRTE.
rebind_after_vpoke() {
	dev=0000:00:01.0
	send "ping -i 0.2 169.254.10.1 >/dev/null 2>&1 & sleep 1; echo $dev > /sys/bus/pci/drivers/virtio-pci/unbind; echo UNBOUND-\$((2+3))"
	wait_out "^UNBOUND-5" "$(t 20)" || { fail "unbinding the driver hung"; return 1; }
	# Kernel messages (the IOMMU's fault lines) would cut vpoke's lines on the console: keep
	# them in dmesg while vpoke runs, then print the DMAR lines with a prefix of their own.
	# Linux prints at most 10 fault lines per 5 s: the IRTE check waits for the ring checks'
	# faults to age out of that limit.
	irte=""
	[ "${1:-}" = irte ] && irte="sleep 6; vpoke /sys/bus/pci/devices/$dev/resource0 irte; "
	send "dmesg -n 1; vpoke /sys/bus/pci/devices/$dev/resource0; ${irte}sleep 1; { dmesg | grep 'DMAR: \[DMA' | head -n 4; dmesg | grep 'DMAR: \[INTR-REMAP' | head -n 2; } | sed 's/^/KMSG: /'; dmesg -n 7; echo KMSG-END-\$((1+1))"
	wait_out "^KMSG-END-2" "$(t 40)" || { fail "vpoke did not finish"; return 1; }
	grep -q "^vpoke: FAIL" "$out" && { fail "the device mishandled bad register writes: $(grep '^vpoke: FAIL' "$out" | tr -d '\r' | head -n 3)"; return 1; }
	[ "$(grep -c '^vpoke: ok' "$out")" -ge 7 ] || { fail "vpoke ran too few checks"; return 1; }
	grep -q "needs reset" "$err" || { fail "no log line about the NEEDS_RESET"; return 1; }
	kill -0 "$vmm_pid" || { fail "vmm died"; return 1; }
	send "echo $dev > /sys/bus/pci/drivers/virtio-pci/bind; sleep 1; ip addr add 169.254.10.2/24 dev eth0; ip link set eth0 up; sleep 2; ping -c 3 -W 5 169.254.10.1 | tail -n 2 | sed 's/^/AGAIN: /'"
	wait_out "^AGAIN: 3 packets transmitted, 3 packets received" "$(t 40)" || { fail "no network after the driver came back"; return 1; }
}

# irq_counts PATTERN: the guest's /proc/interrupts lines for devices matching PATTERN (guest/irqs)
# into $WORK/irqs.txt, one "IRQ: number chip name total per-CPU..." line each.
irq_seq=0
irq_counts() {
	irq_seq=$((irq_seq + 1))
	tag=IRQS-$((500 + irq_seq)) # each call waits for its own line (the typed command shows the sum)
	send "irqs '$1' | tr '\n' ';'; echo IRQS-\$((499 + $irq_seq + 1))"
	wait_out "$tag" "$(t 20)" || { fail "no /proc/interrupts lines for $1"; return 1; }
	grep "$tag" "$out" | tail -n 1 | tr -d '\r' | tr ';' '\n' | grep "^IRQ:" >"$WORK/irqs.txt"
}

# check_ir: the guest remaps its interrupts through vmm's VT-d unit in x2APIC mode; the serial
# line (IOAPIC pin) and the NIC's queue vectors (MSI-X) go through the table and count.
check_ir() {
	[ "$(marker ir-mode)" = x2apic ] || { fail "interrupt remapping is '$(marker ir-mode)', want x2apic"; return 1; }
	irq_counts 'ttyS0|virtio0-(input|output)' || return 1
	irqs=$(tr '\n' ' ' <"$WORK/irqs.txt")
	awk '$3 == "IR-IO-APIC" && $4 == "ttyS0" && $5 > 0 { ok = 1 } END { exit !ok }' "$WORK/irqs.txt" ||
		{ fail "the serial line is not a counting IR-IO-APIC interrupt: $irqs"; return 1; }
	for q in input output; do
		awk -v q="virtio0-$q" '$3 == "IR-PCI-MSI" && index($4, q) == 1 && $5 > 0 { ok = 1 } END { exit !ok }' "$WORK/irqs.txt" ||
			{ fail "the NIC's $q vector is not a counting IR-PCI-MSI interrupt: $irqs"; return 1; }
	done
}

# check_ir_affinity: the receive queue's vector moved to the vCPU that took fewer of its
# interrupts (a new IRTE destination and an interrupt-entry-cache invalidation, which vmm turns
# into a new KVM route) counts there under request/response traffic.
check_ir_affinity() {
	irq_counts 'virtio0-input' || return 1
	set -- $(head -n 1 "$WORK/irqs.txt")
	irq=$2 before0=$6 before1=$7
	[ -n "$before1" ] || { fail "no per-CPU counts for the receive vector: $*"; return 1; }
	cpu=1 before=$before1
	[ "$before0" -lt "$before1" ] && cpu=0 before=$before0
	send "echo $((1 << cpu)) > /proc/irq/$irq/smp_affinity; echo AFFINITY-\$((5*5))"
	wait_out "^AFFINITY-25" "$(t 20)" || { fail "cannot set the affinity of IRQ $irq"; return 1; }
	bounded "$(t 60)" rr client 169.254.10.2 7777 500 >"$WORK/rr-affinity.txt" 2>&1 || { fail "request/response after the move failed: $(cat "$WORK/rr-affinity.txt")"; return 1; }
	irq_counts 'virtio0-input' || return 1
	set -- $(head -n 1 "$WORK/irqs.txt")
	after=$6
	[ $cpu = 1 ] && after=$7
	moved=$((after - before))
	[ "$moved" -ge 100 ] || { fail "only $moved receive interrupts reached CPU $cpu after the affinity change (IRQ $irq: $*)"; return 1; }
}

# virtio-net behind the VT-d unit, in one of the guest's IOMMU modes: the guest uses the DMAR
# unit, the NIC's IOMMU group has the mode's type, vhost translates through its device IOTLB
# (misses answered by vmm), traffic flows both ways with every byte checked, and in strict mode
# every unmap reaches vhost as an invalidation. MODE: strict, lazy, pt (pass-through), off
# (intel_iommu=off: no translation, the IOTLB holds identity ranges).
scenario_iommu() {
	mode=$1
	name=iommu-$mode$2
	TAP=vmmtap0
	case "$mode" in
	strict) extra="iommu.strict=1" want=DMA ;;
	lazy) extra="" want=DMA-FQ ;;
	pt) extra="iommu=pt" want=identity ;;
	off) extra="intel_iommu=off" want=none ;;
	esac
	[ "$2" = -noir ] && extra="$extra intremap=off"
	wait_tap_gone || { fail "$l1_wedged"; return; }
	start_vmm $name --cpus 2 --memory 1G --net tap=$TAP ${IOMMU_OPT:---iommu} --cmdline "console=ttyS0 vmm.mode=shell vmm.ip=169.254.10.2/24 vmm.pwrbtn-presses=3 $extra"
	unset IOMMU_OPT
	unset VMM_IOTLB_EXACT VMM_IOTLB_PREFETCH
	check_boot || return
	if [ "$mode" != off ]; then
		[ "$(marker dmar-enabled)" -ge 1 ] 2>/dev/null || { fail "the guest did not take the DMAR unit"; return; }
	fi
	[ "$(marker iommu-group-type)" = "$want" ] || { fail "the NIC's IOMMU group type is '$(marker iommu-group-type)', want '$want'"; return; }
	net_up || return
	net_traffic || return
	if [ "$2" = -noir ]; then
		[ "$(marker ir-mode)" = off ] || { fail "interrupt remapping is '$(marker ir-mode)' with intremap=off"; return; }
	else
		check_ir || return
	fi
	# 128 MiB each way, 256 MiB checked per mode (strict mode's every unmap is an exit: about 30 s
	# in the nested L1).
	net_checked 128 || return
	kill -USR2 "$vmm_pid"
	sleep 1
	misses=$(counter vhost-iotlb misses) updates=$(counter vhost-iotlb updates) inval=$(counter vhost-iotlb invalidations) faults=$(counter vhost-iotlb faults)
	echo "BENCH: $name guest_rx_mbits=$rx guest_tx_mbits=$tx rr_tps=$tps checked_in_mbits=$check_in checked_out_mbits=$check_out exits=$exits packets=$packets iotlb_misses=$misses iotlb_updates=$updates iotlb_invalidations=$inval iotlb_faults=$faults iotlb_prefetched=$(counter vhost-iotlb prefetched)"
	for line in iommu vhost-iotlb exit-sites; do
		echo "BENCH: $name $(grep "^vmm: $line:" "$err" | tail -n 1 | sed 's/^vmm: //')"
	done
	# Every mode goes through vhost's IOTLB: updates prove it (with pass-through and with
	# translation off the rings' priming already maps all of RAM, so there may be no miss).
	[ "${updates:-0}" -gt 0 ] || { fail "vmm sent vhost no IOTLB update: it does not translate through the IOMMU"; return; }
	[ "${faults:-0}" = 0 ] || { fail "$faults IOMMU faults during normal traffic"; return; }
	if [ "$2" = -ats ]; then
		devtlb=$(counter iommu devtlb_inval)
		[ "${devtlb:-0}" -gt 100 ] || { fail "only ${devtlb:-0} device-TLB invalidations: the guest did not use ATS"; return; }
	fi
	if [ "$mode" = strict ]; then
		[ "${inval:-0}" -gt 100 ] || { fail "only ${inval:-0} invalidations reached vhost in strict mode"; return; }
		# Isolation: vpoke gives the device ring IOVAs that no table maps; the IOMMU refuses
		# them (a fault record the guest prints), vmm keeps running, the driver comes back.
		# With interrupt remapping, vpoke also unmasks a vector whose message names an IRTE
		# that is not present (index 0xfff0): blocked, recorded, printed by the guest as an
		# INTR-REMAP fault with reason 0x22.
		ir_blocked0=$(counter iommu ir_blocked)
		rebind_after_vpoke $([ "$2" = -noir ] || echo irte) || return
		grep -q "^KMSG: .*DMAR: \[DMA \(Read\|Write\)" "$out" || { fail "the guest saw no DMAR fault for vpoke's unmapped rings"; return; }
		grep -q "^vmm: .*vtd: DMA" "$err" || grep -q "vtd:" "$err" || { fail "vmm logged no VT-d fault"; return; }
		if [ "$2" != -noir ]; then
			grep -q "^KMSG: .*DMAR: \[INTR-REMAP\] Request device \[00:01.0\] fault index 0xfff0 \[fault reason 0x22\]" "$out" ||
				{ fail "the guest saw no interrupt-remapping fault for the vector with an absent IRTE: $(grep '^KMSG:' "$out" | tr -d '\r' | head -n 6)"; return; }
			kill -USR2 "$vmm_pid"
			sleep 1
			[ "$(counter iommu ir_blocked)" -gt "${ir_blocked0:-0}" ] 2>/dev/null ||
				{ fail "vmm counted no blocked interrupt (ir_blocked ${ir_blocked0:-?} -> $(counter iommu ir_blocked))"; return; }
			echo "BOOTTEST: note $name: blocked interrupts ${ir_blocked0:-0} -> $(counter iommu ir_blocked); the guest printed: $(grep -m 1 '^KMSG: .*INTR-REMAP' "$out" | tr -d '\r' | sed 's/^KMSG: //')"
		fi
	fi
	if [ "$mode" = lazy ] && [ "$2" != -noir ]; then
		# Interrupt remapping: a vector moved to the other vCPU, and the level-triggered SCI
		# through its IRTE, twice (the second press needs the first one's EOI by pin); the
		# guest counts both on an IR-IO-APIC line.
		check_ir_affinity || return
		kill -TERM "$vmm_pid"
		wait_out "VMM-GUEST: power-button 1" "$(t 20)" || { fail "first power button press not seen through interrupt remapping"; return; }
		kill -TERM "$vmm_pid"
		wait_out "VMM-GUEST: power-button 2" "$(t 20)" || { fail "second press not seen: the remapped SCI was not EOIed"; return; }
		irq_counts '^acpi$' || return
		awk '$3 == "IR-IO-APIC" && $5 >= 2 { ok = 1 } END { exit !ok }' "$WORK/irqs.txt" ||
			{ fail "the SCI is not an IR-IO-APIC line that counted both presses: $(cat "$WORK/irqs.txt")"; return; }
	fi
	send "poweroff -f"
	wait_exit "$(t 30)" || { fail "vmm still running after poweroff"; return; }
	[ "$status" = 0 ] || { fail "exit status $status, want 0"; return; }
	pass "type=$want rx=${rx}Mbit/s tx=${tx}Mbit/s rr=${tps}/s checked=${check_in}/${check_out}Mbit/s misses=$misses updates=$updates invalidations=$inval"
}
scenario_iommu_strict() { scenario_iommu strict; }
scenario_iommu_lazy() { scenario_iommu lazy; }
scenario_iommu_pt() { scenario_iommu pt; }
scenario_iommu_off() { scenario_iommu off; }
# Measurements, not in the default list (ONLY=...): the same with the experimental shadow of
# vhost's IOTLB (VMM_IOTLB_EXACT=1, see virtio/vhost_net.c).
scenario_iommu_strict_exact() { export VMM_IOTLB_EXACT=1; scenario_iommu strict -exact; }
scenario_iommu_lazy_exact() { export VMM_IOTLB_EXACT=1; scenario_iommu lazy -exact; }
# ... and without the prefetch of a miss's neighbours (VMM_IOTLB_PREFETCH=0), for A/B figures.
scenario_iommu_strict_noprefetch() { export VMM_IOTLB_PREFETCH=0; scenario_iommu strict -noprefetch; }
scenario_iommu_lazy_noprefetch() { export VMM_IOTLB_PREFETCH=0; scenario_iommu lazy -noprefetch; }
# Strict mode with device-TLBs (--iommu=ats): every unmap also sends a device-TLB invalidation.
# DMA remapping without interrupt remapping (intremap=off), as the perf harness runs it.
scenario_iommu_lazy_noir() { scenario_iommu lazy -noir; }
scenario_iommu_strict_ats() { IOMMU_OPT=--iommu=ats; scenario_iommu strict -ats; }

# net_guest_streaming SECS WHAT: for the fault scenarios ($name, $TAP set): a guest with --net
# and --on-reboot=restart at its shell, the network up, and an iperf3 stream of SECS seconds to
# it in the background ($client_pid), still running 3 s later (before WHAT happens to it). Not
# through bounded(): a client that its bound kills is expected here (its peer vanishes), not a
# stall to retry. busybox's timeout execs iperf3 in its own process, GNU timeout forwards
# signals: killing $client_pid ends the client.
net_guest_streaming() {
	[ -c /dev/vhost-net ] || { fail "no /dev/vhost-net on this host (load vhost_net)"; return 1; }
	wait_tap_gone || { fail "$l1_wedged"; return 1; }
	start_vmm $name --cpus 2 --memory 512M --net tap=$TAP --on-reboot=restart \
		--cmdline "console=ttyS0 vmm.mode=shell vmm.ip=169.254.10.2/24"
	check_boot || return 1
	net_up || return 1
	timeout -s KILL "$(t 60)" iperf3 -c 169.254.10.2 -t "$1" -f m >"$WORK/iperf-$name.txt" 2>&1 &
	client_pid=$!
	sleep 3
	kill -0 "$client_pid" 2>/dev/null || { fail "iperf3 ended before $2: $(tail -n 2 "$WORK/iperf-$name.txt")"; return 1; }
}

# main_thread_ticks: CPU time (user + system, clock ticks) of vmm's main thread, which runs the
# event loop: a loop that spun on the rtnetlink socket would burn it.
main_thread_ticks() { awk '{ print $14 + $15 }' "/proc/$vmm_pid/task/$vmm_pid/stat"; }

# The host deletes the NIC's tap under traffic (`ip link del`, as an operator or a crashed
# orchestrator would): vmm says so in one line (virtio/tap_watch.c, through rtnetlink), lets
# vhost go of the dead tap and tells the guest its link is down (config status, configuration
# interrupt: carrier 0 in the guest). The guest, its console and vmm run on; vmm's main thread
# does not spin; the host's iperf3 client, whose peer is now unreachable, is then killed.
# A guest restart (--on-reboot=restart) then boots with the link still down and vmm still up, and
# poweroff -f gives status 0.
scenario_net_tap_deleted() {
	name=net-tap-deleted
	TAP=vmmtap0
	[ "$(id -u)" = 0 ] || { fail "needs root: vmm creates $TAP and the test deletes it"; return; }
	net_guest_streaming 20 "the tap was deleted" || return
	line="net: tap $TAP was deleted on the host: the guest's link is down"
	ip link del $TAP || { kill "$client_pid" 2>/dev/null; fail "ip link del $TAP failed"; return; }
	t0=$(date +%s)
	while ! grep -q "$line" "$err" && [ "$(date +%s)" -le $((t0 + $(t 5))) ]; do sleep 0.2; done
	grep -q "$line" "$err" || { kill "$client_pid" 2>/dev/null; fail "no '$line' on vmm's stderr $(t 5) s after the deletion"; return; }
	[ "$(grep -c "$line" "$err")" = 1 ] || { kill "$client_pid" 2>/dev/null; fail "the deletion was reported $(grep -c "$line" "$err") times, want once"; return; }
	noticed=$(($(date +%s) - t0))
	kill -0 "$vmm_pid" 2>/dev/null || { kill "$client_pid" 2>/dev/null; fail "vmm ended after the deletion"; return; }
	# No spin: vmm's main thread uses less than half a CPU over 3 s (150 ticks at USER_HZ 100).
	c0=$(main_thread_ticks) e0=$(exit_count)
	sleep 3
	c1=$(main_thread_ticks) e1=$(exit_count)
	[ $((c1 - c0)) -lt 150 ] || { kill "$client_pid" 2>/dev/null; fail "vmm's main thread used $((c1 - c0)) ticks in 3 s after the deletion: it spins"; return; }
	# The guest's link: carrier 0 (it may take the config-change work a moment), and its console
	# still answers.
	send 'for i in 1 2 3 4 5; do [ "$(cat /sys/class/net/eth0/carrier)" = 0 ] && break; sleep 1; done; echo CARRIER-$((6*7))-$(cat /sys/class/net/eth0/carrier)'
	wait_out "^CARRIER-42-[0-9]" "$(t 20)" || { kill "$client_pid" 2>/dev/null; fail "no answer about eth0's carrier"; return; }
	carrier=$(sed -n 's/^CARRIER-42-\([0-9]*\).*/\1/p' "$out" | tr -d '\r' | head -n 1)
	[ "$carrier" = 0 ] || { kill "$client_pid" 2>/dev/null; fail "the guest's eth0 carrier is '$carrier' after the deletion, want 0"; return; }
	send 'echo ALIVE-$((6*7)) WATCHDOG-$(dmesg | grep -c "NETDEV WATCHDOG")'
	wait_out "^ALIVE-42" "$(t 20)" || { kill "$client_pid" 2>/dev/null; fail "the console no longer answers after the deletion"; return; }
	watchdog=$(sed -n 's/^ALIVE-42 WATCHDOG-\([0-9]*\).*/\1/p' "$out" | tr -d '\r' | head -n 1)
	# The host's client has lost its peer for good (TCP would retransmit for minutes): ended here.
	kill -KILL "$client_pid" 2>/dev/null
	wait "$client_pid"
	client_status=$?
	# A guest restart: a new VM on the same backend, whose NIC comes up with its link down.
	send "reboot -f"
	wait_boots 2 "$(t 120)" || { fail "the guest did not boot again after its reset"; return; }
	sleep 1
	send 'echo CARRIER2-$((6*7))-$(cat /sys/class/net/eth0/carrier)'
	wait_out "^CARRIER2-42-[0-9]" "$(t 20)" || { fail "no answer about eth0's carrier after the restart"; return; }
	carrier2=$(sed -n 's/^CARRIER2-42-\([0-9]*\).*/\1/p' "$out" | tr -d '\r' | head -n 1)
	[ "$carrier2" = 0 ] || { fail "eth0's carrier is '$carrier2' after the restart, want 0"; return; }
	bad="needs reset\|seccomp\|vhost-net failed\|link notifications failed"
	if grep -q "$bad" "$err"; then
		fail "vmm logged a failure: $(grep "$bad" "$err" | head -n 2 | tr '\n' ' ')"
		return
	fi
	send "poweroff -f"
	wait_exit "$(t 30)" || { fail "vmm still running after poweroff -f"; return; }
	[ "$status" = 0 ] || { fail "exit status $status after poweroff -f, want 0"; return; }
	pass "noticed in ${noticed}s, main thread $((c1 - c0)) ticks and $((e1 - e0)) exits in 3 s, carrier 0 before and after a restart, iperf3 client status $client_status, guest TX watchdog lines: ${watchdog:-?}"
}

# The guest resets (reboot -f) while the host sends it a stream, with --on-reboot=restart and
# --net: vmm stops vhost mid-transfer (VHOST_RESET_OWNER on the same fd), boots the guest again
# on the same tap, and that guest's network works: a checked transfer both ways. The host's
# client, whose peer vanished, is killed once the guest is back.
scenario_net_reset() {
	name=net-reset-mid-traffic
	TAP=vmmtap0
	net_guest_streaming 30 "the reset" || return
	b0=$(cat /sys/class/net/$TAP/statistics/tx_bytes)
	send "reboot -f"
	wait_boots 2 "$(t 120)" || { kill -KILL "$client_pid" 2>/dev/null; fail "the guest did not boot again after its reset mid-transfer"; return; }
	[ "$(grep -c "VMM-GUEST: eth0=169.254.10.2/24" "$out")" -ge 2 ] || { kill -KILL "$client_pid" 2>/dev/null; fail "no eth0 after the restart"; return; }
	kill -KILL "$client_pid" 2>/dev/null
	wait "$client_pid" 2>/dev/null
	sent_mib=$((b0 / 1048576))
	sleep 1
	send "ping -c 3 -W 5 169.254.10.1 | grep transmitted | sed 's/^/PING2-/'"
	wait_out "^PING2-3 packets transmitted, 3 packets received" "$(t 30)" || { fail "the restarted guest cannot ping the tap"; return; }
	send "iperf3 -s -D; datacheck serve 7778 & echo SERVERS2-UP-\$((40+2))"
	wait_out "^SERVERS2-UP-42" "$(t 20)" || { fail "servers did not start in the restarted guest"; return; }
	sleep 1
	net_checked 32 || return
	grep -q "vring error\|needs reset\|vhost-net failed" "$err" && { fail "vmm logged: $(grep "vring error\|needs reset\|vhost-net failed" "$err" | head -n 2 | tr '\n' ' ')"; return; }
	send "poweroff -f"
	wait_exit "$(t 30)" || { fail "vmm still running after poweroff -f"; return; }
	[ "$status" = 0 ] || { fail "exit status $status after poweroff -f, want 0"; return; }
	pass "reset after ${sent_mib} MiB to the guest; after the restart checked=${check_in}/${check_out}Mbit/s"
}

# In the nested L1 an L2 guest now and then dies of a triple fault, under QEMU as under vmm
# (seen in about 1 boot in 30, with no pattern): there a scenario whose guest triple-faulted is
# run again (twice at most), and the count is printed so that the rate stays known. Directly on KVM a
# triple fault is a failure like any other.
crash_retries=0 stall_retries=0 l1_wedged=""
# iommu_strict last: its load (an exit and a vhost invalidation per unmap) is what most often
# precedes an L1 hang or panic under the emulator (tests/nested/CRASH-STUDY.md), and a retried L1
# only runs what has not run.
all="smp1_console smp2_reboot bigmem sigterm console_tty restart pvh sandbox net net_tap_deleted net_reset iommu_lazy iommu_pt iommu_off iommu_strict"
# flake_kind: after a scenario's attempt, in the nested L1 with the L1 still able to run guests,
# "crash" when the attempt failed and its guest triple-faulted, "stall" when it failed on a wait
# that ran out (wait_timed_out); nothing otherwise.
flake_kind() {
	[ "$failed" != "$before" ] && [ -n "${NESTED:-}" ] && [ -z "$l1_wedged" ] || return 0
	if grep -q "triple fault" "$err" 2>/dev/null; then
		echo crash
	elif [ -n "$wait_timed_out" ]; then
		echo stall
	fi
}
for s in $all iommu_strict_exact iommu_lazy_exact iommu_strict_noprefetch iommu_lazy_noprefetch iommu_strict_ats iommu_lazy_noir; do
	case " $all " in *" $s "*) want "$s" || continue ;; *) [ -n "$ONLY" ] && want "$s" || continue ;; esac
	# SKIP: scenarios that ran in an earlier L1 boot of this run (run-boot-tests.sh keeps their
	# results), so that a retried L1 only runs what is left.
	case ",${SKIP:-}," in *",$s,"*) echo "BOOTTEST: skipped $s (ran in an earlier L1 boot)"; continue ;; esac
	before=$failed
	wait_timed_out=""
	"scenario_$s"
	# In the nested L1 a scenario whose L2 guest triple-faulted or stopped making progress (the L1
	# itself alive: l1-init's heartbeat) runs again, at most twice, each time printed with vmm's
	# exit counts; the last attempt decides. Directly on KVM nothing is retried.
	tries=1
	while [ $tries -le 2 ]; do
		case $(flake_kind) in
		crash)
			crash_retries=$((crash_retries + 1))
			why="the L2 guest triple-faulted (nested flake: $(grep -E "^vmm: (exits|guest reset)" "$err" | tail -n 2 | tr '\n' ' '))" ;;
		stall)
			stall_retries=$((stall_retries + 1))
			why="the L2 guest stopped making progress (waiting for '$wait_timed_out'; $(grep -E "^vmm: exits" "$err" | tail -n 2 | tr '\n' ' '))" ;;
		*) break ;;
		esac
		failed=$before
		tries=$((tries + 1))
		echo "BOOTTEST: RETRY $name: $why; running it again (attempt $tries)"
		wait_timed_out=""
		"scenario_$s"
	done
	if [ -n "$(flake_kind)" ]; then
		# Its last attempt too ended in a nested crash or stall. These come in runs in one L1
		# (CRASH-STUDY.md: an L1 whose guests die attempt after attempt), so it is not marked as
		# run: run-boot-tests.sh runs it once more in a new L1 boot, after the others.
		echo "BOOTTEST: NESTED-EXHAUSTED $s: its $tries attempts in this L1 ended in nested crashes or stalls"
		continue
	fi
	if [ -n "$l1_wedged" ]; then
		# Not this scenario's failure: the L1 cannot run guests any more. It is not marked as
		# run, so run-boot-tests.sh boots a new L1 that runs it and what is left.
		failed=$before
		echo "BOOTTEST: L1-WEDGED $s: $l1_wedged"
		l1_evidence
		break
	fi
	echo "BOOTTEST: ran $s"
done
echo "BOOTTEST: nested guest crashes retried: $crash_retries"
echo "BOOTTEST: nested guest stalls retried: $stall_retries"
echo "BOOTTEST: done"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
