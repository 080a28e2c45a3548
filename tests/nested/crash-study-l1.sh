#!/bin/sh
# Inside the nested L1 (l1.run=study): boots the default guest again and again with vmm and with
# QEMU, 1 vCPU / 512 MiB and 2 vCPUs / 4 GiB, the four arms interleaved round by round so that
# drift over time hits them alike, and prints one line per boot:
#   STUDY: run arm=A round=N outcome=O secs=S io_exits=E last="..."
# outcome: ok (reached init and powered off), crash (the VMM stopped before init: triple fault
# or guest reset), hang (no init within the time limit), fail (anything else). Before each boot
# it prints "STUDY: start arm=A round=N", so that an L1 panic can be put on the arm that ran.
# Environment: VMM, QEMU, GUEST_DIR, WORK, ROUNDS, FIRST (first round number), ARMS, FLOOD.
# FLOOD=N: after init, the guest's shell prints N numbers (`seq 1 N`, about 6 bytes each) and
# powers off: a console flood, one port-I/O exit per byte in both VMMs, the load under which L2
# guests were seen to triple-fault in the boot suites. Outcome ok then needs the flood's end.
VMM=${VMM:?} QEMU=${QEMU:-qemu-system-x86_64} GUEST_DIR=${GUEST_DIR:?} WORK=${WORK:-/tmp}
ROUNDS=${ROUNDS:-10} FIRST=${FIRST:-1} FLOOD=${FLOOD:-0}
# A boot takes 26-52 s; a flood of 30,000 lines (about 720,000 port-I/O exits) adds 60-80 s.
LIMIT=${LIMIT:-120}
[ "$FLOOD" -gt 0 ] && LIMIT=$((LIMIT + FLOOD / 100))
ARMS=${ARMS:-vmm-1c-512M vmm-2c-4G qemu-1c-512M qemu-2c-4G}
KERNEL=$GUEST_DIR/bzImage INITRD=$GUEST_DIR/initramfs-test.cpio.lz4
# earlyprintk: a guest that dies early still leaves its last words on the console.
APPEND="console=ttyS0 earlyprintk=serial,ttyS0,115200 vmm.mode=poweroff"
[ "$FLOOD" -gt 0 ] && APPEND="console=ttyS0 earlyprintk=serial,ttyS0,115200 vmm.mode=shell"

boot_one() {
	arm=$1 round=$2
	case "$arm" in
	*-1c-512M) cpus=1 mem=512 ;;
	*-2c-4G) cpus=2 mem=4096 ;;
	esac
	out=$WORK/study.out err=$WORK/study.err in=$WORK/study.in
	rm -f "$in"
	mkfifo "$in"
	echo "STUDY: start arm=$arm round=$round"
	t0=$(date +%s)
	case "$arm" in
	vmm-*) "$VMM" run --exit-stats --cpus $cpus --memory ${mem}M --kernel "$KERNEL" --initrd "$INITRD" \
		--cmdline "$APPEND" <"$in" >"$out" 2>"$err" & ;;
	qemu-*) "$QEMU" -M q35,accel=kvm,kernel-irqchip=split -cpu host -smp $cpus -m $mem -display none \
		-serial stdio -monitor none -no-reboot -nic none -kernel "$KERNEL" -initrd "$INITRD" \
		-append "$APPEND" <"$in" >"$out" 2>"$err" & ;;
	esac
	pid=$!
	exec 3>"$in"
	outcome=hang typed=0
	while kill -0 $pid 2>/dev/null; do
		[ $(($(date +%s) - t0)) -ge "$LIMIT" ] && break
		if [ "$FLOOD" -gt 0 ] && [ $typed = 0 ] && grep -q "VMM-GUEST: init-ready" "$out"; then
			sleep 1
			echo "seq 1 $FLOOD; echo FLOOD-END; poweroff -f" >&3
			typed=1
		fi
		sleep 0.5
	done
	exec 3>&-
	if kill -0 $pid 2>/dev/null; then
		kill -9 $pid 2>/dev/null
		wait $pid 2>/dev/null
	else
		wait $pid
		st=$?
		if grep -q "VMM-GUEST: init-ready" "$out" && { [ "$FLOOD" = 0 ] || grep -q "^FLOOD-END" "$out"; }; then
			[ "$st" = 0 ] && outcome=ok || outcome=fail
		elif grep -q "VMM-GUEST: init-ready" "$out" && [ "$arm" != "${arm#qemu}" ]; then
			outcome=crash # QEMU -no-reboot: a guest gone mid-flood was reset (a triple fault)
		elif grep -q "VMM-GUEST: init-ready" "$out" && ! grep -q "triple fault\|guest reset" "$err"; then
			outcome=fail
		elif grep -q "triple fault\|guest reset" "$err" || [ "$arm" != "${arm#qemu}" ]; then
			# QEMU with -no-reboot leaves on a triple fault (a reset request) without a message.
			outcome=crash
		else
			outcome=fail
		fi
	fi
	secs=$(($(date +%s) - t0))
	io=$(sed -n 's/^vmm: exits:.* io=\([0-9]*\).*/\1/p' "$err" | tail -n 1)
	last=$(tr -d '\r' <"$out" | grep -v '^$' | tail -n 1 | cut -c1-120 | tr '"' "'")
	echo "STUDY: run arm=$arm round=$round outcome=$outcome secs=$secs io_exits=${io:--} last=\"$last\""
	if [ $outcome != ok ]; then
		echo "STUDY: --- $arm round $round: console tail and VMM stderr"
		tr -d '\r' <"$out" | tail -n 15 | sed 's/^/STUDY:     /'
		tail -n 6 "$err" | sed 's/^/STUDY:     err: /'
		dmesg | tail -n 8 | sed 's/^/STUDY:     L1: /'
	fi
}

round=$FIRST
while [ $round -lt $((FIRST + ROUNDS)) ]; do
	for arm in $ARMS; do
		boot_one "$arm" $round
	done
	round=$((round + 1))
done
echo "STUDY: finished"
