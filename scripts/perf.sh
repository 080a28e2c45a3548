#!/bin/bash
# Measures vmm against QEMU on the same guest, kernel and workload, in the same boot of the same
# machine: boot time, memory, and vhost-net throughput and request/response per IOMMU mode.
# Usage: scripts/perf.sh [--quick|--full] [--out DIR]   (default: a short run into results/)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
level=short out=$root/results
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) level=quick ;;
	--full) level=full ;;
	--out) out=${2:?--out needs a directory}; shift ;;
	*) echo "usage: scripts/perf.sh [--quick|--full] [--out DIR]" >&2; exit 2 ;;
	esac
	shift
done
"$root/scripts/setup.sh" || exit 1
exec "$root/tests/perf/run-perf.sh" "$root/build" "$out" "$level"
