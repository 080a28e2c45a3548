/* Ctrl-A escapes on the console: quit, power button, literal Ctrl-A, split across reads. */
#include <string.h>

#include "../../vmm/console.h"
#include "check.h"

int main(void)
{
	struct console_escape esc = { 0 };
	size_t used, out;
	uint8_t a[] = "ls\n";
	CHECK_EQ(console_filter(&esc, a, 3, &used, &out), CONSOLE_NONE);
	CHECK_EQ(used, 3);
	CHECK_EQ(out, 3);

	uint8_t b[] = { 'x', 0x01, 'x', 'y' };
	CHECK_EQ(console_filter(&esc, b, 4, &used, &out), CONSOLE_QUIT);
	CHECK_EQ(used, 3);
	CHECK_EQ(out, 1);
	CHECK_EQ(b[0], 'x');

	uint8_t c[] = { 0x01, 'a', 'q', 0x01, 0x01 };
	CHECK_EQ(console_filter(&esc, c, 5, &used, &out), CONSOLE_NONE);
	CHECK_EQ(out, 3);
	CHECK(!memcmp(c, "\x01q\x01", 3));

	/* Escape split across two reads. */
	uint8_t d[] = { 0x01 };
	CHECK_EQ(console_filter(&esc, d, 1, &used, &out), CONSOLE_NONE);
	CHECK_EQ(out, 0);
	uint8_t e[] = { 'p', 'z' };
	CHECK_EQ(console_filter(&esc, e, 2, &used, &out), CONSOLE_POWER_BUTTON);
	CHECK_EQ(used, 1);
	CHECK_EQ(out, 0);
	/* Unknown escapes are dropped. */
	uint8_t f[] = { 0x01, 'Q', 'k' };
	CHECK_EQ(console_filter(&esc, f, 3, &used, &out), CONSOLE_NONE);
	CHECK_EQ(out, 1);
	CHECK_EQ(f[0], 'k');
	return check_report("console");
}
