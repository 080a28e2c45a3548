/* What a virtio-net driver writes to a virtio-pci function's common configuration to bring it
 * up, shared by the unit tests that need a running device: feature negotiation (VERSION_1 only)
 * and queue set-up (rings at fixed places, one MSI-X vector each). Included by one test program
 * each. */
#ifndef TESTS_VIRTIO_DRIVER_H
#define TESTS_VIRTIO_DRIVER_H

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <stdint.h>

#include "../../virtio/virtio_pci.h"

static inline void virtio_driver_wr(struct virtio_pci *vp, unsigned off, unsigned len, uint32_t x)
{
	virtio_pci_bar0_ops.write(vp, off, &x, len);
}

/* ACKNOWLEDGE | DRIVER, VERSION_1 as the only feature, FEATURES_OK. */
static inline void virtio_driver_negotiate(struct virtio_pci *vp)
{
	virtio_driver_wr(vp, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	virtio_driver_wr(vp, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	virtio_driver_wr(vp, VIRTIO_PCI_COMMON_GF, 4, 1); /* VERSION_1 */
	virtio_driver_wr(vp, VIRTIO_PCI_COMMON_STATUS, 1, 0x0B);
}

/* Queues 0..n-1: queue q's descriptor table at ring + q * 0x10000, its driver area 0x4000 and its
 * device area 0x8000 further, MSI-X vector q + 1, enabled. */
static inline void virtio_driver_queues(struct virtio_pci *vp, unsigned n, uint64_t ring)
{
	for (unsigned q = 0; q < n; q++) {
		uint64_t base = ring + q * 0x10000ULL;
		virtio_driver_wr(vp, VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
		virtio_driver_wr(vp, VIRTIO_PCI_COMMON_Q_DESCLO, 4, (uint32_t)base);
		virtio_driver_wr(vp, VIRTIO_PCI_COMMON_Q_AVAILLO, 4, (uint32_t)(base + 0x4000));
		virtio_driver_wr(vp, VIRTIO_PCI_COMMON_Q_USEDLO, 4, (uint32_t)(base + 0x8000));
		virtio_driver_wr(vp, VIRTIO_PCI_COMMON_Q_MSIX, 2, q + 1);
		virtio_driver_wr(vp, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	}
}

#endif
