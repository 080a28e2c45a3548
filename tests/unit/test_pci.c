/* PCI configuration space: host bridge identity through CF8/CFC and ECAM, absent devices,
 * read-only and write-1-to-clear bits, BAR sizing. */
#include <string.h>

#include "../../devices/pci.h"
#include "../../vmm/layout.h"
#include "check.h"

static struct pci_bus pci;

static uint32_t cf8_read32(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
	uint32_t addr = PCI_CF8_ENABLE | bus << 16 | dev << 11 | fn << 8 | reg, v;
	pci_cf8_ops.write(&pci, 0, &addr, 4);
	pci_cfc_ops.read(&pci, 0, &v, 4);
	return v;
}

static uint32_t ecam_read32(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
	uint32_t v;
	pci_ecam_ops.read(&pci, (uint64_t)bus << 20 | dev << 15 | fn << 12 | reg, &v, 4);
	return v;
}

static void ecam_write32(unsigned dev, unsigned reg, uint32_t v)
{
	pci_ecam_ops.write(&pci, (uint64_t)dev << 15 | reg, &v, 4);
}

int main(void)
{
	struct pci_device host, dev;
	CHECK_EQ(pci_bus_init(&pci, NULL), 0);
	pci_host_bridge_init(&host);
	CHECK_EQ(pci_bus_add(&pci, 0, &host), 0);
	CHECK(pci_bus_add(&pci, 0, &host) != 0);
	CHECK(pci_bus_add(&pci, 32, &host) != 0);

	CHECK_EQ(cf8_read32(0, 0, 0, PCI_VENDOR_ID), PCI_DEVICE_Q35_MCH << 16 | PCI_VENDOR_INTEL);
	CHECK_EQ(ecam_read32(0, 0, 0, PCI_VENDOR_ID), PCI_DEVICE_Q35_MCH << 16 | PCI_VENDOR_INTEL);
	CHECK_EQ(ecam_read32(0, 0, 0, PCI_CLASS_REVISION) >> 8, 0x060000);
	/* Absent: other slots, other functions, other buses. */
	CHECK_EQ(cf8_read32(0, 5, 0, 0), 0xFFFFFFFF);
	CHECK_EQ(ecam_read32(0, 0, 1, 0), 0xFFFFFFFF);
	CHECK_EQ(ecam_read32(1, 0, 0, 0), 0xFFFFFFFF);
	/* CF8 without the enable bit reads all ones. */
	uint32_t addr = 0, v;
	pci_cf8_ops.write(&pci, 0, &addr, 4);
	pci_cfc_ops.read(&pci, 0, &v, 4);
	CHECK_EQ(v, 0xFFFFFFFF);
	/* Sub-dword CFC access picks the right bytes. */
	addr = PCI_CF8_ENABLE;
	pci_cf8_ops.write(&pci, 0, &addr, 4);
	uint16_t did;
	pci_cfc_ops.read(&pci, 2, &did, 2);
	CHECK_EQ(did, PCI_DEVICE_Q35_MCH);
	/* Read-only: vendor/device IDs ignore writes. */
	ecam_write32(0, PCI_VENDOR_ID, 0x12345678);
	CHECK_EQ(ecam_read32(0, 0, 0, PCI_VENDOR_ID), PCI_DEVICE_Q35_MCH << 16 | PCI_VENDOR_INTEL);
	/* Unaligned accesses are dropped. */
	uint32_t bad = 0;
	pci_ecam_ops.read(&pci, 2, &bad, 4);
	CHECK_EQ(bad, 0xFFFFFFFF);

	/* A device with a 4 KiB 32-bit BAR and a 1 MiB 64-bit BAR. */
	pci_device_init(&dev, "test", 0x1AF4, 0x1041, 0x020000, PCI_HEADER_TYPE_NORMAL);
	CHECK_EQ(pci_device_set_bar(&dev, 0, 4096, false, false), 0);
	CHECK_EQ(pci_device_set_bar(&dev, 2, 1 << 20, false, true), 0);
	CHECK(pci_device_set_bar(&dev, 5, 4096, false, true) != 0); /* no room for the high half */
	CHECK(pci_device_set_bar(&dev, 1, 3000, false, false) != 0); /* not a power of two */
	CHECK_EQ(pci_bus_add(&pci, 3, &dev), 0);
	ecam_write32(3, PCI_BASE_ADDRESS_0, 0xFFFFFFFF);
	CHECK_EQ(ecam_read32(0, 3, 0, PCI_BASE_ADDRESS_0), 0xFFFFF000);
	ecam_write32(3, PCI_BASE_ADDRESS_0, 0xC0001234);
	CHECK_EQ(ecam_read32(0, 3, 0, PCI_BASE_ADDRESS_0), 0xC0001000);
	ecam_write32(3, PCI_BASE_ADDRESS_2, 0xFFFFFFFF);
	ecam_write32(3, PCI_BASE_ADDRESS_3, 0xFFFFFFFF);
	CHECK_EQ(ecam_read32(0, 3, 0, PCI_BASE_ADDRESS_2), 0xFFF00000 | PCI_BASE_ADDRESS_MEM_TYPE_64);
	CHECK_EQ(ecam_read32(0, 3, 0, PCI_BASE_ADDRESS_3), 0xFFFFFFFF);
	/* Unimplemented BARs read as zero whatever is written. */
	ecam_write32(3, PCI_BASE_ADDRESS_1, 0xFFFFFFFF);
	CHECK_EQ(ecam_read32(0, 3, 0, PCI_BASE_ADDRESS_1), 0);
	/* Command register: only defined bits stick. */
	ecam_write32(3, PCI_COMMAND, 0xFFFF);
	CHECK_EQ(ecam_read32(0, 3, 0, PCI_COMMAND) & 0xFFFF,
		 PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_PARITY |
			 PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE);
	/* Status error bits are write-1-to-clear. */
	dev.cfg[PCI_STATUS + 1] = (PCI_STATUS_REC_MASTER_ABORT | PCI_STATUS_SIG_SYSTEM_ERROR) >> 8;
	ecam_write32(3, PCI_COMMAND, (uint32_t)PCI_STATUS_REC_MASTER_ABORT << 16);
	CHECK_EQ(ecam_read32(0, 3, 0, PCI_COMMAND) >> 16, PCI_STATUS_SIG_SYSTEM_ERROR);
	/* Requester id from the slot; Bus Master Enable as the guest sets and clears it. */
	CHECK_EQ(dev.rid, 3 << 3);
	ecam_write32(3, PCI_COMMAND, PCI_COMMAND_MEMORY);
	CHECK(!pci_bus_master_enabled(&dev));
	ecam_write32(3, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	CHECK(pci_bus_master_enabled(&dev));
	/* Extended capabilities: chained from 0x100 through ECAM (header: id, version, next). */
	uint32_t body1 = 0xAABBCCDD, body2[2] = { 0x11111111, 0x22222222 };
	CHECK_EQ(pci_device_add_ext_cap(&dev, 0x0F, 1, &body1, 4), 0x100);
	CHECK_EQ(pci_device_add_ext_cap(&dev, 0x0B, 2, body2, 8), 0x108);
	CHECK_EQ(ecam_read32(0, 3, 0, 0x100), 0x108u << 20 | 1u << 16 | 0x0F);
	CHECK_EQ(ecam_read32(0, 3, 0, 0x104), 0xAABBCCDD);
	CHECK_EQ(ecam_read32(0, 3, 0, 0x108), 0u << 20 | 2u << 16 | 0x0B);
	CHECK_EQ(ecam_read32(0, 3, 0, 0x110), 0x22222222);
	CHECK_EQ(pci_device_add_ext_cap(&dev, 0x0F, 1, body2, 4000), 0); /* no room */
	/* Not writable unless the device says so. */
	ecam_write32(3, 0x104, 0);
	CHECK_EQ(ecam_read32(0, 3, 0, 0x104), 0xAABBCCDD);
	pci_bus_destroy(&pci);
	return check_report("pci");
}
