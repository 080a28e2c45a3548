# The boot tests' verdict from a serial log, sourced by run-boot-tests.sh (and by its own test,
# tests/boot/test-runner.sh, which feeds it recorded logs). bash or POSIX sh.
#
# boot_verdict LOG WHAT: 0 when the L1 (or the direct run) reached "L1: WHAT finished status=0",
# at least one scenario ran, and the last attempt of every scenario passed. A scenario that
# failed and was retried counts by its retry's result: the first attempt's FAIL line stays in
# the log (with its cause) but does not decide. Prints one "boot tests: verdict ..." line.
boot_verdict() {
	v_log=$1 v_what=$2
	if ! tr -d '\r' <"$v_log" | grep -q "^L1: $v_what finished"; then
		echo "boot tests: verdict FAIL: the run did not reach its end (no 'L1: $v_what finished' line)"
		return 1
	fi
	[ "$v_what" = bench ] && {
		if tr -d '\r' <"$v_log" | grep -q "^BENCH: bench-exit"; then
			echo "boot tests: verdict PASS: benchmark figures printed"
			return 0
		fi
		echo "boot tests: verdict FAIL: the benchmark printed no bench-exit figures"
		return 1
	}
	v_status=$(tr -d '\r' <"$v_log" | sed -n "s/^L1: $v_what finished status=\([0-9]*\).*/\1/p" | tail -n 1)
	# The last PASS or FAIL line of each scenario decides for it.
	v_summary=$(tr -d '\r' <"$v_log" | awk '
		/^BOOTTEST: PASS / { name = $3; last[name] = "PASS"; if (!(name in seen)) { order[n++] = name; seen[name] = 1 } }
		/^BOOTTEST: FAIL / { name = $3; sub(/:$/, "", name); last[name] = "FAIL"; if (!(name in seen)) { order[n++] = name; seen[name] = 1 } }
		/^BOOTTEST: RETRY / { retries++ }
		END {
			for (i = 0; i < n; i++) { if (last[order[i]] == "PASS") p++; else { f++; bad = bad " " order[i] } }
			printf "%d %d %d%s\n", p, f, retries, bad
		}')
	set -- $v_summary
	v_pass=$1 v_fail=$2 v_retries=$3
	shift 3
	if [ "$v_fail" -gt 0 ]; then
		echo "boot tests: verdict FAIL: $v_pass scenario(s) passed, $v_fail failed on their last attempt:$(printf ' %s' "$@"); retries: $v_retries"
		return 1
	fi
	if [ "$v_pass" -eq 0 ]; then
		echo "boot tests: verdict FAIL: no scenario reported a result"
		return 1
	fi
	if [ "$v_status" != 0 ]; then
		echo "boot tests: verdict FAIL: every scenario's last attempt passed, but the scenario script ended with status '${v_status}'"
		return 1
	fi
	echo "boot tests: verdict PASS: $v_pass scenario(s) passed on their last attempt; retries: $v_retries"
	return 0
}
