#!/usr/bin/env python3
"""Where a hung L1's vCPUs are: asks QEMU's monitor (HMP on a unix socket) for every vCPU's
registers a few times, one second apart, and names each RIP after the L1 kernel's own symbols.
Debian ships no System.map, so l1-init sends the L1's /proc/kallsyms text symbols (runtime
addresses, KASLR included), gzipped, to its second serial port, which lands in KALLSYMS. A vCPU
inside the L2 guest (nested SVM, guest mode) shows the L2's registers: its RIP is not in the
L1's symbols ("not L1 kernel text": L2, or L1 user space).

Usage: l1-cpus.py MONITOR_SOCKET KALLSYMS [SAMPLES]"""
import bisect
import re
import zlib
import socket
import sys
import time


def monitor(path, command):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    out = b""

    def read_until_prompt():
        nonlocal out
        while not out.endswith(b"(qemu) "):
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk

    read_until_prompt()
    out = b""
    s.sendall(command.encode() + b"\n")
    read_until_prompt()
    s.close()
    return out.decode(errors="replace")


def load_kallsyms(path):
    """The text symbols of a gzip stream that may be cut short (the L1 died while sending)."""
    data = open(path, "rb").read()
    text = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data).decode(errors="replace")
    syms = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] in "tT":
            try:
                syms.append((int(parts[0], 16), parts[2] + (" " + parts[3] if len(parts) > 3 else "")))
            except ValueError:
                pass
    syms.sort()
    return [a for a, _ in syms], [n for _, n in syms]


def symbol(addrs, names, rip):
    i = bisect.bisect_right(addrs, rip) - 1
    if i < 0 or rip - addrs[i] > 0x100000:
        return None
    return "%s+0x%x" % (names[i], rip - addrs[i])


def main():
    sock, kallsyms = sys.argv[1:3]
    samples = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    try:
        addrs, names = load_kallsyms(kallsyms)
    except (OSError, zlib.error):
        addrs, names = [], []
    print("L1 vCPUs at the hang (%d L1 text symbols to name them)" % len(addrs))
    for n in range(samples):
        regs = monitor(sock, "info registers -a")
        for cpu, body in re.findall(r"CPU#(\d+)\s*\n(.*?)(?=CPU#\d+|\Z)", regs, re.S):
            rip = re.search(r"[RE]IP=([0-9a-f]+)", body)
            rip = int(rip.group(1), 16) if rip else 0
            cpl = re.search(r"CPL=(\d)", body)
            hlt = " HLT" if "HLT=1" in body else ""
            name = symbol(addrs, names, rip) or "not L1 kernel text"
            print("  sample %d cpu %s: RIP=%016x CPL=%s%s %s" % (n, cpu, rip, cpl.group(1) if cpl else "?", hlt, name))
        if n + 1 < samples:
            time.sleep(1)


if __name__ == "__main__":
    try:
        main()
    except (OSError, AttributeError, ValueError) as e:
        print("L1 vCPUs at the hang: no monitor answer (%s)" % e)
