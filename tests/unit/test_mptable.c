/* MP table: read back as Linux's mpparse.c reads it (floating pointer, header checks, entries by
 * type), and placed where the kernel's search finds it at its first step. */
#include <errno.h>
#include <string.h>

#include "../../devices/ioapic_regs.h"
#include "../../vmm/acpi.h"
#include "../../vmm/acpi_tables.h"
#include "../../vmm/boot.h"
#include "../../vmm/layout.h"
#include "../../vmm/memory.h"
#include "../../vmm/mptable.h"
#include "check.h"

static uint8_t fp_buf[16];
static uint8_t table[MPTABLE_END - MPTABLE_ADDR];
static uint8_t acpi_area[ACPI_TABLES_END - ACPI_TABLES_START];
static uint8_t rsdp_buf[64];

static int sum(const void *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += ((const uint8_t *)p)[i];
	return s;
}

struct decoded {
	unsigned cpus, bsps, buses, ioapics, io_intrs, local_intrs, unknown;
	uint8_t cpu_ids[256], bsp_id;
	uint32_t signature, features;
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
			if (c.cpu_flags & MP_CPU_BSP) {
				d->bsps++;
				d->bsp_id = c.lapic_id;
			}
			d->signature = c.cpu_signature;
			d->features = c.feature_flags;
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

/* What the MADT that acpi_build writes for the same board says, in the MP table's terms. */
struct madt_view {
	unsigned cpus;
	uint8_t cpu_ids[256];
	uint8_t ioapic_id;
	uint32_t ioapic_addr;
	int pin_of_irq[MP_ISA_IRQS];
	uint16_t flags_of_irq[MP_ISA_IRQS];
	unsigned nmis;
	uint8_t nmi_uid, nmi_lint;
};

static void read_madt(unsigned ncpus, uint8_t ioapic_id, struct madt_view *v)
{
	struct acpi_config cfg = { .ncpus = ncpus, .ioapic_id = ioapic_id, .pci_mmio64_start = 0x800000000ULL,
				   .pci_mmio64_end = 0xFFFFFFFFFULL };
	CHECK_EQ(acpi_build(&cfg, rsdp_buf, acpi_area, ACPI_TABLES_START, sizeof(acpi_area)), 0);
	memset(v, 0, sizeof(*v));
	for (int i = 0; i < MP_ISA_IRQS; i++) {
		v->pin_of_irq[i] = i == 2 ? -1 : i; /* ISA identity mapping unless overridden (ACPI 5.2.12.5) */
		v->flags_of_irq[i] = 0;
	}
	struct acpi_rsdp r;
	memcpy(&r, rsdp_buf, sizeof(r));
	CHECK(r.xsdt_address >= ACPI_TABLES_START && r.xsdt_address < ACPI_TABLES_END);
	struct acpi_header x;
	memcpy(&x, acpi_area + (r.xsdt_address - ACPI_TABLES_START), sizeof(x));
	const struct acpi_header *madt = NULL;
	for (unsigned i = 0; i < (x.length - sizeof(x)) / 8; i++) {
		uint64_t gpa;
		memcpy(&gpa, acpi_area + (r.xsdt_address - ACPI_TABLES_START) + sizeof(x) + 8 * i, 8);
		const struct acpi_header *h = (const void *)(acpi_area + (gpa - ACPI_TABLES_START));
		if (!memcmp(h->signature, "APIC", 4))
			madt = h;
	}
	CHECK(madt != NULL);
	if (!madt)
		return;
	const uint8_t *p = (const uint8_t *)madt + sizeof(struct acpi_madt), *end = (const uint8_t *)madt + madt->length;
	while (p + 2 <= end && p[1] >= 2) {
		switch (p[0]) {
		case ACPI_MADT_LAPIC: {
			struct acpi_madt_lapic e;
			memcpy(&e, p, sizeof(e));
			v->cpu_ids[v->cpus++] = e.apic_id;
			break;
		}
		case ACPI_MADT_IOAPIC: {
			struct acpi_madt_ioapic e;
			memcpy(&e, p, sizeof(e));
			v->ioapic_id = e.id;
			v->ioapic_addr = e.address;
			break;
		}
		case ACPI_MADT_ISO: {
			struct acpi_madt_iso e;
			memcpy(&e, p, sizeof(e));
			if (e.source < MP_ISA_IRQS) {
				v->pin_of_irq[e.source] = (int)e.gsi;
				v->flags_of_irq[e.source] = e.flags; /* MPS INTI flags: the MP table's encoding */
			}
			break;
		}
		case ACPI_MADT_LAPIC_NMI: {
			struct acpi_madt_lapic_nmi e;
			memcpy(&e, p, sizeof(e));
			v->nmis++;
			v->nmi_uid = e.processor_uid;
			v->nmi_lint = e.lint;
			break;
		}
		}
		p += p[1];
	}
}

static void test_table(unsigned ncpus)
{
	/* A non-zero IOAPIC id, and CPUID 1 EAX with extended family/model bits (27:16) that 4.3.1
	 * leaves out of the signature. */
	struct mptable_config cfg = { .ncpus = ncpus, .ioapic_id = 3, .cpu_signature = 0x00830f10,
				      .cpu_features = 0x178bfbff };
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
	CHECK_EQ(d.bsp_id, 0);
	CHECK_EQ(d.signature, 0xf10);
	CHECK_EQ(d.features, cfg.cpu_features);
	CHECK_EQ(d.buses, 1);
	CHECK_EQ(d.ioapics, 1);
	CHECK_EQ(d.ioapic_id, 3);
	CHECK_EQ(d.pin_of_irq[2], -1); /* the cascade: no 8259s on this board */
	CHECK_EQ(d.local_intrs, MP_LOCAL_INTRS);
	CHECK_EQ(d.nmi.intr_type, MP_INTR_NMI);
	CHECK_EQ(d.nmi.dst_id, MP_ALL_LAPICS);

	/* The same board as the MADT describes it: CPUs, IOAPIC, every ISA IRQ's pin and flags
	 * (IRQ 0 on pin 2, the SCI level and active high, the rest identity and conforming), NMI. */
	struct madt_view v;
	read_madt(ncpus, cfg.ioapic_id, &v);
	CHECK_EQ(v.cpus, d.cpus);
	for (unsigned i = 0; i < d.cpus && i < v.cpus; i++)
		CHECK_EQ(d.cpu_ids[i], v.cpu_ids[i]);
	CHECK_EQ(d.ioapic_id, v.ioapic_id);
	CHECK_EQ(d.ioapic_addr, v.ioapic_addr);
	for (int irq = 0; irq < MP_ISA_IRQS; irq++) {
		CHECK_EQ(d.pin_of_irq[irq], v.pin_of_irq[irq]);
		CHECK_EQ(d.flags_of_irq[irq], v.flags_of_irq[irq]);
	}
	CHECK_EQ(v.nmis, 1);
	CHECK_EQ(v.nmi_uid, 0xFF);
	CHECK_EQ(d.nmi.dst_pin, v.nmi_lint);
}

/* Where the guest's memory map puts them: the floating pointer outside RAM, the table inside a
 * reserved range, both below 1 MiB for either boot path (boot_build_e820 serves both). */
static void test_e820(void)
{
	struct guest_memory m;
	struct boot_e820_entry map[16];
	CHECK_EQ(guest_memory_init(&m, 512 * MiB), 0);
	unsigned n = boot_build_e820(&m, map, 16);
	int table_reserved = 0;
	for (unsigned i = 0; i < n; i++) {
		uint64_t a = map[i].addr, e = map[i].addr + map[i].size;
		if (map[i].type == E820_RAM)
			CHECK(e <= MPTABLE_FP_ADDR || a >= MPTABLE_FP_ADDR + 16);
		if (map[i].type == E820_RESERVED && a <= MPTABLE_ADDR && MPTABLE_END <= e)
			table_reserved = 1;
	}
	CHECK(table_reserved);
	guest_memory_free(&m);
}

int main(void)
{
	/* Room for every CPU vmm can give a guest (the placement's other rules are static asserts in
	 * mptable.c). */
	CHECK(MPTABLE_ADDR + mptable_size(VMM_MAX_CPUS) <= MPTABLE_END);
	test_e820();

	test_table(1);
	test_table(2);
	test_table(VMM_MAX_CPUS);

	struct mptable_config none = { .ncpus = 0 };
	CHECK_EQ(mptable_build(&none, fp_buf, table, MPTABLE_ADDR, sizeof(table)), -EINVAL);
	struct mptable_config many = { .ncpus = 256 };
	CHECK_EQ(mptable_build(&many, fp_buf, table, MPTABLE_ADDR, sizeof(table)), -EINVAL);
	struct mptable_config two = { .ncpus = 2 };
	CHECK_EQ(mptable_build(&two, fp_buf, table, 0x100000000ULL - 16, sizeof(table)), -ENOSPC);
	CHECK_EQ(mptable_build(&two, fp_buf, table, MPTABLE_ADDR, mptable_size(2) - 1), -ENOSPC);
	CHECK_EQ(mptable_build(&two, fp_buf, table, MPTABLE_ADDR, mptable_size(2)), 0);
	return check_report("mptable");
}
