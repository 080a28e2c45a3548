#!/usr/bin/env python3
"""Turns the harness's PERF lines into results: perf.json, perf.md and PNG plots (gnuplot).

vmm is compared with two peers, the machine's QEMU (Debian 12: 7.2, "qemu") and QEMU 10 from
bookworm-backports ("qemu10"): a column each, and per figure vmm / the best peer, best in the
figure's own direction (higher throughput and transactions/s, lower times and memory). A peer
cell without a figure (failed, unavailable) does not compete.

usage: report.py LOG OUTDIR [--check]
--check: exit 1 unless vmm's boot and no-IOMMU network figures are there and non-zero, and no
vmm cell failed (the CI quick run). The peers are not judged: QEMU 10 may be unavailable."""
import json
import os
import re
import statistics
import subprocess
import sys

MODES = ["noiommu", "strict", "lazy", "passthrough", "strict-ir", "passthrough-ir"]
# Interrupt remapping on against off, with the same DMA remapping.
IR_PAIRS = [("strict-ir", "strict"), ("passthrough-ir", "passthrough")]
VMMS = ["vmm", "qemu", "qemu10"]
PEERS = ["qemu", "qemu10"]
# Column heads when the log has no version line for a peer.
DEFAULT_LABELS = {"vmm": "vmm", "qemu": "QEMU 7.2", "qemu10": "QEMU 10.0"}
NET = [("guest_rx_mbits", "guest RX (iperf3, Mbit/s)"), ("guest_tx_mbits", "guest TX (iperf3 -R, Mbit/s)"),
       ("rr_tps", "request/response (transactions/s)")]
BOOT = [("boot_to_init_ms", "process start to guest init (ms)"), ("guest_uptime_at_init_s", "guest uptime at init (s)"),
        ("rss_kb", "RSS after boot (KiB)"), ("peak_rss_kb", "peak RSS (KiB)"),
        ("guest_ram_touched_kb", "guest RAM touched (KiB)"), ("rss_minus_guest_kb", "RSS minus guest RAM (KiB)"),
        ("huge_pages_beside_guest_kb", "of it in transparent huge pages (KiB)")]

# The better value is the higher one for these figures, the lower one for all others (times, memory).
HIGHER_IS_BETTER = {"guest_rx_mbits", "guest_tx_mbits", "rr_tps"}

LINE = re.compile(r"^PERF: vmm=(\S+) mode=(\S+) (?:metric=(\S+) value=(\S*)|status=(\S+)(?: reason=(.*))?)$")
VERSION = re.compile(r"^PERF: vmm=(\S+) version=(.*)$")
# Where the run ran when there was no usable /dev/kvm (run-perf.sh): how many L1 boots it took
# (an L1 that crashed is booted again for the cells it did not finish) and the emulator under them.
NESTED = re.compile(r"^PERF: nested l1_boots=(\d+) emulator=(.*)$")
# A cell's first attempt that failed as a nested flake (crash or stall) and was run again: its
# figures were dropped, its failure and log tail are listed.
RETRIED = re.compile(r"^PERF: vmm=(\S+) mode=(\S+) retried=(\S+) reason=(.*)$")


def parse(path):
    values, status, logs, versions, retries = {}, {}, {}, {}, []
    last = None
    with open(path, errors="replace") as f:
        for raw in f:
            line = raw.rstrip("\r\n")
            if line.startswith("PERFLOG: ") and last:
                if isinstance(last, dict):
                    last["log"].append(line[9:])
                else:
                    logs.setdefault(last, []).append(line[9:])
                continue
            r = RETRIED.match(line)
            if r:
                last = {"cell": "%s/%s" % r.group(1, 2), "kind": r.group(3), "reason": r.group(4), "log": []}
                retries.append(last)
                continue
            n = NESTED.match(line)
            if n:
                versions["nested"] = {"l1_boots": int(n.group(1)), "emulator": n.group(2).strip()}
                continue
            v = VERSION.match(line)
            if v:
                versions[v.group(1)] = v.group(2).strip()
                continue
            m = LINE.match(line)
            if not m:
                continue
            who, mode, metric, value, st, reason = m.groups()
            last = (who, mode)
            if metric:
                try:
                    values.setdefault((who, mode, metric), []).append(float(value))
                except ValueError:
                    status[(who, mode)] = ("failed", "unparsable %s=%r" % (metric, value))
            else:
                status[(who, mode)] = (st, reason or "")
    return values, status, logs, versions, retries


def summary(vals):
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "n": len(vals)}


def cell(results, who, mode, metric):
    st = results["status"].get("%s/%s" % (who, mode), {}).get("status")
    s = results["figures"].get(who, {}).get(mode, {}).get(metric)
    if st == "unsupported":
        return "not supported yet"
    if st == "unavailable":
        return "unavailable"
    if s is None:
        return "failed" if st == "failed" else "—"
    if s["n"] == 1:
        return "%g" % s["median"]
    return "%g [%g–%g]" % (s["median"], s["min"], s["max"])


def ratio(a, b):
    if a is None or b is None or b["median"] == 0:
        return "—"
    return "%.2f" % (a["median"] / b["median"])


def label(versions, who):
    """A column head: "QEMU 7.2" from "QEMU emulator version 7.2.22 (Debian ...)"."""
    m = re.search(r"version (\d+)\.(\d+)", versions.get(who, ""))
    if who != "vmm" and m:
        return "QEMU %s.%s" % m.groups()
    return DEFAULT_LABELS.get(who, who)


def best_peer(res, mode, metric):
    """The peer with the better median for this figure, in the figure's direction, among the
    peers that have one: (peer, summary), or (None, None)."""
    have = [(p, fig(res, p, mode, metric)) for p in PEERS]
    have = [(p, s) for p, s in have if s is not None]
    if not have:
        return None, None
    pick = max if metric in HIGHER_IS_BETTER else min
    return pick(have, key=lambda ps: ps[1]["median"])


def best_ratio(res, mode, metric):
    """The cell "vmm / best peer": the ratio and, in brackets, which peer was best."""
    peer, s = best_peer(res, mode, metric)
    r = ratio(fig(res, "vmm", mode, metric), s)
    return r if r == "—" else "%s (%s)" % (r, res["labels"][peer])


def build(values, status, logs, versions=None, retries=None):
    versions = dict(versions or {})
    nested = versions.pop("nested", None)
    res = {"figures": {}, "status": {}, "logs": {}, "versions": versions, "retries": list(retries or []),
           "labels": {w: label(versions, w) for w in VMMS}, "nested": nested}
    for (who, mode, metric), vals in values.items():
        res["figures"].setdefault(who, {}).setdefault(mode, {})[metric] = summary(vals)
    for (who, mode), (st, reason) in status.items():
        res["status"]["%s/%s" % (who, mode)] = {"status": st, "reason": reason}
    for (who, mode), lines in logs.items():
        res["logs"]["%s/%s" % (who, mode)] = lines
    # The best peer per figure, and vmm's ratio to it, for every figure vmm has.
    res["best_peer"] = {}
    for mode, figs in res["figures"].get("vmm", {}).items():
        for metric, s in figs.items():
            if metric not in HIGHER_IS_BETTER and metric not in dict(BOOT):
                continue
            peer, b = best_peer(res, mode, metric)
            entry = {"direction": "higher" if metric in HIGHER_IS_BETTER else "lower", "peer": peer,
                     "peer_median": b["median"] if b else None,
                     "vmm_over_best": s["median"] / b["median"] if b and b["median"] else None}
            res["best_peer"].setdefault(mode, {})[metric] = entry
    return res


def fig(res, who, mode, metric):
    return res["figures"].get(who, {}).get(mode, {}).get(metric)


def markdown(res):
    lab = res["labels"]
    peers = " | ".join(lab[p] for p in PEERS)
    dashes = "|---" * len(PEERS)
    out = ["# vmm against QEMU", "",
           "Same machine, same boot (of the nested L1 where there is no usable /dev/kvm), same guest kernel,",
           "initramfs and workload. Figures are medians with [min–max] over the repetitions. \"vmm / best",
           "peer\" divides vmm's median by the better peer's, better in the figure's own direction (higher",
           "throughput and transactions/s, lower times and memory), and names that peer; a peer without a",
           "figure does not compete.", "", "Versions (`--version`):", ""]
    for who in VMMS:
        unavailable = [v["reason"] for k, v in sorted(res["status"].items())
                       if k.startswith(who + "/") and v["status"] == "unavailable"]
        if who in res["versions"]:
            out.append("- %s: `%s`" % (lab[who], res["versions"][who]))
        elif unavailable:
            out.append("- %s: unavailable: %s" % (lab[who], unavailable[0]))
        else:
            out.append("- %s: no version recorded" % lab[who])
    if res.get("nested"):
        n = res["nested"]
        out.append("- every VMM inside the nested L1, which ran under `%s`: %d L1 boot%s for the whole run" %
                   (n["emulator"], n["l1_boots"], "" if n["l1_boots"] == 1 else "s"))
    out += ["", "## Boot and memory (no IOMMU)", "", "| figure | vmm | %s | vmm / best peer |" % peers,
            "|---|---%s|---|" % dashes]
    for metric, lbl in BOOT:
        out.append("| %s | %s | %s | %s |" % (lbl, cell(res, "vmm", "noiommu", metric),
                                             " | ".join(cell(res, p, "noiommu", metric) for p in PEERS),
                                             best_ratio(res, "noiommu", metric)))
    out += ["", "## Network over vhost-net", "",
            "| mode | figure | vmm | %s | vmm / best peer | vmm vs no IOMMU | %s |" % (
                peers, " | ".join("%s vs no IOMMU" % lab[p] for p in PEERS)),
            "|---|---|---%s|---|---%s|" % (dashes, dashes)]
    for mode in MODES:
        for metric, lbl in NET:
            out.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                mode, lbl, cell(res, "vmm", mode, metric), " | ".join(cell(res, p, mode, metric) for p in PEERS),
                best_ratio(res, mode, metric),
                ratio(fig(res, "vmm", mode, metric), fig(res, "vmm", "noiommu", metric)),
                " | ".join(ratio(fig(res, p, mode, metric), fig(res, p, "noiommu", metric)) for p in PEERS)))
    out += ["", "## Interrupt remapping: each mode with it (-ir) against without it, same VMM", "",
            "Pass-through gives interrupt remapping's own cost (DMA at full speed); strict its cost under load.", "",
            "| modes | figure | vmm IR on/off | %s |" % " | ".join("%s IR on/off" % lab[p] for p in PEERS),
            "|---|---|---%s|" % dashes]
    for on, off in IR_PAIRS:
        for metric, lbl in NET:
            out.append("| %s / %s | %s | %s | %s |" % (on, off, lbl, ratio(fig(res, "vmm", on, metric), fig(res, "vmm", off, metric)),
                                                  " | ".join(ratio(fig(res, p, on, metric), fig(res, p, off, metric))
                                                             for p in PEERS)))
    out += ["", "## vmm: exits to vmm and device-IOTLB traffic during the network runs", "",
            "Exits per NIC interrupt count every exit except the VT-d unit's register accesses (the queued",
            "invalidations): 0 means the interrupts took the irqfd path on KVM routes and never entered vmm.", "",
            "| mode | exits per reason | exits/s | NIC interrupts/s | exits per NIC interrupt | IOTLB misses per MB | IOTLB invalidations per MB |",
            "|---|---|---|---|---|---|---|"]
    for mode in MODES:
        figs = res["figures"].get("vmm", {}).get(mode, {})
        if not figs:
            continue
        exits = ", ".join("%s %g" % (m[6:], s["median"]) for m, s in sorted(figs.items())
                          if m.startswith("exits_") and m not in ("exits_per_s", "exits_per_nic_irq")) or "none recorded"
        out.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            mode, exits, cell(res, "vmm", mode, "exits_per_s"), cell(res, "vmm", mode, "guest_nic_irqs_per_s"),
            cell(res, "vmm", mode, "exits_per_nic_irq"), cell(res, "vmm", mode, "iotlb_misses_per_mb"),
            cell(res, "vmm", mode, "iotlb_invalidations_per_mb")))
    out.append("")
    bad = [(k, v) for k, v in sorted(res["status"].items()) if v["status"] == "failed"]
    if bad:
        out += ["## Failures", ""]
        for k, v in bad:
            out += ["### %s: %s" % (k, v["reason"]), "", "```"] + res["logs"].get(k, []) + ["```", ""]
    if res.get("retries"):
        out += ["## Cells run again (nested flakes)", "",
                "In the nested L1 a cell whose guest stopped answering is run once more, and one whose guest",
                "crashed (its VMM exited) up to twice more; its figures above are the last attempt's. The",
                "failed attempts:", ""]
        for r in res["retries"]:
            out += ["### %s (%s): %s" % (r["cell"], r["kind"], r["reason"]), "", "```"] + r["log"] + ["```", ""]
    return "\n".join(out) + "\n"


def plots(res, outdir):
    def med(who, mode, metric):
        s = fig(res, who, mode, metric)
        return "%g" % s["median"] if s else "NaN"
    metrics = ["guest_rx_mbits", "guest_tx_mbits", "rr_tps"]
    with open(os.path.join(outdir, "network.dat"), "w") as f:
        f.write("# mode %s\n" % " ".join("%s_%s" % (w, m) for m in metrics for w in VMMS))
        for mode in MODES:
            f.write("%s %s\n" % (mode, " ".join(med(w, mode, m) for m in metrics for w in VMMS)))
    # Columns: 1 mode, then per metric one column per VMM (VMMS order).
    col = {(m, w): 2 + i * len(VMMS) + j for i, m in enumerate(metrics) for j, w in enumerate(VMMS)}
    lab = res["labels"]

    def series(pairs, first):
        parts = []
        for k, (m, w, title) in enumerate(pairs):
            src = "'%s/network.dat'" % outdir if k == 0 else "''"
            using = "%d:xtic(1)" % col[(m, w)] if k == 0 and first else "%d" % col[(m, w)]
            parts.append("%s using %s title '%s'" % (src, using, title))
        return ", ".join(parts)
    tput = [(m, w, "%s %s" % (lab[w], d)) for m, d in (("guest_rx_mbits", "RX"), ("guest_tx_mbits", "TX")) for w in VMMS]
    rr = [("rr_tps", w, lab[w]) for w in VMMS]
    script = """
set terminal pngcairo size 1000,500
set datafile missing 'NaN'
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key outside top center horizontal reverse Left width 2
set grid ytics
set xtics nomirror
set yrange [0:*]
set output '{d}/throughput.png'
set title 'iperf3 throughput over vhost-net per IOMMU mode (median)'
set ylabel 'Mbit/s'
plot {tput}
set output '{d}/latency.png'
set title 'request/response (1 byte each way) per IOMMU mode (median)'
set ylabel 'transactions/s'
plot {rr}
""".format(d=outdir, tput=series(tput, True), rr=series(rr, True))
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True, capture_output=True)
        return True
    except (OSError, subprocess.CalledProcessError) as e:
        print("report: gnuplot failed: %s" % getattr(e, "stderr", e), file=sys.stderr)
        return False


def check(res):
    errors = []
    for metric in ["boot_to_init_ms", "guest_uptime_at_init_s", "rss_kb", "guest_rx_mbits", "guest_tx_mbits", "rr_tps"]:
        s = fig(res, "vmm", "noiommu", metric)
        if not s or s["median"] <= 0:
            errors.append("vmm no-IOMMU %s missing or zero" % metric)
    for k, v in res["status"].items():
        if k.startswith("vmm/") and v["status"] == "failed":
            errors.append("%s failed: %s" % (k, v["reason"]))
    return errors


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    log, outdir = args
    os.makedirs(outdir, exist_ok=True)
    res = build(*parse(log))
    with open(os.path.join(outdir, "perf.json"), "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
    md = markdown(res)
    with open(os.path.join(outdir, "perf.md"), "w") as f:
        f.write(md)
    ok_plots = plots(res, outdir)
    print(md)
    print("report: results in %s (perf.json, perf.md%s)" % (outdir, ", throughput.png, latency.png" if ok_plots else ""))
    if "--check" in sys.argv:
        errors = check(res)
        for e in errors:
            print("report: FAIL: %s" % e)
        if not ok_plots:
            errors.append("plots")
        print("%d passed, %d failed" % (0 if errors else 1, 1 if errors else 0))
        return 1 if errors else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
