#!/bin/sh
# After an L1 boot that did not finish the run (run-perf.sh): appends to EARLIER_LOG what the next
# boot keeps from ATTEMPT_LOG and prints the cells it skips (l1.skip=, comma separated).
# - A cell that ended ok or unavailable is kept: its PERF lines, and skipped next time.
# - A cell that failed is run again in the next L1 boot: an L1 that went on to hang, panic,
#   reset or wedge may have failed it already (CI run 28: vmm's strict-ir client got a reset
#   connection, then no guest of any VMM reached init, twice each, and the harness called the L1
#   wedged and booted another). Its failure is kept as a
#   retried line (report.py lists it under "Cells run again"), its figures are dropped, and the
#   verdict comes from its run in the next boot.
# Usage: carry-cells.sh ATTEMPT_LOG EARLIER_LOG
attempt=${1:?usage: carry-cells.sh ATTEMPT_LOG EARLIER_LOG}
earlier=${2:?}
skip=""
for c in $(sed -n 's/^PERF: vmm=\([a-z0-9]*\) mode=\([a-z-]*\) status=.*/\1:\2/p' "$attempt"); do
	who=${c%%:*} mode=${c#*:}
	if grep -q "^PERF: vmm=$who mode=$mode status=failed" "$attempt"; then
		sed -n "s/^PERF: vmm=$who mode=$mode status=failed reason=\(.*\)/PERF: vmm=$who mode=$mode retried=lost-l1 reason=\1 (in an L1 boot that did not finish; run again in the next)/p" \
			"$attempt" | tail -n 1 >>"$earlier"
		continue
	fi
	# Its PERF lines only: PERFLOG lines name no cell, so an earlier L1 boot's failure logs are
	# not carried into the report (its status and retried lines are).
	grep "^PERF: vmm=$who mode=$mode " "$attempt" >>"$earlier"
	skip=${skip:+$skip,}$c
done
echo "$skip"
