#!/usr/bin/env python3
"""Writes the hand-made seed inputs of tests/fuzz/corpus/<target>/ (the input formats are described
at the top of fuzz_vtd.c, fuzz_vtd_ir.c, fuzz_vhost_iotlb.c, fuzz_board.c, fuzz_boot_pvh.c,
fuzz_bzimage.c, fuzz_cmdline.c and fuzz_tap_watch.c). The seeds reach
deep at once: a valid root -> context -> 4- and 3-level page walk with a run of contiguous
pages, superpages, pass-through and fault-processing-disabled contexts, faults and their
servicing, the invalidation queue with wait descriptors (status write, interrupt), a queue error
and its recovery, register-based invalidation; for interrupt remapping, IOAPIC-like and
MSI-X-like routes through x2APIC- and xAPIC-mode tables, entries changed and invalidated (index,
mask, global), remapping and compatibility format toggled, batches, every fault reason; for the
IOTLB, misses answered from those tables, runs cut at the end of a RAM region, updates for high
RAM, invalidations forwarded; for the board, virtio-net brought up through ECAM or CF8/CFC and
its BARs (with and without VT-d, interrupt remapping and vmm's IOTLB shadow), the IOAPIC, UART,
PM and RTC as Linux programs them. Run it again after changing a format: python3
tests/fuzz/make-seeds.py"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# Guest memory layout inside the 2 MiB window.
ROOT, CTX = 0x10000, 0x11000
PGD4, L3, L2, L1 = 0x20000, 0x21000, 0x22000, 0x23000
PGD3, L2B, L1B = 0x30000, 0x31000, 0x32000
QUEUE, STATUS = 0x40000, 0x50000
DATA = 0x100000

R, W, RW, PS = 1, 2, 3, 1 << 7
P = 1
TT_PT, TT_DEVTLB = 2, 1
AW39, AW48 = 1, 2
FPD = 2

# VT-d registers
GCMD_TE, GCMD_SRTP, GCMD_QIE = 1, 2, 4  # fuzz_gcmd bit indices (not the register bits)
RTADDR, CCMD, FSTS, FECTL, IQT, IQA, ICS, IECTL, IVA, IOTLB = (
    0x20, 0x28, 0x34, 0x38, 0x88, 0x90, 0x9C, 0xA0, 0x200, 0x208)


def q64(*xs):
    return b"".join(struct.pack("<Q", x & (2**64 - 1)) for x in xs)


class Mem:
    def __init__(self):
        self.chunks = []

    def put(self, off, data):
        self.chunks.append((off, data))

    def put64(self, off, *xs):
        self.put(off, q64(*xs))

    def encode(self):
        out = bytes([len(self.chunks)])
        for off, data in self.chunks:
            out += struct.pack("<IH", off, len(data)) + data
        return out


def tables(mem, device_tlb=False):
    """Root entry for bus 0; contexts: 00:01.0 (4-level, domain 1), 00:02.0 (3-level, domain 2),
    00:03.0 pass-through, 00:04.0 FPD with a missing page table, 00:05.0 device-TLB (if DT)."""
    mem.put64(ROOT, CTX | P, 0)
    mem.put64(CTX + 0x08 * 16, PGD4 | P, AW48 | 1 << 8)
    mem.put64(CTX + 0x10 * 16, PGD3 | P, AW39 | 2 << 8)
    mem.put64(CTX + 0x18 * 16, TT_PT << 2 | P, AW48 | 3 << 8)
    mem.put64(CTX + 0x20 * 16, 0x3FF000 | FPD | P, AW48 | 1 << 8)
    if device_tlb:
        mem.put64(CTX + 0x28 * 16, PGD4 | TT_DEVTLB << 2 | P, AW48 | 1 << 8)
    # 4-level: iova 0..0x3FFF -> DATA.. (a run of 4 RW pages), 0x4000 read-only, 0x5000 write-only;
    # iova 2 MiB: a 2 MiB page; iova 1 GiB: a 1 GiB page (gpa 1 GiB), 2 GiB -> gpa 2 GiB, 3 GiB ->
    # gpa 3 GiB (the PCI hole: not RAM), 4 GiB (PGD[0] covers 512 GiB) -> gpa 4 GiB (high RAM).
    mem.put64(PGD4, L3 | RW)
    mem.put64(L3, L2 | RW, 0x40000000 | PS | RW, 0x80000000 | PS | RW, 0xC0000000 | PS | RW,
              0x100000000 | PS | R)
    mem.put64(L2, L1 | RW, 0x200000 | PS | RW)
    mem.put64(L1, *[DATA + i * 0x1000 | RW for i in range(4)], DATA + 0x4000 | R, DATA + 0x5000 | W)
    # The end of low RAM, page by page into the hole: iova 0x7000.. -> gpa 0xBFFFE000..
    mem.put64(L1 + 7 * 8, 0xBFFFE000 | RW, 0xBFFFF000 | RW, 0xC0000000 | RW)
    # 3-level: iova 0 -> DATA + 0x10000 read-only, through its own tables.
    mem.put64(PGD3, L2B | RW)
    mem.put64(L2B, L1B | R)
    mem.put64(L1B, DATA + 0x10000 | RW)


# ---- fuzz_vtd operations ----
def w32(off, x): return bytes([0x00]) + struct.pack("<HI", off, x & 0xFFFFFFFF)
def w64(off, x): return bytes([0x01]) + struct.pack("<HQ", off, x & (2**64 - 1))
def rd(off, lensel=2): return bytes([0x02 | lensel << 4]) + struct.pack("<H", off)
def xlate(rid, iova, access, record=True, probe=0):
    return bytes([0x03]) + struct.pack("<HQBQ", rid, iova, access | (4 if record else 0), probe)
def memw(off, x): return bytes([0x04]) + struct.pack("<IQ", off, x)
def gcmd(set_, clear=0): return bytes([0x05, set_, clear])
def push(lo, hi, submit=True): return bytes([0x06 | (0x10 if submit else 0)]) + q64(lo, hi)
def dma(rid, iova, length, write): return bytes([0x07 | (0x10 if write else 0)]) + struct.pack("<HQH", rid, iova, length)
def service(): return bytes([0x08])
def wait(data, status, intr=False): return bytes([0x09 | (0x10 if intr else 0)]) + struct.pack("<II", data, status)

WAIT, IOTLB_D, CC_D, DEVTLB_D, IEC_D = 5, 2, 1, 3, 4
SW, IF = 1 << 5, 1 << 4


def bringup(queue=True):
    ops = w64(RTADDR, ROOT) + gcmd(GCMD_SRTP)
    if queue:
        ops += w64(IQT, 0) + w64(IQA, QUEUE) + gcmd(GCMD_QIE)
    ops += gcmd(GCMD_TE) + w32(FECTL, 0) + w32(IECTL, 0)
    return ops


def vtd_config(haw_index=3, device_tlb=False):
    return bytes([haw_index << 1 | (1 if device_tlb else 0)])


def vtd_seeds():
    seeds = {}
    m = Mem()
    tables(m)
    ops = bringup()
    ops += xlate(0x08, 0x1234, R, probe=0x2345) + xlate(0x08, 0x0, RW) + xlate(0x08, 0x4000, R)
    ops += xlate(0x08, 0x4000, W) + xlate(0x08, 0x5000, W) + xlate(0x08, 0x201000, RW, probe=0x1FFFFF)
    ops += xlate(0x08, 0x40000000, RW) + xlate(0x08, 0x100000000, R) + xlate(0x08, 0x7000, RW)
    ops += xlate(0x10, 0x0, R) + xlate(0x10, 0x0, W) + xlate(0x18, 0x123000, RW)
    ops += xlate(0x20, 0x1000, R) + xlate(0x30, 0x1000, R) + xlate(0x108, 0, R)
    ops += xlate(0x08, 1 << 48, R) + rd(FSTS) + service() + rd(0x220 + 12)
    ops += dma(0x08, 0x0ff0, 0x40, False) + dma(0x08, 0x3ff0, 0x2000, True)
    # Queue: page-selective IOTLB, context-cache device, domain, then a wait with status + IF.
    ops += push(IOTLB_D | 3 << 4 | 1 << 16, 0x1000 | 2, False) + push(CC_D | 3 << 4 | 0x08 << 32, 0, False)
    ops += push(IOTLB_D | 2 << 4 | 2 << 16, 0, False) + push(IEC_D, 0, False) + wait(0x1234, STATUS, True)
    ops += rd(ICS) + w32(ICS, 1)
    # Register-based: IOTLB page (IVA + IOTLB_REG), context global.
    ops += w64(IVA, 0x2000 | 1) + w64(IOTLB, 1 << 63 | 3 << 60 | 1 << 32) + w64(CCMD, 1 << 63 | 1 << 61)
    ops += gcmd(0, GCMD_TE) + xlate(0x08, 0x1000, RW) + gcmd(GCMD_TE)
    seeds["walk"] = vtd_config() + m.encode() + ops

    # Queue error and recovery: a bad descriptor stops the queue with IQE; fixed and IQE cleared,
    # it resumes at IQH; a wait wrapping at the end of a 256-entry queue.
    m = Mem()
    tables(m)
    m.put64(QUEUE, 0xF, 0)  # invalid type
    m.put64(QUEUE + 16, WAIT | SW | 7 << 32, STATUS)
    ops = bringup(queue=False) + w64(IQA, QUEUE) + w64(IQT, 2 << 4) + gcmd(GCMD_QIE)
    ops += rd(FSTS) + memw(QUEUE, WAIT | SW | 6 << 32) + memw(QUEUE + 8, STATUS + 4) + w32(FSTS, 0x10)
    ops += w64(IQT, 255 << 4) + wait(1, STATUS + 8) + wait(2, STATUS + 12, True)
    ops += gcmd(0, GCMD_QIE) + w64(IQA, QUEUE | 1) + gcmd(GCMD_QIE) + wait(3, STATUS)
    seeds["queue-error"] = vtd_config() + m.encode() + ops

    # Device-TLB: TT=1 contexts and device-TLB invalidations (page and sized).
    m = Mem()
    tables(m, device_tlb=True)
    ops = bringup() + xlate(0x28, 0x1000, RW) + xlate(0x28, 0x200000, R)
    ops += push(DEVTLB_D | 0x28 << 32, 0x1000, False) + push(DEVTLB_D | 0x28 << 32, 0x1000 | 1, False)
    ops += wait(9, STATUS)
    seeds["devtlb"] = vtd_config(7, device_tlb=True) + m.encode() + ops

    # Faults: more than the 4 records (PFO), events masked then unmasked, serviced.
    m = Mem()
    tables(m)
    ops = bringup() + w32(FECTL, 1 << 31)
    for i in range(6):
        ops += xlate(0x08, 0x800000 + i * 0x1000, R)
    ops += rd(FSTS) + w32(FECTL, 0)
    for _ in range(5):
        ops += service()
    ops += xlate(0x08, 0x900000, W) + rd(FSTS) + service() + gcmd(0, GCMD_TE)
    seeds["faults"] = vtd_config(0) + m.encode() + ops

    # More (requester, domain) pairs than the unit remembers (did_seen overflow): 40 devices on
    # bus 0 with contexts in domains 1..40, each translated once, then a domain flush; and a
    # device-TLB invalidation of the whole address space (S with every address bit set).
    m = Mem()
    tables(m, device_tlb=True)
    m.put(CTX + 0x40 * 16, b"".join(q64(PGD4 | P, AW48 | (i + 1) << 8) for i in range(40)))
    ops = bringup()
    for i in range(40):
        ops += xlate(0x40 + i, 0x1000, R)
    ops += push(IOTLB_D | 2 << 4 | 7 << 16, 0, False) + push(DEVTLB_D | 0x08 << 32, ~0xFFE, False)
    ops += wait(1, STATUS)
    seeds["domains"] = vtd_config(7, device_tlb=True) + m.encode() + ops
    return seeds


# ---- fuzz_vtd_ir ----
IRT, IRT_BIG = 0x60000, 0x100000  # a 256-entry table; a 2^16-entry one (1 MiB) for handle bit 15
GCMD_IRE, GCMD_SIRTP, GCMD_CFI = 8, 0x10, 0x20  # fuzz_gcmd bit indices
IOAPIC_SID, NIC = 0xFF00, 0x08
FSTS_IQE = 0x10


def ir_w32(off, x): return bytes([0x00]) + struct.pack("<HI", off, x & 0xFFFFFFFF)
def ir_w64(off, x): return bytes([0x01]) + struct.pack("<HQ", off, x & (2**64 - 1))
def ir_gcmd(set_, clear=0): return bytes([0x02, set_, clear])
def ir_irta(table, size, eime=True, sirtp=True):
    return bytes([0x03 | (0x10 if sirtp else 0)]) + struct.pack("<IB", table, size | (0x10 if eime else 0))
def ir_iec(index=None, im=0, wait=True):  # index None: global
    mode = (1 if index is not None else 0) | 2 | (4 if wait else 0)
    return bytes([0x04]) + struct.pack("<BHB", mode, index or 0, im)
def ir_push(lo, hi, submit=True): return bytes([0x05 | (0x10 if submit else 0)]) + q64(lo, hi)
def ir_irte(index, lo, hi): return bytes([0x06]) + struct.pack("<H", index) + q64(lo, hi)
def ir_route(gsi, sid, handle=None, data=0, addr=0, shv=False):
    if handle is None:
        return bytes([0x08]) + struct.pack("<BHQI", gsi, sid, addr, data)
    return bytes([0x08 | 0x10 | (0x20 if shv else 0)]) + struct.pack("<BHHI", gsi, sid, handle, data)
def ir_clear(gsi): return bytes([0x09]) + struct.pack("<B", gsi)
def ir_send(sid, handle, data=0, shv=False):
    return bytes([0x0A | 0x10 | (0x20 if shv else 0)]) + struct.pack("<HHI", sid, handle, data)
def ir_batch(begin): return bytes([0x0B | (0x10 if begin else 0)])
def ir_memw(off, x): return bytes([0x07]) + struct.pack("<IQ", off, x)
def ir_service(): return bytes([0x0D])


def irte(vector, dest, svt=0, sq=0, sid=0, dm=0, rh=0, tm=0, dlm=0, fpd=0, present=1, xapic=False):
    lo = present | fpd << 1 | dm << 2 | rh << 3 | tm << 4 | dlm << 5 | vector << 16
    lo |= dest << 40 if xapic else dest << 32
    return lo, svt << 18 | sq << 16 | sid


def ir_bringup(size=7, eime=True, table=IRT):
    """As Linux: the queue, a table, a global IEC, remapping on (compatibility format blocked)."""
    ops = ir_w64(IQT, 0) + ir_w64(IQA, QUEUE) + ir_gcmd(GCMD_QIE) + ir_w32(FECTL, 0)
    ops += ir_irta(table, size, eime) + ir_iec() + ir_gcmd(GCMD_IRE)
    return ops


def ir_seeds():
    seeds = {}
    # x2APIC mode: an IOAPIC pin and NIC vectors (SHV, subhandles) through the table, then the
    # guest's changes: an entry changed and invalidated alone, with a mask, not present, back;
    # remapping off and on, compatibility format allowed; a batch; messages sent directly.
    m = Mem()
    for i, e in {0x10: irte(0x34, 0x201, 1, 0, IOAPIC_SID), 0x11: irte(0x39, 1, 1, 0, IOAPIC_SID),
                 0x20: irte(0x50, 0x300, 1, 0, NIC), 0x21: irte(0x51, 0x301, 1, 3, NIC | 5),
                 0x22: irte(0x52, 2, 2, 0, 0x0001, dm=1, rh=1, dlm=1), 0x23: irte(0x53, 3, tm=1, fpd=1)}.items():
        m.put64(IRT + i * 16, *e)
    ops = ir_bringup()
    ops += ir_route(4, IOAPIC_SID, 0x10, 0x4004) + ir_route(9, IOAPIC_SID, 0x11, 0xC009)
    ops += ir_route(0x80, NIC, 0x20, 0, shv=True) + ir_route(0x81, NIC, 0x20, 1, shv=True)
    ops += ir_route(0x82, NIC, 0x22, 5) + ir_route(0x83, NIC, 0x23) + ir_route(5, NIC, addr=0xFEE01000, data=0x31)
    ops += ir_service()
    ops += ir_irte(0x21, *irte(0x61, 0x302, 1, 0, NIC)) + ir_irte(0x20, *irte(0x60, 0x300, 1, 0, NIC))
    ops += ir_iec(0x21) + ir_iec(0x21, 1) + ir_iec()
    ops += ir_irte(0x22, 0, 0) + ir_iec(0x22) + ir_service() + ir_irte(0x22, *irte(0x53, 4)) + ir_iec(0x22)
    ops += ir_gcmd(0, GCMD_IRE) + ir_gcmd(GCMD_IRE) + ir_service() + ir_gcmd(GCMD_CFI) + ir_gcmd(0, GCMD_CFI)
    ops += ir_service()
    ops += ir_batch(True) + ir_route(6, NIC, 0x21, 0) + ir_clear(0x80) + ir_iec(0x21) + ir_batch(False)
    ops += ir_send(0x10, 0x20) + ir_service() + ir_send(NIC, 0x20, 1, shv=True)
    ops += ir_irta(IRT, 7) + ir_clear(4)
    seeds["x2apic"] = bytes([0]) + m.encode() + ops

    # xAPIC mode (no EIME): destinations in 47:40, reserved bits where x2APIC has its destination;
    # the 2^16-entry table with handle bit 15; the table moved to where no RAM is.
    m = Mem()
    m.put64(IRT + 1 * 16, *irte(0x41, 5, xapic=True))
    m.put64(IRT + 2 * 16, *irte(0x42, 0x0501))  # bits 39:32 set: reserved in xAPIC mode
    m.put64(IRT_BIG + 0x8003 * 16, *irte(0x83, 7, 1, 1, NIC | 4, xapic=True))
    ops = ir_bringup(eime=False) + ir_route(1, NIC, 1) + ir_route(2, NIC, 2) + ir_service()
    ops += ir_irta(IRT_BIG, 15, eime=False) + ir_route(3, NIC, 0x8003) + ir_route(7, NIC, 0x8000, 3, shv=True)
    ops += ir_route(8, NIC, 3) + ir_service() + ir_w64(0xB8, 0x10000000 | 1 << 11 | 7) + ir_gcmd(GCMD_SIRTP)
    ops += ir_service() * 4 + ir_irta(IRT, 7) + ir_gcmd(GCMD_CFI)
    seeds["xapic"] = bytes([2]) + m.encode() + ops

    # Faults: index beyond a 16-entry table, FPD, every source-id check, more faults than records
    # (PFO) with the event masked then unmasked, serviced; a bad IEC descriptor (IQE) and recovery.
    m = Mem()
    m.put64(IRT + 0 * 16, *irte(0x30, 1, 1, 0, NIC, fpd=1))
    m.put64(IRT + 1 * 16, *irte(0x31, 1, 2, 0, 0x0102))
    m.put64(IRT + 2 * 16, *irte(0x32, 1, 3, 0, NIC))
    m.put64(IRT + 3 * 16, irte(0x33, 1)[0] | 1 << 12, 0)
    m.put64(IRT + 4 * 16, irte(0x34, 1, dlm=3)[0], 0)
    ops = ir_bringup(size=3) + ir_w32(FECTL, 1 << 31)
    ops += ir_route(0, 0x10, 0) + ir_route(1, 0x0300, 1) + ir_route(2, NIC, 2) + ir_route(3, NIC, 3)
    ops += ir_route(10, NIC, 4) + ir_w32(FECTL, 0) + ir_service() * 4 + ir_route(11, NIC, 16)
    ops += ir_route(12, NIC, 14, 2, shv=True) + ir_route(13, NIC, addr=0xFEE00000, data=0x30)
    ops += ir_service() * 4
    # The queue has run 2 descriptors (the bring-up's IEC and wait): the bad one is the third.
    ops += ir_push(4 | 1 << 4 | 1 << 12 | 5 << 32, 0, False) + ir_push(WAIT | SW, STATUS)
    ops += ir_memw(QUEUE + 2 * 16, 4 | 1 << 4 | 5 << 32) + ir_w32(FSTS, FSTS_IQE) + ir_iec(1)
    ops += ir_irta(IRT, 7) + ir_service()
    seeds["faults"] = bytes([0]) + m.encode() + ops
    return seeds


# ---- fuzz_vhost_iotlb ----
def miss(iova, perm): return bytes([0x00]) + struct.pack("<QB", iova, perm)
def raw(*msgs): return bytes([0x01 | (len(msgs) - 1) << 4]) + b"".join(msgs)
def prime(iova, length, perm): return bytes([0x02 | perm << 4]) + struct.pack("<QI", iova, length)
def vmemw(off, x): return bytes([0x03]) + struct.pack("<IQ", off, x)
def bus_master(on): return bytes([0x04 | (0x10 if on else 0)])
def start(): return bytes([0x15])
def stop(): return bytes([0x05])
def queue(q, size_log2, desc, driver, device, enabled=True):
    return bytes([0x06 | (0x10 if enabled else 0)]) + struct.pack("<BBQQQ", q, size_log2, desc, driver, device)
def vw64(reg_index, x): return bytes([0x07 | 0x10, reg_index]) + q64(x)
def vpush(lo, hi, submit=True): return bytes([0x08 | (0x10 if submit else 0)]) + q64(lo, hi)
def vgcmd(set_, clear=0): return bytes([0x09, set_, clear])


def vhost_msg(mtype, iova, size, uaddr, perm, iotlb_type):
    # struct vhost_msg_v2: u32 type, u32 asid, struct vhost_iotlb_msg { u64 iova, size, uaddr;
    # u8 perm, type; (padding) }, padded to 72 bytes.
    body = struct.pack("<IIQQQBB", mtype, 0, iova, size, uaddr, perm, iotlb_type)
    return body + bytes(72 - len(body))


VHOST_IOTLB_MSG_V2, MISS, UPDATE, INVALIDATE = 2, 1, 2, 3
RO, WO, RWP = 1, 2, 3


def vhost_seeds():
    seeds = {}
    # Identity space: rings in low RAM and started; misses in low RAM, high RAM, the hole, beyond
    # RAM; a batch of raw messages; direct primes; bus mastering and the data path off and on.
    ops = queue(0, 8, 0x1000, 0x2000, 0x3000) + queue(1, 8, 0x100000000, 0x100001000, 0xBFFFF000) + start()
    ops += miss(0x1000, RO) + miss(0xBFFFF000, RWP) + miss(0xC0000000, RO) + miss(0x100000000, WO)
    ops += miss(0x103FFFFFF, RO) + miss(0x104000000, RO)
    ops += raw(vhost_msg(VHOST_IOTLB_MSG_V2, 0, 0, 0, 0, MISS),
               vhost_msg(VHOST_IOTLB_MSG_V2, 0x2000, 0, 0, RWP, MISS),
               vhost_msg(1, 0x2000, 0, 0, RWP, MISS),
               vhost_msg(VHOST_IOTLB_MSG_V2, 0x2000, 0x1000, 0x5000, RWP, UPDATE))
    ops += prime(0xBFFF0000, 0x20000, RWP) + prime(0x10000, 0x3000, RO)
    ops += stop() + miss(0x1000, RO) + start() + bus_master(True) + miss(0x1000, RO)
    seeds["identity"] = bytes([0x00]) + struct.pack("<HII", 0x08, 0, 0) + bytes([0]) + ops

    # VT-d: rings in the 4-page run, in the 2 MiB page and the write-only page, started; misses
    # answered from the tables (a run of 4 pages, a 2 MiB page, 1 GiB pages, the end of low RAM,
    # high RAM), refused ones, permission mismatches; page, domain, context and global flushes;
    # translation off and on.
    m = Mem()
    tables(m)
    ops = queue(0, 2, 0x0, 0x100, 0x200) + queue(1, 4, 0x201000, 0x202000, 0x5000) + start()
    ops += miss(0x2000, RO) + miss(0x4000, WO) + miss(0x5000, RO) + miss(0x201234, RWP)
    ops += miss(0x40000000, RO) + miss(0x80000000, RWP) + miss(0xC0000000, RO) + miss(0x100000000, RO)
    ops += miss(0x7000, RWP) + miss(0x8000, RWP) + miss(0x9000, RWP) + miss(0x6000, RO)
    ops += prime(0x0, 0x4000, RWP) + prime(0x3000, 0x3000, RO) + prime(0x201000, 0x10000, RWP)
    ops += vpush(IOTLB_D | 3 << 4 | 1 << 16, 0x2000, False) + vpush(WAIT | SW, STATUS)
    ops += vmemw(L1 + 8, 0) + vpush(IOTLB_D | 3 << 4 | 1 << 16, 0x1000) + miss(0x1000, RO) + miss(0x0, RO)
    ops += vpush(IOTLB_D | 2 << 4 | 1 << 16, 0) + vpush(CC_D | 3 << 4 | 0x08 << 32, 0)
    ops += vpush(IOTLB_D | 1 << 4, 0) + miss(0x1000, RO)
    ops += vgcmd(0, GCMD_TE) + miss(0x1000, RWP) + vgcmd(GCMD_TE)
    seeds["vtd"] = bytes([0x11]) + struct.pack("<HII", 0x08, ROOT, QUEUE) + m.encode() + ops
    # The same without the shadow (every invalidation forwarded as it is).
    seeds["vtd-no-shadow"] = bytes([0x31]) + struct.pack("<HII", 0x08, ROOT, QUEUE) + m.encode() + ops
    # ... and with the prefetch of a miss's neighbours (as vmm runs by default).
    seeds["vtd-prefetch"] = bytes([0x71]) + struct.pack("<HII", 0x08, ROOT, QUEUE) + m.encode() + ops

    # VT-d, 3-level device, and a pass-through one.
    m = Mem()
    tables(m)
    ops = queue(0, 0, 0x0, 0x100, 0x200) + start() + miss(0x0, RO) + miss(0x0, WO) + prime(0x0, 0x1000, RO)
    seeds["vtd-3level"] = bytes([0x11]) + struct.pack("<HII", 0x10, ROOT, QUEUE) + m.encode() + ops
    ops = queue(1, 10, 0xBFFFC000, 0x1000, 0x100000000) + start()
    ops += miss(0x1000, RO) + miss(0xBFFFFFFF, RWP) + miss(0x100001000, RO) + prime(0xBFFFF000, 0x2000, RWP)
    seeds["vtd-passthrough"] = bytes([0x11]) + struct.pack("<HII", 0x18, ROOT, QUEUE) + m.encode() + ops

    # A full shadow: iova 0x40000000.. (1 GiB, 512 leaf tables deep) maps every 4 KiB page to
    # the same guest page, so each page is a run of its own; priming 1 MiB nine times sends 2304
    # UPDATEs, past the 2048 that vmm's shadow (and vhost) keep: old entries are invalidated.
    m = Mem()
    tables(m)
    m.put64(L3 + 8, L2B | RW)  # iova 1 GiB -> L2B
    m.put(L2B, q64(*[L1B | RW for _ in range(2)]))
    m.put(L1B, q64(*[DATA | RW for _ in range(512)]))
    ops = b"".join(prime(0x40000000, 0x100000, RWP) for _ in range(9)) + miss(0x40000000, RO)
    ops += vpush(IOTLB_D | 3 << 4 | 1 << 16, 0x40000000, True)
    seeds["vtd-full-shadow"] = bytes([0x11]) + struct.pack("<HII", 0x08, ROOT, QUEUE) + m.encode() + ops
    return seeds


def vhost_regressions():
    """Inputs that made the target fail; each must pass once the bug is fixed."""
    r = {}
    # Bus Master Enable cleared while the data path runs: virtio_pci.c tells the listeners to
    # drop [0, max], but vhost keeps translating for the device: with the shadow,
    # vhost_iotlb_invalidate() keeps every entry the tables still map (HEAD 543656e), or drops
    # them and primes the rings again at once (the wide-flush change in progress).
    ops = queue(0, 2, 0x1000, 0x2000, 0x3000) + start() + miss(0x10000, RWP) + bus_master(False)
    r["regress-bme-clear-keeps-translations"] = bytes([0x00]) + struct.pack("<HII", 0x08, 0, 0) + bytes([0]) + ops
    # A "wide" invalidation that does not cover everything (a page-selective IOTLB flush with
    # the largest mask, 1 GiB, at an unaligned address: [0, 0x40000fff]): vhost is told to drop
    # that range only, but vmm forgets its whole shadow, so the entry at 2 GiB stays in vhost
    # unknown to vmm; when the guest then unmaps it and flushes it, nothing reaches vhost.
    m = Mem()
    m.put64(ROOT, CTX | P)
    m.put64(CTX + 0x08 * 16, PGD4 | P, AW48 | 1 << 8)
    m.put64(PGD4, L3 | RW)
    m.put64(L3 + 16, 0x80000000 | PS | RW)  # iova 2 GiB: a 1 GiB page
    ops = miss(0x80000000, RWP) + vpush(IOTLB_D | 3 << 4 | 1 << 16, 0x1000 | 18)
    ops += vmemw(L3 + 16, 0) + vpush(IOTLB_D | 3 << 4 | 1 << 16, 0x80000000 | 0) + miss(0x1000, RO)
    r["regress-wide-partial-flush-forgets-entries"] = (bytes([0x11]) + struct.pack("<HII", 0x08, ROOT, QUEUE) +
                                                       m.encode() + ops)
    # A MISS among raw messages, with prefetch: its answer brings the other mapped pages of the
    # leaf table too, more UPDATEs than messages read, which the target took for a fault (CI, 344e0f3).
    m = Mem()
    tables(m)
    ops = raw(vhost_msg(VHOST_IOTLB_MSG_V2, 0x2000, 0, 0, RO, MISS))
    r["regress-raw-miss-prefetch-updates"] = bytes([0x51]) + struct.pack("<HII", 0x08, ROOT, QUEUE) + m.encode() + ops
    return r


# ---- fuzz_board ----
COM1, CMOS, PM_EVT, PM_CNT, CF8, RESET, CFC, ECAM, IOAPIC, VTD, BAR0, BAR1 = range(12)  # targets
WIDTH = {1: 0, 2: 1, 4: 2, 8: 3}
NET = 1  # 00:01.0 (the host bridge is 0)
MSIX_CTRL = 0x9A  # the MSI-X capability at 0x98 (after the five virtio ones)
PCI_CFG_CAP = 0x84  # VIRTIO_PCI_CAP_PCI_CFG: bar +4, offset +8, length +12, data +16


def bop(kind, value, width, flags=0):
    return bytes([kind | (8 if value is not None else 0) | WIDTH[width] << 4 | flags])


def val(value, width):
    return b"" if value is None else (value & (2**(8 * width) - 1)).to_bytes(width, "little")


def acc(target, off, width=4, value=None):  # a target's range; value None: a read
    return bop(0, value, width) + struct.pack("<BH", target, off) + val(value, width)
def cfg(fn, reg, width=4, value=None, cf8=False):  # config space of 00:0<fn>.0, ECAM or CF8/CFC
    return bop(1, value, width, 0x40 if cf8 else 0) + struct.pack("<BH", fn, reg) + val(value, width)
def braw(addr, width=4, value=None, pio=False):
    return bop(2, value, width, 0x40 if pio else 0) + (struct.pack("<H", addr) if pio else struct.pack("<Q", addr)) + val(value, width)
def rep(target, data, width=1):  # rep outs of len(data) // width elements
    return bop(3, 0, width) + struct.pack("<BB", target, len(data) // width - 1) + data
def rep_in(target, count, width=1): return bop(3, None, width) + struct.pack("<BB", target, count - 1)
def bmiss(iova, perm): return bytes([0x04]) + struct.pack("<QB", iova, perm)
def vring_error(q): return bytes([0x0C | q << 4])
def eoi(vector): return bytes([0x05, vector])
def bmemw(off, x): return bytes([0x06]) + struct.pack("<IQ", off, x)
def key(c): return bytes([0x0F, c])
def power_button(): return bytes([0x07])


def board_header(config, fail=0, time=1700000000, mem=None):
    return bytes([config, fail]) + struct.pack("<I", time) + (mem.encode() if mem else bytes([0]))


def common(off, width, value=None): return acc(BAR0, off, width, value)
def status(x): return common(20, 1, x)


def net_init(rings, qsize, iommu=False, cf8=False):
    """What Linux's virtio_pci_modern and virtio_net do, config space through ECAM or CF8/CFC:
    BAR sizing with decoding off, bus mastering, reset, features, queues, MSI-X, DRIVER_OK."""
    ops = cfg(NET, 0, 4, cf8=cf8) + cfg(NET, 0x08, 4, cf8=cf8) + cfg(NET, 0x34, 1, cf8=cf8)
    ops += cfg(NET, 4, 2, 0, cf8=cf8)
    for bar, addr in ((0, 0xC0000000), (1, 0xC0004000)):
        reg = 0x10 + 4 * bar
        ops += cfg(NET, reg, 4, 0xFFFFFFFF, cf8=cf8) + cfg(NET, reg, 4, cf8=cf8) + cfg(NET, reg, 4, addr, cf8=cf8)
    ops += cfg(NET, 4, 2, 0x6, cf8=cf8)  # memory decoding, bus mastering
    ops += status(0) + status(1) + status(3)
    for sel in (0, 1):
        ops += common(0, 4, sel) + common(4, 4)
    ops += common(8, 4, 0) + common(12, 4, (1 << 5) | (1 << 16) | (1 << 15) | (1 << 0) | (1 << 1) | (1 << 29))
    ops += common(8, 4, 1) + common(12, 4, 1 | (2 if iommu else 0))
    ops += status(0xB) + status(None) + common(16, 2, 0)  # FEATURES_OK; config vector 0
    for q, (desc, avail, used) in enumerate(rings):
        ops += common(22, 2, q) + common(24, 2) + common(24, 2, qsize) + common(26, 2, q + 1)
        ops += common(32, 4, desc) + common(36, 4, 0) + common(40, 4, avail) + common(44, 4, 0)
        ops += common(48, 4, used) + common(52, 4, 0) + common(30, 2) + common(28, 2, 1)
    for v in range(3):
        ops += acc(BAR1, 16 * v, 4, 0xFEE00000) + acc(BAR1, 16 * v + 4, 4, 0)
        ops += acc(BAR1, 16 * v + 8, 4, 0x30 + v) + acc(BAR1, 16 * v + 12, 4, 0)
    ops += cfg(NET, MSIX_CTRL, 2, 0x8000, cf8=cf8)
    ops += status(0xF)  # DRIVER_OK: vhost starts
    return ops


def net_running(cf8=False):
    """Kicks, ISR, device config, PBA, the PCI_CFG window, a vring error, bus mastering off and
    on, a status write that clears bits after DRIVER_OK (NEEDS_RESET), the reset."""
    ops = common(0x3000, 2, 0) + common(0x3004, 2, 1) + common(0x3004, 4, 1)
    ops += common(0x1000, 1) + common(0x2000, 4) + common(0x2004, 2) + common(0x2006, 2) + common(0x2000, 8)
    ops += acc(BAR1, 0x800, 8) + acc(BAR1, 0x10, 8) + acc(BAR1, 0x1C, 4, 1) + acc(BAR1, 0x800, 4)
    ops += acc(BAR1, 0x1C, 4, 0)
    ops += cfg(NET, PCI_CFG_CAP + 4, 1, 0, cf8=cf8) + cfg(NET, PCI_CFG_CAP + 8, 4, 20, cf8=cf8)
    ops += cfg(NET, PCI_CFG_CAP + 12, 4, 1, cf8=cf8) + cfg(NET, PCI_CFG_CAP + 16, 1, cf8=cf8)
    ops += cfg(NET, PCI_CFG_CAP + 8, 4, 0x3000, cf8=cf8) + cfg(NET, PCI_CFG_CAP + 12, 4, 2, cf8=cf8)
    ops += cfg(NET, PCI_CFG_CAP + 16, 2, 0, cf8=cf8)
    ops += vring_error(0) + vring_error(1)
    ops += cfg(NET, 4, 2, 0x2, cf8=cf8) + acc(BAR1, 0x800, 4) + cfg(NET, 4, 2, 0x6, cf8=cf8)
    ops += status(0x7) + status(None) + status(0)
    return ops


def board_seeds():
    seeds = {}
    # virtio-net brought up as Linux does it through ECAM and BAR 0 / BAR 1, then used and reset.
    rings = [(0x10000, 0x11000, 0x12000), (0x20000, 0x21000, 0x22000)]
    seeds["net-init"] = board_header(0) + net_init(rings, 256) + net_running()
    # The same through CF8/CFC, with a ring at the end of low RAM (the device refuses one
    # running past it: NEEDS_RESET), then a good set-up again.
    bad = [(0x10000, 0x11000, 0xBFFFFC00), (0x20000, 0x21000, 0x22000)]
    seeds["net-init-cf8"] = (board_header(0) + net_init(bad, 256, cf8=True) + status(None) + status(0) +
                             net_init(rings, 128, cf8=True) + net_running(cf8=True))

    # Behind VT-d (with ATS): the unit brought up through MMIO (root table, queue, translation),
    # ACCESS_PLATFORM, rings at IOVAs (vhost's IOTLB primed), misses answered and refused, an
    # invalidation, bus mastering off and on (primed again), a ring unmapped and flushed, then
    # bus mastering off and on again: priming fails, the device asks for a reset.
    m = Mem()
    tables(m)
    ops = acc(VTD, RTADDR, 8, ROOT) + acc(VTD, 0x18, 4, 1 << 30) + acc(VTD, IQT, 8, 0) + acc(VTD, IQA, 8, QUEUE)
    ops += acc(VTD, 0x18, 4, 1 << 26) + acc(VTD, 0x18, 4, 1 << 31 | 1 << 26) + acc(VTD, FECTL, 4, 0)
    ops += acc(VTD, 0x1C, 4)  # GSTS
    vrings = [(0x0000, 0x0400, 0x0800), (0x1000, 0x1400, 0x1800)]
    ops += net_init(vrings, 16, iommu=True)
    ops += bmiss(0x2000, RO) + bmiss(0x201234, RWP) + bmiss(0x4000, WO) + bmiss(0x900000, RO) + acc(VTD, FSTS, 4)
    ops += acc(VTD, IVA, 8, 0x2000) + acc(VTD, IOTLB, 8, 1 << 63 | 3 << 60 | 1 << 32)
    ops += cfg(NET, 4, 2, 0x2) + cfg(NET, 4, 2, 0x6) + common(0x3000, 2, 0)
    ops += bmemw(L1, 0) + acc(VTD, IOTLB, 8, 1 << 63 | 1 << 60) + cfg(NET, 4, 2, 0x2) + cfg(NET, 4, 2, 0x6)
    ops += status(None) + status(0) + acc(VTD, 0x18, 4, 1 << 26)
    seeds["net-vtd"] = board_header(0x03, mem=m) + ops

    # The IOAPIC and the UART as Linux programs them (8N1, FIFO, THRE and receive interrupts on
    # pin 4), output (string I/O), a key typed, loopback; the SCI on pin 9 (level): power button,
    # EOI with the line still up, status cleared, EOI; the CMOS clock; the reset register read;
    # a POST code to a port nobody decodes; ACPI S5 last.
    io = acc(IOAPIC, 0, 4, 0) + acc(IOAPIC, 0x10, 4) + acc(IOAPIC, 0, 4, 1) + acc(IOAPIC, 0x10, 4)
    io += acc(IOAPIC, 0, 4, 0x18) + acc(IOAPIC, 0x10, 4, 0x24) + acc(IOAPIC, 0, 4, 0x19) + acc(IOAPIC, 0x10, 4, 0)
    io += acc(IOAPIC, 0, 4, 0x22) + acc(IOAPIC, 0x10, 4, 0x31 | 1 << 15) + acc(IOAPIC, 0, 4, 0x23)
    io += acc(IOAPIC, 0x10, 4, 0)
    io += acc(COM1, 3, 1, 0x80) + acc(COM1, 0, 1, 1) + acc(COM1, 1, 1, 0) + acc(COM1, 3, 1, 0x03)
    io += acc(COM1, 2, 1, 0x07) + acc(COM1, 1, 1, 0x03) + acc(COM1, 4, 1, 0x0B) + acc(COM1, 2, 1)
    io += rep(COM1, b"hello\n") + acc(COM1, 5, 1) + acc(COM1, 2, 1) + eoi(0x24)
    io += key(ord("x")) + key(ord("y")) + acc(COM1, 2, 1) + acc(COM1, 0, 1) + rep_in(COM1, 2) + acc(COM1, 6, 1)
    io += acc(COM1, 7, 1, 0x5A) + acc(COM1, 7, 1) + acc(COM1, 4, 1, 0x1B) + acc(COM1, 0, 1, 0x41) + acc(COM1, 0, 1)
    io += acc(COM1, 4, 1, 0x0B) + acc(COM1, 0, 2)
    io += acc(PM_EVT, 2, 2, 1 << 8) + acc(PM_CNT, 0, 2, 1) + power_button() + acc(PM_EVT, 0, 2) + eoi(0x31)
    io += acc(PM_EVT, 0, 2, 1 << 8) + eoi(0x31) + acc(PM_EVT, 0, 4)
    io += acc(CMOS, 0, 1, 0x0A) + acc(CMOS, 1, 1) + acc(CMOS, 0, 1, 0x0B) + acc(CMOS, 1, 1, 0x06)
    io += acc(CMOS, 0, 1, 0x00) + acc(CMOS, 1, 1) + acc(CMOS, 0, 1, 0x32) + acc(CMOS, 1, 1) + acc(CMOS, 0, 2)
    io += acc(RESET, 0, 1) + acc(RESET, 0, 1, 0) + braw(0x80, 1, 0x55, pio=True) + braw(0xFEE00000, 4)
    io += acc(PM_CNT, 0, 2, 5 << 10 | 1 << 13 | 1)
    seeds["ioapic-uart-pm"] = board_header(0, time=951782400) + io

    # VT-d with interrupt remapping (x2APIC-mode table, the IOAPIC's pin 4 and the NIC's vectors
    # in remappable format) and vmm's IOTLB shadow (VMM_IOTLB_EXACT): the queue runs an IEC and
    # page-selective IOTLB invalidations of a ring page and of a page vhost holds, then a wait.
    m = Mem()
    tables(m)
    m.put64(IRT, *irte(0x34, 0, 1, 0, IOAPIC_SID))
    for v in range(3):
        m.put64(IRT + (1 + v) * 16, *irte(0x40 + v, 1, 1, 0, NIC))
    gcmd_te_qie = 1 << 31 | 1 << 26
    ops = acc(VTD, RTADDR, 8, ROOT) + acc(VTD, 0x18, 4, 1 << 30) + acc(VTD, IQT, 8, 0) + acc(VTD, IQA, 8, QUEUE)
    ops += acc(VTD, 0x18, 4, 1 << 26) + acc(VTD, 0x18, 4, gcmd_te_qie)
    ops += acc(VTD, 0xB8, 8, IRT | 1 << 11 | 7) + acc(VTD, 0x18, 4, gcmd_te_qie | 1 << 24)
    ops += bmemw(QUEUE, IEC_D) + acc(VTD, IQT, 8, 1 << 4) + acc(VTD, 0x18, 4, gcmd_te_qie | 1 << 25)
    ops += acc(IOAPIC, 0, 4, 0x18) + acc(IOAPIC, 0x10, 4, 0x34) + acc(IOAPIC, 0, 4, 0x19) + acc(IOAPIC, 0x10, 4, 1 << 16)
    ops += net_init(vrings, 16, iommu=True)
    for v in range(3):
        ops += acc(BAR1, 16 * v, 4, 0xFEE00010 | (1 + v) << 5) + acc(BAR1, 16 * v + 8, 4, 0)
    ops += bmiss(0x2000, RWP) + bmiss(0x3000, RO) + bmiss(0x201000, RWP)
    ops += bmemw(QUEUE + 16, IOTLB_D | 3 << 4 | 1 << 16) + bmemw(QUEUE + 24, 0x2000) + acc(VTD, IQT, 8, 2 << 4)
    ops += bmemw(L1, 0) + bmemw(QUEUE + 32, IOTLB_D | 3 << 4 | 1 << 16) + bmemw(QUEUE + 40, 0x0000)
    ops += bmemw(QUEUE + 48, WAIT | SW | 1 << 4 | 7 << 32) + bmemw(QUEUE + 56, STATUS) + acc(VTD, IQT, 8, 4 << 4)
    ops += acc(COM1, 4, 1, 0x08) + acc(COM1, 1, 1, 0x02) + acc(COM1, 2, 1) + eoi(0x34) + acc(VTD, FSTS, 4)
    ops += acc(VTD, ICS, 4, 1)
    ops += cfg(NET, 4, 2, 0x2) + cfg(NET, 4, 2, 0x6) + status(None)
    seeds["vtd-ir-shadow"] = board_header(0x09, mem=m) + ops
    return seeds


def board_regressions():
    """Inputs that made fuzz_board fail; each must pass once the bug is fixed."""
    r = {}
    # The driver writes 0xFF to device_status, NEEDS_RESET (0x40) included: the device started
    # its data path and reported DRIVER_OK with NEEDS_RESET at once (virtio_pci.c write_status
    # kept the driver's NEEDS_RESET bit); with Bus Master Enable set later it refused to start.
    ops = common(8, 4, 1) + common(12, 4, 1) + cfg(NET, 4, 2, 0x6) + status(0xFF) + status(None)
    ops += status(0) + cfg(NET, 4, 2, 0x2) + common(8, 4, 1) + common(12, 4, 1) + status(0xFF) + cfg(NET, 4, 2, 0x6)
    r["regress-driver-sets-needs-reset"] = board_header(0) + ops
    return r


def pvh_elf(notes_align=4, entry_size=8):
    """A small vmlinux-like ELF64 for fuzz_boot_pvh: code at 16 MiB, data with a bss tail at 18
    MiB, a PT_NOTE segment with Xen's guest-OS note, a GNU build id and the PVH entry note."""
    def note(name, ntype, desc, align):
        namesz = len(name)
        desc_off = (12 + namesz + align - 1) & ~(align - 1)
        out = struct.pack("<III", namesz, len(desc), ntype) + name
        out += bytes(desc_off - len(out)) + desc
        return out + bytes(((len(out) + align - 1) & ~(align - 1)) - len(out))
    notes = note(b"Xen\0", 6, b"linux\0", notes_align) + note(b"GNU\0", 3, b"0123456789abcdefghij", notes_align)
    notes += note(b"Xen\0", 18, struct.pack("<Q", 0x1000100)[:entry_size], notes_align)
    code, data = bytes((i * 7 + 1) & 0xFF for i in range(0x3000)), bytes((i * 13 + 5) & 0xFF for i in range(0x800))
    ehdr = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    ehdr += struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0x1000000, 64, 0, 0, 64, 56, 3, 64, 0, 0)
    phdrs = struct.pack("<IIQQQQQQ", 1, 5, 0x1000, 0xffffffff81000000, 0x1000000, len(code), len(code), 0x1000)
    phdrs += struct.pack("<IIQQQQQQ", 1, 6, 0x4000, 0xffffffff81200000, 0x1200000, len(data), 0x2000, 0x1000)
    phdrs += struct.pack("<IIQQQQQQ", 4, 4, 0x200, 0, 0, len(notes), len(notes), notes_align)
    f = bytearray(0x4000 + len(data))
    f[0:64], f[64:64 + len(phdrs)], f[0x200:0x200 + len(notes)] = ehdr, phdrs, notes
    f[0x1000:0x1000 + len(code)], f[0x4000:] = code, data
    return bytes(f)


def pvh_seeds():
    """fuzz_boot_pvh: u8 config (bit 0: an initrd of u16 * 16 bytes), then the kernel file."""
    return {
        "vmlinux-like": bytes([0]) + pvh_elf(),
        "vmlinux-initrd": bytes([1]) + struct.pack("<H", 256) + pvh_elf(),
        "notes-align8": bytes([0]) + pvh_elf(notes_align=8),
        "entry-4-bytes": bytes([1]) + struct.pack("<H", 1) + pvh_elf(entry_size=4),
    }


def link_msg(mtype, ifindex, name, pad=True):
    """An RTM_NEWLINK / RTM_DELLINK as rtnetlink sends it: nlmsghdr, ifinfomsg, IFLA_IFNAME."""
    attr = name + b"\0"
    rta = struct.pack("<HH", 4 + len(attr), 3) + attr
    rta += bytes(-len(rta) % 4)
    body = struct.pack("<BBHiII", 0, 0, 1, ifindex, 0x1003, 0) + rta
    msg = struct.pack("<IHHII", 16 + len(body), mtype, 0, 1, 0) + body
    return msg + (bytes(-len(msg) % 4) if pad else b"")


def tap_watch_seeds():
    """fuzz_tap_watch: s32 ifindex, then one rtnetlink datagram."""
    NEWLINK, DELLINK, DONE, ERROR = 16, 17, 3, 2
    ours = struct.pack("<i", 7)
    err = struct.pack("<IHHII", 36, ERROR, 0, 1, 0) + struct.pack("<i", -19) + struct.pack("<IHHII", 16, 18, 0, 1, 0)
    return {
        "dellink-ours": ours + link_msg(DELLINK, 7, b"vmmtap0"),
        "newlink-ours": ours + link_msg(NEWLINK, 7, b"vmmtap0"),
        "several": ours + link_msg(NEWLINK, 3, b"eth1") + link_msg(DELLINK, 4, b"veth0a")
                   + link_msg(DELLINK, 7, b"vmmtap0", pad=False),
        "done-first": ours + struct.pack("<IHHII", 20, DONE, 2, 1, 0) + bytes(4) + link_msg(DELLINK, 7, b"vmmtap0"),
        "error-then-ours": ours + err + link_msg(DELLINK, 7, b"vmmtap0"),
    }


def bzimage_header(setup_sects=4, version=0x020F, loadflags=0x01, xloadflags=0x01, relocatable=1,
                   init_size=0x200000, initrd_addr_max=0x7FFFFFFF, cmdline_size=2047, jump=0x66):
    """The first 4 KiB of a bzImage: boot sector signature, the setup header (boot.rst) with the
    fields the loader checks and uses, the jump at 0x200 whose byte says where the header ends."""
    f = bytearray(4096)
    f[0x1F1] = setup_sects
    struct.pack_into("<H", f, 0x1FE, 0xAA55)
    f[0x200] = 0xEB
    f[0x201] = jump
    f[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", f, 0x206, version)
    f[0x211] = loadflags
    struct.pack_into("<I", f, 0x22C, initrd_addr_max)
    f[0x234] = relocatable
    struct.pack_into("<H", f, 0x236, xloadflags)
    struct.pack_into("<I", f, 0x238, cmdline_size)
    struct.pack_into("<I", f, 0x260, init_size)
    return bytes(f)


def bzimage_seeds():
    """fuzz_bzimage: u8 config (bit 0: initrd u16 * 16 bytes; bit 1: command line of u16 bytes),
    [u16], [u16], u32 file length, then the file's first bytes."""
    def seed(hdr, file_len=64 * 1024, initrd=None, cmdlen=None):
        config = (1 if initrd is not None else 0) | (2 if cmdlen is not None else 0)
        out = bytes([config])
        if initrd is not None:
            out += struct.pack("<H", initrd)
        if cmdlen is not None:
            out += struct.pack("<H", cmdlen)
        return out + struct.pack("<I", file_len) + hdr
    return {
        "bzimage": seed(bzimage_header()),
        "bzimage-initrd": seed(bzimage_header(), initrd=4096),
        "initrd-addr-max-low": seed(bzimage_header(initrd_addr_max=0x27FFFFF), initrd=0xFFFF),
        "init-size-large": seed(bzimage_header(init_size=0x3F00000), initrd=16),
        "cmdline-long": seed(bzimage_header(cmdline_size=255), cmdlen=300),
        "setup-fills-file": seed(bzimage_header(setup_sects=0xFF), file_len=4096),
        "protocol-2-11": seed(bzimage_header(version=0x020B)),
    }


def cmdline_seeds():
    """fuzz_cmdline: u8 config (bit 0: a passwd file first), then NUL-separated arguments."""
    def args(*a, passwd=None):
        out = bytes([1 if passwd is not None else 0])
        if passwd is not None:
            out += passwd + b"\0"
        return out + b"\0".join(a)
    return {
        "default": args(b"--kernel", b"vmlinux", b"--initrd", b"initramfs.cpio.lz4", b"--cpus", b"2", b"--memory", b"1G"),
        "net-iommu": args(b"--kernel=bzImage", b"--net", b"tap=vmmtap0,mac=52:54:00:12:34:57", b"--iommu=ats",
                          b"--on-reboot=restart", b"--exit-stats", b"--cmdline", b"console=ttyS0 quiet"),
        "user-name": args(b"--kernel", b"k", b"--user", b"vmmuser", b"--no-sandbox",
                          passwd=b"vmmuser:x:1234:1234::/nonexistent:/bin/false\n"),
        "user-ids": args(b"--kernel", b"k", b"--user", b"65534:65534", b"--memory", b"4GiB"),
        "bad-option": args(b"-xyz", b"--kernel", b"k"),
        "help": args(b"--kernel", b"k", b"--help"),
    }


def write(target, seeds, prefix="seed-"):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, prefix + name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    write("fuzz_vtd", vtd_seeds())
    write("fuzz_vtd_ir", ir_seeds())
    write("fuzz_vhost_iotlb", vhost_seeds())
    write("fuzz_vhost_iotlb", vhost_regressions(), prefix="")
    write("fuzz_board", board_seeds())
    write("fuzz_board", board_regressions(), prefix="")
    write("fuzz_boot_pvh", pvh_seeds())
    write("fuzz_tap_watch", tap_watch_seeds())
    write("fuzz_bzimage", bzimage_seeds())
    write("fuzz_cmdline", cmdline_seeds())
