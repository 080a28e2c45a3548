/* MP table builder (MultiProcessor Specification 1.4); layouts and the reason for it in mptable.h. */
#include "mptable.h"

#include <errno.h>
#include <string.h>

#include "../devices/ioapic_regs.h"
#include "acpi.h"
#include "layout.h"

#define MP_OEM_ID     "VMM     "
#define MP_PRODUCT_ID "VMMQ35LT    "
#define MP_BUS_ISA    0

/* ISA IRQs with an entry: all but 2, the cascade. IRQ 0 goes to pin 2 and the SCI is level,
 * active high, as the MADT's interrupt source overrides say (layout.h). */
#define MP_IO_INTRS (MP_ISA_IRQS - 1)
#define MP_CPU_SIGNATURE_MASK 0xFFFU /* stepping, model, family (4.3.1) */

_Static_assert(sizeof(MP_OEM_ID) - 1 == sizeof(((struct mp_config_header *)0)->oem_id), "OEM id is 8 bytes");
_Static_assert(sizeof(MP_PRODUCT_ID) - 1 == sizeof(((struct mp_config_header *)0)->product_id), "product id is 12 bytes");
_Static_assert(MPTABLE_FP_ADDR % 16 == 0 && MPTABLE_FP_ADDR >= 639 * KiB && MPTABLE_FP_ADDR + 16 <= 640 * KiB,
	       "the floating pointer in the top kilobyte of conventional memory (4.1)");
_Static_assert(MPTABLE_ADDR >= BIOS_AREA_START + 64, "the table after the RSDP");

size_t mptable_size(unsigned ncpus)
{
	return sizeof(struct mp_config_header) + ncpus * sizeof(struct mp_processor) + sizeof(struct mp_bus) +
	       sizeof(struct mp_ioapic) + (MP_IO_INTRS + MP_LOCAL_INTRS) * sizeof(struct mp_intr);
}

/* Appends one base-table entry and counts it for the header's entry_count. */
static void append(uint8_t **p, unsigned *count, const void *entry, size_t len)
{
	memcpy(*p, entry, len);
	*p += len;
	(*count)++;
}

int mptable_build(const struct mptable_config *cfg, uint8_t *fp_buf, uint8_t *table_buf, uint64_t table_gpa,
		  size_t table_len)
{
	if (cfg->ncpus == 0 || cfg->ncpus > 255)
		return -EINVAL;
	size_t len = mptable_size(cfg->ncpus);
	if (len > table_len || table_gpa + len > 0x100000000ULL)
		return -ENOSPC;
	memset(table_buf, 0, len);
	uint8_t *p = table_buf + sizeof(struct mp_config_header);
	unsigned count = 0;

	for (unsigned i = 0; i < cfg->ncpus; i++) {
		struct mp_processor cpu = {
			.type = MP_ENTRY_PROCESSOR, .lapic_id = (uint8_t)i, .lapic_version = MP_LAPIC_VERSION,
			.cpu_flags = MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0),
			.cpu_signature = cfg->cpu_signature & MP_CPU_SIGNATURE_MASK, .feature_flags = cfg->cpu_features,
		};
		append(&p, &count, &cpu, sizeof(cpu));
	}
	struct mp_bus isa = { .type = MP_ENTRY_BUS, .bus_id = MP_BUS_ISA };
	memcpy(isa.bus_type, "ISA   ", sizeof(isa.bus_type));
	append(&p, &count, &isa, sizeof(isa));
	struct mp_ioapic io = { .type = MP_ENTRY_IOAPIC, .ioapic_id = cfg->ioapic_id, .ioapic_version = IOAPIC_VERSION,
				.flags = MP_IOAPIC_ENABLED, .addr = (uint32_t)IOAPIC_BASE };
	append(&p, &count, &io, sizeof(io));
	for (unsigned irq = 0; irq < MP_ISA_IRQS; irq++) {
		if (irq == 2)
			continue;
		struct mp_intr e = { .type = MP_ENTRY_IO_INTR, .intr_type = MP_INTR_INT, .src_bus_id = MP_BUS_ISA,
				     .src_bus_irq = (uint8_t)irq, .dst_id = cfg->ioapic_id,
				     .dst_pin = (uint8_t)(irq == 0 ? ISA_IRQ0_PIN : irq) };
		if (irq == IRQ_SCI)
			e.flags = MP_INTR_POLARITY_HIGH | MP_INTR_TRIGGER_LEVEL;
		append(&p, &count, &e, sizeof(e));
	}
	/* NMI on every CPU's LINT1, as the MADT's LAPIC NMI entry. The board has no 8259, so no
	 * ExtINT entry (the MADT's PCAT_COMPAT flag is clear too). */
	struct mp_intr nmi = { .type = MP_ENTRY_LOCAL_INTR, .intr_type = MP_INTR_NMI, .src_bus_id = MP_BUS_ISA,
			       .dst_id = MP_ALL_LAPICS, .dst_pin = LAPIC_LINT_NMI };
	append(&p, &count, &nmi, sizeof(nmi));

	struct mp_config_header h = {
		.base_length = (uint16_t)len, .spec_rev = MP_SPEC_REV_1_4, .entry_count = (uint16_t)count,
		.lapic_addr = (uint32_t)LAPIC_BASE,
	};
	memcpy(h.signature, "PCMP", 4);
	memcpy(h.oem_id, MP_OEM_ID, sizeof(h.oem_id));
	memcpy(h.product_id, MP_PRODUCT_ID, sizeof(h.product_id));
	memcpy(table_buf, &h, sizeof(h));
	table_buf[offsetof(struct mp_config_header, checksum)] = acpi_checksum(table_buf, len);

	struct mp_floating_pointer fp = { .physptr = (uint32_t)table_gpa, .length = 1, .spec_rev = MP_SPEC_REV_1_4 };
	memcpy(fp.signature, "_MP_", 4);
	fp.checksum = acpi_checksum(&fp, sizeof(fp));
	memcpy(fp_buf, &fp, sizeof(fp));
	return 0;
}
