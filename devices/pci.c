/* PCI configuration space semantics and the two ways in: ECAM and CF8/CFC. */
#include "pci.h"

#include "../vmm/layout.h"

#include <errno.h>
#include <string.h>

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

void pci_device_init(struct pci_device *dev, const char *name, uint16_t vendor, uint16_t device,
		     uint32_t class_code, uint8_t header_type)
{
	memset(dev, 0, sizeof(*dev));
	dev->name = name;
	put16(&dev->cfg[PCI_VENDOR_ID], vendor);
	put16(&dev->cfg[PCI_DEVICE_ID], device);
	dev->cfg[PCI_CLASS_REVISION + 1] = (uint8_t)class_code;        /* prog-if */
	dev->cfg[PCI_CLASS_REVISION + 2] = (uint8_t)(class_code >> 8);  /* sub-class */
	dev->cfg[PCI_CLASS_REVISION + 3] = (uint8_t)(class_code >> 16); /* base class */
	dev->cfg[PCI_HEADER_TYPE] = header_type;
	put16(&dev->wmask[PCI_COMMAND], PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
						PCI_COMMAND_PARITY | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE);
	put16(&dev->w1cmask[PCI_STATUS], PCI_STATUS_PARITY | PCI_STATUS_SIG_TARGET_ABORT |
						 PCI_STATUS_REC_TARGET_ABORT | PCI_STATUS_REC_MASTER_ABORT |
						 PCI_STATUS_SIG_SYSTEM_ERROR | PCI_STATUS_DETECTED_PARITY);
	dev->wmask[PCI_CACHE_LINE_SIZE] = 0xFF;
	dev->wmask[PCI_LATENCY_TIMER] = 0xFF;
	dev->wmask[PCI_INTERRUPT_LINE] = 0xFF;
}

int pci_device_set_bar(struct pci_device *dev, unsigned index, uint64_t size, bool io, bool mem64)
{
	if (index >= PCI_NUM_BARS || (mem64 && (io || index + 1 >= PCI_NUM_BARS)))
		return -EINVAL;
	if (size & (size - 1) || size < (io ? 4 : 16) || (io && size > 256))
		return -EINVAL;
	dev->bars[index] = (struct pci_bar){ .size = size, .io = io, .mem64 = mem64 };
	unsigned reg = PCI_BASE_ADDRESS_0 + 4 * index;
	/* Low bits of a BAR are hard-wired: the type, and zeros below the size (sizing reads them). */
	uint64_t mask = ~(size - 1);
	uint32_t type = io ? PCI_BASE_ADDRESS_SPACE_IO : mem64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0;
	put32(&dev->cfg[reg], type);
	put32(&dev->wmask[reg], (uint32_t)mask & (io ? ~3U : ~0xFU));
	if (mem64) {
		dev->bars[index + 1] = (struct pci_bar){ 0 };
		put32(&dev->cfg[reg + 4], 0);
		put32(&dev->wmask[reg + 4], (uint32_t)(mask >> 32));
	}
	return 0;
}

void pci_host_bridge_init(struct pci_device *dev)
{
	pci_device_init(dev, "q35-host-bridge", PCI_VENDOR_INTEL, PCI_DEVICE_Q35_MCH,
			PCI_CLASS_BRIDGE_HOST << 8, PCI_HEADER_TYPE_NORMAL);
	/* A host bridge is always enabled to decode memory and I/O. */
	put16(&dev->cfg[PCI_COMMAND], PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
}

void pci_device_set_bar_ops(struct pci_device *dev, unsigned index, const struct bus_ops *ops, void *opaque)
{
	dev->bars[index].ops = ops;
	dev->bars[index].opaque = opaque;
}

unsigned pci_device_add_cap(struct pci_device *dev, const void *cap, unsigned len)
{
	unsigned off = dev->next_cap ? dev->next_cap : PCI_STD_HEADER_SIZEOF;
	off = (off + 3) & ~3U;
	if (len < 2 || off + len > 256)
		return 0;
	memcpy(&dev->cfg[off], cap, len);
	dev->cfg[off + PCI_CAP_LIST_NEXT] = 0;
	if (dev->last_cap)
		dev->cfg[dev->last_cap + PCI_CAP_LIST_NEXT] = (uint8_t)off;
	else
		dev->cfg[PCI_CAPABILITY_LIST] = (uint8_t)off;
	dev->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	dev->last_cap = off;
	dev->next_cap = off + len;
	return off;
}

unsigned pci_device_add_ext_cap(struct pci_device *dev, uint16_t id, uint8_t version, const void *body, unsigned len)
{
	unsigned off = dev->next_ext_cap ? dev->next_ext_cap : PCI_CFG_SPACE_SIZE;
	off = (off + 3) & ~3U;
	if (off + 4 + len > PCI_CFG_SIZE)
		return 0;
	/* Header (PCIe base spec 7.6.3): ID 15:0, version 19:16, next 31:20. */
	uint32_t hdr = id | (uint32_t)version << 16;
	memcpy(&dev->cfg[off], &hdr, 4);
	memcpy(&dev->cfg[off + 4], body, len);
	if (dev->last_ext_cap) {
		uint32_t prev;
		memcpy(&prev, &dev->cfg[dev->last_ext_cap], 4);
		prev = (prev & 0xFFFFF) | (uint32_t)off << 20;
		memcpy(&dev->cfg[dev->last_ext_cap], &prev, 4);
	}
	dev->last_ext_cap = off;
	dev->next_ext_cap = off + 4 + len;
	return off;
}

uint64_t pci_bar_address(const struct pci_device *dev, unsigned index)
{
	uint32_t lo, hi = 0;
	memcpy(&lo, &dev->cfg[PCI_BASE_ADDRESS_0 + 4 * index], 4);
	if (dev->bars[index].mem64)
		memcpy(&hi, &dev->cfg[PCI_BASE_ADDRESS_0 + 4 * index + 4], 4);
	return ((uint64_t)hi << 32 | lo) & (dev->bars[index].io ? ~3ULL : ~0xFULL);
}

int pci_bus_init(struct pci_bus *bus, struct bus *mmio)
{
	memset(bus, 0, sizeof(*bus));
	bus->mmio = mmio;
	bus->mmio32_next = PCI_MMIO32_START;
	int ret = -pthread_mutex_init(&bus->lock, NULL);
	return ret ? ret : -pthread_mutex_init(&bus->map_lock, NULL);
}

void pci_bus_destroy(struct pci_bus *bus)
{
	pthread_mutex_destroy(&bus->lock);
	pthread_mutex_destroy(&bus->map_lock);
}

/* Maps each memory BAR where its register points while memory decoding is on; unmaps it
 * otherwise (PCI Local Bus 3.0, 6.2.5.1). A BAR the guest points at something else (a sizing
 * value, an overlap) stays unmapped until it is moved somewhere valid. */
static void update_bar_mappings(struct pci_bus *bus, struct pci_device *dev)
{
	if (!bus->mmio)
		return;
	pthread_mutex_lock(&bus->map_lock);
	pthread_mutex_lock(&bus->lock);
	uint16_t cmd;
	memcpy(&cmd, &dev->cfg[PCI_COMMAND], 2);
	uint64_t want[PCI_NUM_BARS];
	for (unsigned i = 0; i < PCI_NUM_BARS; i++)
		want[i] = (cmd & PCI_COMMAND_MEMORY) && dev->bars[i].size && !dev->bars[i].io && dev->bars[i].ops
				  ? pci_bar_address(dev, i) : 0;
	pthread_mutex_unlock(&bus->lock);
	for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
		struct pci_bar *b = &dev->bars[i];
		uint64_t old = b->mapped;
		if (want[i] == old)
			continue;
		if (old && bus_unregister(bus->mmio, old) == 0)
			b->mapped = 0;
		if (want[i] && bus_register(bus->mmio, want[i], b->size, b->ops, b->opaque, dev->name) == 0)
			b->mapped = want[i];
		else if (want[i])
			log_guest("pci: %s BAR%u at 0x%llx overlaps or wraps; left unmapped", dev->name, i,
				  (unsigned long long)want[i]);
		if (b->mapped != old && dev->bar_moved)
			dev->bar_moved(dev, i, old, b->mapped);
	}
	pthread_mutex_unlock(&bus->map_lock);
}

bool pci_bus_master_enabled(const struct pci_device *dev)
{
	uint16_t cmd;
	memcpy(&cmd, &dev->cfg[PCI_COMMAND], 2);
	return cmd & PCI_COMMAND_MASTER;
}

int pci_bus_add(struct pci_bus *bus, unsigned slot, struct pci_device *dev)
{
	if (slot >= PCI_SLOTS)
		return -EINVAL;
	if (bus->slots[slot])
		return -EEXIST;
	bool any = false;
	for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
		struct pci_bar *b = &dev->bars[i];
		if (!b->size || b->io)
			continue;
		uint64_t addr = (bus->mmio32_next + b->size - 1) & ~(b->size - 1);
		if (addr + b->size > PCI_MMIO32_END)
			return -ENOSPC;
		bus->mmio32_next = addr + b->size;
		uint32_t lo;
		memcpy(&lo, &dev->cfg[PCI_BASE_ADDRESS_0 + 4 * i], 4);
		lo = (lo & 0xF) | (uint32_t)addr;
		memcpy(&dev->cfg[PCI_BASE_ADDRESS_0 + 4 * i], &lo, 4);
		any = true;
	}
	if (any)
		dev->cfg[PCI_COMMAND] |= PCI_COMMAND_MEMORY;
	dev->rid = (uint16_t)(slot << 3); /* bus 0, function 0 */
	pthread_mutex_lock(&bus->lock);
	bus->slots[slot] = dev;
	pthread_mutex_unlock(&bus->lock);
	update_bar_mappings(bus, dev);
	return 0;
}

static struct pci_device *find(struct pci_bus *bus, unsigned busno, unsigned devfn)
{
	/* Only function 0 of each slot exists; other functions read as absent. */
	if (busno != 0 || PCI_FUNC(devfn) != 0)
		return NULL;
	return bus->slots[PCI_SLOT(devfn)];
}

/* An access must be naturally aligned and inside the 4 KiB space; others are dropped. */
static bool access_ok(unsigned reg, unsigned len)
{
	return (len == 1 || len == 2 || len == 4) && !(reg & (len - 1)) && reg + len <= PCI_CFG_SIZE;
}

void pci_config_read(struct pci_bus *bus, unsigned busno, unsigned devfn, unsigned reg, void *data, unsigned len)
{
	memset(data, 0xFF, len);
	if (!access_ok(reg, len))
		return;
	pthread_mutex_lock(&bus->lock);
	struct pci_device *dev = find(bus, busno, devfn);
	if (dev)
		memcpy(data, &dev->cfg[reg], len);
	pthread_mutex_unlock(&bus->lock);
	if (dev && dev->config_read)
		dev->config_read(dev, reg, data, len);
}

void pci_config_write(struct pci_bus *bus, unsigned busno, unsigned devfn, unsigned reg, const void *data, unsigned len)
{
	if (!access_ok(reg, len)) {
		log_guest("pci: unaligned %u-byte config write at 0x%x ignored", len, reg);
		return;
	}
	pthread_mutex_lock(&bus->lock);
	struct pci_device *dev = find(bus, busno, devfn);
	if (dev) {
		const uint8_t *in = data;
		for (unsigned i = 0; i < len; i++) {
			unsigned r = reg + i;
			uint8_t w = dev->wmask[r], c = dev->w1cmask[r];
			dev->cfg[r] = (uint8_t)((dev->cfg[r] & ~w) | (in[i] & w));
			dev->cfg[r] &= (uint8_t)~(in[i] & c);
		}
	}
	pthread_mutex_unlock(&bus->lock);
	if (!dev)
		return;
	if (reg < PCI_BASE_ADDRESS_5 + 4 && reg + len > PCI_COMMAND)
		update_bar_mappings(bus, dev);
	if (dev->config_written)
		dev->config_written(dev, reg, len);
}

static void ecam_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	pci_config_read(opaque, PCI_ECAM_BUS(off), PCI_ECAM_DEVFN(off), PCI_ECAM_REG(off), data, len);
}

static void ecam_write(void *opaque, uint64_t off, const void *data, unsigned len)
{
	pci_config_write(opaque, PCI_ECAM_BUS(off), PCI_ECAM_DEVFN(off), PCI_ECAM_REG(off), data, len);
}

static void cf8_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	struct pci_bus *bus = opaque;
	uint32_t v;
	pthread_mutex_lock(&bus->lock);
	v = bus->cf8;
	pthread_mutex_unlock(&bus->lock);
	memset(data, 0xFF, len);
	if (off == 0 && len == 4)
		memcpy(data, &v, 4);
}

static void cf8_write(void *opaque, uint64_t off, const void *data, unsigned len)
{
	struct pci_bus *bus = opaque;
	/* Only a 32-bit access at 0xCF8 is the address register; byte writes there (0xCF9 is the
	 * reset register) are something else. */
	if (off != 0 || len != 4)
		return;
	pthread_mutex_lock(&bus->lock);
	memcpy(&bus->cf8, data, 4);
	bus->cf8 &= PCI_CF8_ENABLE | 0x00FFFFFC;
	pthread_mutex_unlock(&bus->lock);
}

static void cfc_access(struct pci_bus *bus, bool is_write, uint64_t off, void *data, unsigned len)
{
	pthread_mutex_lock(&bus->lock);
	uint32_t addr = bus->cf8;
	pthread_mutex_unlock(&bus->lock);
	if (!(addr & PCI_CF8_ENABLE)) {
		if (!is_write)
			memset(data, 0xFF, len);
		return;
	}
	unsigned reg = PCI_CF8_REG(addr) + (unsigned)off;
	if (is_write)
		pci_config_write(bus, PCI_CF8_BUS(addr), PCI_CF8_DEVFN(addr), reg, data, len);
	else
		pci_config_read(bus, PCI_CF8_BUS(addr), PCI_CF8_DEVFN(addr), reg, data, len);
}

static void cfc_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	cfc_access(opaque, false, off, data, len);
}

static void cfc_write(void *opaque, uint64_t off, const void *data, unsigned len)
{
	cfc_access(opaque, true, off, (void *)data, len);
}

const struct bus_ops pci_ecam_ops = { .read = ecam_read, .write = ecam_write };
const struct bus_ops pci_cf8_ops = { .read = cf8_read, .write = cf8_write };
const struct bus_ops pci_cfc_ops = { .read = cfc_read, .write = cfc_write };
