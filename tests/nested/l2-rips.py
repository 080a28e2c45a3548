#!/usr/bin/env python3
"""Names the RIPs of a stalled L2 guest. When a nested scenario or perf cell stalls, the L1 samples
its KVM's exits (l1_kvm_sample in tests/boot/console-lib.sh): a "guest RIPs at those exits:
rip=0x...:N ..." line. The L2 runs the same kernel build as the L1, with its own KASLR base,
which the guest's init prints (VMM-GUEST: text-base=...); the L1's text symbols come from its
second serial port (l1-init, gzipped /proc/kallsyms, as tests/nested/l1-cpus.py reads them).
So a guest RIP r is the L1 symbol at r - guest_text + L1_text (core kernel text only: modules
sit elsewhere in each).

Usage: l2-rips.py LOG KALLSYMS   (prints one line per RIP line of LOG, or nothing)"""
import re
import sys

from importlib.machinery import SourceFileLoader
import os

l1cpus = SourceFileLoader("l1cpus", os.path.join(os.path.dirname(os.path.abspath(__file__)), "l1-cpus.py")).load_module()


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    log, kallsyms = sys.argv[1:]
    try:
        addrs, names = l1cpus.load_kallsyms(kallsyms)
    except (OSError, Exception):
        addrs, names = [], []
    l1_text = next((a for a, n in zip(addrs, names) if n == "_text"), None)
    guest_text = None
    for raw in open(log, errors="replace"):
        line = raw.replace("\r", "").rstrip("\n")
        m = re.search(r"VMM-GUEST: text-base=([0-9a-f]+)", line)
        if m:
            guest_text = int(m.group(1), 16)
            continue
        if "guest RIPs at those exits:" not in line:
            continue
        inline = re.search(r"\(last text-base=([0-9a-f]+)\)", line)
        if inline:
            guest_text = int(inline.group(1), 16)
        where = line.split("guest RIPs at those exits:")[0].strip()
        if l1_text is None or guest_text is None:
            print("%s guest RIPs not named: %s" % (where, "no L1 symbols" if l1_text is None else
                                                   "no VMM-GUEST: text-base line before them"))
            continue
        out = []
        for rip, n in re.findall(r"rip=0x([0-9a-f]+):(\d+)", line):
            r = int(rip, 16)
            name = l1cpus.symbol(addrs, names, r - guest_text + l1_text) if r >= guest_text else None
            out.append("%s=%s" % (name or ("0x%x (not core kernel text)" % r), n))
        print("%s guest RIPs named: %s" % (where, " ".join(out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
