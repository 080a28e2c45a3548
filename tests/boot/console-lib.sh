# Shared by the boot scenarios and the performance harness (sourced; POSIX sh, runs under
# busybox in the nested L1 too): a guest VMM in the background with its serial console on a
# fifo (stdin) and a file (stdout), and helpers to talk to it and to measure.
# Uses: WORK (scratch dir), SCALE (timeout multiplier). Sets: out, err, vmm_pid, status.

t() { echo $(($1 * SCALE)); }

# start_guest NAME CMD...: runs CMD in the background, its stdin a fifo held open on fd 3.
start_guest() {
	name=$1
	shift
	out=$WORK/$name.out err=$WORK/$name.err in=$WORK/$name.in
	rm -f "$out" "$err" "$in"
	mkfifo "$in"
	"$@" <"$in" >"$out" 2>"$err" &
	vmm_pid=$!
	exec 3>"$in"
}

send() { printf '%s\n' "$1" >&3; }

# wait_out PATTERN SECONDS: until the guest's console shows PATTERN (extended regexp).
wait_out() {
	end=$(($(date +%s) + $2))
	while [ "$(date +%s)" -le $end ]; do
		grep -q -E "$1" "$out" 2>/dev/null && return 0
		kill -0 "$vmm_pid" 2>/dev/null || { grep -q -E "$1" "$out" 2>/dev/null; return; }
		sleep 0.2
	done
	wait_timed_out="$1" # the guest, still running, never printed it (scenarios.sh reports the stall)
	return 1
}

# wait_exit SECONDS: sets $status to the VMM's exit status, or returns 1 if it still runs.
wait_exit() {
	end=$(($(date +%s) + $1))
	while kill -0 "$vmm_pid" 2>/dev/null; do
		[ "$(date +%s)" -le $end ] || return 1
		sleep 0.2
	done
	wait "$vmm_pid"
	status=$?
	exec 3>&-
	vmm_pid=""
	return 0
}

# stop_vmm: SIGKILL, then at most 30 s for the process to go. A VMM stuck in the kernel (state D,
# seen in the nested L1 beside a hung khugepaged) survives it: then it is left behind and said,
# rather than waited for for ever.
stop_vmm() {
	if [ -n "$vmm_pid" ]; then
		kill -9 "$vmm_pid" 2>/dev/null
		sv_i=0
		while [ -d "/proc/$vmm_pid" ] && ! grep -q "^State:[[:space:]]*Z" "/proc/$vmm_pid/status" 2>/dev/null &&
			[ $sv_i -lt 300 ]; do
			sleep 0.1
			sv_i=$((sv_i + 1))
		done
		if [ -d "/proc/$vmm_pid" ] && ! grep -q "^State:[[:space:]]*Z" "/proc/$vmm_pid/status" 2>/dev/null; then
			echo "console-lib: the VMM (pid $vmm_pid) survived SIGKILL for 30 s, left behind:" >&2
			task_report "/proc/$vmm_pid" >&2
		else
			wait "$vmm_pid" 2>/dev/null
		fi
		vmm_pid=""
	fi
	{ exec 3>&-; } 2>/dev/null
}

# task_report DIR: one line for a task (/proc/PID or /proc/PID/task/TID): id, name, state, where
# it sleeps in the kernel, then its kernel stack.
task_report() {
	echo "    task $(basename "$1") $(cat "$1/comm" 2>/dev/null) state=$(sed -n 's/^State:[[:space:]]*//p' "$1/status" 2>/dev/null) wchan=$(cat "$1/wchan" 2>/dev/null)"
	head -n 12 "$1/stack" 2>/dev/null | sed 's/^/        /'
}

# l1_d_tasks: every task in uninterruptible sleep (state D), with its kernel stack.
l1_d_tasks() {
	for d in /proc/[0-9]*/task/[0-9]*; do
		grep -q "^State:[[:space:]]*D" "$d/status" 2>/dev/null && task_report "$d"
	done
}

# Exits to vmm so far, all reasons together, from the line SIGUSR2 makes vmm print.
exit_count() {
	before=$(grep -c "^vmm: exits:" "$err")
	kill -USR2 "$vmm_pid"
	i=0
	while [ "$(grep -c "^vmm: exits:" "$err")" -le "$before" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	grep "^vmm: exits:" "$err" | tail -n 1 | tr ' ' '\n' | awk -F= 'NF == 2 { s += $2 } END { print s + 0 }'
}

# guest_liveness: one line saying whether a guest that stopped answering a network client is still
# alive: does its console echo a line, and how many exits reach vmm in the next 5 s (SIGUSR2
# snapshots, which also refresh vmm's counter lines in $err). A guest whose console is silent and
# whose exits froze has stopped (the nested L2 stall); one that answers points at its device.
# "guest_liveness console" only asks the console (a QEMU peer has no SIGUSR2 counters).
guest_liveness() {
	lv_tok=$(awk '{ printf "%d\n", $1 * 100 }' /proc/uptime)
	[ "${1:-}" = console ] || lv_a=$(exit_count)
	send "echo LIVE-\$(($lv_tok + 1))"
	sleep 5
	if grep -q "^LIVE-$((lv_tok + 1))" "$out" 2>/dev/null; then lv_con="console answers"; else lv_con="console silent"; fi
	if [ "${1:-}" = console ]; then echo "$lv_con"; return; fi
	lv_b=$(exit_count)
	echo "$lv_con, $((lv_b - lv_a)) exits to vmm in 5 s"
}

# l1_kvm_sample SECONDS: what a stopped L2 guest makes the (L1's) KVM do meanwhile, from hist
# triggers on kvm_exit in tracefs: exits per vCPU and exit code ("vcpu0:124=N", SVM codes as in
# tests/boot/bench.sh), and the guest RIPs at those exits ("rip=0x...:N"; timer interrupts
# exit a guest that spins, so its loop shows). tests/nested/l2-rips.py names the RIPs with the
# kernel's symbols (VMM-GUEST: text-base= gives the guest's KASLR base), the nested page faults
# by guest-physical address and error code, and khugepaged's state. Up to four lines on stdout.
l1_kvm_sample() {
	ktr=/sys/kernel/tracing
	[ -d $ktr/events/kvm ] || mount -t tracefs nodev $ktr 2>/dev/null
	if ! [ -w $ktr/events/kvm/kvm_exit/trigger ]; then
		echo "L1 KVM exits: no tracefs here"
		return
	fi
	echo 'hist:keys=vcpu_id,exit_reason:size=256' >>$ktr/events/kvm/kvm_exit/trigger
	echo 'hist:keys=guest_rip.hex:size=2048' >>$ktr/events/kvm/kvm_exit/trigger
	# The nested page faults KVM handles (an NPF loop at one RIP was seen: which guest-physical
	# address, which error code).
	pf=$ktr/events/kvm/kvm_page_fault/trigger
	[ -w $pf ] && echo 'hist:keys=fault_address.hex,error_code.hex:size=2048' >>$pf
	sleep "$1"
	cp $ktr/events/kvm/kvm_exit/hist "$WORK/kvm-exit-hist.txt"
	[ -w $pf ] && cp $ktr/events/kvm/kvm_page_fault/hist "$WORK/kvm-pf-hist.txt"
	echo '!hist:keys=vcpu_id,exit_reason:size=256' >>$ktr/events/kvm/kvm_exit/trigger
	echo '!hist:keys=guest_rip.hex:size=2048' >>$ktr/events/kvm/kvm_exit/trigger
	[ -w $pf ] && echo '!hist:keys=fault_address.hex,error_code.hex:size=2048' >>$pf
	# "{ vcpu_id: 0, exit_reason: 124 } hitcount: 5" and "{ guest_rip: ffffffff8100abcd } hitcount: 7"
	echo "L1 KVM exits in $1 s: $(awk '/^\{ vcpu_id:/ { gsub(/[{},]/, ""); print $NF, "vcpu" $2 ":" $4 }' "$WORK/kvm-exit-hist.txt" |
		sort -rn | head -n 12 | awk '{ printf "%s%s=%s", sep, $2, $1; sep = " " }')"
	echo "guest RIPs at those exits: $(awk '/^\{ guest_rip:/ { gsub(/[{}]/, ""); sub(/^0x/, "", $2); print $NF, $2 }' "$WORK/kvm-exit-hist.txt" |
		sort -rn | head -n 12 | awk '{ printf "%srip=0x%s:%s", sep, $2, $1; sep = " " }')$(
		grep -h "^VMM-GUEST: text-base=" "$out" 2>/dev/null | tail -n 1 | tr -d '\r' | sed 's/^VMM-GUEST: / (last /; s/$/)/')"
	# "{ fault_address: 0x..., error_code: 0x... } hitcount: N"
	[ -f "$WORK/kvm-pf-hist.txt" ] && echo "L1 KVM page faults in $1 s: $(awk '/^\{ fault_address:/ { gsub(/[{},]/, ""); print $NF, "gpa=" $2 "/err=" $4 }' "$WORK/kvm-pf-hist.txt" |
		sort -rn | head -n 8 | awk '{ printf "%s%s:%s", sep, $2, $1; sep = " " }')"
	# khugepaged: CI run 21's L1 reported it blocked while an L2 did not boot.
	kh=""
	for d in /proc/[0-9]*; do [ "$(cat "$d/comm" 2>/dev/null)" = khugepaged ] && kh=${d#/proc/} && break; done
	[ -n "$kh" ] && echo "khugepaged: $(sed -n 's/^State:[[:space:]]*//p' /proc/$kh/status) wchan=$(cat /proc/$kh/wchan 2>/dev/null) stack: $(head -n 6 /proc/$kh/stack 2>/dev/null | awk '{ printf "%s%s", sep, $2; sep = " < " }') THP=$(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)"
	rm -f "$WORK/kvm-pf-hist.txt"
}

# Exits per reason between the last two SIGUSR2 snapshots, as "reason=N ...".
exit_delta_by_reason() {
	grep "^vmm: exits:" "$err" | tail -n 2 | awk '{ for (i = 3; i <= NF; i++) { split($i, kv, "="); if (NR == 1) a[kv[1]] = kv[2]; else b[kv[1]] = kv[2] } }
		END { for (k in b) { printf "%s%s=%d", sep, k, b[k] - a[k]; sep = " " } print "" }'
}

# The value of k on vmm's last "vmm: NAME: k=v ..." counter line (SIGUSR2 refreshes them).
counter() { grep "^vmm: $1:" "$err" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# wait_tap_free SECONDS: the tap of a VMM that was just killed lives on until the kernel has torn
# its vhost device down, and a new VMM opening it before then gets EBUSY; waits for it to go, at
# most SECONDS. Sets tap_wait_ds to the tenths of a second waited.
wait_tap_free() {
	tap_wait_ds=0
	while [ -e "/sys/class/net/$TAP" ] && [ $tap_wait_ds -lt $(($1 * 10)) ]; do
		sleep 0.1
		tap_wait_ds=$((tap_wait_ds + 1))
	done
}

tap_packets() {
	echo $(($(cat /sys/class/net/$TAP/statistics/rx_packets) + $(cat /sys/class/net/$TAP/statistics/tx_packets)))
}

# Transactions per second printed by `rr client`.
rr_tps() { sed -n 's/.*tps=\([0-9]*\).*/\1/p' "$1"; }

# Mbit/s of the receiver line of an iperf3 run.
iperf_mbits() { awk '/receiver/ { for (i = 1; i < NF; i++) if ($(i + 1) == "Mbits/sec") v = $i } END { print v }' "$1"; }

