#include "exitbench.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "bus.h"
#include "layout.h"

#define BENCH_PORT 0x510
#define BENCH_CODE 0x1000
#define BENCH_MEM  0x10000

struct bench_vm {
	int vm_fd, vcpu_fd;
	struct kvm_run *run;
	uint8_t *mem;
	size_t run_size;
};

static void bench_vm_free(struct bench_vm *b)
{
	if (b->run) munmap(b->run, b->run_size);
	if (b->mem) munmap(b->mem, BENCH_MEM);
	if (b->vcpu_fd > 0) close(b->vcpu_fd);
	if (b->vm_fd > 0) close(b->vm_fd);
}

static int bench_vm_create(struct kvm *kvm, struct bench_vm *b, char *err, size_t errlen)
{
	memset(b, 0, sizeof(*b));
	/* Real mode at 0x1000: mov dx, BENCH_PORT; 1: out dx, al; jmp 1b */
	static const uint8_t code[] = { 0xBA, BENCH_PORT & 0xFF, BENCH_PORT >> 8, 0xEE, 0xEB, 0xFD };
	b->vm_fd = ioctl(kvm->fd, KVM_CREATE_VM, 0);
	if (b->vm_fd < 0) {
		snprintf(err, errlen, "KVM_CREATE_VM failed: %s", strerror(errno));
		return -errno;
	}
	b->mem = mmap(NULL, BENCH_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b->mem == MAP_FAILED) {
		b->mem = NULL;
		snprintf(err, errlen, "mmap failed");
		return -ENOMEM;
	}
	memcpy(b->mem + BENCH_CODE, code, sizeof(code));
	struct kvm_userspace_memory_region slot = { .slot = 0, .memory_size = BENCH_MEM,
						    .userspace_addr = (uintptr_t)b->mem };
	if (ioctl(b->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0 ||
	    (b->vcpu_fd = ioctl(b->vm_fd, KVM_CREATE_VCPU, 0)) < 0) {
		snprintf(err, errlen, "KVM memory/vCPU set-up failed: %s", strerror(errno));
		return -errno;
	}
	b->run_size = kvm->vcpu_mmap_size;
	b->run = mmap(NULL, b->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, b->vcpu_fd, 0);
	if (b->run == MAP_FAILED) {
		b->run = NULL;
		snprintf(err, errlen, "mmap of kvm_run failed");
		return -ENOMEM;
	}
	struct kvm_sregs sregs;
	if (ioctl(b->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	struct kvm_regs regs = { .rip = BENCH_CODE, .rflags = 2 };
	if (ioctl(b->vcpu_fd, KVM_SET_SREGS, &sregs) < 0 || ioctl(b->vcpu_fd, KVM_SET_REGS, &regs) < 0) {
		snprintf(err, errlen, "setting vCPU registers failed: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static int run_until_io(struct bench_vm *b)
{
	for (;;) {
		if (ioctl(b->vcpu_fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (b->run->exit_reason == KVM_EXIT_IO && b->run->io.port == BENCH_PORT)
			return 0;
		return -EIO;
	}
}

int exitbench_probe(struct kvm *kvm, char *err, size_t errlen)
{
	struct bench_vm b;
	int ret = bench_vm_create(kvm, &b, err, errlen);
	if (!ret && (ret = run_until_io(&b)))
		snprintf(err, errlen, "KVM_RUN of a test guest failed (%s): this KVM cannot run guests",
			 strerror(-ret));
	bench_vm_free(&b);
	return ret;
}

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static uint64_t sink_count;
static void sink_read(void *o, uint64_t off, void *d, unsigned len) { (void)o; (void)off; memset(d, 0, len); }
static void sink_write(void *o, uint64_t off, const void *d, unsigned len) { (void)o; (void)off; (void)d; (void)len; sink_count++; }
static const struct bus_ops sink_ops = { .read = sink_read, .write = sink_write };

int exitbench_run(struct kvm *kvm, uint64_t iterations, struct exitbench_result *res, char *err, size_t errlen)
{
	struct bench_vm b;
	struct bus bus;
	memset(res, 0, sizeof(*res));
	res->iterations = iterations;
	int ret = bench_vm_create(kvm, &b, err, errlen);
	if (!ret)
		ret = bus_init(&bus, "bench");
	if (ret) {
		bench_vm_free(&b);
		return ret;
	}
	/* The board's port ranges, so that the lookup walks a realistic table. */
	static const uint64_t ports[][2] = { { PORT_CMOS, 2 }, { PORT_COM1, 8 }, { PORT_PM1A_EVT, 4 },
					     { PORT_PM1A_CNT, 2 }, { PORT_PCI_CONFIG_ADDR, 1 },
					     { PORT_RESET, 1 }, { PORT_PCI_CONFIG_DATA, 4 } };
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]) && !ret; i++)
		ret = bus_register(&bus, ports[i][0], ports[i][1], &sink_ops, NULL, "board");
	if (!ret)
		ret = bus_register(&bus, BENCH_PORT, 1, &sink_ops, NULL, "bench");
	/* Warm up, then the bare loop, then the dispatched loop. */
	for (uint64_t i = 0; i < 1000 && !ret; i++)
		ret = run_until_io(&b);
	double t0 = now_ns();
	for (uint64_t i = 0; i < iterations && !ret; i++)
		ret = run_until_io(&b);
	double t1 = now_ns(), in_bus = 0;
	for (uint64_t i = 0; i < iterations && !ret; i++) {
		ret = run_until_io(&b);
		double d0 = now_ns();
		struct kvm_run *run = b.run;
		bus_access(&bus, run->io.direction == KVM_EXIT_IO_OUT, run->io.port,
			   (uint8_t *)run + run->io.data_offset, run->io.size);
		in_bus += now_ns() - d0;
	}
	double t2 = now_ns();
	if (ret)
		snprintf(err, errlen, "benchmark guest failed: %s", strerror(-ret));
	else if (sink_count != iterations) {
		snprintf(err, errlen, "dispatcher delivered %llu of %llu writes", (unsigned long long)sink_count,
			 (unsigned long long)iterations);
		ret = -EIO;
	} else {
		res->bare_ns_per_exit = (t1 - t0) / iterations;
		res->dispatch_ns_per_exit = (t2 - t1) / iterations;
		res->dispatch_user_ns = in_bus / iterations;
	}
	bus_destroy(&bus);
	bench_vm_free(&b);
	return ret;
}
