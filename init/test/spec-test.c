/* Host unit test of spec.c's NUL-list reading: make -C init unit. spec.c is included so its static
 * reader is tested as init runs it; the init binary itself is built from spec.c unchanged. */
#include "../spec.c"
#include "check.h"

/* expected: the items in order, NULL-terminated. */
static void expect_items(const char *data, size_t len, const char *const *expected)
{
	char *copy = malloc(len + 1);
	memcpy(copy, data, len);
	size_t count = split_nul_list(copy, len, NULL, 0);
	char *items[8] = { 0 };
	split_nul_list(copy, len, items, 8);
	size_t wanted = 0;
	while (expected[wanted])
		wanted++;
	CHECK(count == wanted, "%zu items, expected %zu", count, wanted);
	for (size_t i = 0; i < count && i < wanted && i < 8; i++)
		CHECK(strcmp(items[i], expected[i]) == 0, "item %zu is '%s', expected '%s'", i, items[i], expected[i]);
	free(copy);
}

int main(void)
{
	/* An empty argument is an argument ([redis-server, --save, ""]), also in the middle and last. */
	expect_items("redis-server\0--save\0\0", 21, (const char *const[]){ "redis-server", "--save", "", NULL });
	expect_items("a\0\0b\0", 5, (const char *const[]){ "a", "", "b", NULL });
	expect_items("node\0server.js", 14, (const char *const[]){ "node", "server.js", NULL });
	expect_items("", 0, (const char *const[]){ NULL });
	return check_summary("spec-test");
}
