/* Intel VT-d register, descriptor and table formats, named after the Intel Virtualization
 * Technology for Directed I/O Architecture Specification: registers in chapter 10 ("Register
 * Descriptions"), invalidation descriptors in 6.5, table entries in chapter 9. Only what the
 * emulated unit (legacy mode: no scalable mode, no PASID) uses. */
#ifndef IOMMU_VTD_REGS_H
#define IOMMU_VTD_REGS_H

#define VTD_BIT(n)            (1ULL << (n))
#define VTD_MASK(hi, lo)      ((~0ULL >> (63 - (hi))) & ~((1ULL << (lo)) - 1)) /* bits hi..lo */

/* Register offsets (10.4). The IOTLB and fault recording registers sit where ECAP.IRO and
 * CAP.FRO say; these offsets are this implementation's choice. */
#define VTD_REG_VER           0x000 /* 32-bit: version */
#define VTD_REG_CAP           0x008 /* 64-bit: capability */
#define VTD_REG_ECAP          0x010 /* 64-bit: extended capability */
#define VTD_REG_GCMD          0x018 /* 32-bit: global command (write only) */
#define VTD_REG_GSTS          0x01C /* 32-bit: global status */
#define VTD_REG_RTADDR        0x020 /* 64-bit: root table address */
#define VTD_REG_CCMD          0x028 /* 64-bit: context command */
#define VTD_REG_FSTS          0x034 /* 32-bit: fault status */
#define VTD_REG_FECTL         0x038 /* 32-bit: fault event control */
#define VTD_REG_FEDATA        0x03C /* 32-bit: fault event data */
#define VTD_REG_FEADDR        0x040 /* 32-bit: fault event address */
#define VTD_REG_FEUADDR       0x044 /* 32-bit: fault event upper address */
#define VTD_REG_IQH           0x080 /* 64-bit: invalidation queue head */
#define VTD_REG_IQT           0x088 /* 64-bit: invalidation queue tail */
#define VTD_REG_IQA           0x090 /* 64-bit: invalidation queue address */
#define VTD_REG_ICS           0x09C /* 32-bit: invalidation completion status */
#define VTD_REG_IECTL         0x0A0 /* 32-bit: invalidation event control */
#define VTD_REG_IEDATA        0x0A4 /* 32-bit: invalidation event data */
#define VTD_REG_IEADDR        0x0A8 /* 32-bit: invalidation event address */
#define VTD_REG_IEUADDR       0x0AC /* 32-bit: invalidation event upper address */
#define VTD_REG_IRTA          0x0B8 /* 64-bit: interrupt remapping table address */
#define VTD_REG_IVA           0x200 /* 64-bit: invalidate address (ECAP.IRO * 16) */
#define VTD_REG_IOTLB         0x208 /* 64-bit: IOTLB invalidate (IVA + 8) */
#define VTD_REG_FRCD          0x220 /* 128-bit each: fault recording (CAP.FRO * 16) */
#define VTD_FRCD_LEN          16
#define VTD_NFR               4     /* fault recording registers */

/* Event control blocks: FECTL and IECTL are each followed by DATA, ADDR and UADDR (10.4.11-14,
 * 10.4.26-29); both work alike (7.3, 6.5.2.10). */
#define VTD_EV_DATA           0x4
#define VTD_EV_ADDR           0x8
#define VTD_EV_UADDR          0xC

/* VER_REG (10.4.1). */
#define VTD_VER_MAJOR_SHIFT   4
#define VTD_VER_1_0           0x10

/* CAP_REG (10.4.2). */
#define VTD_CAP_ND_SHIFT      0     /* 2:0 domain ids supported: 2^(4 + 2 * ND) */
#define VTD_CAP_AFL           VTD_BIT(3)
#define VTD_CAP_RWBF          VTD_BIT(4)
#define VTD_CAP_PLMR          VTD_BIT(5)
#define VTD_CAP_PHMR          VTD_BIT(6)
#define VTD_CAP_CM            VTD_BIT(7)
#define VTD_CAP_SAGAW_SHIFT   8     /* 12:8 */
#define VTD_SAGAW_39          VTD_BIT(1) /* 3-level tables */
#define VTD_SAGAW_48          VTD_BIT(2) /* 4-level tables */
#define VTD_CAP_MGAW_SHIFT    16    /* 21:16, width - 1 */
#define VTD_CAP_ZLR           VTD_BIT(22)
#define VTD_CAP_FRO_SHIFT     24    /* 33:24, offset / 16 */
#define VTD_CAP_SLLPS_SHIFT   34    /* 37:34 */
#define VTD_SLLPS_2M          VTD_BIT(0)
#define VTD_SLLPS_1G          VTD_BIT(1)
#define VTD_CAP_PSI           VTD_BIT(39)
#define VTD_CAP_NFR_SHIFT     40    /* 47:40, count - 1 */
#define VTD_CAP_MAMV_SHIFT    48    /* 53:48 */
#define VTD_CAP_DWD           VTD_BIT(54)
#define VTD_CAP_DRD           VTD_BIT(55)

/* ECAP_REG (10.4.3). */
#define VTD_ECAP_C            VTD_BIT(0)  /* page-walk coherency */
#define VTD_ECAP_QI           VTD_BIT(1)  /* queued invalidation */
#define VTD_ECAP_DT           VTD_BIT(2)  /* device-TLB (ATS) */
#define VTD_ECAP_IR           VTD_BIT(3)  /* interrupt remapping */
#define VTD_ECAP_EIM          VTD_BIT(4)  /* extended interrupt mode (x2APIC) */
#define VTD_ECAP_PT           VTD_BIT(6)  /* pass-through */
#define VTD_ECAP_SC           VTD_BIT(7)  /* snoop control */
#define VTD_ECAP_IRO_SHIFT    8     /* 17:8, IOTLB registers offset / 16 */
#define VTD_ECAP_MHMV_SHIFT   20    /* 23:20 */
#define VTD_ECAP_SMTS         VTD_BIT(43) /* scalable mode */

/* GCMD_REG / GSTS_REG (10.4.4, 10.4.5): the same bit positions. */
#define VTD_GCMD_TE           VTD_BIT(31) /* translation enable / TES */
#define VTD_GCMD_SRTP         VTD_BIT(30) /* set root table pointer (one-shot) / RTPS */
#define VTD_GCMD_SFL          VTD_BIT(29) /* set fault log (one-shot, needs CAP.AFL) / FLS */
#define VTD_GCMD_EAFL         VTD_BIT(28) /* advanced fault logging / AFLS */
#define VTD_GCMD_WBF          VTD_BIT(27) /* write buffer flush (one-shot, needs CAP.RWBF) / WBFS */
#define VTD_GCMD_QIE          VTD_BIT(26) /* queued invalidation enable / QIES */
#define VTD_GCMD_IRE          VTD_BIT(25) /* interrupt remapping enable / IRES */
#define VTD_GCMD_SIRTP        VTD_BIT(24) /* set interrupt remap table pointer (one-shot) / IRTPS */
#define VTD_GCMD_CFI          VTD_BIT(23) /* compatibility format interrupts / CFIS */
#define VTD_GSTS_TES          VTD_GCMD_TE
#define VTD_GSTS_RTPS         VTD_GCMD_SRTP
#define VTD_GSTS_QIES         VTD_GCMD_QIE
#define VTD_GSTS_IRES         VTD_GCMD_IRE
#define VTD_GSTS_IRTPS        VTD_GCMD_SIRTP
#define VTD_GSTS_CFIS         VTD_GCMD_CFI

/* RTADDR_REG (10.4.6): RTA 63:12; TTM 11:10 stays 0 (legacy mode only). */
#define VTD_RTADDR_RTA        VTD_MASK(63, 12)

/* CCMD_REG (10.4.7). */
#define VTD_CCMD_ICC          VTD_BIT(63)
#define VTD_CCMD_CIRG_SHIFT   61    /* 62:61 requested granularity */
#define VTD_CCMD_CAIG_SHIFT   59    /* 60:59 actual granularity */
#define VTD_CCMD_CAIG_MASK    VTD_MASK(60, 59)
#define VTD_CCMD_FM_SHIFT     32    /* 33:32 function mask */
#define VTD_CCMD_SID_SHIFT    16    /* 31:16 */
#define VTD_CCMD_DID_SHIFT    0     /* 15:0 */
#define VTD_CCMD_RW           (VTD_CCMD_ICC | VTD_MASK(62, 61) | VTD_MASK(33, 0))
/* Context-cache granularities (CIRG, CAIG and the descriptor's G). */
#define VTD_CC_GLOBAL         1
#define VTD_CC_DOMAIN         2
#define VTD_CC_DEVICE         3

/* FSTS_REG (10.4.10). */
#define VTD_FSTS_PFO          VTD_BIT(0)  /* primary fault overflow, RW1C */
#define VTD_FSTS_PPF          VTD_BIT(1)  /* primary pending fault, RO: OR of the F bits */
#define VTD_FSTS_IQE          VTD_BIT(4)  /* invalidation queue error, RW1C */
#define VTD_FSTS_ICE          VTD_BIT(5)  /* invalidation completion error, RW1C */
#define VTD_FSTS_ITE          VTD_BIT(6)  /* invalidation time-out error, RW1C */
#define VTD_FSTS_FRI_SHIFT    8     /* 15:8 fault record index, RO */
#define VTD_FSTS_FRI_MASK     VTD_MASK(15, 8)
#define VTD_FSTS_W1C          (VTD_FSTS_PFO | VTD_FSTS_IQE | VTD_FSTS_ICE | VTD_FSTS_ITE)
/* The status fields whose setting is a fault event condition (7.3). */
#define VTD_FSTS_EVENTS       (VTD_FSTS_W1C | VTD_FSTS_PPF)

/* FECTL_REG / IECTL_REG (10.4.11, 10.4.26). */
#define VTD_EVCTL_IM          VTD_BIT(31) /* interrupt mask */
#define VTD_EVCTL_IP          VTD_BIT(30) /* interrupt pending, RO */
#define VTD_EVDATA_RW         VTD_MASK(15, 0)  /* EIMD 31:16 only with ECAP.EIM */
#define VTD_EVADDR_RW         VTD_MASK(31, 2)

/* IQH_REG / IQT_REG / IQA_REG (10.4.22-24). */
#define VTD_IQ_PTR_SHIFT      4     /* 128-bit descriptor index in 18:4 */
#define VTD_IQ_PTR_MASK       VTD_MASK(18, 4)
#define VTD_IQA_ADDR          VTD_MASK(63, 12)
#define VTD_IQA_DW            VTD_BIT(11) /* 256-bit descriptors: scalable mode only */
#define VTD_IQA_QS_MASK       VTD_MASK(2, 0) /* 2^QS pages of 4 KiB */
#define VTD_IQ_MAX_QS         7

/* ICS_REG (10.4.25). */
#define VTD_ICS_IWC           VTD_BIT(0)

/* IRTA_REG (10.4.32): the interrupt remapping table. */
#define VTD_IRTA_ADDR         VTD_MASK(63, 12)
#define VTD_IRTA_EIME         VTD_BIT(11) /* x2APIC mode: 32-bit destinations (needs ECAP.EIM) */
#define VTD_IRTA_S_MASK       VTD_MASK(3, 0) /* 2^(S + 1) entries */
#define VTD_IRTA_RW           (VTD_IRTA_ADDR | VTD_IRTA_EIME | VTD_IRTA_S_MASK)

/* IVA_REG / IOTLB_REG (10.4.8). */
#define VTD_IVA_ADDR          VTD_MASK(63, 12)
#define VTD_IVA_IH            VTD_BIT(6)
#define VTD_IVA_AM_MASK       VTD_MASK(5, 0)
#define VTD_IVA_RW            (VTD_IVA_ADDR | VTD_IVA_IH | VTD_IVA_AM_MASK)
#define VTD_IOTLB_IVT         VTD_BIT(63)
#define VTD_IOTLB_IIRG_SHIFT  60    /* 61:60 requested granularity */
#define VTD_IOTLB_IAIG_SHIFT  57    /* 58:57 actual granularity */
#define VTD_IOTLB_IAIG_MASK   VTD_MASK(58, 57)
#define VTD_IOTLB_DR          VTD_BIT(49)
#define VTD_IOTLB_DW          VTD_BIT(48)
#define VTD_IOTLB_DID_SHIFT   32    /* 47:32 */
#define VTD_IOTLB_RW          (VTD_IOTLB_IVT | VTD_MASK(61, 60) | VTD_MASK(49, 32))
/* IOTLB granularities (IIRG, IAIG and the descriptor's G). */
#define VTD_IOTLB_GLOBAL      1
#define VTD_IOTLB_DOMAIN      2
#define VTD_IOTLB_PAGE        3

/* Fault recording register (10.4.14), as two 64-bit halves. */
#define VTD_FRCD_LO_FI        VTD_MASK(63, 12) /* faulting page */
#define VTD_FRCD_HI_SID_SHIFT 0     /* 79:64 source id */
#define VTD_FRCD_HI_FR_SHIFT  32    /* 103:96 fault reason */
#define VTD_FRCD_HI_T         VTD_BIT(62) /* 126: 1 read, 0 write */
#define VTD_FRCD_HI_F         VTD_BIT(63) /* 127: fault, RW1C */

/* DMA-remapping fault reasons (7.1.3, table "Non-recoverable fault conditions"). */
#define VTD_FR_ROOT_NOT_PRESENT     0x1
#define VTD_FR_CONTEXT_NOT_PRESENT  0x2
#define VTD_FR_CONTEXT_INVALID      0x3
#define VTD_FR_ADDR_BEYOND_AW       0x4
#define VTD_FR_WRITE                0x5
#define VTD_FR_READ                 0x6
#define VTD_FR_PTE_READ             0x7
#define VTD_FR_ROOT_READ            0x8
#define VTD_FR_CONTEXT_READ         0x9
#define VTD_FR_ROOT_RESERVED        0xA
#define VTD_FR_CONTEXT_RESERVED     0xB
#define VTD_FR_PTE_RESERVED         0xC

/* Interrupt-remapping fault reasons (7.1.3). In the fault record, FI bits 63:48 hold the
 * interrupt index. */
#define VTD_FR_IR_REQ_RESERVED      0x20 /* reserved field in the interrupt request */
#define VTD_FR_IR_INDEX             0x21 /* index beyond the table size */
#define VTD_FR_IR_NOT_PRESENT       0x22
#define VTD_FR_IR_TABLE_READ        0x23 /* the IRTE could not be read */
#define VTD_FR_IR_IRTE_RESERVED     0x24 /* reserved field in the IRTE */
#define VTD_FR_IR_COMPAT_BLOCKED    0x25 /* compatibility format while CFIS is 0 */
#define VTD_FR_IR_SID               0x26 /* source-id verification failed */
#define VTD_FRCD_LO_IR_INDEX_SHIFT  48

/* Interrupt requests in remappable format: vmm/msi.h (MSI_ADDR_IR_*). */

/* Interrupt remapping table entry, remapped format (9.10): 128 bits. Not present when P is 0. */
#define VTD_IRTE_SIZE         16
#define VTD_IRTE_P            VTD_BIT(0)
#define VTD_IRTE_FPD          VTD_BIT(1)  /* fault processing disable */
#define VTD_IRTE_DM           VTD_BIT(2)  /* destination mode: logical */
#define VTD_IRTE_RH           VTD_BIT(3)  /* redirection hint */
#define VTD_IRTE_TM           VTD_BIT(4)  /* trigger mode: level */
#define VTD_IRTE_DLM_SHIFT    5     /* 7:5 delivery mode */
#define VTD_IRTE_DLM_MASK     VTD_MASK(7, 5)
#define VTD_IRTE_IM           VTD_BIT(15) /* posted format: needs ECAP.PI, not offered */
#define VTD_IRTE_VECTOR_SHIFT 16    /* 23:16 */
#define VTD_IRTE_DST_SHIFT    32    /* 63:32: x2APIC id (EIME), or bits 47:40 the xAPIC id */
#define VTD_IRTE_XAPIC_DST_SHIFT 40
#define VTD_IRTE_LO_RSVD      (VTD_MASK(14, 12) | VTD_MASK(31, 24))
#define VTD_IRTE_XAPIC_DST_RSVD (VTD_MASK(39, 32) | VTD_MASK(63, 48)) /* reserved without EIME */
#define VTD_IRTE_HI_SID_MASK  VTD_MASK(15, 0)  /* 79:64 source id */
#define VTD_IRTE_HI_SQ_SHIFT  16    /* 81:80 source-id qualifier */
#define VTD_IRTE_HI_SVT_SHIFT 18    /* 83:82 source validation type */
#define VTD_IRTE_HI_RSVD      VTD_MASK(63, 20)
#define VTD_SVT_NONE          0     /* no check */
#define VTD_SVT_SID           1     /* the requester id, bits chosen by SQ */
#define VTD_SVT_BUS           2     /* the requester's bus inside SID 15:8 .. SID 7:0 */
#define VTD_IRTE_DLM_LOWPRI   1
#define VTD_IRTE_DLM_SMI      2     /* SMI, NMI, INIT, ExtINT (2, 4, 5, 7) ignore the vector */

/* Root entry, legacy (9.1): 128 bits, indexed by bus. */
#define VTD_ROOT_ENTRY_SIZE   16
#define VTD_ROOT_P            VTD_BIT(0)
#define VTD_ROOT_CTP          VTD_MASK(63, 12)
#define VTD_ROOT_LO_RSVD      VTD_MASK(11, 1) /* plus CTP bits at and above HAW; hi all reserved */

/* Context entry, legacy (9.3): 128 bits, indexed by devfn. */
#define VTD_CONTEXT_ENTRY_SIZE 16
#define VTD_CTX_P             VTD_BIT(0)
#define VTD_CTX_FPD           VTD_BIT(1)  /* fault processing disable */
#define VTD_CTX_TT_SHIFT      2     /* 3:2 translation type */
#define VTD_CTX_TT_MASK       VTD_MASK(3, 2)
#define VTD_CTX_SLPTPTR       VTD_MASK(63, 12)
#define VTD_CTX_LO_RSVD       VTD_MASK(11, 4) /* plus SLPTPTR bits at and above HAW */
#define VTD_CTX_HI_AW_MASK    VTD_MASK(2, 0)  /* 66:64 address width */
#define VTD_CTX_HI_DID_SHIFT  8     /* 87:72 domain id */
#define VTD_CTX_HI_RSVD       (VTD_BIT(7) | VTD_MASK(63, 24)) /* 70:67 are ignored */
#define VTD_TT_TRANSLATED     0     /* untranslated requests through second-level tables */
#define VTD_TT_DEVICE_TLB     1     /* the same, and translation requests (ATS) allowed */
#define VTD_TT_PASS_THROUGH   2
#define VTD_AW_39             1     /* 3-level tables */
#define VTD_AW_48             2     /* 4-level tables */

/* Second-level paging entries (9.8). Not present when R and W are both 0. */
#define VTD_SL_R              VTD_BIT(0)
#define VTD_SL_W              VTD_BIT(1)
#define VTD_SL_PS             VTD_BIT(7)  /* superpage, at levels 2 (2 MiB) and 3 (1 GiB) */
#define VTD_SL_SNP            VTD_BIT(11) /* snoop: reserved without ECAP.SC */
#define VTD_SL_ADDR           VTD_MASK(51, 12)
#define VTD_SL_TM             VTD_BIT(62) /* transient mapping: reserved without ECAP.DT */
#define VTD_SL_ENTRIES        512
#define VTD_PAGE_SHIFT        12
#define VTD_PAGE_SIZE         (1ULL << VTD_PAGE_SHIFT)
#define VTD_LEVEL_STRIDE      9

/* Invalidation descriptors, 128-bit (6.5.2): type in 3:0, and 11:9 for types above 15. */
#define VTD_DESC_TYPE(lo)     (((lo) & 0xF) | (((lo) >> 5) & 0x70))
#define VTD_DESC_CC           0x1   /* context-cache invalidate (6.5.2.1) */
#define VTD_DESC_IOTLB        0x2   /* IOTLB invalidate (6.5.2.3) */
#define VTD_DESC_DEVTLB       0x3   /* device-TLB invalidate (6.5.2.5) */
#define VTD_DESC_IEC          0x4   /* interrupt entry cache invalidate (6.5.2.7) */
#define VTD_DESC_WAIT         0x5   /* invalidation wait (6.5.2.8) */
#define VTD_DESC_SIZE         16
#define VTD_DESC_G_SHIFT      4     /* 5:4 granularity (CC, IOTLB) */
#define VTD_DESC_G_MASK       VTD_MASK(5, 4)

#define VTD_CC_DID_SHIFT      16    /* 31:16 */
#define VTD_CC_SID_SHIFT      32    /* 47:32 */
#define VTD_CC_FM_SHIFT       48    /* 49:48 */
#define VTD_CC_LO_RSVD        (VTD_MASK(15, 6) | VTD_MASK(63, 50))
#define VTD_CC_HI_RSVD        (~0ULL)

#define VTD_IOTLB_DESC_DW     VTD_BIT(6)
#define VTD_IOTLB_DESC_DR     VTD_BIT(7)
#define VTD_IOTLB_DESC_DID_SHIFT 16  /* 31:16 */
#define VTD_IOTLB_LO_RSVD     (VTD_MASK(15, 8) | VTD_MASK(63, 32))
#define VTD_IOTLB_HI_AM_MASK  VTD_MASK(5, 0)
#define VTD_IOTLB_HI_IH       VTD_BIT(6)
#define VTD_IOTLB_HI_ADDR     VTD_MASK(63, 12)
#define VTD_IOTLB_HI_RSVD     VTD_MASK(11, 7)

#define VTD_DEVTLB_SID_SHIFT  32    /* 47:32 */
#define VTD_DEVTLB_MIP_SHIFT  16    /* 20:16 max invalidations pending */
/* PFSID (15:12, 63:52) is reserved without ECAP.DIT, which we do not offer. */
#define VTD_DEVTLB_LO_RSVD    (VTD_MASK(8, 4) | VTD_MASK(15, 12) | VTD_MASK(31, 21) | VTD_MASK(63, 48))
#define VTD_DEVTLB_HI_S       VTD_BIT(0)  /* size: the range is coded in the address bits */
#define VTD_DEVTLB_HI_ADDR    VTD_MASK(63, 12)
#define VTD_DEVTLB_HI_RSVD    VTD_MASK(11, 1)

#define VTD_IEC_G_INDEX       VTD_BIT(4)  /* 0 global, 1 index-selective */
#define VTD_IEC_IM_SHIFT      27    /* 31:27 index mask: 2^IM entries */
#define VTD_IEC_IIDX_SHIFT    32    /* 47:32 interrupt index */
#define VTD_IEC_LO_RSVD       (VTD_MASK(8, 5) | VTD_MASK(26, 12) | VTD_MASK(63, 48))
#define VTD_IEC_HI_RSVD       (~0ULL)

#define VTD_WAIT_IF           VTD_BIT(4)  /* interrupt on completion */
#define VTD_WAIT_SW           VTD_BIT(5)  /* status write */
#define VTD_WAIT_FN           VTD_BIT(6)  /* fence */
#define VTD_WAIT_SDATA_SHIFT  32    /* 63:32 status data */
/* Bit 7 (page-request drain) is reserved without ECAP.PRS. */
#define VTD_WAIT_LO_RSVD      (VTD_MASK(8, 7) | VTD_MASK(31, 12))
#define VTD_WAIT_HI_ADDR      VTD_MASK(63, 2) /* status address, dword aligned */
#define VTD_WAIT_HI_RSVD      VTD_MASK(1, 0)

#endif
