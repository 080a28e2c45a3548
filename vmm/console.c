#include "console.h"

#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

static struct termios saved;
static bool is_raw;

enum console_action console_filter(struct console_escape *esc, uint8_t *in, size_t len,
				   size_t *consumed, size_t *out_len)
{
	size_t out = 0;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = in[i];
		if (!esc->pending) {
			if (c == CONSOLE_ESCAPE)
				esc->pending = true;
			else
				in[out++] = c;
			continue;
		}
		esc->pending = false;
		enum console_action act = CONSOLE_NONE;
		switch (c) {
		case 'x': act = CONSOLE_QUIT; break;
		case 'p': act = CONSOLE_POWER_BUTTON; break;
		case 'h': act = CONSOLE_HELP; break;
		case 'a': case CONSOLE_ESCAPE: in[out++] = CONSOLE_ESCAPE; break; /* send a literal Ctrl-A */
		default: break; /* unknown escapes are dropped */
		}
		if (act != CONSOLE_NONE) {
			*consumed = i + 1;
			*out_len = out;
			return act;
		}
	}
	*consumed = len;
	*out_len = out;
	return CONSOLE_NONE;
}

void console_restore(void)
{
	if (is_raw) {
		/* Cleared first: the sandbox's SIGSYS handler calls this too, and must not recurse. */
		is_raw = false;
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	}
}

void console_raw(void)
{
	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved) < 0)
		return;
	struct termios raw = saved;
	cfmakeraw(&raw);
	/* Keep output processing so that vmm's own stderr lines end well. */
	raw.c_oflag |= OPOST;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0) {
		is_raw = true;
		atexit(console_restore);
	}
}
