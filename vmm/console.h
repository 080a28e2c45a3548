/* The host terminal: raw mode while the guest runs, and the Ctrl-A escape keys (as QEMU's). */
#ifndef VMM_CONSOLE_H
#define VMM_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONSOLE_ESCAPE 0x01 /* Ctrl-A */

enum console_action { CONSOLE_NONE, CONSOLE_QUIT, CONSOLE_POWER_BUTTON, CONSOLE_HELP };

struct console_escape {
	bool pending; /* the last byte was Ctrl-A */
};

/* Filters `in` in place: bytes for the guest stay, escape sequences are removed. Stops at the
 * first action and returns it; *consumed says how many input bytes were looked at and *out_len
 * how many bytes for the guest are at the start of `in`. */
enum console_action console_filter(struct console_escape *esc, uint8_t *in, size_t len,
				   size_t *consumed, size_t *out_len);

/* Raw mode on stdin when it is a terminal; restored by console_restore (also at exit). */
void console_raw(void);
void console_restore(void);

#endif
