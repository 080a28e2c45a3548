#include "dma.h"

#include <errno.h>
#include <string.h>

int dma_space_init(struct dma_space *s, const struct guest_memory *mem)
{
	memset(s, 0, sizeof(*s));
	s->mem = mem;
	return -pthread_mutex_init(&s->lock, NULL);
}

void dma_space_destroy(struct dma_space *s)
{
	if (s->mem)
		pthread_mutex_destroy(&s->lock);
	s->mem = NULL;
}

void dma_space_set_iommu(struct dma_space *s, const struct dma_iommu_ops *ops, void *iommu)
{
	s->ops = ops;
	s->iommu = iommu;
}

void dma_lock(struct dma_space *s) { pthread_mutex_lock(&s->lock); }
void dma_unlock(struct dma_space *s) { pthread_mutex_unlock(&s->lock); }

int dma_translate_locked(struct dma_space *s, uint16_t rid, uint64_t iova, unsigned access, bool record_fault,
			 struct dma_translation *out)
{
	if (s->ops)
		return s->ops->translate(s->iommu, rid, iova, access, record_fault, out);
	for (unsigned i = 0; i < s->mem->nregions; i++) {
		const struct guest_region *r = &s->mem->regions[i];
		if (iova >= r->gpa && iova - r->gpa < r->size) {
			*out = (struct dma_translation){
				.iova = iova, .gpa = iova, .len = r->size - (iova - r->gpa), .perm = DMA_PERM_RW,
			};
			return 0;
		}
	}
	return -EFAULT;
}

int dma_prefetch_locked(struct dma_space *s, uint16_t rid, uint64_t iova, struct dma_translation *out, unsigned max)
{
	if (!s->ops || !s->ops->prefetch)
		return 0;
	return s->ops->prefetch(s->iommu, rid, iova, out, max);
}

static int dma_copy(struct dma_space *s, uint16_t rid, uint64_t iova, void *buf, size_t len, bool is_write)
{
	uint8_t *p = buf;
	int ret = 0;
	dma_lock(s);
	while (len) {
		struct dma_translation t;
		ret = dma_translate_locked(s, rid, iova, is_write ? DMA_PERM_WRITE : DMA_PERM_READ, true, &t);
		if (ret)
			break;
		uint64_t off = iova - t.iova;
		uint64_t n = t.len - off < len ? t.len - off : len;
		ret = is_write ? guest_write(s->mem, t.gpa + off, p, n) : guest_read(s->mem, t.gpa + off, p, n);
		if (ret)
			break;
		p += n;
		len -= n;
		iova += n;
		if (!iova && len) { /* wrapped around the address space */
			ret = -EFAULT;
			break;
		}
	}
	dma_unlock(s);
	return ret;
}

int dma_read(struct dma_space *s, uint16_t rid, uint64_t iova, void *buf, size_t len)
{
	return dma_copy(s, rid, iova, buf, len, false);
}

int dma_write(struct dma_space *s, uint16_t rid, uint64_t iova, const void *buf, size_t len)
{
	return dma_copy(s, rid, iova, (void *)buf, len, true);
}

int dma_add_listener(struct dma_space *s, uint16_t rid, dma_invalidate_fn fn, void *opaque)
{
	int ret = -ENOSPC;
	dma_lock(s);
	if (s->nlisteners < DMA_MAX_LISTENERS) {
		s->listeners[s->nlisteners++] = (struct dma_listener){ .rid = rid, .invalidate = fn, .opaque = opaque };
		ret = 0;
	}
	dma_unlock(s);
	return ret;
}

void dma_remove_listener(struct dma_space *s, void *opaque)
{
	dma_lock(s);
	for (unsigned i = 0; i < s->nlisteners;) {
		if (s->listeners[i].opaque == opaque)
			s->listeners[i] = s->listeners[--s->nlisteners];
		else
			i++;
	}
	dma_unlock(s);
}

void dma_notify_locked(struct dma_space *s, bool (*match)(void *ctx, uint16_t rid), void *ctx, uint64_t first,
		       uint64_t last)
{
	for (unsigned i = 0; i < s->nlisteners; i++)
		if (!match || match(ctx, s->listeners[i].rid))
			s->listeners[i].invalidate(s->listeners[i].opaque, first, last);
}
