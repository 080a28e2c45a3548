#!/bin/sh
# Command-line behaviour that needs no KVM: help, version, and one clear line with the documented
# exit status for each kind of bad input. Usage: cli.sh VMM GUEST_DIR
vmm=$1 guest=$2
fails=0 passes=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# expect STATUS PATTERN ARGS...: vmm exits with STATUS and stderr matches PATTERN in one line.
expect() {
	want=$1 pattern=$2
	shift 2
	"$vmm" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	got=$?
	if [ "$got" = "$want" ] && grep -q -E -e "$pattern" "$tmp/err" && [ "$(wc -l <"$tmp/err")" -le 1 ] && [ ! -s "$tmp/out" ]; then
		passes=$((passes + 1))
	else
		fails=$((fails + 1))
		echo "FAIL: vmm $* -> status $got (want $want), stderr: $(cat "$tmp/err"), stdout: $(head -c 200 "$tmp/out")"
	fi
}

"$vmm" --help >"$tmp/help" && grep -q "vmm run --kernel" "$tmp/help" && passes=$((passes + 1)) || { fails=$((fails + 1)); echo "FAIL: --help"; }
"$vmm" --version | grep -q -E "^vmm [0-9]+\.[0-9]+" && passes=$((passes + 1)) || { fails=$((fails + 1)); echo "FAIL: --version"; }

k=$guest/bzImage
printf 'not a kernel at all, but long enough? no.\n' >"$tmp/notkernel"
head -c 8192 /dev/zero >"$tmp/zeros"
expect 2 "no command given"
expect 2 "run needs --kernel" run
expect 2 "cannot read kernel '/nonexistent/bzImage'" run --kernel /nonexistent/bzImage
expect 2 "not a bzImage" run --kernel "$tmp/notkernel"
expect 2 "not a bzImage: no Linux boot header" run --kernel "$tmp/zeros"
expect 2 "cannot read initrd" run --kernel "$k" --initrd /nonexistent/initrd
expect 2 "bad memory size '12Q'" run --kernel "$k" --memory 12Q
expect 2 "memory size '1M' is out of range" run --kernel "$k" --memory 1M
expect 2 "not a multiple of 2 MiB" run --kernel "$k" --memory 513M
expect 2 "bad CPU count '0'" run --kernel "$k" --cpus 0
expect 2 "bad CPU count '65'" run --kernel "$k" --cpus 65
expect 2 "bad CPU count 'two'" run --kernel "$k" --cpus two
expect 2 "bad --on-reboot value 'maybe'" run --kernel "$k" --on-reboot=maybe
expect 2 "unknown or incomplete option '--frobnicate'" run --kernel "$k" --frobnicate
expect 2 "unexpected argument 'extra'" run --kernel "$k" extra
expect 2 "--net needs tap=NAME" run --kernel "$k" --net mac=52:54:00:00:00:01
expect 2 "bad MAC address '52:54:00'" run --kernel "$k" --net tap=t0,mac=52:54:00
expect 2 "bad MAC address '52:54:00:00:00:1ff'" run --kernel "$k" --net tap=t0,mac=52:54:00:00:00:1ff
expect 2 "is a multicast address" run --kernel "$k" --net tap=t0,mac=01:00:5e:00:00:01
expect 2 "bad --net option 'queues=9'" run --kernel "$k" --net tap=t0,queues=9
expect 2 "only one --net" run --kernel "$k" --net tap=t0 --net tap=t1
expect 2 "unknown command 'fly'" fly
echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
