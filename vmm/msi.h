/* The x86 interrupt message (Intel SDM vol. 3, 11.11: MSI address and data), in the form KVM's
 * MSI routes and KVM_SIGNAL_MSI take it. With KVM_CAP_X2APIC_API (KVM_X2APIC_API_USE_32BIT_IDS)
 * the address's upper half carries destination bits 31:8, which an x2APIC destination needs. */
#ifndef VMM_MSI_H
#define VMM_MSI_H

#include <stdint.h>

#define MSI_ADDR_BASE           0xFEE00000ULL
#define MSI_ADDR_DEST_SHIFT     12    /* 19:12 destination id bits 7:0 */
#define MSI_ADDR_DEST_MASK      0xFF000ULL
#define MSI_ADDR_REDIR_HINT     (1ULL << 3)
#define MSI_ADDR_DEST_LOGICAL   (1ULL << 2)
#define MSI_ADDR_HI_DEST_SHIFT  32    /* KVM's x2APIC format: destination bits 31:8 in 63:40 */
#define MSI_DATA_VECTOR_MASK    0xFFU
#define MSI_DATA_DELMODE_SHIFT  8     /* 10:8 */
#define MSI_DATA_LEVEL_ASSERT   (1U << 14)
#define MSI_DATA_TRIGGER_LEVEL  (1U << 15)

/* Remappable format (Intel VT-d spec 5.1.2.2): bit 4 of the address set, the address names an
 * entry of the interrupt remapping table instead of a destination. IOAPIC entries in remappable
 * format become such messages too (5.1.5.1). */
#define MSI_ADDR_IR_FORMAT      (1ULL << 4)
#define MSI_ADDR_IR_SHV         (1ULL << 3)  /* subhandle valid: index = handle + data[15:0] */
#define MSI_ADDR_IR_HANDLE15    (1ULL << 2)  /* handle bit 15 */
#define MSI_ADDR_IR_HANDLE_SHIFT 5           /* 19:5 handle[14:0] */
#define MSI_ADDR_IR_HANDLE_MASK 0xFFFE0ULL
#define MSI_DATA_IR_SUBHANDLE   0xFFFFU

struct msi_msg {
	uint64_t addr;
	uint32_t data;
};

#endif
