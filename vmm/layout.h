/* The guest physical map of the q35-lite board: one place for every fixed address. */
#ifndef VMM_LAYOUT_H
#define VMM_LAYOUT_H

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

/* Low memory used by the direct Linux boot (all inside usable RAM below 640 KiB). */
#define BOOT_GDT_ADDR        0x00000500ULL
/* PVH boot (boot_pvh.h): hvm_start_info, its one module entry (the initrd) and the memory map,
 * in the page below the zero page (the two boot paths never meet). */
#define BOOT_PVH_START_INFO_ADDR 0x00006000ULL
#define BOOT_PVH_MODLIST_ADDR    0x00006040ULL
#define BOOT_PVH_MEMMAP_ADDR     0x00006080ULL
#define BOOT_PVH_INFO_END        0x00007000ULL
#define BOOT_ZERO_PAGE_ADDR  0x00007000ULL
#define BOOT_PML4_ADDR       0x00009000ULL
#define BOOT_PDPT_ADDR       0x0000A000ULL
#define BOOT_PD_ADDR         0x0000B000ULL /* 4 pages: identity map of 4 GiB with 2 MiB pages */
#define BOOT_CMDLINE_ADDR    0x00020000ULL
#define BOOT_CMDLINE_MAX     0x00010000ULL
#define EBDA_START           0x0009FC00ULL /* conventional memory ends here, as on a PC */
#define BIOS_AREA_START      0x000E0000ULL /* RSDP lives at its start (ACPI 6.4 5.2.5.1) */
/* MP table (mptable.h): its floating pointer in the top kilobyte of conventional memory, where
 * the kernel's search looks second (MP 1.4 4.1), and its configuration table after the RSDP. */
#define MPTABLE_FP_ADDR      EBDA_START
#define MPTABLE_ADDR         (BIOS_AREA_START + 0x100)
#define MPTABLE_END          ACPI_TABLES_START
#define ACPI_TABLES_START    0x000F0000ULL /* XSDT, FADT, DSDT, ... marked ACPI data in e820 */
#define ACPI_TABLES_END      0x00100000ULL
#define KERNEL_LOAD_ADDR     0x00100000ULL /* bzImage protected-mode code (boot protocol default) */

/* The 32-bit PCI hole, as a q35 board lays it out: RAM below, devices inside, RAM again above 4 GiB. */
#define PCI_HOLE_START       0xC0000000ULL
#define PCI_MMIO32_START     0xC0000000ULL
#define PCI_MMIO32_END       0xE0000000ULL
#define PCI_ECAM_BASE        0xE0000000ULL
/* One bus: the board has no PCI bridges. MCFG and the root bridge's _CRS say so, because Linux
 * takes MCFG's last bus as pcibios_last_bus and then probes every bus up to it for peer host
 * bridges through CF8/CFC (arch/x86/pci/legacy.c, pcibios_fixup_peer_bridges): with 256 buses
 * that was 255 x 32 vendor-ID reads, two port-I/O exits each, in every boot. */
#define PCI_ECAM_BUSES       1ULL
#define PCI_ECAM_SIZE        (PCI_ECAM_BUSES << 20)
#define IOAPIC_BASE          0xFEC00000ULL
#define IOAPIC_SIZE          0x1000ULL
#define VTD_BASE             0xFED90000ULL /* VT-d (DMAR unit) registers, as on q35 */
#define VTD_SIZE             0x1000ULL
#define LAPIC_BASE           0xFEE00000ULL
#define HIGH_RAM_START       0x100000000ULL

/* Fixed I/O ports. */
#define PORT_COM1            0x3F8
#define PORT_CMOS            0x70
#define PORT_PM_BASE         0x600 /* PM1a_EVT (4 bytes), PM1a_CNT (2 bytes) */
#define PORT_PM1A_EVT        (PORT_PM_BASE + 0)
#define PORT_PM1A_CNT        (PORT_PM_BASE + 4)
#define PORT_RESET           0xCF9 /* FADT RESET_REG, as on ICH9 */
#define PORT_PCI_CONFIG_ADDR 0xCF8
#define PORT_PCI_CONFIG_DATA 0xCFC

/* ISA interrupt lines on IOAPIC pins. */
#define IRQ_COM1             4
#define IRQ_RTC              8
#define IRQ_SCI              9  /* level-triggered, active high (ACPI 6.4 5.2.9: SCI_INT) */
/* ISA IRQ 0 (the timer) is wired to IOAPIC pin 2, as on PC boards; IRQ 2 (the 8259 cascade) is
 * not connected, since the board has no 8259s. The MADT's override and the MP table both say so. */
#define ISA_IRQ0_PIN         2
#define LAPIC_LINT_NMI       1  /* every CPU's LINT1 takes NMI (MADT LAPIC NMI, MP local entry) */
#define IOAPIC_NUM_PINS      24
/* The requester id of the IOAPIC's interrupt messages, which interrupt remapping checks and the
 * DMAR table's IOAPIC scope states: bus 0xFF, device 0, function 0 (a bus with no PCI device),
 * as on QEMU's q35. */
#define IOAPIC_SID_BUS       0xFF
#define IOAPIC_SID_DEVFN     0x00
#define IOAPIC_SID           (IOAPIC_SID_BUS << 8 | IOAPIC_SID_DEVFN)

#define VMM_MAX_CPUS         64

#endif
