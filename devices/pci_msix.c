/* MSI-X vector table, PBA, masking, and the KVM routes and irqfds behind the vectors. */
#include "pci_msix.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static uint16_t msg_ctrl(const struct pci_msix *m)
{
	uint16_t c;
	memcpy(&c, &m->dev->cfg[m->cap + PCI_MSIX_FLAGS], 2);
	return c;
}

static bool function_active(const struct pci_msix *m)
{
	uint16_t c = msg_ctrl(m);
	return (c & PCI_MSIX_FLAGS_ENABLE) && !(c & PCI_MSIX_FLAGS_MASKALL);
}

/* A vector may send while MSI-X is on, the function is not masked and the vector is not, and
 * while the function may master the bus: an MSI is a memory write (PCI Local Bus 3.0, 6.8.1.3,
 * Bus Master Enable "disables the function from issuing MSI/MSI-X"). A message raised meanwhile
 * waits in the pending bit, as one raised while masked does. */
static bool vector_active(const struct pci_msix *m, const struct msix_vector *v)
{
	return function_active(m) && pci_bus_master_enabled(m->dev) && !(v->ctrl & MSIX_ENTRY_CTRL_MASKED);
}

static uint64_t vec_addr(const struct msix_vector *v) { return (uint64_t)v->addr_hi << 32 | v->addr_lo; }

/* Drains one eventfd that is not an irqfd into the vector's pending bit. Lock held. */
static void collect_one(struct msix_vector *v, const struct msix_irqfd *b)
{
	uint64_t count;
	if (!b->on && read(b->fd, &count, sizeof(count)) == sizeof(count) && count)
		v->pending = true;
}

/* Drains every eventfd of a vector that cannot send into its pending bit. Lock held. */
static void collect_pending(struct msix_vector *v)
{
	for (unsigned k = 0; k < v->nirqfds; k++)
		collect_one(v, &v->irqfds[k]);
}

/* Assigns (or deassigns) one bound eventfd as an irqfd on the vector's GSI. Lock held. */
static int set_irqfd(struct pci_msix *m, struct msix_vector *v, struct msix_irqfd *b, bool on)
{
	if (b->on == on)
		return 0;
	if (on)
		collect_one(v, b); /* counted while it could not send: pending, sent below */
	int ret = irq_routing_irqfd(m->routing, (unsigned)v->gsi, b->fd, on);
	if (!ret || !on)
		b->on = on; /* a refused deassign leaves nothing we could retry */
	return ret;
}

/* Brings one vector's route and irqfd in line with its mask state. Lock held. */
static void sync_vector(struct pci_msix *m, unsigned i)
{
	struct msix_vector *v = &m->v[i];
	int ret = 0;
	if (vector_active(m, v)) {
		if (v->gsi < 0)
			v->gsi = irq_routing_alloc_gsi(m->routing);
		if (v->gsi < 0) {
			log_guest("msix: %s: no GSI left for vector %u", m->dev->name, i);
			return;
		}
		ret = irq_routing_set_msi(m->routing, (unsigned)v->gsi, m->dev->rid, vec_addr(v), v->data);
		/* Every eventfd bound to the vector, not only the first. */
		for (unsigned k = 0; !ret && k < v->nirqfds; k++)
			ret = set_irqfd(m, v, &v->irqfds[k], true);
		/* A message that arrived while masked is sent on unmask (PCI 3.0, 6.8.3.4). */
		if (!ret && v->pending) {
			v->pending = false;
			ret = irq_routing_send_msi(m->routing, m->dev->rid, vec_addr(v), v->data);
			m->delivered++;
		}
	} else {
		for (unsigned k = 0; k < v->nirqfds; k++) {
			int r = set_irqfd(m, v, &v->irqfds[k], false);
			ret = ret ? ret : r;
		}
		/* A masked vector has no route: with interrupt remapping its IRTE may be gone (Linux
		 * zeroes it when it frees the vector), and translating it would be a false fault. */
		if (!ret && v->gsi >= 0)
			ret = irq_routing_clear(m->routing, (unsigned)v->gsi);
	}
	if (ret)
		log_guest("msix: %s vector %u: KVM refused the update: %s", m->dev->name, i, strerror(-ret));
}

int pci_msix_init(struct pci_msix *m, struct pci_device *dev, struct irq_routing *rt, unsigned nvec,
		  unsigned bar, uint32_t pba_offset)
{
	memset(m, 0, sizeof(*m));
	if (nvec == 0 || nvec > MSIX_MAX_VECTORS || pba_offset < nvec * MSIX_ENTRY_SIZE || bar >= PCI_NUM_BARS)
		return -EINVAL;
	m->dev = dev;
	m->routing = rt;
	m->nvec = nvec;
	m->pba_offset = pba_offset;
	for (unsigned i = 0; i < nvec; i++) {
		m->v[i] = (struct msix_vector){ .ctrl = MSIX_ENTRY_CTRL_MASKED, .gsi = -1 };
	}
	uint8_t cap[MSIX_CAP_SIZE] = { PCI_CAP_ID_MSIX, 0 };
	uint16_t ctrl = (uint16_t)(nvec - 1);
	uint32_t table = bar, pba = pba_offset | bar;
	memcpy(&cap[PCI_MSIX_FLAGS], &ctrl, 2);
	memcpy(&cap[PCI_MSIX_TABLE], &table, 4);
	memcpy(&cap[PCI_MSIX_PBA], &pba, 4);
	m->cap = pci_device_add_cap(dev, cap, sizeof(cap));
	if (!m->cap)
		return -ENOSPC;
	uint16_t wm = PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL;
	memcpy(&dev->wmask[m->cap + PCI_MSIX_FLAGS], &wm, 2);
	return -pthread_mutex_init(&m->lock, NULL);
}

void pci_msix_destroy(struct pci_msix *m)
{
	pthread_mutex_destroy(&m->lock);
}

void pci_msix_config_written(struct pci_msix *m)
{
	pthread_mutex_lock(&m->lock);
	/* Enabling or unmasking the function changes every vector's route: one commit for all. */
	irq_routing_batch_begin(m->routing);
	for (unsigned i = 0; i < m->nvec; i++)
		sync_vector(m, i);
	int ret = irq_routing_batch_end(m->routing);
	if (ret)
		log_guest("msix: %s: KVM refused the routes: %s", m->dev->name, strerror(-ret));
	pthread_mutex_unlock(&m->lock);
}

/* Index of fd among the vector's eventfds, or -1. Lock held. */
static int find_irqfd(const struct msix_vector *v, int fd)
{
	for (unsigned k = 0; k < v->nirqfds; k++)
		if (v->irqfds[k].fd == fd)
			return (int)k;
	return -1;
}

int pci_msix_bind_irqfd(struct pci_msix *m, unsigned vec, int fd)
{
	if (vec >= m->nvec || fd < 0)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	struct msix_vector *v = &m->v[vec];
	int ret = 0;
	if (find_irqfd(v, fd) < 0) {
		if (v->nirqfds == MSIX_MAX_IRQFDS)
			ret = -ENOSPC;
		else
			v->irqfds[v->nirqfds++] = (struct msix_irqfd){ .fd = fd };
	}
	if (!ret)
		sync_vector(m, vec);
	pthread_mutex_unlock(&m->lock);
	return ret;
}

int pci_msix_unbind_irqfd(struct pci_msix *m, unsigned vec, int fd)
{
	if (vec >= m->nvec)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	struct msix_vector *v = &m->v[vec];
	int k = find_irqfd(v, fd), ret = 0;
	if (k >= 0) {
		struct msix_irqfd *b = &v->irqfds[k];
		if (b->on)
			ret = set_irqfd(m, v, b, false);
		else
			collect_one(v, b);
		*b = v->irqfds[--v->nirqfds];
	}
	pthread_mutex_unlock(&m->lock);
	return ret;
}

bool pci_msix_irqfd_bound(struct pci_msix *m, unsigned vec, int fd, bool *assigned)
{
	if (vec >= m->nvec)
		return false;
	pthread_mutex_lock(&m->lock);
	int k = find_irqfd(&m->v[vec], fd);
	if (assigned)
		*assigned = k >= 0 && m->v[vec].irqfds[k].on;
	pthread_mutex_unlock(&m->lock);
	return k >= 0;
}

void pci_msix_notify(struct pci_msix *m, unsigned vec)
{
	if (vec >= m->nvec)
		return;
	pthread_mutex_lock(&m->lock);
	struct msix_vector *v = &m->v[vec];
	if (vector_active(m, v)) {
		int ret = irq_routing_send_msi(m->routing, m->dev->rid, vec_addr(v), v->data);
		if (ret)
			log_guest("msix: %s vector %u: delivery failed: %s", m->dev->name, vec, strerror(-ret));
		m->delivered++;
	} else {
		v->pending = true;
	}
	pthread_mutex_unlock(&m->lock);
}

static void bar_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	struct pci_msix *m = opaque;
	uint64_t val = 0;
	memset(data, 0, len);
	if ((len != 4 && len != 8) || (off & (len - 1))) {
		log_guest("msix: %s: %u-byte read at 0x%llx ignored", m->dev->name, len, (unsigned long long)off);
		return;
	}
	pthread_mutex_lock(&m->lock);
	if (off < m->nvec * MSIX_ENTRY_SIZE) {
		const struct msix_vector *v = &m->v[off / MSIX_ENTRY_SIZE];
		uint32_t words[4] = { v->addr_lo, v->addr_hi, v->data, v->ctrl };
		unsigned w = (off % MSIX_ENTRY_SIZE) / 4;
		val = words[w];
		if (len == 8 && w < 3)
			val |= (uint64_t)words[w + 1] << 32;
	} else if (off >= m->pba_offset && off < m->pba_offset + 8) {
		for (unsigned i = 0; i < m->nvec; i++) {
			collect_pending(&m->v[i]);
			if (m->v[i].pending)
				val |= 1ULL << i;
		}
		val >>= 8 * (off - m->pba_offset);
	}
	pthread_mutex_unlock(&m->lock);
	memcpy(data, &val, len);
}

static void write_word(struct pci_msix *m, uint64_t off, uint32_t val)
{
	if (off >= m->nvec * MSIX_ENTRY_SIZE) {
		log_guest("msix: %s: write to the read-only PBA or past the table ignored", m->dev->name);
		return;
	}
	unsigned i = off / MSIX_ENTRY_SIZE;
	struct msix_vector *v = &m->v[i];
	switch (off % MSIX_ENTRY_SIZE) {
	case MSIX_ENTRY_ADDR_LO: v->addr_lo = val & ~3U; break; /* DWORD aligned */
	case MSIX_ENTRY_ADDR_HI: v->addr_hi = val; break;
	case MSIX_ENTRY_DATA: v->data = val; break;
	default: v->ctrl = val & MSIX_ENTRY_CTRL_MASKED; break;
	}
	sync_vector(m, i);
}

static void bar_write(void *opaque, uint64_t off, const void *data, unsigned len)
{
	struct pci_msix *m = opaque;
	if ((len != 4 && len != 8) || (off & (len - 1))) {
		log_guest("msix: %s: %u-byte write at 0x%llx ignored", m->dev->name, len, (unsigned long long)off);
		return;
	}
	uint64_t val = 0;
	memcpy(&val, data, len);
	pthread_mutex_lock(&m->lock);
	write_word(m, off, (uint32_t)val);
	if (len == 8)
		write_word(m, off + 4, (uint32_t)(val >> 32));
	pthread_mutex_unlock(&m->lock);
}

const struct bus_ops pci_msix_bar_ops = { .read = bar_read, .write = bar_write };
