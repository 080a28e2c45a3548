#!/bin/busybox sh
# What /init (guest/init.c) hands to busybox sh after its init-ready line: the interactive shell
# (vmm.mode=shell, the default) or the boot profile (vmm.mode=profile). Usage: init-mode.sh MODE
case "$1" in
profile)
	# The boot profile's guest half (tests/boot/bench.sh, with initcall_debug): the slowest
	# initcalls, and the longest silences between two kernel log lines with the lines on
	# either side (initcall_debug's "calling" lines name what ran in between).
	dmesg | awk '
		match($0, /^\[ *[0-9]+\.[0-9]+\]/) {
			t = substr($0, 2, RLENGTH - 2) + 0; text = substr($0, RLENGTH + 2)
			if (seen && t - prev >= 0.05)
				printf "gap %d %.3f after: %s | next: %s\n", (t - prev) * 1000, t, substr(ptext, 1, 70), substr(text, 1, 70)
			prev = t; ptext = text; seen = 1
			if (text ~ /^initcall .* returned .* after [0-9]+ usecs/) {
				n = split(text, w, " "); printf "initcall %d %s\n", w[n - 1] / 1000, w[2]
			}
		}
		END { printf "last %.3f\n", prev }' >/tmp/profile
	for kind in initcall gap; do
		grep "^$kind " /tmp/profile | sort -k2,2 -rn | head -n 15 | sed "s/^/VMM-GUEST: profile-/"
	done
	grep "^last " /tmp/profile | sed "s/^/VMM-GUEST: profile-/"
	echo "VMM-GUEST: profile-done"
	while :; do sleep 3600; done ;;
*)
	echo "Debian kernel $(uname -r) on vmm. 'poweroff -f' to stop, Ctrl-A x to quit."
	setsid cttyhack sh -l
	poweroff -f
	;;
esac
