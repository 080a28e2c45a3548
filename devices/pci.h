/* PCI(e) configuration space: devices on bus 0, reached through ECAM (MMCONFIG) and through the
 * legacy CF8/CFC ports; BAR sizing and read-only / write-1-to-clear bits by mask tables. */
#ifndef DEVICES_PCI_H
#define DEVICES_PCI_H

#include <linux/pci_regs.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../vmm/bus.h"

#define PCI_CFG_SIZE      4096 /* PCIe extended configuration space */
#define PCI_SLOTS         32
#define PCI_NUM_BARS      6

/* CF8 configuration address register (PCI Local Bus 3.0, 3.2.2.3.2). */
#define PCI_CF8_ENABLE    (1U << 31)
#define PCI_CF8_BUS(v)    (((v) >> 16) & 0xFF)
#define PCI_CF8_DEVFN(v)  (((v) >> 8) & 0xFF)
#define PCI_CF8_REG(v)    ((v) & 0xFC)

/* ECAM address decoding (PCIe base spec 7.2.2): bus 27:20, device 19:15, function 14:12. */
#define PCI_ECAM_BUS(off)   (((off) >> 20) & 0xFF)
#define PCI_ECAM_DEVFN(off) (((off) >> 12) & 0xFF)
#define PCI_ECAM_REG(off)   ((off) & 0xFFF)

#define PCI_CLASS_BRIDGE_HOST 0x0600
#define PCI_SLOT(devfn)       (((devfn) >> 3) & 0x1F)
#define PCI_FUNC(devfn)       ((devfn) & 0x07)

/* Intel Q35 host bridge (DRAM controller) identity. */
#define PCI_VENDOR_INTEL      0x8086
#define PCI_DEVICE_Q35_MCH    0x29C0

struct pci_bar {
	uint64_t size; /* 0: not implemented */
	bool io;
	bool mem64;
	const struct bus_ops *ops; /* the device's handler while the BAR is mapped */
	void *opaque;
	uint64_t mapped; /* guest address the BAR is mapped at, 0 when it is not */
};

struct pci_device {
	const char *name;
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];   /* bits the guest may write */
	uint8_t w1cmask[PCI_CFG_SIZE]; /* bits a written 1 clears */
	struct pci_bar bars[PCI_NUM_BARS];
	unsigned next_cap; /* where the next capability goes */
	unsigned last_cap; /* offset of the last capability, 0 if none */
	unsigned next_ext_cap, last_ext_cap; /* the same for extended capabilities (from 0x100) */
	/* Called after the guest wrote config space (no PCI lock held). */
	void (*config_written)(struct pci_device *dev, unsigned reg, unsigned len);
	/* Called after a config read (no PCI lock held); may replace the bytes read. */
	void (*config_read)(struct pci_device *dev, unsigned reg, void *data, unsigned len);
	/* Called after a BAR was mapped, moved or unmapped (address 0: unmapped). */
	void (*bar_moved)(struct pci_device *dev, unsigned bar, uint64_t old_addr, uint64_t new_addr);
	void *owner;
	uint16_t rid; /* requester id (bus << 8 | devfn), set by pci_bus_add: what the IOMMU sees */
};

struct pci_bus {
	pthread_mutex_t lock;
	pthread_mutex_t map_lock; /* serialises BAR (re)mapping on the MMIO bus */
	uint32_t cf8;
	struct pci_device *slots[PCI_SLOTS]; /* function 0 of each device on bus 0 */
	struct bus *mmio;       /* where memory BARs are mapped; NULL in tests that do not map */
	uint64_t mmio32_next;   /* firmware-style BAR assignment in the 32-bit window */
};

extern const struct bus_ops pci_ecam_ops, pci_cf8_ops, pci_cfc_ops;

int pci_bus_init(struct pci_bus *bus, struct bus *mmio) __must_check;
void pci_bus_destroy(struct pci_bus *bus);
/* Bus Master Enable: the device may issue DMA (and MSI, which is a memory write). */
bool pci_bus_master_enabled(const struct pci_device *dev);
/* Adds the device and, as firmware would, assigns its memory BARs in the 32-bit window and
 * enables memory decoding. */
int pci_bus_add(struct pci_bus *bus, unsigned slot, struct pci_device *dev) __must_check;

void pci_device_init(struct pci_device *dev, const char *name, uint16_t vendor, uint16_t device,
		     uint32_t class_code, uint8_t header_type);
/* size must be a power of two (>= 16 for memory, >= 4 for I/O). */
int pci_device_set_bar(struct pci_device *dev, unsigned index, uint64_t size, bool io, bool mem64) __must_check;
/* The handler that serves a memory BAR while it is mapped. */
void pci_device_set_bar_ops(struct pci_device *dev, unsigned index, const struct bus_ops *ops, void *opaque);
/* Appends a capability (its first two bytes, ID and next, are filled in); returns its offset
 * or 0 when config space is full. */
unsigned pci_device_add_cap(struct pci_device *dev, const void *cap, unsigned len);
/* Appends a PCIe extended capability (header, then `body`) from offset 0x100; returns its
 * offset or 0 when there is no room. Only for devices with a PCI Express capability. */
unsigned pci_device_add_ext_cap(struct pci_device *dev, uint16_t id, uint8_t version, const void *body, unsigned len);
uint64_t pci_bar_address(const struct pci_device *dev, unsigned index);
void pci_host_bridge_init(struct pci_device *dev);

/* Config access by bus/devfn/register; absent devices read as all ones. */
void pci_config_read(struct pci_bus *bus, unsigned busno, unsigned devfn, unsigned reg, void *data, unsigned len);
void pci_config_write(struct pci_bus *bus, unsigned busno, unsigned devfn, unsigned reg, const void *data, unsigned len);

#endif
