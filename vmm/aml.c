/* AML encoding: opcodes, PkgLength, names, integers and resource templates (ACPI 6.4, 20.2, 6.4). */
#include "aml.h"

#include <stdlib.h>
#include <string.h>

#define AML_ZERO_OP     0x00
#define AML_ONE_OP      0x01
#define AML_NAME_OP     0x08
#define AML_BYTE_PREFIX 0x0A
#define AML_WORD_PREFIX 0x0B
#define AML_DWORD_PREFIX 0x0C
#define AML_QWORD_PREFIX 0x0E
#define AML_SCOPE_OP    0x10
#define AML_BUFFER_OP   0x11
#define AML_PACKAGE_OP  0x12
#define AML_EXT_OP      0x5B
#define AML_DEVICE_OP   0x82 /* after AML_EXT_OP */
#define AML_ROOT_CHAR   '\\'
#define AML_DUAL_NAME   0x2E
#define AML_MULTI_NAME  0x2F

/* Resource descriptor tags (ACPI 6.4, 6.4.2 and 6.4.3). */
#define RES_IRQ_NOFLAGS   0x22
#define RES_IO            0x47
#define RES_END_TAG       0x79
#define RES_DWORD_ADDR    0x87
#define RES_WORD_ADDR     0x88
#define RES_QWORD_ADDR    0x8A
#define RES_TYPE_MEMORY   0
#define RES_TYPE_IO       1
#define RES_TYPE_BUS      2
#define RES_FLAGS_BRIDGE  0x0C /* producer, positive decode, min and max fixed */
#define RES_MEM_RW        0x01 /* read-write, non-cacheable */
#define RES_IO_ENTIRE     0x03 /* ISA and non-ISA ranges */

void aml_free(struct aml *a)
{
	free(a->buf);
	memset(a, 0, sizeof(*a));
}

static int reserve(struct aml *a, size_t n)
{
	if (a->failed)
		return -1;
	if (a->len + n <= a->cap)
		return 0;
	size_t cap = a->cap ? a->cap : 256;
	while (cap < a->len + n)
		cap *= 2;
	uint8_t *b = realloc(a->buf, cap);
	if (!b) {
		a->failed = 1;
		return -1;
	}
	a->buf = b;
	a->cap = cap;
	return 0;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (reserve(a, n))
		return;
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t b) { aml_bytes(a, &b, 1); }

static void le(struct aml *a, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		aml_byte(a, (uint8_t)(v >> (8 * i)));
}

void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0) aml_byte(a, AML_ZERO_OP);
	else if (v == 1) aml_byte(a, AML_ONE_OP);
	else if (v <= 0xFF) { aml_byte(a, AML_BYTE_PREFIX); le(a, v, 1); }
	else if (v <= 0xFFFF) { aml_byte(a, AML_WORD_PREFIX); le(a, v, 2); }
	else if (v <= 0xFFFFFFFF) { aml_byte(a, AML_DWORD_PREFIX); le(a, v, 4); }
	else { aml_byte(a, AML_QWORD_PREFIX); le(a, v, 8); }
}

static void nameseg(struct aml *a, const char *s, size_t n)
{
	char seg[4] = { '_', '_', '_', '_' };
	memcpy(seg, s, n > 4 ? 4 : n);
	aml_bytes(a, seg, 4);
}

void aml_namestring(struct aml *a, const char *name)
{
	if (*name == AML_ROOT_CHAR) {
		aml_byte(a, AML_ROOT_CHAR);
		name++;
	}
	size_t nsegs = 1;
	for (const char *p = name; *p; p++)
		nsegs += *p == '.';
	if (nsegs == 2)
		aml_byte(a, AML_DUAL_NAME);
	else if (nsegs > 2) {
		aml_byte(a, AML_MULTI_NAME);
		aml_byte(a, (uint8_t)nsegs);
	}
	while (*name) {
		size_t n = strcspn(name, ".");
		nameseg(a, name, n);
		name += n + (name[n] == '.');
	}
}

uint32_t aml_eisaid_value(const char *id)
{
	unsigned hex = (unsigned)strtoul(id + 3, NULL, 16);
	uint32_t v = (uint32_t)((id[0] - 0x40) & 0x1F) << 26 | (uint32_t)((id[1] - 0x40) & 0x1F) << 21 |
		     (uint32_t)((id[2] - 0x40) & 0x1F) << 16 | (hex & 0xFFFF);
	return __builtin_bswap32(v); /* stored most significant byte first */
}

void aml_eisaid(struct aml *a, const char *id)
{
	aml_byte(a, AML_DWORD_PREFIX);
	le(a, aml_eisaid_value(id), 4);
}

void aml_name(struct aml *a, const char *name)
{
	aml_byte(a, AML_NAME_OP);
	aml_namestring(a, name);
}

/* PkgLength placeholder: 4 bytes reserved, shrunk on close. */
static size_t open_pkg(struct aml *a)
{
	size_t mark = a->len;
	le(a, 0, 4);
	return mark;
}

void aml_close(struct aml *a, size_t mark)
{
	if (a->failed)
		return;
	size_t body = a->len - mark - 4;
	unsigned n = body + 1 < 0x40 ? 1 : body + 2 < 0x1000 ? 2 : body + 3 < 0x100000 ? 3 : 4;
	size_t total = body + n; /* PkgLength counts its own bytes */
	uint8_t enc[4];
	if (n == 1) {
		enc[0] = (uint8_t)total;
	} else {
		enc[0] = (uint8_t)((n - 1) << 6 | (total & 0xF));
		for (unsigned i = 1; i < n; i++)
			enc[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	memmove(a->buf + mark + n, a->buf + mark + 4, body);
	memcpy(a->buf + mark, enc, n);
	a->len = mark + n + body;
}

size_t aml_open_scope(struct aml *a, const char *name)
{
	aml_byte(a, AML_SCOPE_OP);
	size_t m = open_pkg(a);
	aml_namestring(a, name);
	return m;
}

size_t aml_open_device(struct aml *a, const char *name)
{
	aml_byte(a, AML_EXT_OP);
	aml_byte(a, AML_DEVICE_OP);
	size_t m = open_pkg(a);
	aml_namestring(a, name);
	return m;
}

size_t aml_open_package(struct aml *a, uint8_t count)
{
	aml_byte(a, AML_PACKAGE_OP);
	size_t m = open_pkg(a);
	aml_byte(a, count);
	return m;
}

/* Buffer: PkgLength, then BufferSize (a DWord here, patched on close), then the bytes. */
size_t aml_open_buffer(struct aml *a)
{
	aml_byte(a, AML_BUFFER_OP);
	size_t m = open_pkg(a);
	aml_byte(a, AML_DWORD_PREFIX);
	le(a, 0, 4);
	return m;
}

void aml_close_buffer(struct aml *a, size_t mark)
{
	if (a->failed)
		return;
	uint32_t size = (uint32_t)(a->len - mark - 4 - 5);
	memcpy(a->buf + mark + 5, &size, 4);
	aml_close(a, mark);
}

void aml_res_io(struct aml *a, uint16_t base, uint8_t len)
{
	aml_byte(a, RES_IO);
	aml_byte(a, 1); /* 16-bit decode */
	le(a, base, 2);
	le(a, base, 2);
	aml_byte(a, 1); /* alignment */
	aml_byte(a, len);
}

void aml_res_irq(struct aml *a, uint16_t irq_mask)
{
	aml_byte(a, RES_IRQ_NOFLAGS);
	le(a, irq_mask, 2);
}

static void word_addr(struct aml *a, uint8_t type, uint8_t tflags, uint16_t min, uint16_t max)
{
	aml_byte(a, RES_WORD_ADDR);
	le(a, 13, 2);
	aml_byte(a, type);
	aml_byte(a, RES_FLAGS_BRIDGE);
	aml_byte(a, tflags);
	le(a, 0, 2);   /* granularity */
	le(a, min, 2);
	le(a, max, 2);
	le(a, 0, 2);   /* translation offset */
	le(a, (uint16_t)(max - min + 1), 2);
}

void aml_res_word_bus(struct aml *a, uint16_t min, uint16_t max) { word_addr(a, RES_TYPE_BUS, 0, min, max); }
void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max) { word_addr(a, RES_TYPE_IO, RES_IO_ENTIRE, min, max); }

void aml_res_dword_mem(struct aml *a, uint32_t min, uint32_t max)
{
	aml_byte(a, RES_DWORD_ADDR);
	le(a, 23, 2);
	aml_byte(a, RES_TYPE_MEMORY);
	aml_byte(a, RES_FLAGS_BRIDGE);
	aml_byte(a, RES_MEM_RW);
	le(a, 0, 4);
	le(a, min, 4);
	le(a, max, 4);
	le(a, 0, 4);
	le(a, (uint64_t)max - min + 1, 4);
}

void aml_res_qword_mem(struct aml *a, uint64_t min, uint64_t max)
{
	aml_byte(a, RES_QWORD_ADDR);
	le(a, 43, 2);
	aml_byte(a, RES_TYPE_MEMORY);
	aml_byte(a, RES_FLAGS_BRIDGE);
	aml_byte(a, RES_MEM_RW);
	le(a, 0, 8);
	le(a, min, 8);
	le(a, max, 8);
	le(a, 0, 8);
	le(a, max - min + 1, 8);
}

void aml_res_end(struct aml *a)
{
	aml_byte(a, RES_END_TAG);
	aml_byte(a, 0); /* checksum 0: treated as valid */
}
