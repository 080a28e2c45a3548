/* ACPI tables: checksums, the fields Linux relies on, and a decode by iasl -d (acpica-tools). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../devices/pm_regs.h"
#include "../../vmm/acpi.h"
#include "../../vmm/acpi_tables.h"
#include "../../vmm/aml.h"
#include "../../vmm/layout.h"
#include "check.h"

static uint8_t area[ACPI_TABLES_END - ACPI_TABLES_START];
static uint8_t rsdp_buf[64];

static void *at(uint64_t gpa)
{
	CHECK(gpa >= ACPI_TABLES_START && gpa < ACPI_TABLES_END);
	return area + (gpa - ACPI_TABLES_START);
}

static int sum(const void *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += ((const uint8_t *)p)[i];
	return s;
}

static void dump(const char *dir, const char *name, const void *p, size_t n)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	FILE *f = fopen(path, "wb");
	CHECK(f != NULL);
	if (f) {
		fwrite(p, 1, n, f);
		fclose(f);
	}
}

/* Runs iasl -d on a table file; returns its output, or NULL. */
static char *disassemble(const char *dir, const char *name)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "cd %s && iasl -d %s.dat > %s.iasl.log 2>&1; echo $? > %s.rc", dir, name, name, name);
	if (system(cmd) != 0)
		return NULL;
	char path[256];
	snprintf(path, sizeof(path), "%s/%s.rc", dir, name);
	FILE *f = fopen(path, "r");
	int rc = -1;
	if (f) {
		if (fscanf(f, "%d", &rc) != 1)
			rc = -1;
		fclose(f);
	}
	CHECK_EQ(rc, 0);
	/* The log (warnings, errors) and the .dsl together. */
	static char buf[1 << 18];
	size_t used = 0;
	const char *parts[] = { "iasl.log", "dsl" };
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s.%s", dir, name, parts[i]);
		f = fopen(path, "r");
		CHECK(f != NULL);
		if (f) {
			used += fread(buf + used, 1, sizeof(buf) - used - 1, f);
			fclose(f);
		}
	}
	buf[used] = 0;
	return buf;
}

static void check_iasl(const char *dir, const char *name, const struct acpi_header *h, const char *must)
{
	dump(dir, name, h, h->length);
	char *out = disassemble(dir, name);
	CHECK(out != NULL);
	if (!out)
		return;
	if (strstr(out, "Warning") || strstr(out, "Error") || strstr(out, "Incorrect")) {
		check_failures++;
		fprintf(stderr, "iasl -d %s reported:\n%s\n", name, out);
	}
	if (must && !strstr(out, must)) {
		check_failures++;
		fprintf(stderr, "iasl -d %s: no '%s' in the output\n", name, must);
	}
}

int main(void)
{
	if (system("command -v iasl >/dev/null 2>&1") != 0) {
		fprintf(stderr, "iasl is missing: apt-get install acpica-tools\n");
		return 1;
	}
	struct acpi_config cfg = { .ncpus = 4, .ioapic_id = 0,
				   .pci_mmio64_start = 0x100000000ULL, .pci_mmio64_end = 0x8FFFFFFFFULL };
	CHECK_EQ(acpi_build(&cfg, rsdp_buf, area, ACPI_TABLES_START, sizeof(area)), 0);
	/* Too small an area is refused, not overrun. */
	CHECK(acpi_build(&cfg, rsdp_buf, area, ACPI_TABLES_START, 100) != 0);
	CHECK_EQ(acpi_build(&cfg, rsdp_buf, area, ACPI_TABLES_START, sizeof(area)), 0);

	struct acpi_rsdp *r = (struct acpi_rsdp *)rsdp_buf;
	CHECK(!memcmp(r->signature, "RSD PTR ", 8));
	CHECK_EQ(sum(r, 20), 0);
	CHECK_EQ(sum(r, sizeof(*r)), 0);
	CHECK_EQ(r->revision, 2);

	struct acpi_header *xsdt = at(r->xsdt_address);
	CHECK(!memcmp(xsdt->signature, "XSDT", 4));
	CHECK_EQ(sum(xsdt, xsdt->length), 0);
	unsigned n = (xsdt->length - sizeof(*xsdt)) / 8;
	CHECK_EQ(n, 3);
	struct acpi_fadt *fadt = NULL;
	struct acpi_madt *madt = NULL;
	struct acpi_header *mcfg = NULL;
	for (unsigned i = 0; i < n; i++) {
		uint64_t gpa;
		memcpy(&gpa, (uint8_t *)(xsdt + 1) + 8 * i, 8);
		struct acpi_header *h = at(gpa);
		CHECK_EQ(sum(h, h->length), 0);
		if (!memcmp(h->signature, "FACP", 4)) fadt = (void *)h;
		if (!memcmp(h->signature, "APIC", 4)) madt = (void *)h;
		if (!memcmp(h->signature, "MCFG", 4)) mcfg = h;
	}
	CHECK(fadt && madt && mcfg);
	if (!fadt || !madt || !mcfg)
		return check_report("acpi");

	/* FADT: PM1a blocks, SCI, reset register, and a DSDT with a checksum. */
	CHECK_EQ(fadt->h.length, 276);
	CHECK_EQ(fadt->sci_int, IRQ_SCI);
	CHECK_EQ(fadt->pm1a_evt_blk, PORT_PM1A_EVT);
	CHECK_EQ(fadt->x_pm1a_evt_blk.address, PORT_PM1A_EVT);
	CHECK_EQ(fadt->pm1a_cnt_blk, PORT_PM1A_CNT);
	CHECK_EQ(fadt->x_pm1a_cnt_blk.address, PORT_PM1A_CNT);
	CHECK_EQ(fadt->reset_reg.address, PORT_RESET);
	CHECK_EQ(fadt->reset_value, RESET_VALUE);
	CHECK(fadt->flags & ACPI_FADT_RESET_REG_SUP);
	CHECK_EQ(fadt->x_dsdt, fadt->dsdt);
	CHECK_EQ(fadt->firmware_ctrl % 64, 0);
	struct acpi_facs *facs = at(fadt->firmware_ctrl);
	CHECK(!memcmp(facs->signature, "FACS", 4));
	struct acpi_header *dsdt = at(fadt->dsdt);
	CHECK(!memcmp(dsdt->signature, "DSDT", 4));
	CHECK_EQ(sum(dsdt, dsdt->length), 0);

	/* MADT: one LAPIC per CPU, the IOAPIC, and a level-triggered SCI override. */
	unsigned lapics = 0, ioapics = 0, sci_level = 0;
	for (uint8_t *p = (uint8_t *)(madt + 1); p < (uint8_t *)madt + madt->h.length; p += p[1]) {
		CHECK(p[1] >= 2);
		if (p[1] < 2)
			break;
		if (p[0] == ACPI_MADT_LAPIC) {
			CHECK_EQ(p[3], lapics); /* APIC IDs 0..n-1 */
			lapics++;
		}
		if (p[0] == ACPI_MADT_IOAPIC) {
			struct acpi_madt_ioapic io;
			memcpy(&io, p, sizeof(io));
			CHECK_EQ(io.address, IOAPIC_BASE);
			ioapics++;
		}
		if (p[0] == ACPI_MADT_ISO) {
			struct acpi_madt_iso iso;
			memcpy(&iso, p, sizeof(iso));
			if (iso.source == IRQ_SCI && (iso.flags & 0xC) == ACPI_MADT_TRIGGER_LEVEL)
				sci_level++;
		}
	}
	CHECK_EQ(lapics, 4);
	CHECK_EQ(ioapics, 1);
	CHECK_EQ(sci_level, 1);

	struct acpi_mcfg_allocation alloc;
	memcpy(&alloc, (uint8_t *)mcfg + sizeof(*mcfg) + 8, sizeof(alloc));
	CHECK_EQ(alloc.base, PCI_ECAM_BASE);
	CHECK_EQ(alloc.end_bus, PCI_ECAM_BUSES - 1);

	/* EISA ID encoding, against the well-known value of PNP0A03. */
	CHECK_EQ(aml_eisaid_value("PNP0A03"), 0x030AD041);

	char dir[] = "/tmp/vmm-acpi-test-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	check_iasl(dir, "dsdt", dsdt, "PNP0A08");
	char *d = disassemble(dir, "dsdt");
	CHECK(d && strstr(d, "_S5_") && strstr(d, "COM1") && strstr(d, "PNP0501") && strstr(d, "0x03F8"));
	check_iasl(dir, "facp", &fadt->h, "PM1A Event Block Address");
	check_iasl(dir, "apic", &madt->h, "Local APIC");
	check_iasl(dir, "mcfg", mcfg, "Base Address");
	check_iasl(dir, "xsdt", xsdt, NULL);

	/* With a VT-d unit: the XSDT grows by one entry, a DMAR with one DRHD (INCLUDE_PCI_ALL) at the
	 * register block, the host address width stored as width - 1, and no interrupt remapping. */
	cfg.dmar_base = VTD_BASE;
	cfg.dmar_haw = 39;
	CHECK_EQ(acpi_build(&cfg, rsdp_buf, area, ACPI_TABLES_START, sizeof(area)), 0);
	xsdt = at(r->xsdt_address);
	CHECK_EQ(sum(xsdt, xsdt->length), 0);
	CHECK_EQ((xsdt->length - sizeof(*xsdt)) / 8, 4);
	uint64_t dmar_gpa;
	memcpy(&dmar_gpa, (uint8_t *)(xsdt + 1) + 8 * 3, 8);
	struct acpi_dmar *dmar = at(dmar_gpa);
	CHECK(!memcmp(dmar->h.signature, "DMAR", 4));
	CHECK_EQ(sum(dmar, dmar->h.length), 0);
	CHECK_EQ(dmar->host_address_width, 38);
	CHECK_EQ(dmar->flags, 0);
	CHECK_EQ(dmar->h.length, sizeof(*dmar) + sizeof(struct acpi_dmar_drhd));
	struct acpi_dmar_drhd drhd;
	memcpy(&drhd, dmar + 1, sizeof(drhd));
	CHECK_EQ(drhd.type, ACPI_DMAR_TYPE_DRHD);
	CHECK_EQ(drhd.length, 16);
	CHECK_EQ(drhd.flags, ACPI_DMAR_DRHD_INCLUDE_PCI_ALL);
	CHECK_EQ(drhd.register_base, VTD_BASE);
	check_iasl(dir, "dmar", &dmar->h, "Register Base Address : 00000000FED90000");
	d = disassemble(dir, "dmar");
	CHECK(d && strstr(d, "Host Address Width : 26") && strstr(d, "Subtable Type : 0000 [Hardware Unit Definition]"));
	check_iasl(dir, "xsdt-dmar", xsdt, NULL);

	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return check_report("acpi");
}
