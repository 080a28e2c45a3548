/* The vhost side shared by the vhost unit tests, without a vhost device: a SOCK_SEQPACKET pair
 * stands in for the vhost fd (one message per read and write, as vhost does), with a virtio-net
 * PCI function (bus mastering on) and a struct vhost_net over a DMA space. Included by one test
 * program each. */
#ifndef TESTS_VHOST_HARNESS_H
#define TESTS_VHOST_HARNESS_H

#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../virtio/vhost_net.h"
#include "../../virtio/virtio_pci.h"
#include "check.h"

static int peer; /* the test's end of the "vhost fd"; vh->fd is vmm's */

/* Both ends non-blocking: a read finds the next message or nothing. */
static inline void vhost_harness_init(struct virtio_pci *vp, struct vhost_net *vh, struct dma_space *dma, uint16_t rid)
{
	int sv[2];
	CHECK_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	peer = sv[1];
	memset(vp, 0, sizeof(*vp));
	vp->pci.name = "test-net";
	vp->pci.rid = rid;
	vp->pci.cfg[PCI_COMMAND] = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	memset(vh, 0, sizeof(*vh));
	vh->fd = sv[0];
	vh->dma = dma;
	vh->vp = vp;
}

static inline void vhost_harness_fini(struct vhost_net *vh)
{
	close(vh->fd);
	close(peer);
}

/* The next message vmm wrote to vhost, if any. */
static inline bool next_msg(struct vhost_msg_v2 *m)
{
	return read(peer, m, sizeof(*m)) == (ssize_t)sizeof(*m);
}

/* vhost asks for iova (vmm reads it in vhost_iotlb_on_message()). */
static inline void send_miss(uint64_t iova, uint8_t perm)
{
	struct vhost_msg_v2 m = vhost_iotlb_msg(VHOST_IOTLB_MISS, iova, 0, 0, perm);
	CHECK_EQ(write(peer, &m, sizeof(m)), sizeof(m));
}

#endif
