/* ACPI tables for the q35-lite board: RSDP, XSDT, FADT (+FACS), DSDT, MADT, MCFG, and
 * the DMAR when the board has a VT-d unit. */
#ifndef VMM_ACPI_H
#define VMM_ACPI_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"

struct acpi_config {
	unsigned ncpus;
	uint32_t ioapic_id;
	uint64_t pci_mmio64_start, pci_mmio64_end; /* inclusive end */
	/* A DMAR table for the VT-d unit at dmar_base when dmar_haw (its host address width in
	 * bits) is non-zero. */
	uint64_t dmar_base;
	unsigned dmar_haw;
	bool dmar_intremap; /* the unit remaps interrupts: DMAR flag and the IOAPIC's scope */
};

/* Writes the RSDP (36 bytes) into `rsdp_buf`, the host view of where it lives, and the other tables into the
 * ACPI data area [tables_gpa, +tables_len). `tables_buf` is the host view of that area. Returns -ENOSPC if they do not fit. */
int acpi_build(const struct acpi_config *cfg, uint8_t *rsdp_buf,
	       uint8_t *tables_buf, uint64_t tables_gpa, size_t tables_len) __must_check;

uint8_t acpi_checksum(const void *p, size_t len);

#endif
