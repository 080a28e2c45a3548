/* ACPI table builder. Layouts in acpi_tables.h; the DSDT's AML comes from aml.c. */
#include "acpi.h"

#include <errno.h>
#include <string.h>

#include "../devices/pm_regs.h"
#include "../devices/rtc.h"
#include "acpi_tables.h"
#include "aml.h"
#include "layout.h"

#define OEM_ID       "VMMVMM"
#define OEM_TABLE_ID "VMMQ35LT"
#define CREATOR_ID   "VMM "
#define ACPI_MAX_XSDT_ENTRIES 8

uint8_t acpi_checksum(const void *p, size_t len)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum += ((const uint8_t *)p)[i];
	return (uint8_t)(0 - sum);
}

/* Bump allocator over the ACPI data area. */
struct area {
	uint8_t *buf;
	uint64_t gpa;
	size_t len, used;
};

static void *area_alloc(struct area *ar, size_t len, size_t align, uint64_t *gpa)
{
	size_t off = (ar->used + align - 1) & ~(align - 1);
	if (off > ar->len || len > ar->len - off)
		return NULL;
	ar->used = off + len;
	*gpa = ar->gpa + off;
	memset(ar->buf + off, 0, len);
	return ar->buf + off;
}

static void header(struct acpi_header *h, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = rev;
	memcpy(h->oem_id, OEM_ID, 6);
	memcpy(h->oem_table_id, OEM_TABLE_ID, 8);
	h->oem_revision = 1;
	memcpy(h->creator_id, CREATOR_ID, 4);
	h->creator_revision = 1;
}

static void seal(struct acpi_header *h)
{
	h->checksum = 0;
	h->checksum = acpi_checksum(h, h->length);
}

static void build_dsdt_body(struct aml *a, const struct acpi_config *cfg)
{
	size_t sb = aml_open_scope(a, "\\_SB_");

	size_t pci = aml_open_device(a, "PCI0");
	aml_name(a, "_HID"); aml_eisaid(a, "PNP0A08"); /* PCI Express root bridge */
	aml_name(a, "_CID"); aml_eisaid(a, "PNP0A03");
	aml_name(a, "_SEG"); aml_integer(a, 0);
	aml_name(a, "_BBN"); aml_integer(a, 0);
	aml_name(a, "_UID"); aml_integer(a, 0);
	aml_name(a, "_CRS");
	size_t crs = aml_open_buffer(a);
	aml_res_word_bus(a, 0, PCI_ECAM_BUSES - 1);
	aml_res_io(a, PORT_PCI_CONFIG_ADDR, 8);
	aml_res_word_io(a, 0x0000, 0x0CF7);
	aml_res_word_io(a, 0x0D00, 0xFFFF);
	aml_res_dword_mem(a, PCI_MMIO32_START, PCI_MMIO32_END - 1);
	aml_res_qword_mem(a, cfg->pci_mmio64_start, cfg->pci_mmio64_end);
	aml_res_end(a);
	aml_close_buffer(a, crs);
	aml_close(a, pci);

	size_t com = aml_open_device(a, "COM1");
	aml_name(a, "_HID"); aml_eisaid(a, "PNP0501"); /* 16550A-compatible UART */
	aml_name(a, "_UID"); aml_integer(a, 1);
	aml_name(a, "_CRS");
	crs = aml_open_buffer(a);
	aml_res_io(a, PORT_COM1, 8);
	aml_res_irq(a, 1U << IRQ_COM1);
	aml_res_end(a);
	aml_close_buffer(a, crs);
	aml_close(a, com);

	size_t rtc = aml_open_device(a, "RTC_");
	aml_name(a, "_HID"); aml_eisaid(a, "PNP0B00"); /* AT real-time clock */
	aml_name(a, "_CRS");
	crs = aml_open_buffer(a);
	aml_res_io(a, PORT_CMOS, 2);
	aml_res_end(a);
	aml_close_buffer(a, crs);
	aml_close(a, rtc);

	aml_close(a, sb);

	/* \_S5: SLP_TYPa, SLP_TYPb, reserved, reserved (ACPI 6.4, 7.4.2). */
	aml_name(a, "\\_S5_");
	size_t pkg = aml_open_package(a, 4);
	aml_integer(a, PM_SLP_TYP_S5);
	aml_integer(a, PM_SLP_TYP_S5);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_close(a, pkg);
}

static int build_dsdt(struct area *ar, const struct acpi_config *cfg, uint64_t *gpa)
{
	struct aml a = { 0 };
	build_dsdt_body(&a, cfg);
	if (a.failed) {
		aml_free(&a);
		return -ENOMEM;
	}
	size_t len = sizeof(struct acpi_header) + a.len;
	struct acpi_header *h = area_alloc(ar, len, 16, gpa);
	if (h) {
		header(h, "DSDT", (uint32_t)len, 2);
		memcpy(h + 1, a.buf, a.len);
		seal(h);
	}
	aml_free(&a);
	return h ? 0 : -ENOSPC;
}

static struct acpi_gas gas_io(uint16_t port, uint8_t bytes)
{
	return (struct acpi_gas){ .space_id = ACPI_GAS_IO, .bit_width = (uint8_t)(8 * bytes),
				  .access_size = bytes == 4 ? 3 : bytes == 2 ? 2 : 1, .address = port };
}

static int build_fadt(struct area *ar, uint64_t dsdt, uint64_t *gpa)
{
	uint64_t facs_gpa;
	struct acpi_facs *facs = area_alloc(ar, sizeof(*facs), 64, &facs_gpa);
	struct acpi_fadt *f = area_alloc(ar, sizeof(*f), 16, gpa);
	if (!facs || !f)
		return -ENOSPC;
	memcpy(facs->signature, "FACS", 4);
	facs->length = sizeof(*facs);
	facs->version = 2;

	header(&f->h, "FACP", sizeof(*f), 6);
	f->minor_version = 4;
	f->firmware_ctrl = (uint32_t)facs_gpa;
	f->dsdt = (uint32_t)dsdt;
	f->x_dsdt = dsdt;
	f->sci_int = IRQ_SCI;
	f->smi_cmd = 0; /* no SMM: ACPI mode is always on, SCI_EN reads 1 */
	f->pm1a_evt_blk = PORT_PM1A_EVT;
	f->pm1a_cnt_blk = PORT_PM1A_CNT;
	f->pm1_evt_len = PM1_EVT_LEN;
	f->pm1_cnt_len = PM1_CNT_LEN;
	/* The X_ blocks must match the 32-bit ones or ACPICA warns. PM1 event registers are
	 * accessed as 16-bit halves. */
	f->x_pm1a_evt_blk = gas_io(PORT_PM1A_EVT, PM1_EVT_LEN);
	f->x_pm1a_evt_blk.access_size = 2;
	f->x_pm1a_cnt_blk = gas_io(PORT_PM1A_CNT, PM1_CNT_LEN);
	f->p_lvl2_lat = ACPI_FADT_NO_C2_LAT;
	f->p_lvl3_lat = ACPI_FADT_NO_C3_LAT;
	f->century = RTC_CENTURY;
	f->iapc_boot_arch = ACPI_FADT_BOOT_NO_VGA;
	f->flags = ACPI_FADT_WBINVD | ACPI_FADT_PROC_C1 | ACPI_FADT_SLP_BUTTON | ACPI_FADT_RESET_REG_SUP;
	f->reset_reg = gas_io(PORT_RESET, 1);
	f->reset_value = RESET_VALUE;
	seal(&f->h);
	return 0;
}

static int build_madt(struct area *ar, const struct acpi_config *cfg, uint64_t *gpa)
{
	size_t len = sizeof(struct acpi_madt) + cfg->ncpus * sizeof(struct acpi_madt_lapic) +
		     sizeof(struct acpi_madt_ioapic) + 2 * sizeof(struct acpi_madt_iso) +
		     sizeof(struct acpi_madt_lapic_nmi);
	struct acpi_madt *m = area_alloc(ar, len, 16, gpa);
	if (!m)
		return -ENOSPC;
	header(&m->h, "APIC", (uint32_t)len, 5);
	m->lapic_address = LAPIC_BASE;
	m->flags = 0; /* no 8259 PICs on this board */
	uint8_t *p = (uint8_t *)(m + 1);
	for (unsigned i = 0; i < cfg->ncpus; i++) {
		struct acpi_madt_lapic e = { ACPI_MADT_LAPIC, sizeof(e), (uint8_t)i, (uint8_t)i, ACPI_MADT_ENABLED };
		memcpy(p, &e, sizeof(e));
		p += sizeof(e);
	}
	struct acpi_madt_ioapic io = { ACPI_MADT_IOAPIC, sizeof(io), (uint8_t)cfg->ioapic_id, 0, IOAPIC_BASE, 0 };
	memcpy(p, &io, sizeof(io));
	p += sizeof(io);
	/* ISA IRQ 0 on pin 2; the SCI level-triggered, active high (layout.h). */
	struct acpi_madt_iso iso0 = { ACPI_MADT_ISO, sizeof(iso0), 0, 0, ISA_IRQ0_PIN, 0 };
	struct acpi_madt_iso sci = { ACPI_MADT_ISO, sizeof(sci), 0, IRQ_SCI, IRQ_SCI,
				     ACPI_MADT_POLARITY_HIGH | ACPI_MADT_TRIGGER_LEVEL };
	memcpy(p, &iso0, sizeof(iso0));
	p += sizeof(iso0);
	memcpy(p, &sci, sizeof(sci));
	p += sizeof(sci);
	struct acpi_madt_lapic_nmi nmi = { ACPI_MADT_LAPIC_NMI, sizeof(nmi), 0xFF, 0, LAPIC_LINT_NMI }; /* all CPUs */
	memcpy(p, &nmi, sizeof(nmi));
	seal(&m->h);
	return 0;
}

static int build_mcfg(struct area *ar, uint64_t *gpa)
{
	size_t len = sizeof(struct acpi_header) + 8 + sizeof(struct acpi_mcfg_allocation);
	struct acpi_header *h = area_alloc(ar, len, 16, gpa);
	if (!h)
		return -ENOSPC;
	header(h, "MCFG", (uint32_t)len, 1);
	struct acpi_mcfg_allocation alloc = { PCI_ECAM_BASE, 0, 0, PCI_ECAM_BUSES - 1, 0 };
	memcpy((uint8_t *)h + sizeof(*h) + 8, &alloc, sizeof(alloc));
	seal(h);
	return 0;
}

/* One DRHD covering every PCI device (INCLUDE_PCI_ALL). With interrupt remapping, the flags say
 * so and the DRHD's scope names the IOAPIC with the requester id of its messages: Linux leaves
 * remapping off when an IOAPIC of the MADT has no scope ("ioapic N has no mapping iommu"). The
 * x2APIC opt-out flag stays clear. */
static int build_dmar(struct area *ar, const struct acpi_config *cfg, uint64_t *gpa)
{
	size_t scope_len = cfg->dmar_intremap ? sizeof(struct acpi_dmar_scope) + sizeof(struct acpi_dmar_pci_path) : 0;
	size_t drhd_len = sizeof(struct acpi_dmar_drhd) + scope_len;
	size_t len = sizeof(struct acpi_dmar) + drhd_len;
	struct acpi_dmar *d = area_alloc(ar, len, 16, gpa);
	if (!d)
		return -ENOSPC;
	header(&d->h, "DMAR", (uint32_t)len, 1);
	d->host_address_width = (uint8_t)(cfg->dmar_haw - 1);
	d->flags = cfg->dmar_intremap ? ACPI_DMAR_INTR_REMAP : 0;
	struct acpi_dmar_drhd drhd = {
		.type = ACPI_DMAR_TYPE_DRHD, .length = (uint16_t)drhd_len, .flags = ACPI_DMAR_DRHD_INCLUDE_PCI_ALL,
		.segment = 0, .register_base = cfg->dmar_base,
	};
	uint8_t *p = (uint8_t *)(d + 1);
	memcpy(p, &drhd, sizeof(drhd));
	if (cfg->dmar_intremap) {
		struct acpi_dmar_scope scope = { .type = ACPI_DMAR_SCOPE_IOAPIC, .length = (uint8_t)scope_len,
						 .enumeration_id = (uint8_t)cfg->ioapic_id, .start_bus = IOAPIC_SID_BUS };
		struct acpi_dmar_pci_path path = { .device = IOAPIC_SID_DEVFN >> 3, .function = IOAPIC_SID_DEVFN & 7 };
		memcpy(p + sizeof(drhd), &scope, sizeof(scope));
		memcpy(p + sizeof(drhd) + sizeof(scope), &path, sizeof(path));
	}
	seal(&d->h);
	return 0;
}

int acpi_build(const struct acpi_config *cfg, uint8_t *rsdp_buf,
	       uint8_t *tables_buf, uint64_t tables_gpa, size_t tables_len)
{
	struct area ar = { tables_buf, tables_gpa, tables_len, 0 };
	uint64_t dsdt, xsdt_gpa;
	/* The XSDT lists what the board has: FADT, MADT, MCFG, then the optional tables. */
	uint64_t entries[ACPI_MAX_XSDT_ENTRIES];
	size_t n = 0;
	int ret;
	if ((ret = build_dsdt(&ar, cfg, &dsdt)) || (ret = build_fadt(&ar, dsdt, &entries[n++])) ||
	    (ret = build_madt(&ar, cfg, &entries[n++])) || (ret = build_mcfg(&ar, &entries[n++])))
		return ret;
	if (cfg->dmar_haw && (ret = build_dmar(&ar, cfg, &entries[n++])))
		return ret;
	size_t xlen = sizeof(struct acpi_header) + n * sizeof(entries[0]);
	struct acpi_header *x = area_alloc(&ar, xlen, 16, &xsdt_gpa);
	if (!x)
		return -ENOSPC;
	header(x, "XSDT", (uint32_t)xlen, 1);
	memcpy(x + 1, entries, n * sizeof(entries[0]));
	seal(x);

	struct acpi_rsdp *r = (struct acpi_rsdp *)rsdp_buf;
	memset(r, 0, sizeof(*r));
	memcpy(r->signature, "RSD PTR ", 8);
	memcpy(r->oem_id, OEM_ID, 6);
	r->revision = 2;
	r->length = sizeof(*r);
	r->xsdt_address = xsdt_gpa;
	r->checksum = acpi_checksum(r, 20);
	r->extended_checksum = acpi_checksum(r, sizeof(*r));
	return 0;
}
