/* The MultiProcessor Specification 1.4 table (Intel, 1997): its floating pointer and base
 * configuration table, named once here after the spec's chapter 4; the builder and the tests use them.
 *
 * The board describes itself by ACPI, and Linux uses the MADT when both are there. The MP table
 * is for the kernel's search before it reads ACPI: without one, find_smp_config() maps and unmaps
 * the whole 64 KiB BIOS area once per 16-byte step (about 35,000 page mappings, each with its TLB
 * flush), which took 115-165 ms of every nested boot (5-14 ms with the table). A floating pointer
 * at the top kilobyte of conventional memory, the second place the search looks (MP 1.4 4.1),
 * ends it at that area's first step (after 64 one-page steps over the first kilobyte). The table
 * it points to says what the MADT says, so that a kernel booted with acpi=off (which
 * then reads it) sees the same CPUs, IOAPIC and ISA interrupts; kvmtool and Firecracker write one
 * for the same kernels. */
#ifndef VMM_MPTABLE_H
#define VMM_MPTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"

/* 4.1 MP floating pointer structure: 16 bytes, on a 16-byte boundary. */
struct __attribute__((packed)) mp_floating_pointer {
	char signature[4];     /* "_MP_" */
	uint32_t physptr;      /* the configuration table */
	uint8_t length;        /* in 16-byte units: 1 */
	uint8_t spec_rev;      /* 4: version 1.4 */
	uint8_t checksum;      /* all 16 bytes sum to 0 */
	uint8_t feature1;      /* 0: a configuration table is present (no default configuration) */
	uint8_t feature2;      /* bit 7 IMCRP clear: virtual-wire mode, no IMCR */
	uint8_t feature3_5[3];
};
#define MP_SPEC_REV_1_4 4

/* 4.2 MP configuration table header. */
struct __attribute__((packed)) mp_config_header {
	char signature[4];     /* "PCMP" */
	uint16_t base_length;  /* header and base entries */
	uint8_t spec_rev;
	uint8_t checksum;      /* base table sums to 0 */
	char oem_id[8];
	char product_id[12];
	uint32_t oem_table_ptr;
	uint16_t oem_table_size;
	uint16_t entry_count;
	uint32_t lapic_addr;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
};

/* 4.3 base table entries, by type. */
enum { MP_ENTRY_PROCESSOR = 0, MP_ENTRY_BUS = 1, MP_ENTRY_IOAPIC = 2, MP_ENTRY_IO_INTR = 3, MP_ENTRY_LOCAL_INTR = 4 };

struct __attribute__((packed)) mp_processor {
	uint8_t type;
	uint8_t lapic_id;
	uint8_t lapic_version;
	uint8_t cpu_flags;     /* bit 0 enabled, bit 1 bootstrap processor */
	uint32_t cpu_signature;
	uint32_t feature_flags;
	uint32_t reserved[2];
};
#define MP_CPU_ENABLED 0x01
#define MP_CPU_BSP     0x02

struct __attribute__((packed)) mp_bus {
	uint8_t type;
	uint8_t bus_id;
	char bus_type[6];      /* "ISA   " */
};

struct __attribute__((packed)) mp_ioapic {
	uint8_t type;
	uint8_t ioapic_id;
	uint8_t ioapic_version;
	uint8_t flags;         /* bit 0 enabled */
	uint32_t addr;
};
#define MP_IOAPIC_ENABLED 0x01

/* I/O and local interrupt assignment entries share one layout (4.3.4, 4.3.5). */
struct __attribute__((packed)) mp_intr {
	uint8_t type;
	uint8_t intr_type;     /* MP_INTR_* */
	uint16_t flags;        /* polarity bits 1:0, trigger bits 3:2; 0 conforms to the bus */
	uint8_t src_bus_id;
	uint8_t src_bus_irq;
	uint8_t dst_id;        /* IOAPIC id, or 0xFF for every local APIC */
	uint8_t dst_pin;       /* IOAPIC pin, or LINTIN0/1 */
};
enum { MP_INTR_INT = 0, MP_INTR_NMI = 1, MP_INTR_SMI = 2, MP_INTR_EXTINT = 3 };
#define MP_INTR_POLARITY_HIGH 0x1
#define MP_INTR_TRIGGER_LEVEL (0x3 << 2)
#define MP_ALL_LAPICS 0xFF

#define MP_LAPIC_VERSION 0x14 /* an integrated local APIC, as KVM's reports */
#define MP_ISA_IRQS      16
#define MP_LOCAL_INTRS   1    /* the NMI on LINT1 */

_Static_assert(sizeof(struct mp_floating_pointer) == 16, "MP 1.4 4.1");
_Static_assert(sizeof(struct mp_config_header) == 44, "MP 1.4 4.2");
_Static_assert(sizeof(struct mp_processor) == 20, "MP 1.4 4.3.1");
_Static_assert(sizeof(struct mp_bus) == 8 && sizeof(struct mp_ioapic) == 8 && sizeof(struct mp_intr) == 8,
	       "MP 1.4 4.3.2-4.3.5");

struct mptable_config {
	unsigned ncpus;        /* local APIC ids 0 .. ncpus-1, as in the MADT */
	uint8_t ioapic_id;     /* the MADT's; 0 like the BSP's APIC id, as in the MADT (MP 1.4 4.3.1
				* asks for distinct ids, which only 32-bit Linux enforces) */
	uint32_t cpu_signature, cpu_features; /* CPUID 1's EAX (stepping, model and family, bits 11:0,
					       * are kept: 4.3.1) and EDX; Linux reads neither */
};

/* Bytes the configuration table takes for `ncpus`. */
size_t mptable_size(unsigned ncpus);

/* Writes the floating pointer into `fp_buf` (16 bytes, the host view of where it lives) and the
 * configuration table into `table_buf`, the host view of [table_gpa, +table_len). Returns
 * -ENOSPC if the table does not fit, -EINVAL for no CPUs or more than the table can name. */
int mptable_build(const struct mptable_config *cfg, uint8_t *fp_buf, uint8_t *table_buf, uint64_t table_gpa,
		  size_t table_len) __must_check;

#endif
