/* Modern virtio-pci transport (virtio 1.2, 4.1): capabilities, common configuration, notify,
 * ISR and device configuration in BAR 0, MSI-X table and PBA in BAR 1. Any virtio device of the
 * project plugs in through `struct virtio_device_ops`. */
#ifndef VIRTIO_VIRTIO_PCI_H
#define VIRTIO_VIRTIO_PCI_H

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../devices/pci.h"
#include "../devices/pci_msix.h"
#include "../vmm/dma.h"
#include "../vmm/irq_routing.h"
#include "../vmm/memory.h"

/* BAR 0 layout. */
#define VPCI_BAR_STRUCTS     0
#define VPCI_COMMON_OFFSET   0x0000
#define VPCI_COMMON_SIZE     0x0038
#define VPCI_ISR_OFFSET      0x1000
#define VPCI_ISR_SIZE        0x0004
#define VPCI_DEVICE_OFFSET   0x2000
#define VPCI_DEVICE_SIZE     0x1000
#define VPCI_NOTIFY_OFFSET   0x3000
#define VPCI_NOTIFY_MULT     4 /* bytes between queue notify addresses */
#define VPCI_NOTIFY_SIZE     0x1000
#define VPCI_BAR0_SIZE       0x4000
/* BAR 1: MSI-X. */
#define VPCI_BAR_MSIX        1
#define VPCI_MSIX_PBA_OFFSET 0x800
#define VPCI_BAR1_SIZE       0x1000

#define VIRTIO_PCI_VENDOR    0x1AF4
#define VIRTIO_PCI_DEVICE_BASE 0x1040 /* + virtio device id (4.1.2.1) */
#define VIRTIO_MAX_QUEUES    8
#define VIRTIO_ISR_QUEUE     0x1
#define VIRTIO_ISR_CONFIG    0x2

struct virtio_queue {
	uint16_t size;
	uint16_t msix_vector;
	bool enabled;
	uint64_t desc, driver, device; /* guest physical ring addresses */
	int kick_fd;  /* KVM ioeventfd on the queue's notify address */
	int call_fd;  /* bound to the queue's MSI-X vector as an irqfd */
};

struct virtio_pci;

struct virtio_device_ops {
	uint16_t device_id;
	uint16_t num_queues;
	uint16_t max_queue_size;
	uint16_t class_code; /* PCI class << 8 | subclass */
	/* Device feature bits offered (VERSION_1 is added by the transport). */
	uint64_t (*features)(void *dev);
	void (*config_read)(void *dev, unsigned off, void *data, unsigned len);
	void (*config_write)(void *dev, unsigned off, const void *data, unsigned len);
	/* DRIVER_OK: start the data path. A negative return makes the device NEEDS_RESET. */
	int (*activate)(void *dev, struct virtio_pci *vp);
	/* Status 0: stop the data path and forget the driver's state. */
	void (*reset)(void *dev, struct virtio_pci *vp);
	/* Bus Master Enable cleared (on false) or set again (on true) while the data path runs:
	 * stop all DMA, keeping the rings' state, then take it up where it stopped. NULL: a device
	 * without DMA of its own. A negative return stops the data path and makes the device
	 * NEEDS_RESET. (DRIVER_OK while it is clear waits for it: activate() runs when it is set.) */
	int (*bus_master)(void *dev, struct virtio_pci *vp, bool on);
};

struct virtio_pci {
	struct pci_device pci;
	struct pci_msix msix;
	const struct virtio_device_ops *ops;
	void *dev;
	const struct guest_memory *mem;
	/* The device's DMA space (NULL: guest RAM, no IOMMU). Behind an IOMMU the device offers
	 * VIRTIO_F_ACCESS_PLATFORM and requires it: ring addresses are then IOVAs. */
	struct dma_space *dma;
	int vm_fd; /* for ioeventfds; -1 in unit tests */
	pthread_mutex_t lock;
	uint32_t device_feature_select, driver_feature_select;
	uint64_t driver_features;
	uint8_t status;
	uint8_t config_generation;
	uint8_t isr;
	uint16_t queue_select;
	uint16_t msix_config;
	bool active; /* activate() succeeded and reset() has not been called since */
	bool bus_master; /* Bus Master Enable as last seen */
	uint64_t notify_base; /* where the ioeventfds are registered (0: not registered) */
	unsigned cfg_cap;     /* offset of the VIRTIO_PCI_CAP_PCI_CFG capability */
	struct virtio_queue queues[VIRTIO_MAX_QUEUES];
};

/* The three areas of a split virtqueue (virtio 1.2, 2.7). */
enum virtio_area { VIRTIO_AREA_DESC, VIRTIO_AREA_DRIVER, VIRTIO_AREA_DEVICE };

/* Host pointer to one area of a queue when all of it is guest RAM and it is aligned as 2.7
 * requires, else NULL. */
void *virtio_queue_area(const struct guest_memory *mem, const struct virtio_queue *vq, enum virtio_area area);

/* Where one area of a queue lies in the device's address space, its length, and the access the
 * device needs there (DMA_PERM_*). */
void virtio_queue_area_range(const struct virtio_queue *vq, enum virtio_area area, uint64_t *addr, uint64_t *len,
			     unsigned *perm);

int virtio_pci_init(struct virtio_pci *vp, const struct virtio_device_ops *ops, void *dev,
		    const struct guest_memory *mem, struct irq_routing *rt, int vm_fd) __must_check;
void virtio_pci_destroy(struct virtio_pci *vp);
/* Puts the device behind `dma` (before the guest runs). */
void virtio_pci_set_dma(struct virtio_pci *vp, struct dma_space *dma);
/* Makes the device a PCI Express root-complex integrated endpoint with the ATS extended
 * capability, so that a guest whose IOMMU offers device-TLBs sends it device-TLB invalidations. */
int virtio_pci_add_ats(struct virtio_pci *vp) __must_check;
/* Whether the driver accepted VIRTIO_F_ACCESS_PLATFORM (rings and buffers are IOVAs). */
bool virtio_pci_uses_iommu(const struct virtio_pci *vp);
/* The device's configuration changed: tells the driver (config generation, ISR bit, config
 * vector). With vp->lock held: the device changes its configuration under it, as its ops run. */
void virtio_pci_config_changed_locked(struct virtio_pci *vp);
/* Marks the device broken (NEEDS_RESET) and tells the driver through the config vector. */
void virtio_pci_needs_reset(struct virtio_pci *vp, const char *why);
uint64_t virtio_pci_offered_features(struct virtio_pci *vp);

extern const struct bus_ops virtio_pci_bar0_ops;

#endif
