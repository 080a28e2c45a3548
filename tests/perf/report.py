#!/usr/bin/env python3
"""Turns the harness's PERF lines into results: perf.json, perf.md and PNG plots (gnuplot).

usage: report.py LOG OUTDIR [--check]
--check: exit 1 unless vmm's boot and no-IOMMU network figures are there and non-zero, and no
vmm cell failed (the CI quick run)."""
import json
import os
import re
import statistics
import subprocess
import sys

MODES = ["noiommu", "strict", "lazy", "passthrough", "strict-ir"]
VMMS = ["vmm", "qemu"]
NET = [("guest_rx_mbits", "guest RX (iperf3, Mbit/s)"), ("guest_tx_mbits", "guest TX (iperf3 -R, Mbit/s)"),
       ("rr_tps", "request/response (transactions/s)")]
BOOT = [("boot_to_init_ms", "process start to guest init (ms)"), ("guest_uptime_at_init_s", "guest uptime at init (s)"),
        ("rss_kb", "RSS after boot (KiB)"), ("peak_rss_kb", "peak RSS (KiB)"),
        ("guest_ram_touched_kb", "guest RAM touched (KiB)"), ("rss_minus_guest_kb", "RSS minus guest RAM (KiB)")]

LINE = re.compile(r"^PERF: vmm=(\S+) mode=(\S+) (?:metric=(\S+) value=(\S*)|status=(\S+)(?: reason=(.*))?)$")


def parse(path):
    values, status, logs = {}, {}, {}
    last = None
    with open(path, errors="replace") as f:
        for raw in f:
            line = raw.rstrip("\r\n")
            if line.startswith("PERFLOG: ") and last:
                logs.setdefault(last, []).append(line[9:])
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
    return values, status, logs


def summary(vals):
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "n": len(vals)}


def cell(results, who, mode, metric):
    st = results["status"].get("%s/%s" % (who, mode), {}).get("status")
    s = results["figures"].get(who, {}).get(mode, {}).get(metric)
    if st == "unsupported":
        return "not supported yet"
    if s is None:
        return "failed" if st == "failed" else "—"
    if s["n"] == 1:
        return "%g" % s["median"]
    return "%g [%g–%g]" % (s["median"], s["min"], s["max"])


def ratio(a, b):
    if a is None or b is None or b["median"] == 0:
        return "—"
    return "%.2f" % (a["median"] / b["median"])


def build(values, status, logs):
    res = {"figures": {}, "status": {}, "logs": {}}
    for (who, mode, metric), vals in values.items():
        res["figures"].setdefault(who, {}).setdefault(mode, {})[metric] = summary(vals)
    for (who, mode), (st, reason) in status.items():
        res["status"]["%s/%s" % (who, mode)] = {"status": st, "reason": reason}
    for (who, mode), lines in logs.items():
        res["logs"]["%s/%s" % (who, mode)] = lines
    return res


def fig(res, who, mode, metric):
    return res["figures"].get(who, {}).get(mode, {}).get(metric)


def markdown(res):
    out = ["# vmm against QEMU", "",
           "Same machine, same boot (of the nested L1 where there is no usable /dev/kvm), same guest kernel,",
           "initramfs and workload. Figures are medians with [min–max] over the repetitions.", "",
           "## Boot and memory (no IOMMU)", "", "| figure | vmm | QEMU | vmm/QEMU |", "|---|---|---|---|"]
    for metric, label in BOOT:
        out.append("| %s | %s | %s | %s |" % (label, cell(res, "vmm", "noiommu", metric), cell(res, "qemu", "noiommu", metric),
                                             ratio(fig(res, "vmm", "noiommu", metric), fig(res, "qemu", "noiommu", metric))))
    out += ["", "## Network over vhost-net", "",
            "| mode | figure | vmm | QEMU | vmm/QEMU | vmm vs no IOMMU | QEMU vs no IOMMU |", "|---|---|---|---|---|---|---|"]
    for mode in MODES:
        for metric, label in NET:
            out.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                mode, label, cell(res, "vmm", mode, metric), cell(res, "qemu", mode, metric),
                ratio(fig(res, "vmm", mode, metric), fig(res, "qemu", mode, metric)),
                ratio(fig(res, "vmm", mode, metric), fig(res, "vmm", "noiommu", metric)),
                ratio(fig(res, "qemu", mode, metric), fig(res, "qemu", "noiommu", metric))))
    out += ["", "## Interrupt remapping: strict mode with it (strict-ir) against without it (strict), same VMM", "",
            "| figure | vmm IR on/off | QEMU IR on/off |", "|---|---|---|"]
    for metric, label in NET:
        out.append("| %s | %s | %s |" % (label, ratio(fig(res, "vmm", "strict-ir", metric), fig(res, "vmm", "strict", metric)),
                                         ratio(fig(res, "qemu", "strict-ir", metric), fig(res, "qemu", "strict", metric))))
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
    return "\n".join(out) + "\n"


def plots(res, outdir):
    def med(who, mode, metric):
        s = fig(res, who, mode, metric)
        return "%g" % s["median"] if s else "NaN"
    with open(os.path.join(outdir, "network.dat"), "w") as f:
        f.write("# mode vmm_rx qemu_rx vmm_tx qemu_tx vmm_rr qemu_rr\n")
        for mode in MODES:
            f.write("%s %s %s %s %s %s %s\n" % (mode, med("vmm", mode, "guest_rx_mbits"), med("qemu", mode, "guest_rx_mbits"),
                                                med("vmm", mode, "guest_tx_mbits"), med("qemu", mode, "guest_tx_mbits"),
                                                med("vmm", mode, "rr_tps"), med("qemu", mode, "rr_tps")))
    script = """
set terminal pngcairo size 900,500
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
plot '{d}/network.dat' using 2:xtic(1) title 'vmm RX', '' using 3 title 'QEMU RX', '' using 4 title 'vmm TX', '' using 5 title 'QEMU TX'
set output '{d}/latency.png'
set title 'request/response (1 byte each way) per IOMMU mode (median)'
set ylabel 'transactions/s'
plot '{d}/network.dat' using 6:xtic(1) title 'vmm', '' using 7 title 'QEMU'
""".format(d=outdir)
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
