#!/bin/sh
# Performance harness, inside the machine that has KVM (the nested L1 or a host): boots the same
# guest with vmm and with QEMU, one at a time, and measures boot, memory and vhost-net network
# figures per IOMMU mode. Prints one "PERF: vmm=V mode=M metric=K value=X" line per figure,
# "PERF: vmm=V mode=M status=unsupported|failed|unavailable ..." for cells without figures, and "PERFLOG: "
# lines with the log tail of a failure. POSIX sh (busybox).
# Two QEMU peers: the machine's (Debian 12: 7.2), named "qemu", and QEMU 10 from bookworm-backports
# (fetch-qemu10.sh), named "qemu10", whose cells say "status=unavailable" with QEMU10_UNAVAILABLE's
# reason when there is none. "PERF: vmm=V version=..." gives each one's `--version`.
# Environment: VMM, QEMU (qemu-system-x86_64), QEMU10 (its binary, or empty), QEMU10_DATA (its own
# share folder), QEMU10_BIOS (the BIOS folder, Debian's seabios), QEMU10_UNAVAILABLE (why there is
# no QEMU10), GUEST_DIR, WORK, REPS, SECS (iperf3 seconds), RR_N (request/response transactions),
# SCALE (timeout multiplier), MODES.
VMM=${VMM:?} QEMU=${QEMU:-qemu-system-x86_64} GUEST_DIR=${GUEST_DIR:?} WORK=${WORK:-/tmp}
QEMU10=${QEMU10:-} QEMU10_DATA=${QEMU10_DATA:-} QEMU10_BIOS=${QEMU10_BIOS:-/usr/share/seabios}
REPS=${REPS:-1} SECS=${SECS:-2} RR_N=${RR_N:-500} SCALE=${SCALE:-4}
MODES=${MODES:-"noiommu strict lazy passthrough strict-ir passthrough-ir"}
KERNEL=$GUEST_DIR/bzImage
INITRD=$GUEST_DIR/initramfs-test.cpio.lz4
MEM_MB=1024
# console-lib.sh sits beside this script in the L1's initramfs, in tests/boot/ in the source tree.
lib=$(dirname "$0")/console-lib.sh
[ -f "$lib" ] || lib=$(dirname "$0")/../boot/console-lib.sh
. "$lib"

now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }
report() { echo "PERF: vmm=$who mode=$mode metric=$1 value=$2"; }
# cell_failed REASON [stall]: the cell's failure, with the log tails. "stall" is a wait that ran out
# (a client killed by its timeout, a console line that never came): the guest's liveness is then
# added. A VMM that exited (a triple fault in the nested L1) or a stall is a "PERF-FLAKE:" that the
# main loop runs again in the nested L1 (retry_cell).
cell_failed() {
	kind=${2:-error} live=""
	if kill -0 "$vmm_pid" 2>/dev/null; then
		state="the VMM is still running"
		if [ "$kind" = stall ]; then
			if [ "$who" = vmm ]; then live=$(guest_liveness); else live=$(guest_liveness console); fi
			state="$state; $live"
		fi
	else
		wait "$vmm_pid"
		state="the VMM exited with status $?"
		kind=crash
	fi
	sample=""
	[ "$kind" = stall ] && [ -n "${NESTED:-}" ] && sample=$(l1_kvm_sample 3; echo "L1 tasks in uninterruptible sleep:"; l1_d_tasks)
	echo "PERF: vmm=$who mode=$mode status=failed reason=$1 ($state)"
	{ tail -n 12 "$out"; echo; tail -n 5 "$err"; echo "$sample"; } 2>/dev/null | tr -d '\r' | awk 'NF { print "PERFLOG: " $0 }'
	[ "$kind" != error ] && echo "PERF-FLAKE: $kind"
	stop_vmm
}

# client_failed STATUS: the kind of failure of a network client run under timeout(1): coreutils'
# timeout exits 124 (137 after KILL), the L1's busybox timeout with the child's own status, 143
# (SIGTERM): each is a client that did not finish in time, a stall.
client_failed() { case $1 in 124 | 137 | 143) echo stall ;; *) echo error ;; esac; }

# The guest command line for each IOMMU mode (NESTED-KVM.md: lazy is the Debian default). The
# DMA-remapping modes run without interrupt remapping (intremap=off: vmm's unit offers it, QEMU's
# is built without), the -ir modes with it, so that each cell compares like with like.
# passthrough-ir against passthrough gives interrupt remapping's own cost, with DMA at full
# speed; strict-ir against strict gives it under the reference talk's load.
iommu_cmdline() {
	case "$1" in
	noiommu) echo "" ;;
	strict) echo "intel_iommu=on iommu.strict=1 intremap=off" ;;
	strict-ir) echo "intel_iommu=on iommu.strict=1" ;;
	lazy) echo "intel_iommu=on intremap=off" ;;
	passthrough) echo "intel_iommu=on iommu=pt intremap=off" ;;
	passthrough-ir) echo "intel_iommu=on iommu=pt" ;;
	esac
}

# start_qemu MODE CMDLINE: the reference talk's set-up: q35, split irqchip, vhost-net, and for the
# IOMMU modes intel-iommu with device-iotlb and an iommu_platform, ats virtio-net. The same
# options for both peers; QEMU 10 finds its ROMs in its own share folder first, then the BIOS in
# Debian's.
start_qemu() {
	qbin=$QEMU qdirs=""
	[ "$who" = qemu10 ] && qbin=$QEMU10 qdirs="-L $QEMU10_DATA -L $QEMU10_BIOS"
	iommu="" plat=""
	if [ "$1" != noiommu ]; then
		ir=off
		case "$1" in *-ir) ir=on ;; esac
		iommu="-device intel-iommu,intremap=$ir,device-iotlb=on"
		plat=",iommu_platform=on,ats=on"
	fi
	# shellcheck disable=SC2086
	start_guest "$who-$1" "$qbin" $qdirs -M q35,accel=kvm,kernel-irqchip=split -cpu host -m $MEM_MB -smp 2 \
		-nodefaults -display none -serial stdio -monitor none -no-reboot $iommu \
		-netdev tap,id=n0,ifname=$TAP,script=no,downscript=no,vhost=on \
		-device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56,romfile=,disable-legacy=on$plat \
		-kernel "$KERNEL" -initrd "$INITRD" -append "$2"
}

start_vmm_guest() {
	iommu=""
	[ "$1" != noiommu ] && iommu=--iommu
	# shellcheck disable=SC2086
	start_guest "vmm-$1" "$VMM" run --exit-stats --cpus 2 --memory ${MEM_MB}M --net tap=$TAP $iommu \
		--kernel "$KERNEL" --initrd "$INITRD" --cmdline "$2"
}

tap_bytes() { echo $(($(cat /sys/class/net/$TAP/statistics/rx_bytes) + $(cat /sys/class/net/$TAP/statistics/tx_bytes))); }

# Resident memory of the VMM process, and of its guest RAM mapping (the one mapping of exactly
# the guest's size) so that the VMM's own share can be told apart.
memory_figures() {
	rss=$(awk '/^VmRSS:/ { print $2 }' /proc/$vmm_pid/status)
	hwm=$(awk '/^VmHWM:/ { print $2 }' /proc/$vmm_pid/status)
	guest=$(awk -v want=$((MEM_MB * 1024)) '/^Size:/ { s = $2 } /^Rss:/ { if (s == want) r += $2 } END { print r + 0 }' /proc/$vmm_pid/smaps)
	# Transparent huge pages in the VMM's other mappings: a 2 MiB page behind a thread's stack
	# or the heap is 2 MiB of RSS for a few KiB used (vmm/thread.h).
	thp_other=$(awk -v want=$((MEM_MB * 1024)) '/^Size:/ { s = $2 } /^AnonHugePages:/ { if (s != want) r += $2 } END { print r + 0 }' /proc/$vmm_pid/smaps)
	report rss_kb "$rss"
	report peak_rss_kb "$hwm"
	report guest_ram_touched_kb "$guest"
	report rss_minus_guest_kb $((rss - guest))
	report huge_pages_beside_guest_kb "$thp_other"
}

# guest_nic_irqs: sets nic_irq_total to the interrupts the guest took on the NIC's queue vectors
# so far (guest/irqs). Not in a subshell: each call waits for a line of its own.
irq_seq=0
guest_nic_irqs() {
	irq_seq=$((irq_seq + 1))
	nic_irq_total=""
	send "irqs 'virtio0-(input|output)' | awk '{ s += \$5 } END { print \"NICIRQS-$irq_seq=\" s + 0 }'"
	wait_out "^NICIRQS-$irq_seq=" "$(t 20)" || return 1
	nic_irq_total=$(sed -n "s/^NICIRQS-$irq_seq=\([0-9]*\).*/\1/p" "$out" | tr -d '\r' | tail -n 1)
}

# iperf_client OUT WHAT [-R]: one iperf3 run to the guest (with -R, from it). The guest's server
# (iperf3 -s -D) may still be coming up, and listens again only once it has closed the test
# before: a refused connection is retried twice. Any other failure ends the cell.
iperf_client() {
	try=1
	until timeout $((SECS * 3 + 30)) iperf3 -c 169.254.10.2 -t "$SECS" -f m ${3:-} >"$1" 2>&1; do
		rc=$?
		grep -q "unable to connect" "$1" && [ $try -lt 3 ] ||
			{ cell_failed "$2: $(tail -n 1 "$1")" "$(client_failed $rc)"; return 1; }
		try=$((try + 1))
		sleep 2
	done
}

network_figures() {
	ip addr replace 169.254.10.1/24 dev $TAP && ip link set $TAP up || { cell_failed "cannot configure $TAP"; return 1; }
	send "ping -c 2 -W 5 169.254.10.1 >/dev/null; iperf3 -s -D; rr server 7777 & echo SERVERS-UP-\$((40+2))"
	wait_out "^SERVERS-UP-42" "$(t 30)" || { cell_failed "servers did not start in the guest" stall; return 1; }
	sleep 1
	guest_nic_irqs
	q0=$nic_irq_total
	[ "$who" = vmm ] && exit_count >/dev/null
	m0=$(counter vhost-iotlb misses) i0=$(counter vhost-iotlb invalidations) r0=$(counter iommu register_accesses)
	b0=$(tap_bytes) s0=$(now_ms)
	rep=1
	while [ $rep -le "$REPS" ]; do
		iperf_client "$WORK/p-rx.txt" "iperf3 to the guest" || return 1
		iperf_client "$WORK/p-tx.txt" "iperf3 from the guest" -R || return 1
		timeout 120 rr client 169.254.10.2 7777 "$RR_N" >"$WORK/p-rr.txt" 2>&1 ||
			{ rc=$?; cell_failed "request/response: $(cat "$WORK/p-rr.txt") (status $rc)" "$(client_failed $rc)"; return 1; }
		report guest_rx_mbits "$(iperf_mbits "$WORK/p-rx.txt")"
		report guest_tx_mbits "$(iperf_mbits "$WORK/p-tx.txt")"
		report rr_tps "$(rr_tps "$WORK/p-rr.txt")"
		rep=$((rep + 1))
	done
	secs_ms=$(($(now_ms) - s0))
	[ "$who" = vmm ] && exit_count >/dev/null # before the typing of the next command
	guest_nic_irqs
	q1=$nic_irq_total
	nic_irqs=$((${q1:-0} - ${q0:-0}))
	[ -n "$q0" ] && [ -n "$q1" ] && [ "$secs_ms" -gt 0 ] && report guest_nic_irqs_per_s $((nic_irqs * 1000 / secs_ms))
	if [ "$who" = vmm ]; then
		for kv in $(exit_delta_by_reason); do
			report "exits_${kv%%=*}" "${kv#*=}"
		done
		mb=$((($(tap_bytes) - b0) / 1048576))
		exits=$(exit_delta_by_reason | tr ' ' '\n' | awk -F= '{ s += $2 } END { print s + 0 }')
		[ "$secs_ms" -gt 0 ] && report exits_per_s $((exits * 1000 / secs_ms))
		# Exits on the interrupt path: all of them except the VT-d unit's register accesses
		# (queued invalidations), per interrupt the guest took from the NIC; irqfds on
		# translated routes make it 0.
		r1=$(counter iommu register_accesses)
		if [ "$nic_irqs" -gt 0 ]; then
			report exits_per_nic_irq "$(awk -v e="$exits" -v a="${r0:-0}" -v b="${r1:-0}" -v n="$nic_irqs" 'BEGIN { printf "%.3f", (e - (b - a)) / n }')"
		fi
		if [ "$mode" != noiommu ] && [ "$mb" -gt 0 ]; then
			m1=$(counter vhost-iotlb misses) i1=$(counter vhost-iotlb invalidations)
			report iotlb_misses_per_mb "$(awk -v a="${m0:-0}" -v b="${m1:-0}" -v mb=$mb 'BEGIN { printf "%.2f", (b - a) / mb }')"
			report iotlb_invalidations_per_mb "$(awk -v a="${i0:-0}" -v b="${i1:-0}" -v mb=$mb 'BEGIN { printf "%.2f", (b - a) / mb }')"
		fi
	fi
	return 0
}

run_cell() {
	who=$1 mode=$2
	TAP=ptap0
	wait_tap_free 60 # vhost's teardown of the last VMM's tap takes this long under the emulator
	cmd="console=ttyS0 quiet vmm.mode=shell vmm.ip=169.254.10.2/24 $(iommu_cmdline "$mode")"
	echo "perf: $who $mode" >&2
	# A guest that never reaches init is retried once (nested runs stall now and then; see
	# NESTED-KVM.md); the retry is reported.
	for attempt in 1 2; do
		t0=$(now_ms)
		if [ "$who" = vmm ]; then start_vmm_guest "$mode" "$cmd"; else start_qemu "$mode" "$cmd"; fi
		wait_out "VMM-GUEST: init-ready" "$(t 60)" && break
		[ $attempt = 2 ] && { cell_failed "the guest did not reach init (twice)" stall; return; }
		echo "perf: $who $mode: no init after $(t 60)s, retrying" >&2
		stop_vmm
		report boot_retries 1
	done
	t1=$(now_ms)
	report boot_to_init_ms $((t1 - t0))
	report guest_uptime_at_init_s "$(sed -n 's/^VMM-GUEST: uptime-at-init=\([0-9.]*\).*/\1/p' "$out" | head -n 1)"
	sleep 1
	memory_figures
	network_figures || return
	send "poweroff -f"
	wait_exit "$(t 30)" || { cell_failed "the guest did not power off" stall; return; }
	echo "PERF: vmm=$who mode=$mode status=ok"
}

# In the nested L1 an L2 guest now and then dies (a triple fault) or stops making progress, under
# QEMU as under vmm (NESTED-KVM.md, tests/nested/CRASH-STUDY.md): such a cell is run again there.
# A failed attempt's figures are dropped; its failure is kept as a "retried" line (with its log
# tail) that the report lists, and the last attempt decides.
# retry_cell FLAKE N: whether a cell whose attempt N ended with PERF-FLAKE: FLAKE runs again. A
# stall, or a guest that never reached init, gets a second attempt (a stalled guest can leave the
# L1 wedged, and a no-init cell has booted twice already). A guest that died after init gets a
# third, as the boot scenarios do: these deaths come in runs (the CI run on 06180a2: vmm's
# strict-ir guest triple-faulted in both of its attempts, during iperf3 -R).
retry_cell() {
	[ -n "${NESTED:-}" ] && [ -n "$1" ] || return 1
	[ "$2" = 1 ] && return 0
	[ "$2" = 2 ] && [ "$1" = crash ] &&
		! grep -q "^PERF: vmm=$who mode=$mode status=failed reason=the guest did not reach init" "$WORK/cell.txt"
}
# An L1 whose guests stop booting for two cells in a row (any VMMs; each cell tried twice, so
# eight boots) can run no more guests (CRASH-STUDY.md): run_all_cells then prints
# "PERF: L1-WEDGED cells=WHO:MODE,WHO:MODE" for the two cells, prints nothing more for them, and
# returns 3; run-perf.sh boots a new L1 for them and what is left. SKIP (l1.skip=, comma
# separated WHO:MODE) names cells an earlier L1 boot of the run finished: they are not run again.
run_all_cells() {
	prev_noinit="" noinit_lines=""
	for mode in $MODES; do
		for who in vmm qemu qemu10; do
			case ",${SKIP:-}," in *",$who:$mode,"*) continue ;; esac
			if [ $who = qemu10 ] && [ -n "$qemu10_reason" ]; then
				echo "PERF: vmm=qemu10 mode=$mode status=unavailable reason=$qemu10_reason"
				continue
			fi
			: >"$WORK/cell-out.txt"
			cell_try=1
			while :; do
				run_cell $who $mode >"$WORK/cell.txt"
				flake=$(sed -n 's/^PERF-FLAKE: //p' "$WORK/cell.txt")
				retry_cell "$flake" $cell_try || break
				sed -n -e "s/^PERF: vmm=$who mode=$mode status=failed reason=/PERF: vmm=$who mode=$mode retried=$flake reason=/p" \
					-e '/^PERFLOG: /p' "$WORK/cell.txt" >>"$WORK/cell-out.txt"
				cell_try=$((cell_try + 1))
			done
			grep -v "^PERF-FLAKE: " "$WORK/cell.txt" >>"$WORK/cell-out.txt"
			if [ -n "${NESTED:-}" ] && grep -q "^PERF: vmm=$who mode=$mode status=failed reason=the guest did not reach init" "$WORK/cell-out.txt"; then
				if [ -n "$prev_noinit" ]; then
					echo "PERF: L1-WEDGED cells=$prev_noinit,$who:$mode (two cells in a row whose guests did not reach init)"
					return 3
				fi
				# Held back until the next cell shows whether the L1 is wedged.
				prev_noinit=$who:$mode
				noinit_lines=$(cat "$WORK/cell-out.txt")
				continue
			fi
			[ -n "$noinit_lines" ] && printf '%s\n' "$noinit_lines"
			prev_noinit="" noinit_lines=""
			cat "$WORK/cell-out.txt"
		done
	done
	[ -n "$noinit_lines" ] && printf '%s\n' "$noinit_lines"
	return 0
}

# PERF_RUN_LIB=1: only define the functions (tests/perf/test_perf_run.sh drives run_all_cells).
[ -n "${PERF_RUN_LIB:-}" ] && return 0

# Each VMM's version, for the report's column heads.
qemu10_reason=""
if [ -z "$QEMU10" ] || [ ! -x "$QEMU10" ]; then
	qemu10_reason=${QEMU10_UNAVAILABLE:-no QEMU 10 on this machine}
elif [ -z "$QEMU10_DATA" ] || [ ! -d "$QEMU10_DATA" ]; then
	qemu10_reason="no share folder for QEMU 10 (QEMU10_DATA='$QEMU10_DATA')"
fi
echo "PERF: vmm=vmm version=$("$VMM" --version 2>&1 | head -n 1)"
echo "PERF: vmm=qemu version=$("$QEMU" --version 2>&1 | head -n 1)"
if [ -z "$qemu10_reason" ]; then
	echo "PERF: vmm=qemu10 version=$("$QEMU10" --version 2>&1 | head -n 1)"
else
	echo "perf: QEMU 10 unavailable: $qemu10_reason" >&2
fi

run_all_cells || exit 3 # a wedged L1: no "PERF: done", so run-perf.sh boots another
echo "PERF: done"
