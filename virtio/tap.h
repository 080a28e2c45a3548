/* A Linux tap device with virtio-net headers, the backend vhost-net moves packets to and from. */
#ifndef VIRTIO_TAP_H
#define VIRTIO_TAP_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../vmm/log.h"

#define TAP_VNET_HDR_LEN 12 /* struct virtio_net_hdr_mrg_rxbuf: VERSION_1 always has num_buffers */

struct tap {
	int fd;
	char name[IFNAMSIZ];
	unsigned offloads; /* TUN_F_* the tap accepts */
};

/* Opens the tap NAME, creating it if it does not exist. */
int tap_open(struct tap *tap, const char *name, char *err, size_t errlen) __must_check;
/* The checksum/TSO offloads the guest can receive, as TUN_F_* flags. */
int tap_set_offload(struct tap *tap, unsigned tun_flags) __must_check;
/* Whether the host deleted the tap: the kernel then detaches the fd, which stays open without a
 * device (TUNGETIFF fails with EBADFD). A tap moved to another network namespace is attached. */
bool tap_detached(const struct tap *tap);
void tap_close(struct tap *tap);

#endif
