/* A small encoder for the ACPI Machine Language the DSDT needs (ACPI 6.4, chapter 20). */
#ifndef VMM_AML_H
#define VMM_AML_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"

/* A growable byte buffer; on allocation failure `failed` is set and later appends do nothing. */
struct aml {
	uint8_t *buf;
	size_t len, cap;
	int failed;
};

void aml_free(struct aml *a);
void aml_bytes(struct aml *a, const void *p, size_t n);
void aml_byte(struct aml *a, uint8_t b);
/* Integer as ZeroOp, OneOp or the shortest Byte/Word/DWord/QWord constant. */
void aml_integer(struct aml *a, uint64_t v);
/* A NameString: "\\_SB_", "_HID", "\\_S5_" (each segment padded to four characters). */
void aml_namestring(struct aml *a, const char *name);
/* Compressed EISA ID such as "PNP0A08", as a DWord constant. */
void aml_eisaid(struct aml *a, const char *id);
uint32_t aml_eisaid_value(const char *id);

/* Name(name, <object appended next>) */
void aml_name(struct aml *a, const char *name);
/* Scope/Device/Package/Buffer bodies: open returns a mark, close fills in the PkgLength. */
size_t aml_open_scope(struct aml *a, const char *name);
size_t aml_open_device(struct aml *a, const char *name);
size_t aml_open_package(struct aml *a, uint8_t count);
size_t aml_open_buffer(struct aml *a); /* the BufferSize is filled in by close */
void aml_close(struct aml *a, size_t mark);
void aml_close_buffer(struct aml *a, size_t mark);

/* Resource descriptors (ACPI 6.4, 6.4) for use inside a buffer. */
void aml_res_io(struct aml *a, uint16_t base, uint8_t len);
void aml_res_irq(struct aml *a, uint16_t irq_mask);
void aml_res_word_bus(struct aml *a, uint16_t min, uint16_t max);
void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max);
void aml_res_dword_mem(struct aml *a, uint32_t min, uint32_t max);
void aml_res_qword_mem(struct aml *a, uint64_t min, uint64_t max);
void aml_res_end(struct aml *a);

#endif
