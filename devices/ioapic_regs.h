/* 82093AA I/O APIC registers (Intel 82093AA datasheet, 3.0 and 3.2.4). */
#ifndef DEVICES_IOAPIC_REGS_H
#define DEVICES_IOAPIC_REGS_H

#define IOAPIC_REG_SELECT   0x00 /* IOREGSEL, MMIO offset */
#define IOAPIC_REG_WINDOW   0x10 /* IOWIN, MMIO offset */
#define IOAPIC_REG_EOI      0x40 /* version 0x20 EOI register, MMIO offset */

#define IOAPIC_INDEX_ID     0x00
#define IOAPIC_INDEX_VER    0x01
#define IOAPIC_INDEX_ARB    0x02
#define IOAPIC_INDEX_REDTBL 0x10 /* two 32-bit registers per pin */

#define IOAPIC_VERSION      0x20
#define IOAPIC_ID_SHIFT     24
#define IOAPIC_ID_MASK      (0xFU << IOAPIC_ID_SHIFT)

/* Redirection table entry bits. */
#define IOAPIC_RTE_VECTOR_MASK  0xFFULL
#define IOAPIC_RTE_DELMODE_SHIFT 8
#define IOAPIC_RTE_DELMODE_MASK (7ULL << IOAPIC_RTE_DELMODE_SHIFT)
#define IOAPIC_RTE_DESTMODE     (1ULL << 11)
#define IOAPIC_RTE_DELIVS       (1ULL << 12) /* read-only */
#define IOAPIC_RTE_POLARITY     (1ULL << 13)
#define IOAPIC_RTE_REMOTE_IRR   (1ULL << 14) /* read-only */
#define IOAPIC_RTE_TRIGGER_LEVEL (1ULL << 15)
#define IOAPIC_RTE_MASKED       (1ULL << 16)
#define IOAPIC_RTE_DEST_SHIFT   56
#define IOAPIC_RTE_RO_BITS      (IOAPIC_RTE_DELIVS | IOAPIC_RTE_REMOTE_IRR)
#define IOAPIC_DELMODE_LOWPRI   1
/* Remappable format (VT-d spec 5.1.5.1), with interrupt remapping: the entry carries an
 * interrupt-remapping table handle instead of a destination, and bits 7:0 hold what the guest
 * will write to the EOI register (Linux puts the pin there). */
#define IOAPIC_RTE_IR_FORMAT    (1ULL << 48)
#define IOAPIC_RTE_IR_HANDLE_SHIFT 49 /* 63:49 handle[14:0] */
#define IOAPIC_RTE_IR_HANDLE15  (1ULL << 11) /* handle[15], where the destination mode is otherwise */

#include "../vmm/msi.h" /* the message an entry becomes */

#endif
