#!/usr/bin/env python3
"""report.py's peer logic on recorded numbers (no KVM): vmm against the best of QEMU 7.2 and
QEMU 10, in each figure's own direction, with both peers present, one unavailable, and one whose
cell failed without a figure (QEMU 7.2's lazy mode). The peers' figures are those of issue 13
(nested L1, 1 vCPU); vmm's are made up."""
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("report", os.path.join(HERE, "report.py"))
report = importlib.util.module_from_spec(spec)
spec.loader.exec_module(report)

V72 = "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)"
V10 = "QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)"


def lines(who, mode, **figs):
    return ["PERF: vmm=%s mode=%s metric=%s value=%s" % (who, mode, k, v) for k, v in figs.items()] + \
        ["PERF: vmm=%s mode=%s status=ok" % (who, mode)]


# noiommu: RX best is 7.2 (808 > 734), TX best is 10 (597 > 534): max picks differently per figure.
# Boot time best is 10 (lower), RSS best is 7.2 (lower): min picks differently too, and max would
# pick the other peer in all four.
BOTH = (["PERF: vmm=vmm version=vmm 0.1.0", "PERF: vmm=qemu version=" + V72, "PERF: vmm=qemu10 version=" + V10]
        + lines("vmm", "noiommu", boot_to_init_ms=9000, rss_kb=200000, guest_rx_mbits=700, guest_tx_mbits=600, rr_tps=4000)
        + lines("qemu", "noiommu", boot_to_init_ms=14500, rss_kb=300000, guest_rx_mbits=808, guest_tx_mbits=534, rr_tps=3000)
        + lines("qemu10", "noiommu", boot_to_init_ms=13900, rss_kb=350000, guest_rx_mbits=734, guest_tx_mbits=597,
                rr_tps=3500)
        + lines("vmm", "strict", guest_rx_mbits=100, guest_tx_mbits=120)
        + lines("qemu", "strict", guest_rx_mbits=73, guest_tx_mbits=125)
        + lines("qemu10", "strict", guest_rx_mbits=52, guest_tx_mbits=114))

# QEMU 7.2's lazy mode: no figure, the cell failed (0 bytes arrive); QEMU 10 has one.
LAZY = (lines("vmm", "lazy", guest_rx_mbits=300, guest_tx_mbits=120)
        + ["PERF: vmm=qemu mode=lazy status=failed reason=iperf3 to the guest: 0 bytes (the VMM is still running)",
           "PERFLOG: iperf3: error - control socket has closed unexpectedly"]
        + lines("qemu10", "lazy", guest_rx_mbits=359, guest_tx_mbits=137))

REASON = "apt-get update of bookworm-backports from http://deb.debian.org/debian failed: Err:1 ..."
UNAVAILABLE = (["PERF: vmm=vmm version=vmm 0.1.0", "PERF: vmm=qemu version=" + V72]
               + lines("vmm", "noiommu", boot_to_init_ms=9000, rss_kb=200000, guest_rx_mbits=700, guest_tx_mbits=600)
               + lines("qemu", "noiommu", boot_to_init_ms=14500, rss_kb=300000, guest_rx_mbits=808, guest_tx_mbits=534)
               + ["PERF: vmm=qemu10 mode=%s status=unavailable reason=%s" % (m, REASON) for m in report.MODES])


class ReportTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def res(self, log_lines):
        path = os.path.join(self.tmp, "log")
        with open(path, "w") as f:
            f.write("\n".join(log_lines) + "\n")
        return report.build(*report.parse(path))

    def best(self, res, mode, metric):
        return report.best_peer(res, mode, metric)[0]

    def row(self, md, start):
        rows = [line for line in md.splitlines() if line.startswith(start)]
        self.assertEqual(len(rows), 1, start)
        return [c.strip() for c in rows[0].strip("|").split("|")]

    def test_both_peers(self):
        res = self.res(BOTH)
        self.assertEqual(res["labels"], {"vmm": "vmm", "qemu": "QEMU 7.2", "qemu10": "QEMU 10.0"})
        self.assertEqual(self.best(res, "noiommu", "guest_rx_mbits"), "qemu")
        self.assertEqual(self.best(res, "noiommu", "guest_tx_mbits"), "qemu10")
        self.assertEqual(self.best(res, "noiommu", "rr_tps"), "qemu10")
        self.assertEqual(self.best(res, "noiommu", "boot_to_init_ms"), "qemu10")
        self.assertEqual(self.best(res, "noiommu", "rss_kb"), "qemu")
        self.assertEqual(self.best(res, "strict", "guest_rx_mbits"), "qemu")
        self.assertEqual(self.best(res, "strict", "guest_tx_mbits"), "qemu")
        self.assertEqual(report.best_ratio(res, "noiommu", "guest_rx_mbits"), "0.87 (QEMU 7.2)")
        self.assertEqual(report.best_ratio(res, "noiommu", "boot_to_init_ms"), "0.65 (QEMU 10.0)")
        b = res["best_peer"]["noiommu"]["rss_kb"]
        self.assertEqual((b["direction"], b["peer"], b["peer_median"]), ("lower", "qemu", 300000))
        self.assertAlmostEqual(b["vmm_over_best"], 200000 / 300000)
        md = report.markdown(res)
        self.assertIn("| figure | vmm | QEMU 7.2 | QEMU 10.0 | vmm / best peer |", md)
        self.assertIn("- QEMU 10.0: `%s`" % V10, md)
        self.assertEqual(self.row(md, "| noiommu | guest TX"),
                         ["noiommu", "guest TX (iperf3 -R, Mbit/s)", "600", "534", "597", "1.01 (QEMU 10.0)",
                          "1.00", "1.00", "1.00"])
        self.assertEqual(self.row(md, "| strict | guest RX")[3:6], ["73", "52", "1.37 (QEMU 7.2)"])
        self.assertEqual(self.row(md, "| RSS after boot")[1:], ["200000", "300000", "350000", "0.67 (QEMU 7.2)"])

    def test_ir_pairs(self):
        # Interrupt remapping on against off, per DMA mode and VMM; a pair with a cell missing
        # has no ratio.
        res = self.res(BOTH + lines("vmm", "strict-ir", guest_rx_mbits=50, guest_tx_mbits=60)
                       + lines("qemu", "strict-ir", guest_rx_mbits=73, guest_tx_mbits=100)
                       + lines("vmm", "passthrough", guest_rx_mbits=800) + lines("vmm", "passthrough-ir", guest_rx_mbits=780)
                       + lines("qemu10", "passthrough", guest_rx_mbits=700)
                       + lines("qemu10", "passthrough-ir", guest_rx_mbits=770))
        md = report.markdown(res)
        self.assertEqual(self.row(md, "| strict-ir / strict | guest RX")[2:], ["0.50", "1.00", "—"])
        self.assertEqual(self.row(md, "| strict-ir / strict | guest TX")[2:], ["0.50", "0.80", "—"])
        self.assertEqual(self.row(md, "| passthrough-ir / passthrough | guest RX")[2:], ["0.97", "—", "1.10"])

    def test_failed_peer_does_not_compete(self):
        res = self.res(BOTH + LAZY)
        self.assertEqual(self.best(res, "lazy", "guest_rx_mbits"), "qemu10")
        self.assertEqual(self.best(res, "lazy", "guest_tx_mbits"), "qemu10")
        md = report.markdown(res)
        self.assertEqual(self.row(md, "| lazy | guest RX")[2:6], ["300", "failed", "359", "0.84 (QEMU 10.0)"])
        self.assertIn("### qemu/lazy: iperf3 to the guest: 0 bytes", md)
        # Both failed: no best peer, no ratio.
        res = self.res(BOTH + [line for line in LAZY if "qemu10" not in line]
                       + ["PERF: vmm=qemu10 mode=lazy status=failed reason=the guest did not reach init (twice)"])
        self.assertEqual(report.best_peer(res, "lazy", "guest_rx_mbits"), (None, None))
        self.assertEqual(self.row(report.markdown(res), "| lazy | guest RX")[2:6], ["300", "failed", "failed", "—"])
        self.assertIsNone(res["best_peer"]["lazy"]["guest_rx_mbits"]["vmm_over_best"])

    def test_unavailable_peer(self):
        res = self.res(UNAVAILABLE)
        self.assertEqual(res["labels"]["qemu10"], "QEMU 10.0")
        for metric in ("guest_rx_mbits", "guest_tx_mbits", "boot_to_init_ms", "rss_kb"):
            self.assertEqual(self.best(res, "noiommu", metric), "qemu", metric)
        md = report.markdown(res)
        self.assertIn("- QEMU 10.0: unavailable: " + REASON, md)
        self.assertEqual(self.row(md, "| noiommu | guest RX")[2:6], ["700", "808", "unavailable", "0.87 (QEMU 7.2)"])
        self.assertEqual(self.row(md, "| strict | guest RX")[3:5], ["—", "unavailable"])
        self.assertEqual(self.row(md, "| RSS after boot")[1:], ["200000", "300000", "unavailable", "0.67 (QEMU 7.2)"])
        self.assertEqual(res["status"]["qemu10/lazy"], {"status": "unavailable", "reason": REASON})
        self.assertNotIn("## Failures", md)

    def test_retried_cell(self):
        # vmm/strict's first attempt stalled (its figures were dropped by perf-run.sh); the second
        # passed: the cell counts as ok, --check passes, and the first attempt is listed apart.
        retried = ["PERF: vmm=vmm mode=strict retried=stall reason=request/response: Terminated (status 124)"
                   " (the VMM is still running; console silent, 0 exits to vmm in 5 s)",
                   "PERFLOG: vmm: exits: io=52156 mmio=419"]
        uptime = ["PERF: vmm=vmm mode=noiommu metric=guest_uptime_at_init_s value=6.4"]
        log = BOTH[:3] + retried + BOTH[3:] + uptime
        res = self.res(log)
        self.assertEqual(res["status"]["vmm/strict"]["status"], "ok")
        self.assertEqual(res["retries"], [{"cell": "vmm/strict", "kind": "stall", "log": ["vmm: exits: io=52156 mmio=419"],
                                           "reason": retried[0].split("reason=", 1)[1]}])
        self.assertEqual(report.check(res), [])
        md = report.markdown(res)
        self.assertNotIn("## Failures", md)
        self.assertIn("## Cells run again (nested flakes)", md)
        self.assertIn("### vmm/strict (stall): request/response: Terminated (status 124)", md)
        # A PERFLOG line after the retried line belongs to it, not to the cell before it.
        self.assertNotIn("vmm/noiommu", res["logs"])
        # The second attempt failing too fails the check.
        res = self.res(BOTH[:3] + retried + [line for line in BOTH[3:] if "mode=strict" not in line or "qemu" in line]
                       + uptime + ["PERF: vmm=vmm mode=strict status=failed reason=request/response: Terminated"])
        self.assertEqual(report.check(res), ["vmm/strict failed: request/response: Terminated"])

    def test_nested_l1_boots(self):
        # run-perf.sh's line after a nested run: the L1 boots it took and the emulator under them.
        res = self.res(BOTH + ["PERF: nested l1_boots=2 emulator=QEMU emulator version 10.0.2 (Debian 1:10.0.2)"])
        self.assertEqual(res["nested"], {"l1_boots": 2, "emulator": "QEMU emulator version 10.0.2 (Debian 1:10.0.2)"})
        self.assertNotIn("nested", res["versions"])
        md = report.markdown(res)
        self.assertIn("ran under `QEMU emulator version 10.0.2 (Debian 1:10.0.2)`: 2 L1 boots for the whole run", md)
        one = report.markdown(self.res(BOTH + ["PERF: nested l1_boots=1 emulator=QEMU emulator version 7.2.22"]))
        self.assertIn("ran under `QEMU emulator version 7.2.22`: 1 L1 boot for the whole run", one)
        # Directly on /dev/kvm there is no such line, and no such sentence.
        self.assertNotIn("L1 boot", report.markdown(self.res(BOTH)))

    def test_main_writes_json_and_markdown(self):
        log = os.path.join(self.tmp, "log")
        with open(log, "w") as f:
            f.write("\n".join(BOTH + LAZY) + "\n")
        out = os.path.join(self.tmp, "out")
        saved, sys.argv = sys.argv, ["report.py", log, out]
        try:
            with open(os.devnull, "w") as null:
                stdout, sys.stdout = sys.stdout, null
                try:
                    self.assertEqual(report.main(), 0)
                finally:
                    sys.stdout = stdout
        finally:
            sys.argv = saved
        with open(os.path.join(out, "perf.json")) as f:
            data = json.load(f)
        self.assertEqual(data["versions"]["qemu10"], V10)
        self.assertEqual(data["best_peer"]["lazy"]["guest_rx_mbits"]["peer"], "qemu10")
        with open(os.path.join(out, "network.dat")) as f:
            dat = f.read().splitlines()
        self.assertEqual(dat[0].split()[2:5], ["vmm_guest_rx_mbits", "qemu_guest_rx_mbits", "qemu10_guest_rx_mbits"])
        self.assertEqual(dat[3].split()[:4], ["lazy", "300", "NaN", "359"])
        if shutil.which("gnuplot"):
            for png in ("throughput.png", "latency.png"):
                self.assertGreater(os.path.getsize(os.path.join(out, png)), 0, png)


if __name__ == "__main__":
    unittest.main()
