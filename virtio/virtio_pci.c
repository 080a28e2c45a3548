/* virtio-pci modern transport: register decoding, feature negotiation, the device status state
 * machine, queue set-up, and the KVM ioeventfds on the notify addresses. */
#include "virtio_pci.h"

#include <errno.h>
#include <stddef.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define STATUS_NEEDS_RESET 0x40 /* VIRTIO_CONFIG_S_NEEDS_RESET */

static unsigned nvectors(const struct virtio_pci *vp) { return vp->ops->num_queues + 1u; }

static bool behind_iommu(const struct virtio_pci *vp) { return vp->dma && dma_space_translated(vp->dma); }

uint64_t virtio_pci_offered_features(struct virtio_pci *vp)
{
	uint64_t f = vp->ops->features(vp->dev) | (1ULL << VIRTIO_F_VERSION_1);
	if (behind_iommu(vp))
		f |= 1ULL << VIRTIO_F_ACCESS_PLATFORM;
	return f;
}

void virtio_pci_set_dma(struct virtio_pci *vp, struct dma_space *dma) { vp->dma = dma; }

int virtio_pci_add_ats(struct virtio_pci *vp)
{
	struct pci_device *p = &vp->pci;
	/* PCI Express capability, version 2, root-complex integrated endpoint: no link registers
	 * (PCIe base spec 7.5.3). It makes the guest read the 4 KiB extended configuration space. */
	uint8_t exp[PCI_CAP_EXP_RC_ENDPOINT_SIZEOF_V2] = { PCI_CAP_ID_EXP, 0 };
	uint16_t flags = 2 | PCI_EXP_TYPE_RC_END << 4;
	uint32_t devcap = PCI_EXP_DEVCAP_RBER;
	memcpy(&exp[PCI_EXP_FLAGS], &flags, 2);
	memcpy(&exp[PCI_EXP_DEVCAP], &devcap, 4);
	unsigned off = pci_device_add_cap(p, exp, sizeof(exp));
	if (!off)
		return -ENOSPC;
	memset(&p->wmask[off + PCI_EXP_DEVCTL], 0xFF, 2);
	memset(&p->wmask[off + PCI_EXP_DEVCTL2], 0xFF, 2);
	/* ATS (PCIe base spec 10.5.1): Page Aligned Request set (requests never cross a page),
	 * invalidate queue depth 0 (= 32); the guest writes Enable and the STU in the control. */
	uint16_t ats[2] = { PCI_ATS_CAP_PAGE_ALIGNED, 0 };
	unsigned ext = pci_device_add_ext_cap(p, PCI_EXT_CAP_ID_ATS, 1, ats, sizeof(ats));
	if (!ext)
		return -ENOSPC;
	uint16_t ctrl_mask = PCI_ATS_CTRL_ENABLE | 0x1F;
	memcpy(&p->wmask[ext + PCI_ATS_CTRL], &ctrl_mask, 2);
	return 0;
}

bool virtio_pci_uses_iommu(const struct virtio_pci *vp)
{
	return vp->dma && (vp->driver_features & (1ULL << VIRTIO_F_ACCESS_PLATFORM));
}

/* Registers (or removes) one KVM ioeventfd per queue at base + VPCI_NOTIFY_OFFSET + 4*q, so that
 * the driver's notify writes wake the backend without leaving the kernel. */
static int set_ioeventfds(struct virtio_pci *vp, uint64_t bar0, bool assign)
{
	if (vp->vm_fd < 0 || !bar0)
		return 0;
	for (unsigned q = 0; q < vp->ops->num_queues; q++) {
		struct kvm_ioeventfd ev = {
			.addr = bar0 + VPCI_NOTIFY_OFFSET + (uint64_t)q * VPCI_NOTIFY_MULT,
			.len = 2, /* the driver writes the 16-bit queue index */
			.fd = vp->queues[q].kick_fd,
			.flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN,
		};
		if (ioctl(vp->vm_fd, KVM_IOEVENTFD, &ev) < 0 && assign)
			return -errno;
	}
	return 0;
}

static void bar_moved(struct pci_device *dev, unsigned bar, uint64_t old_addr, uint64_t new_addr)
{
	struct virtio_pci *vp = dev->owner;
	if (bar != VPCI_BAR_STRUCTS)
		return;
	pthread_mutex_lock(&vp->lock);
	set_ioeventfds(vp, old_addr, false);
	int ret = set_ioeventfds(vp, new_addr, true);
	vp->notify_base = ret ? 0 : new_addr;
	if (ret)
		log_guest("virtio-pci: %s: notify ioeventfds at 0x%llx failed: %s (kicks go through vmm)",
			  dev->name, (unsigned long long)new_addr, strerror(-ret));
	pthread_mutex_unlock(&vp->lock);
}

/* The VIRTIO_PCI_CAP_PCI_CFG window (4.1.4.9): the driver picks bar, offset and length (1, 2
 * or 4) in the capability, then reads or writes pci_cfg_data to reach BAR memory through config
 * space. Firmware does 1- and 2-byte accesses this way (device_status, queue_select,
 * queue_notify), with a config access of that width. As the device requirements say (and QEMU
 * does), any access that touches pci_cfg_data makes one BAR access of cap.length bytes at
 * cap.offset: a write sends the first cap.length bytes of pci_cfg_data, a read fills them, and the
 * config read returns the bytes of pci_cfg_data it covers (`data`: config space as read, `reg`
 * and `len` the config access). A bad window does nothing: a write is dropped, a read returns
 * what config space holds. */
static bool cfg_window_access(struct virtio_pci *vp, unsigned reg, unsigned len, uint8_t *data, bool is_write)
{
	unsigned data_reg = vp->cfg_cap + offsetof(struct virtio_pci_cfg_cap, pci_cfg_data);
	if (!vp->cfg_cap || reg >= data_reg + 4 || reg + len <= data_reg)
		return false;
	struct virtio_pci_cfg_cap c;
	memcpy(&c, &vp->pci.cfg[vp->cfg_cap], sizeof(c));
	uint32_t n = c.cap.length;
	if ((n != 1 && n != 2 && n != 4) || (c.cap.offset & (n - 1))) {
		log_guest("virtio-pci: %s: PCI_CFG window with length %u at 0x%x ignored", vp->pci.name, n, c.cap.offset);
		return true;
	}
	const struct bus_ops *ops = c.cap.bar == VPCI_BAR_STRUCTS ? &virtio_pci_bar0_ops
				    : c.cap.bar == VPCI_BAR_MSIX ? &pci_msix_bar_ops : NULL;
	void *opaque = c.cap.bar == VPCI_BAR_STRUCTS ? (void *)vp : (void *)&vp->msix;
	if (!ops || c.cap.offset >= vp->pci.bars[c.cap.bar].size) {
		log_guest("virtio-pci: %s: PCI_CFG window at BAR %u offset 0x%x is outside the BAR", vp->pci.name,
			  c.cap.bar, c.cap.offset);
		return true;
	}
	if (is_write) {
		ops->write(opaque, c.cap.offset, c.pci_cfg_data, n);
		return true;
	}
	ops->read(opaque, c.cap.offset, c.pci_cfg_data, n);
	for (unsigned i = 0; i < len; i++)
		if (reg + i >= data_reg && reg + i < data_reg + 4)
			data[i] = c.pci_cfg_data[reg + i - data_reg];
	return true;
}

static void bus_master_changed_locked(struct virtio_pci *vp, bool master);

static void config_written(struct pci_device *dev, unsigned reg, unsigned len)
{
	struct virtio_pci *vp = dev->owner;
	pthread_mutex_lock(&vp->lock);
	bool master = pci_bus_master_enabled(dev), changed = master != vp->bus_master;
	if (changed)
		bus_master_changed_locked(vp, master);
	pthread_mutex_unlock(&vp->lock);
	/* Enable, function mask, or Bus Master Enable: every vector's route and irqfds follow. */
	if (changed || (reg < vp->msix.cap + MSIX_CAP_SIZE && reg + len > vp->msix.cap))
		pci_msix_config_written(&vp->msix);
	cfg_window_access(vp, reg, len, NULL, true);
}

static void config_read(struct pci_device *dev, unsigned reg, void *data, unsigned len)
{
	cfg_window_access(dev->owner, reg, len, data, false);
}

static void add_vendor_cap(struct pci_device *dev, uint8_t type, uint8_t bar, uint32_t off, uint32_t len, bool notify)
{
	struct virtio_pci_notify_cap c = { 0 };
	c.cap.cap_vndr = PCI_CAP_ID_VNDR;
	c.cap.cap_len = notify ? sizeof(c) : sizeof(c.cap);
	c.cap.cfg_type = type;
	c.cap.bar = bar;
	c.cap.offset = off;
	c.cap.length = len;
	c.notify_off_multiplier = VPCI_NOTIFY_MULT;
	pci_device_add_cap(dev, &c, c.cap.cap_len);
}

static void reset_queues(struct virtio_pci *vp)
{
	for (unsigned q = 0; q < vp->ops->num_queues; q++) {
		struct virtio_queue *vq = &vp->queues[q];
		int kick = vq->kick_fd, call = vq->call_fd;
		*vq = (struct virtio_queue){ .size = vp->ops->max_queue_size, .msix_vector = VIRTIO_MSI_NO_VECTOR,
					     .kick_fd = kick, .call_fd = call };
	}
}

int virtio_pci_init(struct virtio_pci *vp, const struct virtio_device_ops *ops, void *dev,
		    const struct guest_memory *mem, struct irq_routing *rt, int vm_fd)
{
	memset(vp, 0, sizeof(*vp));
	if (ops->num_queues > VIRTIO_MAX_QUEUES)
		return -EINVAL;
	vp->ops = ops;
	vp->dev = dev;
	vp->mem = mem;
	vp->vm_fd = vm_fd;
	vp->msix_config = VIRTIO_MSI_NO_VECTOR;
	for (unsigned q = 0; q < ops->num_queues; q++) {
		vp->queues[q].kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		vp->queues[q].call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vp->queues[q].kick_fd < 0 || vp->queues[q].call_fd < 0)
			return -errno;
	}
	reset_queues(vp);
	struct pci_device *p = &vp->pci;
	pci_device_init(p, "virtio", VIRTIO_PCI_VENDOR, (uint16_t)(VIRTIO_PCI_DEVICE_BASE + ops->device_id),
			(uint32_t)ops->class_code << 8, PCI_HEADER_TYPE_NORMAL);
	p->owner = vp;
	p->cfg[PCI_REVISION_ID] = 1; /* non-transitional devices have revision 1 or more (4.1.2.1) */
	uint16_t sub_vendor = VIRTIO_PCI_VENDOR, sub_id = ops->device_id;
	memcpy(&p->cfg[PCI_SUBSYSTEM_VENDOR_ID], &sub_vendor, 2);
	memcpy(&p->cfg[PCI_SUBSYSTEM_ID], &sub_id, 2);
	int ret = pci_device_set_bar(p, VPCI_BAR_STRUCTS, VPCI_BAR0_SIZE, false, false);
	if (!ret)
		ret = pci_device_set_bar(p, VPCI_BAR_MSIX, VPCI_BAR1_SIZE, false, false);
	if (ret)
		return ret;
	pci_device_set_bar_ops(p, VPCI_BAR_STRUCTS, &virtio_pci_bar0_ops, vp);
	pci_device_set_bar_ops(p, VPCI_BAR_MSIX, &pci_msix_bar_ops, &vp->msix);
	add_vendor_cap(p, VIRTIO_PCI_CAP_COMMON_CFG, 0, VPCI_COMMON_OFFSET, VPCI_COMMON_SIZE, false);
	add_vendor_cap(p, VIRTIO_PCI_CAP_NOTIFY_CFG, 0, VPCI_NOTIFY_OFFSET, VPCI_NOTIFY_SIZE, true);
	add_vendor_cap(p, VIRTIO_PCI_CAP_ISR_CFG, 0, VPCI_ISR_OFFSET, VPCI_ISR_SIZE, false);
	add_vendor_cap(p, VIRTIO_PCI_CAP_DEVICE_CFG, 0, VPCI_DEVICE_OFFSET, VPCI_DEVICE_SIZE, false);
	struct virtio_pci_cfg_cap cfg_cap = { .cap = { .cap_vndr = PCI_CAP_ID_VNDR, .cap_len = sizeof(cfg_cap),
						       .cfg_type = VIRTIO_PCI_CAP_PCI_CFG } };
	vp->cfg_cap = pci_device_add_cap(p, &cfg_cap, sizeof(cfg_cap));
	if (!vp->cfg_cap)
		return -ENOSPC;
	/* bar, offset, length and pci_cfg_data are the driver's to write. */
	memset(&p->wmask[vp->cfg_cap + offsetof(struct virtio_pci_cap, bar)], 0xFF, 1);
	memset(&p->wmask[vp->cfg_cap + offsetof(struct virtio_pci_cap, offset)], 0xFF, 8);
	memset(&p->wmask[vp->cfg_cap + offsetof(struct virtio_pci_cfg_cap, pci_cfg_data)], 0xFF, 4);
	ret = pci_msix_init(&vp->msix, p, rt, nvectors(vp), VPCI_BAR_MSIX, VPCI_MSIX_PBA_OFFSET);
	if (ret)
		return ret;
	p->config_written = config_written;
	p->config_read = config_read;
	p->bar_moved = bar_moved;
	return -pthread_mutex_init(&vp->lock, NULL);
}

void virtio_pci_destroy(struct virtio_pci *vp)
{
	if (!vp->ops)
		return;
	for (unsigned q = 0; q < vp->ops->num_queues; q++) {
		if (vp->queues[q].kick_fd >= 0) close(vp->queues[q].kick_fd);
		if (vp->queues[q].call_fd >= 0) close(vp->queues[q].call_fd);
	}
	pci_msix_destroy(&vp->msix);
	pthread_mutex_destroy(&vp->lock);
}

/* A configuration change notification (virtio 1.2, 4.1.5.3): a new generation, the ISR's config
 * bit, and a message on the config vector when the driver set one. This transport has no INTx:
 * without a vector the driver finds the bit when it reads the ISR. */
void virtio_pci_config_changed_locked(struct virtio_pci *vp)
{
	vp->config_generation++;
	vp->isr |= VIRTIO_ISR_CONFIG;
	if (vp->msix_config != VIRTIO_MSI_NO_VECTOR)
		pci_msix_notify(&vp->msix, vp->msix_config);
}

/* Lock held. */
static void needs_reset_locked(struct virtio_pci *vp, const char *why)
{
	log_guest("virtio-pci: %s: %s; device needs reset", vp->pci.name, why);
	vp->status |= STATUS_NEEDS_RESET;
	virtio_pci_config_changed_locked(vp);
}

void virtio_pci_needs_reset(struct virtio_pci *vp, const char *why)
{
	pthread_mutex_lock(&vp->lock);
	needs_reset_locked(vp, why);
	pthread_mutex_unlock(&vp->lock);
}

static void device_reset(struct virtio_pci *vp)
{
	if (vp->active)
		vp->ops->reset(vp->dev, vp);
	vp->active = false;
	/* Each queue's own binding: other queues may share its vector (4.1.4.3). */
	for (unsigned q = 0; q < vp->ops->num_queues; q++) {
		uint16_t vec = vp->queues[q].msix_vector;
		if (vec < nvectors(vp) && pci_msix_unbind_irqfd(&vp->msix, vec, vp->queues[q].call_fd))
			log_guest("virtio-pci: %s: unbinding queue %u's interrupt failed", vp->pci.name, q);
	}
	vp->status = 0;
	vp->driver_features = 0;
	vp->device_feature_select = vp->driver_feature_select = 0;
	vp->queue_select = 0;
	vp->msix_config = VIRTIO_MSI_NO_VECTOR;
	vp->isr = 0;
	reset_queues(vp);
}

/* Size and alignment of each area for a queue of vq->size entries (virtio 1.2, 2.7), and what
 * the device does there: reads the descriptors and the driver area, writes the device area. */
static const struct { uint64_t fixed, per_entry, align; unsigned perm; } area_layout[] = {
	[VIRTIO_AREA_DESC] = { 0, 16, 16, DMA_PERM_READ },
	[VIRTIO_AREA_DRIVER] = { 6, 2, 2, DMA_PERM_READ },
	[VIRTIO_AREA_DEVICE] = { 6, 8, 4, DMA_PERM_WRITE },
};

void virtio_queue_area_range(const struct virtio_queue *vq, enum virtio_area area, uint64_t *addr, uint64_t *len,
			     unsigned *perm)
{
	const uint64_t a[] = { vq->desc, vq->driver, vq->device };
	*addr = a[area];
	*len = area_layout[area].fixed + area_layout[area].per_entry * vq->size;
	*perm = area_layout[area].perm;
}

void *virtio_queue_area(const struct guest_memory *mem, const struct virtio_queue *vq, enum virtio_area area)
{
	uint64_t addr, len;
	unsigned perm;
	virtio_queue_area_range(vq, area, &addr, &len, &perm);
	if (addr & (area_layout[area].align - 1))
		return NULL;
	return guest_ptr(mem, addr, len);
}

/* Behind the IOMMU: every byte of the area must translate, with the access the device needs, to
 * guest RAM. A failure records a fault in the IOMMU, as the device's first access would. */
static bool area_translates(struct virtio_pci *vp, const struct virtio_queue *vq, enum virtio_area area)
{
	uint64_t addr, len;
	unsigned perm;
	virtio_queue_area_range(vq, area, &addr, &len, &perm);
	if (addr & (area_layout[area].align - 1))
		return false;
	bool ok = true;
	dma_lock(vp->dma);
	while (len && ok) {
		struct dma_translation t;
		ok = !dma_translate_locked(vp->dma, vp->pci.rid, addr, perm, true, &t);
		if (!ok)
			break;
		uint64_t n = t.len - (addr - t.iova);
		if (n > len)
			n = len;
		ok = guest_ptr(vp->mem, t.gpa + (addr - t.iova), n) != NULL;
		len -= n;
		addr += n;
	}
	dma_unlock(vp->dma);
	return ok;
}

/* The rings of every enabled queue must lie in guest RAM. */
static const char *check_queues(struct virtio_pci *vp)
{
	static const char *const why[] = {
		[VIRTIO_AREA_DESC] = "a descriptor table is outside guest RAM or misaligned",
		[VIRTIO_AREA_DRIVER] = "a driver area is outside guest RAM or misaligned",
		[VIRTIO_AREA_DEVICE] = "a device area is outside guest RAM or misaligned",
	};
	static const char *const why_iommu[] = {
		[VIRTIO_AREA_DESC] = "a descriptor table does not translate to readable guest RAM (IOMMU fault)",
		[VIRTIO_AREA_DRIVER] = "a driver area does not translate to readable guest RAM (IOMMU fault)",
		[VIRTIO_AREA_DEVICE] = "a device area does not translate to writable guest RAM (IOMMU fault)",
	};
	bool iommu = virtio_pci_uses_iommu(vp);
	for (unsigned q = 0; q < vp->ops->num_queues; q++) {
		const struct virtio_queue *vq = &vp->queues[q];
		for (enum virtio_area a = VIRTIO_AREA_DESC; vq->enabled && a <= VIRTIO_AREA_DEVICE; a++) {
			if (iommu && !area_translates(vp, vq, a))
				return why_iommu[a];
			if (!iommu && !virtio_queue_area(vp->mem, vq, a))
				return why[a];
		}
	}
	return NULL;
}

static void activate(struct virtio_pci *vp)
{
	const char *bad = check_queues(vp);
	if (bad) {
		needs_reset_locked(vp, bad);
		return;
	}
	for (unsigned q = 0; q < vp->ops->num_queues; q++) {
		const struct virtio_queue *vq = &vp->queues[q];
		if (vq->enabled && vq->msix_vector < nvectors(vp) &&
		    pci_msix_bind_irqfd(&vp->msix, vq->msix_vector, vq->call_fd)) {
			needs_reset_locked(vp, "binding a queue interrupt failed");
			return;
		}
	}
	int ret = vp->ops->activate(vp->dev, vp);
	if (ret) {
		char why[96];
		snprintf(why, sizeof(why), "starting the device failed (%s)", strerror(-ret));
		needs_reset_locked(vp, why);
		return;
	}
	vp->active = true;
}

/* Stops a running data path (the device's reset), e.g. before NEEDS_RESET. Lock held. */
static void stop_data_path(struct virtio_pci *vp)
{
	if (vp->active)
		vp->ops->reset(vp->dev, vp);
	vp->active = false;
}

static bool rid_matches(void *ctx, uint16_t rid) { return *(const uint16_t *)ctx == rid; }

/* Bus Master Enable changed (PCI Local Bus 3.0, 6.2.2): without it the function may issue no
 * memory request, so no DMA and no MSI. As a real device that cannot master the bus simply does
 * nothing until it may, the data path waits: DRIVER_OK while it is clear starts nothing, and
 * setting it starts the device then; clearing it while running stops the data path's DMA
 * (ops->bus_master) with the rings' state kept, and setting it again resumes there. The MSI-X
 * side (irqfds detached, messages held pending) is pci_msix's. Lock held. */
static void bus_master_changed_locked(struct virtio_pci *vp, bool master)
{
	vp->bus_master = master;
	const char *fail = NULL;
	int ret = 0;
	if (!master) {
		if (vp->active && vp->ops->bus_master && (ret = vp->ops->bus_master(vp->dev, vp, false)))
			fail = "stopping DMA for Bus Master Enable failed";
		/* Behind the IOMMU, IOTLB users drop every translation and get no new one until it is
		 * set again. */
		if (vp->dma) {
			dma_lock(vp->dma);
			dma_notify_locked(vp->dma, rid_matches, &vp->pci.rid, 0, UINT64_MAX);
			dma_unlock(vp->dma);
		}
	} else if (vp->active) {
		if (vp->ops->bus_master && (ret = vp->ops->bus_master(vp->dev, vp, true)))
			fail = "resuming DMA after Bus Master Enable failed";
	} else if ((vp->status & VIRTIO_CONFIG_S_DRIVER_OK) && !(vp->status & STATUS_NEEDS_RESET)) {
		activate(vp); /* DRIVER_OK came while bus mastering was off */
	}
	if (fail) {
		char why[112];
		snprintf(why, sizeof(why), "%s (%s)", fail, strerror(-ret));
		stop_data_path(vp);
		needs_reset_locked(vp, why);
	}
}

static void write_status(struct virtio_pci *vp, uint8_t val)
{
	if (val == 0) {
		device_reset(vp);
		return;
	}
	uint8_t old = vp->status;
	/* Virtio 1.2, 2.1.2: the driver must not clear a status bit; only 0 resets. Once DRIVER_OK
	 * is set, storing such a write would turn off the feature lock and the queue-field freeze
	 * while the data path runs, and would let rings at any address in unchecked; ignoring it
	 * would leave a driver that believes it stopped the device with a device still doing DMA.
	 * So it is a device error, as QEMU treats a bad ring: the status keeps its bits, the data
	 * path stops and the device asks for a reset (DEVICE_NEEDS_RESET). */
	if ((old & VIRTIO_CONFIG_S_DRIVER_OK) && (old & ~val & ~STATUS_NEEDS_RESET)) {
		char why[96];
		snprintf(why, sizeof(why), "status 0x%02x written over 0x%02x clears bits after DRIVER_OK", val, old);
		stop_data_path(vp);
		needs_reset_locked(vp, why);
		return;
	}
	if ((val & VIRTIO_CONFIG_S_FEATURES_OK) && !(old & VIRTIO_CONFIG_S_FEATURES_OK)) {
		uint64_t offered = virtio_pci_offered_features(vp);
		/* The device refuses features it did not offer, and drivers without VERSION_1. */
		/* Behind the IOMMU the device needs ACCESS_PLATFORM (virtio 1.2, 6.1): without it the
		 * driver would hand out guest-physical addresses that bypass the IOMMU. */
		bool needs_platform = behind_iommu(vp) && !(vp->driver_features & (1ULL << VIRTIO_F_ACCESS_PLATFORM));
		if ((vp->driver_features & ~offered) || !(vp->driver_features & (1ULL << VIRTIO_F_VERSION_1)) ||
		    needs_platform) {
			log_guest("virtio-pci: %s: driver features 0x%llx not accepted (offered 0x%llx)", vp->pci.name,
				  (unsigned long long)vp->driver_features, (unsigned long long)offered);
			val &= (uint8_t)~VIRTIO_CONFIG_S_FEATURES_OK;
		}
	}
	/* NEEDS_RESET is the device's to set: a driver that writes it would otherwise start the data
	 * path under a status that says it is broken (the Bus Master Enable path does not). */
	vp->status = (uint8_t)(val & ~STATUS_NEEDS_RESET) | (old & STATUS_NEEDS_RESET);
	if ((val & VIRTIO_CONFIG_S_DRIVER_OK) && !(old & VIRTIO_CONFIG_S_DRIVER_OK) && !vp->active) {
		if (!(vp->status & VIRTIO_CONFIG_S_FEATURES_OK))
			needs_reset_locked(vp, "DRIVER_OK without FEATURES_OK");
		else if (!vp->bus_master)
			log_guest("virtio-pci: %s: DRIVER_OK with Bus Master Enable clear; the device starts when it is set",
				  vp->pci.name);
		else
			activate(vp);
	}
}

static struct virtio_queue *selected(struct virtio_pci *vp)
{
	return vp->queue_select < vp->ops->num_queues ? &vp->queues[vp->queue_select] : NULL;
}

static uint64_t common_read(struct virtio_pci *vp, unsigned off)
{
	struct virtio_queue *vq = selected(vp);
	uint64_t offered = virtio_pci_offered_features(vp);
	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT: return vp->device_feature_select;
	case VIRTIO_PCI_COMMON_DF:
		return vp->device_feature_select < 2 ? (uint32_t)(offered >> (32 * vp->device_feature_select)) : 0;
	case VIRTIO_PCI_COMMON_GFSELECT: return vp->driver_feature_select;
	case VIRTIO_PCI_COMMON_GF:
		return vp->driver_feature_select < 2 ? (uint32_t)(vp->driver_features >> (32 * vp->driver_feature_select)) : 0;
	case VIRTIO_PCI_COMMON_MSIX: return vp->msix_config;
	case VIRTIO_PCI_COMMON_NUMQ: return vp->ops->num_queues;
	case VIRTIO_PCI_COMMON_STATUS: return vp->status;
	case VIRTIO_PCI_COMMON_CFGGENERATION: return vp->config_generation;
	case VIRTIO_PCI_COMMON_Q_SELECT: return vp->queue_select;
	case VIRTIO_PCI_COMMON_Q_SIZE: return vq ? vq->size : 0;
	case VIRTIO_PCI_COMMON_Q_MSIX: return vq ? vq->msix_vector : VIRTIO_MSI_NO_VECTOR;
	case VIRTIO_PCI_COMMON_Q_ENABLE: return vq ? vq->enabled : 0;
	case VIRTIO_PCI_COMMON_Q_NOFF: return vp->queue_select;
	case VIRTIO_PCI_COMMON_Q_DESCLO: return vq ? (uint32_t)vq->desc : 0;
	case VIRTIO_PCI_COMMON_Q_DESCHI: return vq ? vq->desc >> 32 : 0;
	case VIRTIO_PCI_COMMON_Q_AVAILLO: return vq ? (uint32_t)vq->driver : 0;
	case VIRTIO_PCI_COMMON_Q_AVAILHI: return vq ? vq->driver >> 32 : 0;
	case VIRTIO_PCI_COMMON_Q_USEDLO: return vq ? (uint32_t)vq->device : 0;
	case VIRTIO_PCI_COMMON_Q_USEDHI: return vq ? vq->device >> 32 : 0;
	default: return 0;
	}
}

/* Width in bytes of each common-config field (virtio 1.2, 4.1.4.3). */
static unsigned common_width(unsigned off)
{
	switch (off) {
	case VIRTIO_PCI_COMMON_STATUS: case VIRTIO_PCI_COMMON_CFGGENERATION: return 1;
	case VIRTIO_PCI_COMMON_MSIX: case VIRTIO_PCI_COMMON_NUMQ: case VIRTIO_PCI_COMMON_Q_SELECT:
	case VIRTIO_PCI_COMMON_Q_SIZE: case VIRTIO_PCI_COMMON_Q_MSIX: case VIRTIO_PCI_COMMON_Q_ENABLE:
	case VIRTIO_PCI_COMMON_Q_NOFF: return 2;
	default: return off < VPCI_COMMON_SIZE && !(off & 3) ? 4 : 0;
	}
}

static void set_half(uint64_t *v, bool high, uint32_t val)
{
	*v = high ? (*v & 0xFFFFFFFFULL) | (uint64_t)val << 32 : (*v & ~0xFFFFFFFFULL) | val;
}

static void common_write(struct virtio_pci *vp, unsigned off, uint32_t val)
{
	struct virtio_queue *vq = selected(vp);
	bool live = vp->status & VIRTIO_CONFIG_S_DRIVER_OK;
	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT: vp->device_feature_select = val; return;
	case VIRTIO_PCI_COMMON_GFSELECT: vp->driver_feature_select = val; return;
	case VIRTIO_PCI_COMMON_GF:
		if (vp->status & VIRTIO_CONFIG_S_FEATURES_OK)
			break;
		if (vp->driver_feature_select < 2)
			set_half(&vp->driver_features, vp->driver_feature_select, val);
		return;
	case VIRTIO_PCI_COMMON_MSIX:
		vp->msix_config = val < nvectors(vp) ? (uint16_t)val : VIRTIO_MSI_NO_VECTOR;
		return;
	case VIRTIO_PCI_COMMON_STATUS: write_status(vp, (uint8_t)val); return;
	case VIRTIO_PCI_COMMON_Q_SELECT: vp->queue_select = (uint16_t)val; return;
	default: break;
	}
	if (!vq || vq->enabled || live) {
		log_guest("virtio-pci: %s: write 0x%x to common config 0x%x ignored (%s)", vp->pci.name, val, off,
			  !vq ? "no such queue" : "queue already enabled or device live");
		return;
	}
	switch (off) {
	case VIRTIO_PCI_COMMON_Q_SIZE:
		/* A power of two no larger than the maximum (split virtqueues, 2.7). */
		if (val == 0 || val > vp->ops->max_queue_size || (val & (val - 1)))
			log_guest("virtio-pci: %s: queue size %u ignored (power of two up to %u)", vp->pci.name, val,
				  vp->ops->max_queue_size);
		else
			vq->size = (uint16_t)val;
		return;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		vq->msix_vector = val < nvectors(vp) ? (uint16_t)val : VIRTIO_MSI_NO_VECTOR;
		return;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		if (val == 1)
			vq->enabled = true;
		return;
	case VIRTIO_PCI_COMMON_Q_DESCLO: case VIRTIO_PCI_COMMON_Q_DESCHI:
		set_half(&vq->desc, off == VIRTIO_PCI_COMMON_Q_DESCHI, val);
		return;
	case VIRTIO_PCI_COMMON_Q_AVAILLO: case VIRTIO_PCI_COMMON_Q_AVAILHI:
		set_half(&vq->driver, off == VIRTIO_PCI_COMMON_Q_AVAILHI, val);
		return;
	case VIRTIO_PCI_COMMON_Q_USEDLO: case VIRTIO_PCI_COMMON_Q_USEDHI:
		set_half(&vq->device, off == VIRTIO_PCI_COMMON_Q_USEDHI, val);
		return;
	default:
		log_guest("virtio-pci: %s: write to read-only common config 0x%x ignored", vp->pci.name, off);
	}
}

static void bar0_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	struct virtio_pci *vp = opaque;
	uint64_t val = 0;
	memset(data, 0, len);
	pthread_mutex_lock(&vp->lock);
	if (off < VPCI_COMMON_SIZE) {
		if (common_width(off) == len)
			val = common_read(vp, (unsigned)off);
		else
			log_guest("virtio-pci: %s: %u-byte read of common config 0x%llx ignored", vp->pci.name, len,
				  (unsigned long long)off);
	} else if (off >= VPCI_ISR_OFFSET && off < VPCI_ISR_OFFSET + VPCI_ISR_SIZE) {
		val = vp->isr; /* reading ISR clears it (4.1.4.5) */
		vp->isr = 0;
	} else if (off >= VPCI_DEVICE_OFFSET && off < VPCI_DEVICE_OFFSET + VPCI_DEVICE_SIZE && len <= 8) {
		vp->ops->config_read(vp->dev, (unsigned)(off - VPCI_DEVICE_OFFSET), &val, len);
	}
	pthread_mutex_unlock(&vp->lock);
	memcpy(data, &val, len > 8 ? 8 : len);
}

static void bar0_write(void *opaque, uint64_t off, const void *data, unsigned len)
{
	struct virtio_pci *vp = opaque;
	uint64_t val = 0;
	memcpy(&val, data, len > 8 ? 8 : len);
	if (off >= VPCI_NOTIFY_OFFSET && off < VPCI_NOTIFY_OFFSET + VPCI_NOTIFY_SIZE) {
		/* A kick the ioeventfd did not catch (not registered yet, or another width). */
		unsigned q = (unsigned)((off - VPCI_NOTIFY_OFFSET) / VPCI_NOTIFY_MULT);
		uint64_t one = 1;
		if (q < vp->ops->num_queues && write(vp->queues[q].kick_fd, &one, sizeof(one)) < 0)
			log_guest("virtio-pci: %s: kick of queue %u lost", vp->pci.name, q);
		return;
	}
	pthread_mutex_lock(&vp->lock);
	if (off < VPCI_COMMON_SIZE) {
		if (common_width(off) == len)
			common_write(vp, (unsigned)off, (uint32_t)val);
		else
			log_guest("virtio-pci: %s: %u-byte write to common config 0x%llx ignored", vp->pci.name, len,
				  (unsigned long long)off);
	} else if (off >= VPCI_DEVICE_OFFSET && off < VPCI_DEVICE_OFFSET + VPCI_DEVICE_SIZE && len <= 8) {
		vp->ops->config_write(vp->dev, (unsigned)(off - VPCI_DEVICE_OFFSET), &val, len);
	} else {
		log_guest("virtio-pci: %s: write to 0x%llx ignored (read-only or unused)", vp->pci.name,
			  (unsigned long long)off);
	}
	pthread_mutex_unlock(&vp->lock);
}

const struct bus_ops virtio_pci_bar0_ops = { .read = bar0_read, .write = bar0_write };
