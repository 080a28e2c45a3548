#!/bin/sh
# Benchmark (figures, not pass/fail): boot time to the guest's init marker, the guest's own
# uptime at init, and the port-I/O exit round trip through our dispatcher against a bare KVM
# loop in the same process. POSIX sh: runs directly or inside the nested L1.
VMM=${VMM:?} GUEST_DIR=${GUEST_DIR:?} WORK=${WORK:-/tmp}
now_ms() { awk '{printf "%d\n", $1 * 1000}' /proc/uptime; }
for i in 1 2 3; do
	out=$WORK/bench-boot.out
	t0=$(now_ms)
	"$VMM" run --kernel "$GUEST_DIR/bzImage" --initrd "$GUEST_DIR/initramfs.cpio.gz" \
		--cmdline "console=ttyS0 quiet vmm.mode=wait" </dev/null >"$out" 2>&1 &
	pid=$!
	while ! grep -q "VMM-GUEST: init-ready" "$out" 2>/dev/null; do
		kill -0 $pid 2>/dev/null || break
		sleep 0.05
	done
	t1=$(now_ms)
	up=$(sed -n 's/^VMM-GUEST: uptime-at-init=\([0-9.]*\).*/\1/p' "$out" | head -n 1)
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	echo "BENCH: boot run=$i wall_to_init_ms=$((t1 - t0)) guest_uptime_at_init_s=$up"
done
"$VMM" bench-exit 20000 | sed 's/^/BENCH: /'
# Network over vhost-net: the virtio-net scenario prints its figures on BENCH lines.
ONLY=net SCALE=${SCALE:-4} sh "$(dirname "$0")/scenarios.sh" | grep -E "^BENCH|^BOOTTEST: FAIL"
