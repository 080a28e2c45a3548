#!/bin/sh
# run_l1_batch's watch over an L1 (tests/nested/l1.sh), with a stand-in for the emulator that
# writes a scripted serial console: an L1 whose user space goes silent while its kernel goes on
# printing (soft-lockup reports) is a hang; a heartbeat alone is not; an L1 that ends is not.
# No KVM, no emulator. Usage: test-l1-batch.sh
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/l1.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The stand-in takes the emulator's arguments, finds the first "-serial file:LOG" and writes to
# LOG what FAKE_L1 says: "lockup" (a heartbeat line, then a kernel line every second), "alive"
# (a heartbeat line every second for 8 s, then the end of the L1), "silent" (one line, then
# nothing).
fake=$work/fake-emulator
cat >"$fake" <<'EOF'
#!/bin/sh
log=""
while [ $# -gt 0 ]; do
	[ "$1" = -serial ] && [ -z "$log" ] && case ${2:-} in file:*) log=${2#file:} ;; esac
	shift
done
echo "L1: ready (fake)" >>"$log"
case $FAKE_L1 in
lockup)
	echo "L1: alive 1.00" >>"$log"
	i=23
	while :; do
		sleep 1
		echo "[  225.696476] watchdog: BUG: soft lockup - CPU#1 stuck for ${i}s! [sh:135]" >>"$log"
		i=$((i + 1))
	done ;;
alive)
	for i in 1 2 3 4 5 6 7 8; do sleep 1; echo "L1: alive $i.00" >>"$log"; done ;;
silent)
	while :; do sleep 1; done ;;
esac
EOF
chmod +x "$fake"

failures=0
# check NAME WANT_STATUS MAX_S: one L1 "boot" with a 4 s stall limit and a 30 s time limit.
check() {
	t0=$(date +%s)
	FAKE_L1=$1 L1_EMULATOR=$fake run_l1_batch /dev/null "" "$work/$1.log" 30 4
	rc=$?
	took=$(($(date +%s) - t0))
	if [ "$rc" = "$2" ] && [ "$took" -le "$3" ]; then
		echo "test-l1-batch: ok $1 (status $rc after ${took}s)"
	else
		echo "test-l1-batch: FAIL $1: status $rc after ${took}s, wanted $2 within $3 s"
		failures=$((failures + 1))
	fi
}
check lockup 125 12
check alive 0 14
check silent 125 12
echo "test-l1-batch: $failures failed"
[ "$failures" = 0 ]
