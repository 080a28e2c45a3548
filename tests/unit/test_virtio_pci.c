/* virtio-pci transport: capability layout, feature negotiation, queue set-up and its checks,
 * the status state machine with NEEDS_RESET, reset, ISR; MSI-X table, masking and PBA; the
 * PCI_CFG window; status bits cleared after DRIVER_OK; queues sharing a vector; Bus Master
 * Enable. */
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../../virtio/virtio_pci.h"
#include "check.h"

static struct virtio_pci vp;
static struct guest_memory mem;
static int activations, resets, dma_stops, dma_resumes;

static uint64_t features(void *d) { (void)d; return 1ULL << 5 | 1ULL << 16; }
static void cfg_read(void *d, unsigned off, void *data, unsigned len) { (void)d; memset(data, (int)off + 1, len); }
static void cfg_write(void *d, unsigned off, const void *data, unsigned len) { (void)d; (void)off; (void)data; (void)len; }
static int act(void *d, struct virtio_pci *p) { (void)d; (void)p; activations++; return 0; }
static void rst(void *d, struct virtio_pci *p) { (void)d; (void)p; resets++; }
static int bme(void *d, struct virtio_pci *p, bool on) { (void)d; (void)p; on ? dma_resumes++ : dma_stops++; return 0; }

static const struct virtio_device_ops ops = {
	.device_id = 1, .num_queues = 2, .max_queue_size = 256, .class_code = 0x0200,
	.features = features, .config_read = cfg_read, .config_write = cfg_write, .activate = act, .reset = rst,
	.bus_master = bme,
};

static uint32_t rd(unsigned off, unsigned len)
{
	uint32_t v = 0;
	virtio_pci_bar0_ops.read(&vp, off, &v, len);
	return v;
}
static void wr(unsigned off, unsigned len, uint32_t v) { virtio_pci_bar0_ops.write(&vp, off, &v, len); }
static uint32_t mrd(unsigned off) { uint32_t v = 0; pci_msix_bar_ops.read(&vp.msix, off, &v, 4); return v; }
static void mwr(unsigned off, uint32_t v) { pci_msix_bar_ops.write(&vp.msix, off, &v, 4); }

static void set_features(uint64_t f)
{
	wr(VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	wr(VIRTIO_PCI_COMMON_GF, 4, (uint32_t)f);
	wr(VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	wr(VIRTIO_PCI_COMMON_GF, 4, (uint32_t)(f >> 32));
	/* Callers set features before FEATURES_OK, so both halves must have landed. */
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_GF, 4), (uint32_t)(f >> 32));
	wr(VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_GF, 4), (uint32_t)f);
}

/* Bus Master Enable, written as the guest writes the command register. */
static void set_master(bool on)
{
	if (on)
		vp.pci.cfg[PCI_COMMAND] |= PCI_COMMAND_MASTER;
	else
		vp.pci.cfg[PCI_COMMAND] &= (uint8_t)~PCI_COMMAND_MASTER;
	vp.pci.config_written(&vp.pci, PCI_COMMAND, 2);
}

static void setup_queue_vector(unsigned q, uint64_t desc, uint16_t size, uint16_t vec);
static void setup_queue(unsigned q, uint64_t desc, uint16_t size) { setup_queue_vector(q, desc, size, (uint16_t)(q + 1)); }

static void setup_queue_vector(unsigned q, uint64_t desc, uint16_t size, uint16_t vec)
{
	wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
	wr(VIRTIO_PCI_COMMON_Q_SIZE, 2, size);
	wr(VIRTIO_PCI_COMMON_Q_DESCLO, 4, (uint32_t)desc);
	wr(VIRTIO_PCI_COMMON_Q_DESCHI, 4, (uint32_t)(desc >> 32));
	wr(VIRTIO_PCI_COMMON_Q_AVAILLO, 4, (uint32_t)(desc + 0x1000));
	wr(VIRTIO_PCI_COMMON_Q_USEDLO, 4, (uint32_t)(desc + 0x2000));
	wr(VIRTIO_PCI_COMMON_Q_MSIX, 2, vec);
	wr(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	/* Callers set up queues before DRIVER_OK, when every one of these writes must land. */
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), size);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_Q_DESCLO, 4), (uint32_t)desc);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_Q_DESCHI, 4), (uint32_t)(desc >> 32));
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_Q_AVAILLO, 4), (uint32_t)(desc + 0x1000));
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_Q_USEDLO, 4), (uint32_t)(desc + 0x2000));
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_Q_MSIX, 2), vec);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1);
}

static void check_caps(void)
{
	const uint8_t *c = vp.pci.cfg;
	CHECK_EQ(c[PCI_VENDOR_ID] | c[PCI_VENDOR_ID + 1] << 8, 0x1AF4);
	CHECK_EQ(c[PCI_DEVICE_ID] | c[PCI_DEVICE_ID + 1] << 8, 0x1041);
	CHECK(c[PCI_REVISION_ID] >= 1);
	CHECK(c[PCI_STATUS] & PCI_STATUS_CAP_LIST);
	unsigned seen = 0, msix = 0, guard = 0;
	for (unsigned off = c[PCI_CAPABILITY_LIST]; off && guard < 16; off = c[off + 1], guard++) {
		if (c[off] == PCI_CAP_ID_VNDR) {
			struct virtio_pci_notify_cap cap;
			memcpy(&cap, &c[off], sizeof(cap));
			seen |= 1U << cap.cap.cfg_type;
			CHECK_EQ(cap.cap.bar, VPCI_BAR_STRUCTS);
			CHECK(cap.cap.offset + cap.cap.length <= VPCI_BAR0_SIZE);
			if (cap.cap.cfg_type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
				CHECK_EQ(cap.cap.cap_len, sizeof(cap));
				CHECK_EQ(cap.notify_off_multiplier, VPCI_NOTIFY_MULT);
			}
		} else if (c[off] == PCI_CAP_ID_MSIX) {
			uint16_t ctrl = c[off + 2] | c[off + 3] << 8;
			CHECK_EQ(ctrl & PCI_MSIX_FLAGS_QSIZE, 2); /* 3 vectors: config + 2 queues */
			msix++;
		}
	}
	CHECK_EQ(seen, 1U << 1 | 1U << 2 | 1U << 3 | 1U << 4 | 1U << 5);
	CHECK_EQ(msix, 1);
	CHECK_EQ(vp.pci.bars[0].size, VPCI_BAR0_SIZE);
}

static void check_negotiation(void)
{
	wr(VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_DF, 4), 1U << 5 | 1U << 16);
	wr(VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_DF, 4), 1); /* VERSION_1 is bit 32 */
	wr(VIRTIO_PCI_COMMON_DFSELECT, 4, 7);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_DF, 4), 0);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_NUMQ, 2), 2);
	wr(VIRTIO_PCI_COMMON_NUMQ, 2, 9); /* read-only */
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_NUMQ, 2), 2);

	wr(VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_STATUS, 1), 0x03);
	/* Without VERSION_1: FEATURES_OK does not stick, the rest of the status does. */
	set_features(1ULL << 5);
	wr(VIRTIO_PCI_COMMON_STATUS, 1, 0x0B);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_STATUS, 1), 0x03);
	/* A feature that was not offered: refused too. */
	set_features(1ULL << 32 | 1ULL << 7);
	wr(VIRTIO_PCI_COMMON_STATUS, 1, 0x0B);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_STATUS, 1), 0x03);
	set_features(1ULL << 32 | 1ULL << 5);
	wr(VIRTIO_PCI_COMMON_STATUS, 1, 0x0B);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_STATUS, 1), 0x0B);
	/* Features are frozen after FEATURES_OK. */
	wr(VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	wr(VIRTIO_PCI_COMMON_GF, 4, 0xFFFFFFFF);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_GF, 4), 1U << 5);
}

/* DRIVER_OK without FEATURES_OK is a driver bug (3.1.1): the device must answer NEEDS_RESET and
 * not start, even with good queues. Leaves the device reset and renegotiated as before. */
static void check_driver_ok_without_features_ok(void)
{
	wr(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_STATUS, 1), 0);
	wr(VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	set_features(1ULL << 32);
	wr(VIRTIO_PCI_COMMON_MSIX, 2, 0); /* config changes signalled on vector 0 */
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_MSIX, 2), 0);
	/* Queues the device would accept: only the missing FEATURES_OK may stop it. */
	setup_queue(0, 0x100000, 256);
	setup_queue(1, 0x200000, 256);
	CHECK_EQ(mrd(VPCI_MSIX_PBA_OFFSET), 0);
	CHECK_EQ(rd(VPCI_ISR_OFFSET, 1), 0);
	uint8_t gen = (uint8_t)rd(VIRTIO_PCI_COMMON_CFGGENERATION, 1);
	wr(VIRTIO_PCI_COMMON_STATUS, 1,
	   VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_STATUS, 1), VIRTIO_CONFIG_S_NEEDS_RESET | VIRTIO_CONFIG_S_ACKNOWLEDGE |
							 VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK);
	CHECK_EQ(activations, 0);
	CHECK(!vp.active);
	/* The driver is told as for any NEEDS_RESET: a config change (generation, ISR bit) and the
	 * config vector, pending here since MSI-X is off. */
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_CFGGENERATION, 1), (uint8_t)(gen + 1));
	CHECK_EQ(rd(VPCI_ISR_OFFSET, 1), VIRTIO_ISR_CONFIG);
	CHECK_EQ(rd(VPCI_ISR_OFFSET, 1), 0);
	CHECK_EQ(mrd(VPCI_MSIX_PBA_OFFSET), 1U << 0);
	CHECK_EQ(vp.msix.delivered, 0);
	/* Reset: nothing to stop, since it never started; then negotiate again. */
	wr(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_STATUS, 1), 0);
	CHECK_EQ(resets, 0);
	wr(VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	set_features(1ULL << 32 | 1ULL << 5);
	wr(VIRTIO_PCI_COMMON_STATUS, 1, 0x0B);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_STATUS, 1), 0x0B);
}

static void check_queues_and_activation(void)
{
	/* Queue sizes: powers of two up to the maximum only. */
	wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 256);
	wr(VIRTIO_PCI_COMMON_Q_SIZE, 2, 300);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 256);
	wr(VIRTIO_PCI_COMMON_Q_SIZE, 2, 100);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 256);
	wr(VIRTIO_PCI_COMMON_Q_SIZE, 2, 0);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 256);
	wr(VIRTIO_PCI_COMMON_Q_SIZE, 2, 128);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 128);
	/* A queue that does not exist reads size 0 and takes no writes. */
	wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, 5);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 0);
	wr(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	CHECK(!vp.queues[5].enabled); /* within the array, past num_queues */
	/* A vector past the table reads back as NO_VECTOR. */
	wr(VIRTIO_PCI_COMMON_MSIX, 2, 7);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	wr(VIRTIO_PCI_COMMON_MSIX, 2, 0);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_MSIX, 2), 0);

	/* Rings past the end of RAM: DRIVER_OK ends in NEEDS_RESET, the device never starts. */
	setup_queue(0, 0x100000, 128);
	setup_queue(1, mem.ram_size - 0x1000, 256);
	wr(VIRTIO_PCI_COMMON_STATUS, 1, 0x0F);
	CHECK(rd(VIRTIO_PCI_COMMON_STATUS, 1) & 0x40);
	CHECK_EQ(activations, 0);
	CHECK_EQ(rd(VPCI_ISR_OFFSET, 1), VIRTIO_ISR_CONFIG);
	CHECK_EQ(rd(VPCI_ISR_OFFSET, 1), 0); /* read clears */
	/* Reset, and a good second try. */
	wr(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_STATUS, 1), 0);
	CHECK_EQ(resets, 0); /* it never started, so there is nothing to stop */
	wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 256);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	wr(VIRTIO_PCI_COMMON_STATUS, 1, 0x03);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_STATUS, 1), 0x03);
	set_features(1ULL << 32);
	wr(VIRTIO_PCI_COMMON_STATUS, 1, 0x0B);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_STATUS, 1), 0x0B);
	setup_queue(0, 0x100000, 256);
	setup_queue(1, 0x200000, 256);
	/* FEATURES_OK is set (see check_driver_ok_without_features_ok for the case without). */
	wr(VIRTIO_PCI_COMMON_STATUS, 1, 0x0F);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_STATUS, 1), 0x0F);
	CHECK_EQ(activations, 1);
	CHECK(vp.active);
	/* Queue fields are frozen once live. */
	wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	wr(VIRTIO_PCI_COMMON_Q_DESCLO, 4, 0x5000);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_Q_DESCLO, 4), 0x100000);
	/* Wrong widths are ignored. */
	wr(VIRTIO_PCI_COMMON_Q_SELECT, 4, 1);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_Q_SELECT, 2), 0);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_Q_SELECT, 4), 0);
	/* Device config goes to the device. */
	CHECK_EQ(rd(VPCI_DEVICE_OFFSET + 2, 1), 3);
	/* A reset mid-traffic stops the device once. */
	wr(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	CHECK_EQ(resets, 1);
	CHECK(!vp.active);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_STATUS, 1), 0);
	wr(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	CHECK_EQ(resets, 1);
}

/* Everything an MSI-X BAR access that should do nothing could change: the BAR as the guest
 * reads it (table, PBA and the rest), every vector slot in the structure (those past the table
 * cannot be read through the BAR), vmm's deliveries, the KVM routes and config space. */
struct msix_snapshot {
	uint32_t bar[VPCI_BAR1_SIZE / 4];
	struct msix_vector v[MSIX_MAX_VECTORS];
	uint64_t delivered;
	struct irq_route routes[IRQ_ROUTING_MAX_GSI];
	unsigned commits;
	uint8_t cfg[PCI_CFG_SIZE];
};

static void msix_snapshot(struct msix_snapshot *s, const struct irq_routing *rt)
{
	for (unsigned i = 0; i < VPCI_BAR1_SIZE / 4; i++)
		s->bar[i] = mrd(4 * i);
	memcpy(s->v, vp.msix.v, sizeof(s->v));
	s->delivered = vp.msix.delivered;
	memcpy(s->routes, rt->routes, sizeof(s->routes));
	s->commits = rt->commits;
	memcpy(s->cfg, vp.pci.cfg, sizeof(s->cfg));
}

/* Index of the first vector slot that differs (any field: table words, pending bit, GSI, bound
 * eventfds), or MSIX_MAX_VECTORS. Both are copies of the same slots, padding included. */
static unsigned changed_vector(const struct msix_vector *a, const struct msix_vector *b)
{
	for (unsigned i = 0; i < MSIX_MAX_VECTORS; i++)
		if (memcmp(&a[i], &b[i], sizeof(a[i])))
			return i;
	return MSIX_MAX_VECTORS;
}

/* Offset of the first BAR dword that differs, or the BAR size. */
static unsigned changed_bar_offset(const uint32_t *a, const uint32_t *b)
{
	for (unsigned i = 0; i < VPCI_BAR1_SIZE / 4; i++)
		if (a[i] != b[i])
			return 4 * i;
	return VPCI_BAR1_SIZE;
}

/* First GSI whose route differs, or IRQ_ROUTING_MAX_GSI. */
static unsigned changed_gsi(const struct irq_route *a, const struct irq_route *b)
{
	for (unsigned i = 0; i < IRQ_ROUTING_MAX_GSI; i++)
		if (a[i].valid != b[i].valid || a[i].msi_addr != b[i].msi_addr || a[i].msi_data != b[i].msi_data)
			return i;
	return IRQ_ROUTING_MAX_GSI;
}

static void check_msix_unchanged(const struct msix_snapshot *before, const struct irq_routing *rt)
{
	static struct msix_snapshot now;
	msix_snapshot(&now, rt);
	CHECK_EQ(changed_bar_offset(now.bar, before->bar), VPCI_BAR1_SIZE);
	CHECK_EQ(changed_vector(now.v, before->v), MSIX_MAX_VECTORS);
	CHECK_EQ(now.delivered, before->delivered);
	CHECK_EQ(changed_gsi(now.routes, before->routes), IRQ_ROUTING_MAX_GSI);
	CHECK_EQ(now.commits, before->commits);
	CHECK(!memcmp(now.cfg, before->cfg, sizeof(now.cfg)));
}

/* The helper's lines say what changed; this one, which access changed it. */
#define CHECK_UNCHANGED(before, rt)                                                            \
	do {                                                                                   \
		int failed_ = check_failures;                                                  \
		check_msix_unchanged(before, rt);                                              \
		if (check_failures != failed_)                                                 \
			fprintf(stderr, "%s:%d: ^ by the access above\n", __FILE__, __LINE__); \
	} while (0)

static void check_msix(struct irq_routing *rt)
{
	static struct msix_snapshot snap;

	/* Vector 1: address/data, masked at reset. */
	mwr(16 + MSIX_ENTRY_ADDR_LO, 0xFEE01000);
	mwr(16 + MSIX_ENTRY_DATA, 0x41);
	CHECK_EQ(mrd(16 + MSIX_ENTRY_ADDR_LO), 0xFEE01000);
	CHECK_EQ(mrd(16 + MSIX_ENTRY_DATA), 0x41);
	CHECK_EQ(mrd(16 + MSIX_ENTRY_CTRL), MSIX_ENTRY_CTRL_MASKED);
	/* Raised while masked (and MSI-X off): pending, nothing sent. */
	pci_msix_notify(&vp.msix, 1);
	CHECK_EQ(vp.msix.delivered, 0);
	/* Vector 0 (config) is pending too: the NEEDS_RESET above was signalled on it. */
	CHECK_EQ(mrd(VPCI_MSIX_PBA_OFFSET), 1U << 1 | 1U << 0);
	msix_snapshot(&snap, rt);
	mwr(VPCI_MSIX_PBA_OFFSET, 0); /* PBA is read-only */
	CHECK_EQ(mrd(VPCI_MSIX_PBA_OFFSET), 1U << 1 | 1U << 0);
	CHECK_UNCHANGED(&snap, rt);
	/* Enable MSI-X through config space; the vector is still masked. */
	uint16_t ctrl = PCI_MSIX_FLAGS_ENABLE;
	memcpy(&vp.pci.cfg[vp.msix.cap + PCI_MSIX_FLAGS], &ctrl, 2);
	pci_msix_config_written(&vp.msix);
	CHECK_EQ(vp.msix.delivered, 0);
	CHECK_EQ(vp.msix.v[1].gsi, -1); /* no route for a masked vector yet */
	/* Unmask: the pending message goes out and the vector gets its KVM route. */
	mwr(16 + MSIX_ENTRY_CTRL, 0);
	CHECK_EQ(vp.msix.delivered, 1);
	CHECK_EQ(mrd(VPCI_MSIX_PBA_OFFSET), 1U << 0);
	int gsi = vp.msix.v[1].gsi;
	CHECK(gsi >= 24);
	if (gsi >= 24) {
		CHECK(rt->routes[gsi].valid);
		CHECK_EQ(rt->routes[gsi].msi_data, 0x41);
	}
	/* A changed data word updates the route. */
	mwr(16 + MSIX_ENTRY_DATA, 0x42);
	if (gsi >= 24)
		CHECK_EQ(rt->routes[gsi].msi_data, 0x42);
	pci_msix_notify(&vp.msix, 1);
	CHECK_EQ(vp.msix.delivered, 2);
	/* Function mask holds everything back. */
	ctrl |= PCI_MSIX_FLAGS_MASKALL;
	memcpy(&vp.pci.cfg[vp.msix.cap + PCI_MSIX_FLAGS], &ctrl, 2);
	pci_msix_config_written(&vp.msix);
	CHECK_EQ(vp.msix.delivered, 2);
	pci_msix_notify(&vp.msix, 1);
	CHECK_EQ(vp.msix.delivered, 2);
	CHECK_EQ(mrd(VPCI_MSIX_PBA_OFFSET), 1U << 1 | 1U << 0);
	ctrl &= (uint16_t)~PCI_MSIX_FLAGS_MASKALL;
	memcpy(&vp.pci.cfg[vp.msix.cap + PCI_MSIX_FLAGS], &ctrl, 2);
	pci_msix_config_written(&vp.msix);
	CHECK_EQ(vp.msix.delivered, 3);
	CHECK_EQ(mrd(VPCI_MSIX_PBA_OFFSET), 1U << 0); /* vector 0 is still masked */
	/* Odd accesses, entries past the table and vectors that do not exist are ignored: nothing
	 * anywhere changes. (Reading vector 3 back proves nothing, reads past the table are 0.) */
	msix_snapshot(&snap, rt);
	uint16_t half = 0xFFFF;
	pci_msix_bar_ops.write(&vp.msix, 16, &half, 2);
	CHECK_UNCHANGED(&snap, rt);
	mwr(3 * 16 + MSIX_ENTRY_ADDR_LO, 0xFEE0F000); /* vector 3 does not exist */
	mwr(3 * 16 + MSIX_ENTRY_CTRL, 0);
	CHECK_UNCHANGED(&snap, rt);
	pci_msix_notify(&vp.msix, 9);
	CHECK_UNCHANGED(&snap, rt);
}

/* The PCI_CFG capability: BAR registers reached through config space (4.1.4.9). */
static struct pci_bus cfg_bus;
#define CFG_DEVFN (1 << 3)

static void set_window(uint8_t bar, uint32_t off, uint32_t len)
{
	pci_config_write(&cfg_bus, 0, CFG_DEVFN, vp.cfg_cap + 4, &bar, 1);
	pci_config_write(&cfg_bus, 0, CFG_DEVFN, vp.cfg_cap + 8, &off, 4);
	pci_config_write(&cfg_bus, 0, CFG_DEVFN, vp.cfg_cap + 12, &len, 4);
}

static void window_write(uint32_t v) { pci_config_write(&cfg_bus, 0, CFG_DEVFN, vp.cfg_cap + 16, &v, 4); }

static void check_cfg_window(void)
{
	CHECK_EQ(pci_bus_init(&cfg_bus, NULL), 0);
	CHECK_EQ(pci_bus_add(&cfg_bus, 1, &vp.pci), 0);
	unsigned cap = vp.cfg_cap;
	CHECK(cap >= 0x40);
	CHECK_EQ(vp.pci.cfg[cap + 3], VIRTIO_PCI_CAP_PCI_CFG);
	uint32_t v = 0;
	set_window(VPCI_BAR_STRUCTS, VIRTIO_PCI_COMMON_NUMQ, 2);
	pci_config_read(&cfg_bus, 0, CFG_DEVFN, cap + 16, &v, 4);
	CHECK_EQ(v & 0xFFFF, 2); /* num_queues */
	set_window(VPCI_BAR_STRUCTS, VIRTIO_PCI_COMMON_DFSELECT, 4);
	window_write(1);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_DFSELECT, 4), 1);
	/* A window outside the BAR, or of a bad length, does nothing. */
	set_window(VPCI_BAR_STRUCTS, 0x100000, 4);
	window_write(0x1234);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_DFSELECT, 4), 1); /* e.g. not wrapped onto offset 0 */
	set_window(VPCI_BAR_STRUCTS, VIRTIO_PCI_COMMON_DFSELECT, 3);
	window_write(0x1234);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_DFSELECT, 4), 1);
	/* The capability header itself stays read-only. */
	uint8_t junk = 0x7F;
	pci_config_write(&cfg_bus, 0, CFG_DEVFN, cap + 3, &junk, 1);
	CHECK_EQ(vp.pci.cfg[cap + 3], VIRTIO_PCI_CAP_PCI_CFG);

	/* 1- and 2-byte accesses, as firmware makes them: device_status with a byte write and a
	 * byte read through the window, each reaching the register. */
	wr(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	set_window(VPCI_BAR_STRUCTS, VIRTIO_PCI_COMMON_STATUS, 1);
	uint8_t b = VIRTIO_CONFIG_S_ACKNOWLEDGE;
	pci_config_write(&cfg_bus, 0, CFG_DEVFN, cap + 16, &b, 1);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_STATUS, 1), VIRTIO_CONFIG_S_ACKNOWLEDGE);
	b = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	pci_config_write(&cfg_bus, 0, CFG_DEVFN, cap + 16, &b, 1);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_STATUS, 1), 0x03);
	wr(VIRTIO_PCI_COMMON_STATUS, 1, 0x03 | VIRTIO_CONFIG_S_FAILED); /* changed behind the window */
	b = 0;
	pci_config_read(&cfg_bus, 0, CFG_DEVFN, cap + 16, &b, 1);
	CHECK_EQ(b, 0x03 | VIRTIO_CONFIG_S_FAILED); /* read now, not what was last written there */
	/* A 4-byte config read of a 1-byte window: the byte read lands in the first byte. */
	v = 0;
	pci_config_read(&cfg_bus, 0, CFG_DEVFN, cap + 16, &v, 4);
	CHECK_EQ(v & 0xFF, 0x03 | VIRTIO_CONFIG_S_FAILED);
	/* queue_select with 2-byte accesses. */
	set_window(VPCI_BAR_STRUCTS, VIRTIO_PCI_COMMON_Q_SELECT, 2);
	uint16_t w = 1;
	pci_config_write(&cfg_bus, 0, CFG_DEVFN, cap + 16, &w, 2);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_Q_SELECT, 2), 1);
	wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	w = 0xFFFF;
	pci_config_read(&cfg_bus, 0, CFG_DEVFN, cap + 16, &w, 2);
	CHECK_EQ(w, 0);
	/* queue_notify of queue 1 with a 2-byte write: the queue's kick. */
	uint64_t kicks = 0;
	while (read(vp.queues[1].kick_fd, &kicks, 8) == 8)
		;
	set_window(VPCI_BAR_STRUCTS, VPCI_NOTIFY_OFFSET + VPCI_NOTIFY_MULT, 2);
	w = 1;
	pci_config_write(&cfg_bus, 0, CFG_DEVFN, cap + 16, &w, 2);
	kicks = 0;
	CHECK_EQ(read(vp.queues[1].kick_fd, &kicks, 8), 8);
	CHECK_EQ(kicks, 1);
	/* A bad window still does nothing with narrow accesses: a 2-byte window at an odd offset. */
	set_window(VPCI_BAR_STRUCTS, VIRTIO_PCI_COMMON_Q_SELECT + 1, 2);
	w = 1;
	pci_config_write(&cfg_bus, 0, CFG_DEVFN, cap + 16, &w, 2);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_Q_SELECT, 2), 0);
	wr(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	pci_bus_destroy(&cfg_bus);
}

/* Reset, negotiate, set up the queues of the mask (queue 0 on vec0, queue 1 on vec1), then
 * DRIVER_OK. */
static void bring_up(unsigned queues, uint16_t vec0, uint16_t vec1)
{
	wr(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	wr(VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	set_features(1ULL << 32 | 1ULL << 5);
	wr(VIRTIO_PCI_COMMON_STATUS, 1, 0x0B);
	if (queues & 1)
		setup_queue_vector(0, 0x100000, 256, vec0);
	if (queues & 2)
		setup_queue_vector(1, 0x200000, 256, vec1);
	wr(VIRTIO_PCI_COMMON_STATUS, 1, 0x0F);
}

/* Virtio 1.2, 2.1.2: the driver must not clear status bits; only 0 resets. After DRIVER_OK such
 * a write is a device error: the status keeps its bits and gains NEEDS_RESET, the data path
 * stops, the features stay locked and the queue fields frozen, and DRIVER_OK again starts
 * nothing. Both orders: FEATURES_OK cleared, and DRIVER_OK cleared with FEATURES_OK kept. */
static void check_status_clear(void)
{
	static const uint8_t bad[] = { 0x07, 0x0B };
	for (unsigned i = 0; i < 2; i++) {
		bring_up(1, 1, 2); /* queue 1 left disabled */
		CHECK_EQ(rd(VIRTIO_PCI_COMMON_STATUS, 1), 0x0F);
		CHECK(vp.active);
		int a = activations, r = resets;
		wr(VIRTIO_PCI_COMMON_STATUS, 1, bad[i]);
		CHECK_EQ(rd(VIRTIO_PCI_COMMON_STATUS, 1), 0x0F | VIRTIO_CONFIG_S_NEEDS_RESET);
		CHECK_EQ(resets, r + 1);
		CHECK(!vp.active);
		wr(VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
		wr(VIRTIO_PCI_COMMON_GF, 4, 0xFFFFFFFF);
		CHECK_EQ(rd(VIRTIO_PCI_COMMON_GF, 4), 1U << 5);
		/* No ring address change is accepted, on the disabled queue or the running one. */
		wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, 1);
		wr(VIRTIO_PCI_COMMON_Q_DESCLO, 4, 0x5000);
		CHECK_EQ(rd(VIRTIO_PCI_COMMON_Q_DESCLO, 4), 0);
		wr(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
		CHECK_EQ(rd(VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
		wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
		wr(VIRTIO_PCI_COMMON_Q_USEDLO, 4, 0x5000);
		CHECK_EQ(rd(VIRTIO_PCI_COMMON_Q_USEDLO, 4), 0x102000);
		wr(VIRTIO_PCI_COMMON_STATUS, 1, 0x0F);
		CHECK_EQ(activations, a);
		CHECK_EQ(rd(VIRTIO_PCI_COMMON_STATUS, 1), 0x0F | VIRTIO_CONFIG_S_NEEDS_RESET);
		/* Reset: the data path already stopped, so no second stop. */
		wr(VIRTIO_PCI_COMMON_STATUS, 1, 0);
		CHECK_EQ(resets, r + 1);
		CHECK_EQ(rd(VIRTIO_PCI_COMMON_STATUS, 1), 0);
	}
	/* Setting more bits after DRIVER_OK (FAILED) clears none: accepted. */
	bring_up(1, 1, 2);
	wr(VIRTIO_PCI_COMMON_STATUS, 1, 0x0F | VIRTIO_CONFIG_S_FAILED);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_STATUS, 1), 0x0F | VIRTIO_CONFIG_S_FAILED);
	CHECK(vp.active);
	wr(VIRTIO_PCI_COMMON_STATUS, 1, 0);
}

static void drain_fd(int fd)
{
	uint64_t n;
	while (read(fd, &n, 8) == 8)
		;
}
static void signal_fd(int fd) { uint64_t one = 1; CHECK_EQ(write(fd, &one, 8), 8); }
static uint32_t pending(unsigned vec) { return mrd(VPCI_MSIX_PBA_OFFSET) >> vec & 1; }

/* Both queues on one MSI-X vector (the spec allows it): each queue's call fd stays bound, so an
 * interrupt of either is pending while the vector is masked and sent on unmask; a reset unbinds
 * both; set up again on separate vectors, each queue reaches only its own. */
static void check_shared_vector(void)
{
	mwr(16 + MSIX_ENTRY_CTRL, 0);
	bring_up(3, 1, 1);
	CHECK(vp.active);
	mwr(16 + MSIX_ENTRY_CTRL, MSIX_ENTRY_CTRL_MASKED);
	CHECK_EQ(pending(1), 0);
	signal_fd(vp.queues[0].call_fd);
	CHECK_EQ(pending(1), 1); /* lost when queue 1's binding replaced queue 0's */
	signal_fd(vp.queues[1].call_fd);
	CHECK_EQ(pending(1), 1);
	uint64_t d = vp.msix.delivered;
	mwr(16 + MSIX_ENTRY_CTRL, 0);
	CHECK_EQ(vp.msix.delivered, d + 1);
	CHECK_EQ(pending(1), 0);
	/* Reset: neither queue reaches the vector any more. */
	wr(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	mwr(16 + MSIX_ENTRY_CTRL, MSIX_ENTRY_CTRL_MASKED);
	signal_fd(vp.queues[0].call_fd);
	signal_fd(vp.queues[1].call_fd);
	CHECK_EQ(pending(1), 0);
	drain_fd(vp.queues[0].call_fd);
	drain_fd(vp.queues[1].call_fd);
	/* Each on its own vector now: queue 0 on 2, queue 1 on 1. */
	bring_up(3, 2, 1);
	signal_fd(vp.queues[0].call_fd);
	CHECK_EQ(pending(2), 1);
	CHECK_EQ(pending(1), 0);
	signal_fd(vp.queues[1].call_fd);
	CHECK_EQ(pending(1), 1);
	wr(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	mwr(16 + MSIX_ENTRY_CTRL, 0); /* sends what was pending on vector 1 */
	mwr(32 + MSIX_ENTRY_CTRL, 0);
	mwr(32 + MSIX_ENTRY_CTRL, MSIX_ENTRY_CTRL_MASKED);
	CHECK_EQ(pending(1) | pending(2), 0);
}

/* Bus Master Enable: DRIVER_OK while it is clear starts nothing (and is no error); setting it
 * starts the device. Clearing it while running stops the data path's DMA (ops->bus_master) and
 * holds the queues' MSIs pending; setting it again resumes and sends them. */
static void check_bus_master(void)
{
	wr(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	mwr(16 + MSIX_ENTRY_CTRL, 0);
	int a = activations, r = resets;
	set_master(false);
	CHECK_EQ(dma_stops, 0); /* nothing runs */
	bring_up(3, 1, 2);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_STATUS, 1), 0x0F);
	CHECK_EQ(activations, a);
	CHECK(!vp.active);
	set_master(true);
	CHECK_EQ(activations, a + 1);
	CHECK(vp.active);
	CHECK_EQ(dma_resumes, 0); /* a start, not a resume */
	/* Running, vector 1 unmasked: clearing stops DMA once; queue 0's interrupt and vmm's own
	 * message on vector 1 wait. */
	uint64_t d = vp.msix.delivered;
	set_master(false);
	CHECK_EQ(dma_stops, 1);
	CHECK(vp.active);
	signal_fd(vp.queues[0].call_fd);
	pci_msix_notify(&vp.msix, 1);
	CHECK_EQ(vp.msix.delivered, d);
	CHECK_EQ(pending(1), 1);
	set_master(false); /* a command write that leaves it clear */
	CHECK_EQ(dma_stops, 1);
	set_master(true);
	CHECK_EQ(dma_resumes, 1);
	CHECK_EQ(vp.msix.delivered, d + 1);
	CHECK_EQ(pending(1), 0);
	CHECK_EQ(rd(VIRTIO_PCI_COMMON_STATUS, 1), 0x0F);
	/* Reset while it is clear: the data path stops once. */
	set_master(false);
	CHECK_EQ(dma_stops, 2);
	wr(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	CHECK_EQ(resets, r + 1);
	CHECK(!vp.active);
	/* DRIVER_OK, reset, then Bus Master Enable: the reset forgot the DRIVER_OK. */
	bring_up(3, 1, 2);
	wr(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	set_master(true);
	CHECK_EQ(activations, a + 1);
	/* A device that needs a reset does not start when it is set. */
	set_master(false);
	bring_up(3, 1, 2);
	wr(VIRTIO_PCI_COMMON_STATUS, 1, 0x0B);
	set_master(true);
	CHECK_EQ(activations, a + 1);
	CHECK(rd(VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_NEEDS_RESET);
	wr(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	CHECK_EQ(resets, r + 1);
}

int main(void)
{
	struct irq_routing rt;
	CHECK_EQ(guest_memory_init(&mem, 64 * 1024 * 1024), 0);
	CHECK_EQ(irq_routing_init(&rt, -1, 24), 0);
	CHECK_EQ(virtio_pci_init(&vp, &ops, NULL, &mem, &rt, -1), 0);
	set_master(true); /* as the driver does (pci_set_master) before it starts the device */
	check_caps();
	check_negotiation();
	check_driver_ok_without_features_ok();
	check_queues_and_activation();
	check_msix(&rt);
	check_cfg_window();
	check_status_clear();
	check_shared_vector();
	check_bus_master();
	virtio_pci_destroy(&vp);
	irq_routing_destroy(&rt);
	return check_report("virtio_pci");
}
