/* The IOAPIC: register window, redirection table, edge and level delivery, remote IRR and EOI. */
#include "ioapic.h"

#include <errno.h>
#include <string.h>

#include "ioapic_regs.h"

static bool rte_masked(uint64_t rte) { return rte & IOAPIC_RTE_MASKED; }
static bool rte_level(uint64_t rte) { return rte & IOAPIC_RTE_TRIGGER_LEVEL; }

void ioapic_rte_to_msi(uint64_t rte, uint64_t *addr, uint32_t *data)
{
	if (rte & IOAPIC_RTE_IR_FORMAT) {
		/* Remappable format (VT-d spec 5.1.5.1): the handle goes in the address, bits 7:0 and
		 * the trigger mode in the data; the remapping unit finds the rest in the IRTE. */
		uint64_t handle = (rte >> IOAPIC_RTE_IR_HANDLE_SHIFT) & 0x7FFF;
		*addr = MSI_ADDR_BASE | MSI_ADDR_IR_FORMAT | handle << MSI_ADDR_IR_HANDLE_SHIFT |
			(rte & IOAPIC_RTE_IR_HANDLE15 ? MSI_ADDR_IR_HANDLE15 : 0);
		*data = (uint32_t)(rte & IOAPIC_RTE_VECTOR_MASK) | MSI_DATA_LEVEL_ASSERT |
			(rte_level(rte) ? MSI_DATA_TRIGGER_LEVEL : 0);
		return;
	}
	uint32_t delmode = (rte & IOAPIC_RTE_DELMODE_MASK) >> IOAPIC_RTE_DELMODE_SHIFT;
	uint64_t a = MSI_ADDR_BASE | ((rte >> IOAPIC_RTE_DEST_SHIFT) << MSI_ADDR_DEST_SHIFT);
	if (rte & IOAPIC_RTE_DESTMODE)
		a |= MSI_ADDR_DEST_LOGICAL;
	if (delmode == IOAPIC_DELMODE_LOWPRI)
		a |= MSI_ADDR_REDIR_HINT;
	uint32_t d = (uint32_t)(rte & IOAPIC_RTE_VECTOR_MASK) | delmode << MSI_DATA_DELMODE_SHIFT |
		     MSI_DATA_LEVEL_ASSERT;
	if (rte_level(rte))
		d |= MSI_DATA_TRIGGER_LEVEL;
	*addr = a;
	*data = d;
}

/* Keep GSI `pin`'s KVM route equal to the entry; masked pins have no route. Lock held. */
static void sync_route(struct ioapic *io, unsigned pin)
{
	uint64_t rte = io->redtbl[pin];
	int ret;
	if (rte_masked(rte)) {
		ret = irq_routing_clear(io->routing, pin);
	} else {
		uint64_t addr;
		uint32_t data;
		ioapic_rte_to_msi(rte, &addr, &data);
		ret = irq_routing_set_msi(io->routing, pin, io->sid, addr, data);
	}
	if (ret)
		log_guest("ioapic: updating the KVM route of pin %u failed: %s", pin, strerror(-ret));
}

/* Send the pin's interrupt if its state allows one. Lock held. */
static void deliver(struct ioapic *io, unsigned pin)
{
	uint64_t *rte = &io->redtbl[pin];
	if (rte_masked(*rte))
		return;
	if (rte_level(*rte)) {
		if (*rte & IOAPIC_RTE_REMOTE_IRR)
			return; /* the previous one has not been EOIed yet */
		*rte |= IOAPIC_RTE_REMOTE_IRR;
	}
	int ret = irq_routing_signal(io->routing, pin);
	if (ret)
		log_guest("ioapic: delivering pin %u failed: %s", pin, strerror(-ret));
	else
		io->delivered[pin]++;
}

int ioapic_init(struct ioapic *io, struct irq_routing *routing, uint32_t id, uint16_t sid)
{
	memset(io, 0, sizeof(*io));
	io->routing = routing;
	io->sid = sid;
	io->id = id & 0xF;
	for (unsigned i = 0; i < IOAPIC_NUM_PINS; i++)
		io->redtbl[i] = IOAPIC_RTE_MASKED; /* reset state: all pins masked */
	return -pthread_mutex_init(&io->lock, NULL);
}

void ioapic_destroy(struct ioapic *io)
{
	pthread_mutex_destroy(&io->lock);
}

void ioapic_set_irq(struct ioapic *io, unsigned pin, bool level)
{
	if (pin >= IOAPIC_NUM_PINS)
		return;
	pthread_mutex_lock(&io->lock);
	uint32_t bit = 1U << pin;
	bool was = io->line_level & bit;
	if (level)
		io->line_level |= bit;
	else
		io->line_level &= ~bit;
	if (level && (rte_level(io->redtbl[pin]) || !was))
		deliver(io, pin);
	pthread_mutex_unlock(&io->lock);
}

/* Clears remote IRR of the level-triggered pins that `match` picks. Lock held. */
static void eoi_pins(struct ioapic *io, bool (*match)(struct ioapic *io, unsigned pin, uint8_t vector), uint8_t vector)
{
	for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
		uint64_t *rte = &io->redtbl[pin];
		if (!rte_level(*rte) || !match(io, pin, vector))
			continue;
		*rte &= ~IOAPIC_RTE_REMOTE_IRR;
		/* A line still asserted after the EOI interrupts again (82093AA 3.2.4). */
		if (io->line_level & (1U << pin))
			deliver(io, pin);
	}
}

/* The LAPIC's EOI names the vector the guest received: the entry's own for a compatibility
 * entry, the one its interrupt-remapping entry delivers for a remappable entry. */
static bool delivered_vector_is(struct ioapic *io, unsigned pin, uint8_t vector)
{
	uint64_t rte = io->redtbl[pin];
	if (rte & IOAPIC_RTE_IR_FORMAT)
		return irq_routing_vector(io->routing, pin) == vector;
	return (rte & IOAPIC_RTE_VECTOR_MASK) == vector;
}

/* The EOI register compares with the entry's bits 7:0 (82093AA 3.2.4), which in remappable
 * format hold what Linux put there: the pin (VT-d spec 5.1.5.1). */
static bool entry_vector_is(struct ioapic *io, unsigned pin, uint8_t vector)
{
	return (io->redtbl[pin] & IOAPIC_RTE_VECTOR_MASK) == vector;
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
	pthread_mutex_lock(&io->lock);
	eoi_pins(io, delivered_vector_is, vector);
	pthread_mutex_unlock(&io->lock);
}

static uint32_t read_indirect(struct ioapic *io)
{
	uint32_t index = io->ioregsel & 0xFF;
	switch (index) {
	case IOAPIC_INDEX_ID:
		return io->id << IOAPIC_ID_SHIFT;
	case IOAPIC_INDEX_VER:
		return IOAPIC_VERSION | (IOAPIC_NUM_PINS - 1) << 16;
	case IOAPIC_INDEX_ARB:
		return io->id << IOAPIC_ID_SHIFT;
	default:
		if (index >= IOAPIC_INDEX_REDTBL && index < IOAPIC_INDEX_REDTBL + 2 * IOAPIC_NUM_PINS) {
			uint64_t rte = io->redtbl[(index - IOAPIC_INDEX_REDTBL) / 2];
			return index & 1 ? (uint32_t)(rte >> 32) : (uint32_t)rte;
		}
		return 0xFFFFFFFF;
	}
}

static void write_redir(struct ioapic *io, unsigned pin, bool high, uint32_t val)
{
	uint64_t *rte = &io->redtbl[pin];
	uint64_t old = *rte;
	uint64_t ro = old & IOAPIC_RTE_RO_BITS;
	uint64_t v = high ? (old & 0xFFFFFFFFULL) | (uint64_t)val << 32
			  : (old & ~0xFFFFFFFFULL) | val;
	*rte = (v & ~IOAPIC_RTE_RO_BITS) | ro;
	if (!rte_level(*rte))
		*rte &= ~IOAPIC_RTE_REMOTE_IRR;
	if (*rte != old)
		sync_route(io, pin);
	/* Unmasking a level-triggered pin whose line is high delivers it. */
	if (rte_level(*rte) && rte_masked(old) && !rte_masked(*rte) && (io->line_level & (1U << pin)))
		deliver(io, pin);
}

static void write_indirect(struct ioapic *io, uint32_t val)
{
	uint32_t index = io->ioregsel & 0xFF;
	if (index == IOAPIC_INDEX_ID) {
		io->id = (val & IOAPIC_ID_MASK) >> IOAPIC_ID_SHIFT;
	} else if (index >= IOAPIC_INDEX_REDTBL && index < IOAPIC_INDEX_REDTBL + 2 * IOAPIC_NUM_PINS) {
		write_redir(io, (index - IOAPIC_INDEX_REDTBL) / 2, index & 1, val);
	} else {
		log_guest("ioapic: write 0x%x to read-only or absent register 0x%x ignored", val, index);
	}
}

static void ioapic_mmio_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	struct ioapic *io = opaque;
	uint32_t val = 0xFFFFFFFF;
	pthread_mutex_lock(&io->lock);
	if (off == IOAPIC_REG_SELECT)
		val = io->ioregsel;
	else if (off == IOAPIC_REG_WINDOW)
		val = read_indirect(io);
	pthread_mutex_unlock(&io->lock);
	memset(data, 0, len);
	memcpy(data, &val, len < 4 ? len : 4);
}

static void ioapic_mmio_write(void *opaque, uint64_t off, const void *data, unsigned len)
{
	struct ioapic *io = opaque;
	uint32_t val = 0;
	memcpy(&val, data, len < 4 ? len : 4);
	if (len != 4) {
		log_guest("ioapic: %u-byte write at 0x%llx ignored (registers are 32-bit)", len,
			  (unsigned long long)off);
		return;
	}
	if (off == IOAPIC_REG_EOI) {
		pthread_mutex_lock(&io->lock);
		eoi_pins(io, entry_vector_is, (uint8_t)val);
		pthread_mutex_unlock(&io->lock);
		return;
	}
	pthread_mutex_lock(&io->lock);
	if (off == IOAPIC_REG_SELECT)
		io->ioregsel = val & 0xFF;
	else if (off == IOAPIC_REG_WINDOW)
		write_indirect(io, val);
	pthread_mutex_unlock(&io->lock);
}

const struct bus_ops ioapic_mmio_ops = { .read = ioapic_mmio_read, .write = ioapic_mmio_write };
