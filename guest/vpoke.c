/* Drives a virtio-pci device's registers directly from inside the guest, the way a buggy or
 * hostile driver would, and prints what the device answered. Run with the device unbound from
 * its driver:  vpoke /sys/bus/pci/devices/0000:00:01.0/resource0 [irte]
 * With "irte" (a guest with interrupt remapping on), it instead programs an MSI-X vector with a
 * remappable message whose interrupt-remapping table entry is not present: the IOMMU must block
 * it and record a fault, which the guest's kernel prints ("[INTR-REMAP] ... fault index"). Run
 * it more than 5 s after other faults: Linux prints at most 10 fault lines per 5 s.
 * Each check prints "vpoke: ok NAME" or "vpoke: FAIL NAME ...", then "vpoke: done". */
#include <fcntl.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static volatile uint8_t *bar;
static int failures;

static uint8_t r8(unsigned o) { return bar[o]; }
static uint16_t r16(unsigned o) { return *(volatile uint16_t *)(bar + o); }
static void w8(unsigned o, uint8_t v) { bar[o] = v; }
static void w16(unsigned o, uint16_t v) { *(volatile uint16_t *)(bar + o) = v; }
static void w32(unsigned o, uint32_t v) { *(volatile uint32_t *)(bar + o) = v; }
static uint32_t r32(unsigned o) { return *(volatile uint32_t *)(bar + o); }

static void expect(const char *name, int ok, unsigned long got)
{
	printf("vpoke: %s %s (read 0x%lx)\n", ok ? "ok" : "FAIL", name, got);
	failures += !ok;
}

static void negotiate(void)
{
	w8(VIRTIO_PCI_COMMON_STATUS, 0);
	w8(VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	/* VERSION_1, and ACCESS_PLATFORM when offered: behind an IOMMU the device requires it, and
	 * the bad ring addresses below are then IOVAs that the IOMMU must refuse. */
	w32(VIRTIO_PCI_COMMON_DFSELECT, 1);
	uint32_t high = r32(VIRTIO_PCI_COMMON_DF) & 0x3;
	w32(VIRTIO_PCI_COMMON_GFSELECT, 1);
	w32(VIRTIO_PCI_COMMON_GF, high | 1);
	w32(VIRTIO_PCI_COMMON_GFSELECT, 0);
	w32(VIRTIO_PCI_COMMON_GF, 0);
	w8(VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
}

/* Puts queue `q`'s descriptor table at (hi << 32) | 0xFFFFF000 (its other areas' high halves at
 * `hi` too), enables it and sets DRIVER_OK; the device must then report NEEDS_RESET. */
static void start_with_bad_ring(const char *name, uint16_t q, uint32_t hi)
{
	w16(VIRTIO_PCI_COMMON_Q_SELECT, q);
	w32(VIRTIO_PCI_COMMON_Q_DESCLO, 0xFFFFF000);
	w32(VIRTIO_PCI_COMMON_Q_DESCHI, hi);
	w32(VIRTIO_PCI_COMMON_Q_AVAILHI, hi);
	w32(VIRTIO_PCI_COMMON_Q_USEDHI, hi);
	w16(VIRTIO_PCI_COMMON_Q_ENABLE, 1);
	w8(VIRTIO_PCI_COMMON_STATUS, r8(VIRTIO_PCI_COMMON_STATUS) | VIRTIO_CONFIG_S_DRIVER_OK);
	expect(name, r8(VIRTIO_PCI_COMMON_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, r8(VIRTIO_PCI_COMMON_STATUS));
}

/* An interrupt-remapping handle that Linux's IRTE allocator (lowest free index first) never
 * reaches in a small guest, so its entry is not present. */
#define VPOKE_ABSENT_IRTE 0xFFF0u

/* The MSI-X capability's offset in config space `cfg`, or 0. */
static unsigned find_msix_cap(const uint8_t *cfg)
{
	unsigned pos = cfg[0x34] & 0xFC;
	for (int hops = 0; pos >= 0x40 && pos < 0xFC && hops < 48; hops++) {
		if (cfg[pos] == 0x11)
			return pos;
		pos = cfg[pos + 1] & 0xFC;
	}
	return 0;
}

/* Enables MSI-X and unmasks vector 0 with a remappable message (VT-d 5.1.2.2: address bit 4
 * set, handle in bits 19:5 and 2) naming VPOKE_ABSENT_IRTE, then masks it and turns MSI-X off
 * again. The device accepts the writes; where the interrupt goes is the IOMMU's business.
 * `res0` is BAR 0's resource file; the table's BAR is found beside it. */
static void absent_irte_vector(int cfd, const char *res0)
{
	uint8_t cfg[256];
	if (pread(cfd, cfg, sizeof(cfg), 0) != (ssize_t)sizeof(cfg)) {
		expect("absent-irte-config-readable", 0, 0);
		return;
	}
	unsigned cap = find_msix_cap(cfg);
	uint32_t table = 0;
	if (cap)
		memcpy(&table, cfg + cap + 4, 4);
	unsigned off = table & ~7u;
	char path[512];
	size_t n = strlen(res0);
	if (!cap || (table & 7) > 5 || off + 16 > 0x1000 || n == 0 || n >= sizeof(path) || res0[n - 1] != '0') {
		expect("absent-irte-msix-table-found", 0, table);
		return;
	}
	memcpy(path, res0, n + 1);
	path[n - 1] = (char)('0' + (table & 7));
	int fd = open(path, O_RDWR | O_SYNC);
	void *map = fd < 0 ? MAP_FAILED : mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		expect("absent-irte-msix-table-mapped", 0, table);
		if (fd >= 0)
			close(fd);
		return;
	}
	volatile uint32_t *t = (volatile uint32_t *)((uint8_t *)map + off);
	uint16_t ctrl;
	memcpy(&ctrl, cfg + cap + 2, 2);
	uint16_t on = (uint16_t)((ctrl | 0x8000) & ~0x4000); /* enable, function not masked */
	uint32_t addr = 0xFEE00000u | (VPOKE_ABSENT_IRTE & 0x7FFF) << 5 | 1u << 4 |
			((VPOKE_ABSENT_IRTE >> 15) & 1) << 2;
	t[3] = 1; /* masked while it is written */
	t[0] = addr;
	t[1] = 0;
	t[2] = 0;
	if (pwrite(cfd, &on, 2, cap + 2) != 2) {
		expect("absent-irte-msix-enable", 0, on);
	} else {
		t[3] = 0; /* unmasked: the device's route is set up now, through the absent IRTE */
		expect("absent-irte-vector-written", t[0] == addr && t[3] == 0, t[0]);
		usleep(200 * 1000);
		t[3] = 1;
		ctrl &= (uint16_t)~0x8000;
		if (pwrite(cfd, &ctrl, 2, cap + 2) != 2)
			expect("absent-irte-msix-disable", 0, ctrl);
	}
	munmap(map, 0x1000);
	close(fd);
}

int main(int argc, char **argv)
{
	if (argc != 2 && !(argc == 3 && !strcmp(argv[2], "irte"))) {
		fprintf(stderr, "usage: vpoke /sys/bus/pci/devices/DEV/resource0 [irte]\n");
		return 2;
	}
	/* A driver turns bus mastering on (PCI command bit 2) before it starts the device; the
	 * device does no DMA without it. Through the config file beside resource0. */
	char cfg[512];
	snprintf(cfg, sizeof(cfg), "%s", argv[1]);
	char *slash = strrchr(cfg, '/');
	uint16_t cmd = 0;
	int cfd = -1;
	if (slash && (size_t)(slash - cfg) + sizeof("/config") <= sizeof(cfg)) {
		strcpy(slash, "/config");
		cfd = open(cfg, O_RDWR);
	}
	if (cfd < 0 || pread(cfd, &cmd, 2, 4) != 2 || (cmd |= 0x6, pwrite(cfd, &cmd, 2, 4) != 2)) {
		perror("vpoke: enabling bus mastering");
		return 1;
	}
	if (argc == 3) {
		absent_irte_vector(cfd, argv[1]);
		close(cfd);
		printf("vpoke: done failures=%d\n", failures);
		return failures != 0;
	}
	close(cfd);
	int fd = open(argv[1], O_RDWR | O_SYNC);
	bar = fd < 0 ? MAP_FAILED : mmap(NULL, 0x4000, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (bar == MAP_FAILED) {
		perror("vpoke: mapping BAR 0");
		return 1;
	}
	uint16_t max = (w16(VIRTIO_PCI_COMMON_Q_SELECT, 0), r16(VIRTIO_PCI_COMMON_Q_SIZE));
	negotiate();
	w16(VIRTIO_PCI_COMMON_Q_SELECT, 0);
	w16(VIRTIO_PCI_COMMON_Q_SIZE, 1000);
	expect("queue-size-not-power-of-two-ignored", r16(VIRTIO_PCI_COMMON_Q_SIZE) == max, r16(VIRTIO_PCI_COMMON_Q_SIZE));
	w16(VIRTIO_PCI_COMMON_Q_SIZE, (uint16_t)(max * 2));
	expect("queue-size-over-maximum-ignored", r16(VIRTIO_PCI_COMMON_Q_SIZE) == max, r16(VIRTIO_PCI_COMMON_Q_SIZE));
	w16(VIRTIO_PCI_COMMON_NUMQ, 77);
	expect("num-queues-read-only", r16(VIRTIO_PCI_COMMON_NUMQ) != 77, r16(VIRTIO_PCI_COMMON_NUMQ));
	w8(VIRTIO_PCI_COMMON_CFGGENERATION, 0x55);
	expect("config-generation-read-only", r8(VIRTIO_PCI_COMMON_CFGGENERATION) != 0x55, r8(VIRTIO_PCI_COMMON_CFGGENERATION));
	/* Rings far outside guest RAM (1 TiB), or in the PCI hole below 4 GiB, then DRIVER_OK:
	 * the device must answer NEEDS_RESET; a reset clears it. */
	start_with_bad_ring("rings-outside-ram-need-reset", 0, 0x100);
	w8(VIRTIO_PCI_COMMON_STATUS, 0);
	expect("reset-clears-status", r8(VIRTIO_PCI_COMMON_STATUS) == 0, r8(VIRTIO_PCI_COMMON_STATUS));
	negotiate();
	start_with_bad_ring("ring-in-pci-hole-needs-reset", 1, 0);
	w8(VIRTIO_PCI_COMMON_STATUS, 0);
	printf("vpoke: done failures=%d\n", failures);
	return failures != 0;
}
