/* ACPI table layouts (ACPI 6.4 chapter 5), named once; the builder and the tests use them. */
#ifndef VMM_ACPI_TABLES_H
#define VMM_ACPI_TABLES_H

#include <stdint.h>

struct __attribute__((packed)) acpi_rsdp {
	char signature[8]; /* "RSD PTR " */
	uint8_t checksum;  /* first 20 bytes */
	char oem_id[6];
	uint8_t revision;  /* 2: ACPI 2.0+ with XSDT */
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t extended_checksum;
	uint8_t reserved[3];
};

struct __attribute__((packed)) acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
};

struct __attribute__((packed)) acpi_gas {
	uint8_t space_id; /* 0 memory, 1 I/O */
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size; /* 1 byte, 2 word, 3 dword, 4 qword */
	uint64_t address;
};
#define ACPI_GAS_IO 1

struct __attribute__((packed)) acpi_fadt {
	struct acpi_header h;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk, pm2_cnt_blk, pm_tmr_blk;
	uint32_t gpe0_blk, gpe1_blk;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len, gpe0_blk_len, gpe1_blk_len;
	uint8_t gpe1_base, cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk, x_pm1b_evt_blk, x_pm1a_cnt_blk, x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk, x_pm_tmr_blk, x_gpe0_blk, x_gpe1_blk;
	struct acpi_gas sleep_control_reg, sleep_status_reg;
	uint64_t hypervisor_vendor_id;
};
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT revision 6 is 276 bytes");

#define ACPI_FADT_WBINVD        (1U << 0)
#define ACPI_FADT_PROC_C1       (1U << 2)
#define ACPI_FADT_SLP_BUTTON    (1U << 5) /* set: no fixed sleep button */
#define ACPI_FADT_RESET_REG_SUP (1U << 10)
#define ACPI_FADT_BOOT_NO_VGA   (1U << 2) /* IAPC_BOOT_ARCH */
#define ACPI_FADT_NO_C2_LAT     101
#define ACPI_FADT_NO_C3_LAT     1001

struct __attribute__((packed)) acpi_facs {
	char signature[4];
	uint32_t length;
	uint32_t hardware_signature;
	uint32_t firmware_waking_vector;
	uint32_t global_lock;
	uint32_t flags;
	uint64_t x_firmware_waking_vector;
	uint8_t version;
	uint8_t reserved[31];
};
_Static_assert(sizeof(struct acpi_facs) == 64, "FACS is 64 bytes");

struct __attribute__((packed)) acpi_madt {
	struct acpi_header h;
	uint32_t lapic_address;
	uint32_t flags;
};
#define ACPI_MADT_LAPIC        0
#define ACPI_MADT_IOAPIC       1
#define ACPI_MADT_ISO          2
#define ACPI_MADT_LAPIC_NMI    4
#define ACPI_MADT_ENABLED      1
#define ACPI_MADT_POLARITY_HIGH 0x1
#define ACPI_MADT_TRIGGER_EDGE  (0x1 << 2)
#define ACPI_MADT_TRIGGER_LEVEL (0x3 << 2)

struct __attribute__((packed)) acpi_madt_lapic { uint8_t type, length, processor_uid, apic_id; uint32_t flags; };
struct __attribute__((packed)) acpi_madt_ioapic { uint8_t type, length, id, reserved; uint32_t address, gsi_base; };
struct __attribute__((packed)) acpi_madt_iso { uint8_t type, length, bus, source; uint32_t gsi; uint16_t flags; };
struct __attribute__((packed)) acpi_madt_lapic_nmi { uint8_t type, length, processor_uid; uint16_t flags; uint8_t lint; };

struct __attribute__((packed)) acpi_mcfg_allocation {
	uint64_t base;
	uint16_t segment;
	uint8_t start_bus, end_bus;
	uint32_t reserved;
};

/* DMAR (Intel VT-d spec 8.1-8.3): header, then remapping structures. */
struct __attribute__((packed)) acpi_dmar {
	struct acpi_header h;
	uint8_t host_address_width; /* N - 1 for an N-bit DMA physical address width */
	uint8_t flags;
	uint8_t reserved[10];
};
#define ACPI_DMAR_INTR_REMAP      (1U << 0)
#define ACPI_DMAR_X2APIC_OPT_OUT  (1U << 1)
#define ACPI_DMAR_TYPE_DRHD       0

struct __attribute__((packed)) acpi_dmar_drhd {
	uint16_t type, length;
	uint8_t flags; /* bit 0: INCLUDE_PCI_ALL */
	uint8_t size;  /* register set size: 2^size 4 KiB pages (DMAR rev 3+; 0 = 4 KiB) */
	uint16_t segment;
	uint64_t register_base;
};
#define ACPI_DMAR_DRHD_INCLUDE_PCI_ALL (1U << 0)

/* Device scope (VT-d spec 8.3.1), followed by its path of (device, function) pairs from start_bus. */
struct __attribute__((packed)) acpi_dmar_scope {
	uint8_t type, length;
	uint16_t reserved;
	uint8_t enumeration_id; /* the IOAPIC's MADT id for an IOAPIC scope */
	uint8_t start_bus;
};
struct __attribute__((packed)) acpi_dmar_pci_path { uint8_t device, function; };
#define ACPI_DMAR_SCOPE_IOAPIC    3

#endif
