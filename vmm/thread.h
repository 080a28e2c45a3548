#ifndef VMM_THREAD_H
#define VMM_THREAD_H

#include <pthread.h>

/* Stack size of every thread vmm starts (vCPUs, the kernel preload, the loader's helper). Below
 * 2 MiB on purpose: glibc's default 8 MiB stack mapping can hold a whole 2 MiB-aligned block, and
 * where it does (it depends on where mmap placed it) the L1's transparent huge pages (`always`)
 * back the first touch of the thread's stack with a 2 MiB page, the likely cause of vmm's RSS
 * beside guest RAM being 1.3 MiB in one perf run and 3.3 MiB in others. The deepest use is a vCPU thread
 * in the VT-d last-level walk (two 512-entry arrays, 20 KiB). */
#define VMM_THREAD_STACK (512u * 1024)

/* pthread_create with VMM_THREAD_STACK; returns 0 or a positive error number, as pthread_create. */
int vmm_thread_create(pthread_t *thread, void *(*fn)(void *), void *arg);

#endif
