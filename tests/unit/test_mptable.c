/* MP table: read back as Linux's mpparse.c reads it (floating pointer, header checks, entries by
 * type), and placed where the kernel's search finds it at its first step. */
#include <errno.h>
#include <string.h>

#include "../../devices/ioapic_regs.h"
#include "../../vmm/layout.h"
#include "../../vmm/mptable.h"
#include "check.h"

static uint8_t fp_buf[16];
static uint8_t table[MPTABLE_END - MPTABLE_ADDR];

static int sum(const void *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += ((const uint8_t *)p)[i];
	return s;
}

struct decoded {
	unsigned cpus, bsps, buses, ioapics, io_intrs, local_intrs, unknown;
	uint8_t cpu_ids[256];
	uint8_t ioapic_id;
	uint32_t ioapic_addr;
	int pin_of_irq[MP_ISA_IRQS];
	uint16_t flags_of_irq[MP_ISA_IRQS];
	struct mp_intr nmi;
};

/* Walks the base table by entry type and size, as smp_read_mpc() does. */
static void decode(const uint8_t *t, size_t len, struct decoded *d)
{
	memset(d, 0, sizeof(*d));
	for (int i = 0; i < MP_ISA_IRQS; i++)
		d->pin_of_irq[i] = -1;
	const uint8_t *p = t + sizeof(struct mp_config_header), *end = t + len;
	while (p < end) {
		switch (*p) {
		case MP_ENTRY_PROCESSOR: {
			struct mp_processor c;
			memcpy(&c, p, sizeof(c));
			CHECK(c.cpu_flags & MP_CPU_ENABLED);
			if (c.cpu_flags & MP_CPU_BSP)
				d->bsps++;
			d->cpu_ids[d->cpus++] = c.lapic_id;
			p += sizeof(c);
			break;
		}
		case MP_ENTRY_BUS: {
			struct mp_bus b;
			memcpy(&b, p, sizeof(b));
			CHECK(memcmp(b.bus_type, "ISA   ", 6) == 0);
			d->buses++;
			p += sizeof(b);
			break;
		}
		case MP_ENTRY_IOAPIC: {
			struct mp_ioapic io;
			memcpy(&io, p, sizeof(io));
			CHECK(io.flags & MP_IOAPIC_ENABLED);
			CHECK_EQ(io.ioapic_version, IOAPIC_VERSION);
			d->ioapic_id = io.ioapic_id;
			d->ioapic_addr = io.addr;
			d->ioapics++;
			p += sizeof(io);
			break;
		}
		case MP_ENTRY_IO_INTR: {
			struct mp_intr e;
			memcpy(&e, p, sizeof(e));
			CHECK_EQ(e.intr_type, MP_INTR_INT);
			CHECK_EQ(e.src_bus_id, 0);
			CHECK_EQ(e.dst_id, d->ioapic_id);
			CHECK(e.src_bus_irq < MP_ISA_IRQS && d->pin_of_irq[e.src_bus_irq] == -1);
			if (e.src_bus_irq < MP_ISA_IRQS) {
				d->pin_of_irq[e.src_bus_irq] = e.dst_pin;
				d->flags_of_irq[e.src_bus_irq] = e.flags;
			}
			d->io_intrs++;
			p += sizeof(e);
			break;
		}
		case MP_ENTRY_LOCAL_INTR:
			memcpy(&d->nmi, p, sizeof(d->nmi));
			d->local_intrs++;
			p += sizeof(struct mp_intr);
			break;
		default:
			d->unknown++;
			return;
		}
	}
	CHECK(p == end);
}

static void test_table(unsigned ncpus)
{
	struct mptable_config cfg = { .ncpus = ncpus, .ioapic_id = 0, .cpu_signature = 0x830f10, .cpu_features = 0x178bfbff };
	memset(fp_buf, 0xAA, sizeof(fp_buf));
	memset(table, 0xAA, sizeof(table));
	CHECK_EQ(mptable_build(&cfg, fp_buf, table, MPTABLE_ADDR, sizeof(table)), 0);

	/* The floating pointer, as smp_scan_config() accepts it. */
	struct mp_floating_pointer fp;
	memcpy(&fp, fp_buf, sizeof(fp));
	CHECK(memcmp(fp.signature, "_MP_", 4) == 0);
	CHECK_EQ(fp.length, 1);
	CHECK_EQ(fp.spec_rev, 4);
	CHECK_EQ(sum(fp_buf, 16), 0);
	CHECK_EQ(fp.physptr, MPTABLE_ADDR);
	CHECK_EQ(fp.feature1, 0); /* a table, not a default configuration */

	/* The header, as smp_check_mpc() checks it. */
	struct mp_config_header h;
	memcpy(&h, table, sizeof(h));
	CHECK(memcmp(h.signature, "PCMP", 4) == 0);
	CHECK_EQ(h.spec_rev, 4);
	CHECK_EQ(h.base_length, mptable_size(ncpus));
	CHECK_EQ(sum(table, h.base_length), 0);
	CHECK_EQ(h.lapic_addr, LAPIC_BASE);
	CHECK_EQ(h.ext_length, 0);
	CHECK_EQ(table[h.base_length], 0xAA); /* nothing written past the table */

	struct decoded d;
	decode(table, h.base_length, &d);
	CHECK_EQ(d.unknown, 0);
	CHECK_EQ(h.entry_count, d.cpus + d.buses + d.ioapics + d.io_intrs + d.local_intrs);
	CHECK_EQ(d.cpus, ncpus);
	CHECK_EQ(d.bsps, 1);
	for (unsigned i = 0; i < d.cpus; i++)
		CHECK_EQ(d.cpu_ids[i], i); /* the MADT's local APIC ids */
	CHECK_EQ(d.buses, 1);
	CHECK_EQ(d.ioapics, 1);
	CHECK_EQ(d.ioapic_addr, IOAPIC_BASE);
	/* The ISA interrupts as the MADT's overrides route them: IRQ 0 to pin 2, the SCI level and
	 * active high, the others identity-mapped and conforming to ISA (edge, active high). */
	CHECK_EQ(d.pin_of_irq[0], 2);
	CHECK_EQ(d.pin_of_irq[2], -1);
	for (int irq = 1; irq < MP_ISA_IRQS; irq++)
		if (irq != 2)
			CHECK_EQ(d.pin_of_irq[irq], irq);
	CHECK_EQ(d.flags_of_irq[IRQ_SCI], MP_INTR_POLARITY_HIGH | MP_INTR_TRIGGER_LEVEL);
	CHECK_EQ(d.flags_of_irq[IRQ_COM1], 0);
	CHECK_EQ(d.flags_of_irq[IRQ_RTC], 0);
	CHECK_EQ(d.local_intrs, 1);
	CHECK_EQ(d.nmi.intr_type, MP_INTR_NMI);
	CHECK_EQ(d.nmi.dst_id, MP_ALL_LAPICS);
	CHECK_EQ(d.nmi.dst_pin, 1);
}

int main(void)
{
	CHECK_EQ(sizeof(struct mp_floating_pointer), 16);
	CHECK_EQ(sizeof(struct mp_config_header), 44);
	CHECK_EQ(sizeof(struct mp_processor), 20);
	CHECK_EQ(sizeof(struct mp_bus), 8);
	CHECK_EQ(sizeof(struct mp_ioapic), 8);
	CHECK_EQ(sizeof(struct mp_intr), 8);

	/* Placement: the floating pointer on a 16-byte boundary in the top kilobyte of conventional
	 * memory (Linux's second search area, [639 KiB, 640 KiB)), outside usable RAM in the e820;
	 * the table after the 36-byte RSDP, below the ACPI tables, with room for every CPU. */
	CHECK_EQ(MPTABLE_FP_ADDR % 16, 0);
	CHECK(MPTABLE_FP_ADDR >= 639 * 1024 && MPTABLE_FP_ADDR + 16 <= 640 * 1024);
	CHECK(MPTABLE_ADDR >= BIOS_AREA_START + 64);
	CHECK(MPTABLE_ADDR + mptable_size(VMM_MAX_CPUS) <= MPTABLE_END);

	test_table(1);
	test_table(2);
	test_table(VMM_MAX_CPUS);

	struct mptable_config none = { .ncpus = 0 };
	CHECK_EQ(mptable_build(&none, fp_buf, table, MPTABLE_ADDR, sizeof(table)), -EINVAL);
	struct mptable_config two = { .ncpus = 2 };
	CHECK_EQ(mptable_build(&two, fp_buf, table, MPTABLE_ADDR, mptable_size(2) - 1), -ENOSPC);
	CHECK_EQ(mptable_build(&two, fp_buf, table, MPTABLE_ADDR, mptable_size(2)), 0);
	return check_report("mptable");
}
