/* Host unit test of listen.c: make -C init unit. The lines are real ones, taken from a little-endian
 * x86-64 Linux as the guest prints them (the addresses are native words, so this test assumes one). */
#include "../init.h"
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define V4_ANY_47001 "   2: 00000000:B799 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 6397978 1 0000000034b2 100 0 0 10 0"
#define V4_LOOPBACK_47002 "   0: 0100007F:B79A 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 6397979 1 000000005a11 100 0 0 10 0"
#define V6_ANY_47003 "   2: 00000000000000000000000000000000:B79B 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 6397980 1 0000000012 100 0 0 10 0"
#define V6_LOOPBACK_47004 "   0: 00000000000000000000000001000000:B79C 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 6397981 1 0000000012 100 0 0 10 0"
#define V4_MAPPED_LOOPBACK_47005 "   1: 0000000000000000FFFF00000100007F:B79D 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 6397982 1 0000000012 100 0 0 10 0"
/* 10.0.2.15:3000, the guest's own address */
#define V4_GUEST_3000 "   3: 0F02000A:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1234 1 0000000012 100 0 0 10 0"
/* An established connection from 10.0.2.2 to 3000: not a listening socket. */
#define V4_ESTABLISHED "   4: 0F02000A:0BB8 0202000A:D431 01 00000000:00000000 00:00000000 00000000  1000        0 1235 1 0000000012 20 4 30 10 -1"
#define HEADER "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"

static void expect_socket(const char *line, unsigned port, const char *address, bool loopback)
{
	struct listen_socket s;
	bool listening = listen_parse_line(line, &s);
	CHECK(listening, "not read as listening: %.40s", line);
	if (!listening)
		return;
	CHECK(s.port == port, "port %u, expected %u", (unsigned)s.port, port);
	CHECK(strcmp(s.address, address) == 0, "address '%s', expected '%s'", s.address, address);
	CHECK(s.loopback == loopback, "loopback %d, expected %d for %s", s.loopback, loopback, address);
}

static void expect_format(const struct listen_set *set, const char *expected)
{
	char text[LISTEN_MAX * 56];
	listen_format(set, text, sizeof text);
	CHECK(strcmp(text, expected) == 0, "formatted '%s', expected '%s'", text, expected);
}

static struct listen_set set_of(const char *const *lines)
{
	struct listen_set set = { .count = 0 };
	for (; *lines; lines++) {
		struct listen_socket s;
		if (listen_parse_line(*lines, &s))
			listen_add(&set, &s);
	}
	return set;
}

/* A file bigger than the reader's buffer, so lines cross its reads; the listeners sit at both ends. */
static void test_scan_file(void)
{
	char path[] = "/tmp/listen-test-XXXXXX";
	int fd = mkstemp(path);
	FILE *file = fdopen(fd, "w");
	fprintf(file, "%s\n%s\n", HEADER, V4_GUEST_3000);
	for (int i = 0; i < 200; i++)
		fprintf(file, "%s\n", V4_ESTABLISHED);
	fprintf(file, "%s\n%s\n%s", V4_ANY_47001, V4_GUEST_3000, V4_LOOPBACK_47002); /* the last without its newline */
	fclose(file);
	struct listen_set set = { .count = 0 };
	listen_scan_file(path, &set);
	unlink(path);
	/* A last line without its newline is not read: the kernel always ends its lines. */
	CHECK(set.count == 2, "%zu listening sockets in the file, expected 2", set.count);
	expect_format(&set, "10.0.2.15:3000, 47001");

	struct listen_set none = { .count = 0 };
	listen_scan_file("/nonexistent/tcp6", &none);
	CHECK(none.count == 0, "a missing file (no IPv6) adds %zu sockets", none.count);
}

int main(void)
{
	expect_socket(V4_ANY_47001, 47001, "", false);
	expect_socket(V4_LOOPBACK_47002, 47002, "127.0.0.1", true);
	expect_socket(V6_ANY_47003, 47003, "", false);
	expect_socket(V6_LOOPBACK_47004, 47004, "[::1]", true);
	expect_socket(V4_MAPPED_LOOPBACK_47005, 47005, "127.0.0.1", true);
	expect_socket(V4_GUEST_3000, 3000, "10.0.2.15", false);

	struct listen_socket s;
	CHECK(!listen_parse_line(V4_ESTABLISHED, &s), "an established connection read as listening");
	CHECK(!listen_parse_line(HEADER, &s), "the header read as a socket");
	CHECK(!listen_parse_line("", &s), "an empty line read as a socket");
	CHECK(!listen_parse_line("   0: 0100:0BB8 00000000:0000 0A", &s), "a 16-bit address read as a socket");

	/* 0.0.0.0:47001 and :::47001 are the same to whoever connects: one entry. */
	char v6_any_47001[sizeof V6_ANY_47003];
	strcpy(v6_any_47001, V6_ANY_47003);
	memcpy(strstr(v6_any_47001, ":B79B"), ":B799", 5);
	struct listen_set both = set_of((const char *const[]){ V4_ANY_47001, v6_any_47001, NULL });
	CHECK(both.count == 1, "0.0.0.0 and :: on one port gave %zu entries", both.count);

	/* New sockets follow by port; those seen before keep their place. */
	struct listen_set before = { .count = 0 };
	struct listen_set first = set_of((const char *const[]){ V4_LOOPBACK_47002, V4_GUEST_3000, V6_LOOPBACK_47004, NULL });
	listen_order(&first, &before);
	expect_format(&first, "10.0.2.15:3000, 127.0.0.1:47002, [::1]:47004");
	struct listen_set later = set_of((const char *const[]){ V4_ANY_47001, V6_LOOPBACK_47004, V4_GUEST_3000, NULL });
	listen_order(&later, &first);
	expect_format(&later, "10.0.2.15:3000, [::1]:47004, 47001");
	CHECK(!listen_equal(&later, &first), "sets with other sockets compare equal");
	struct listen_set again = set_of((const char *const[]){ V4_GUEST_3000, V4_ANY_47001, V6_LOOPBACK_47004, NULL });
	listen_order(&again, &later);
	CHECK(listen_equal(&again, &later), "the same sockets read in another order compare unequal");
	struct listen_set empty = { .count = 0 };
	expect_format(&empty, "");

	/* More sockets than fit: the first LISTEN_MAX are kept. */
	struct listen_set full = { .count = 0 };
	for (unsigned port = 1; port <= LISTEN_MAX + 4; port++) {
		struct listen_socket extra = { .port = (uint16_t)port };
		listen_add(&full, &extra);
	}
	CHECK(full.count == LISTEN_MAX, "%zu sockets kept, expected %d", full.count, LISTEN_MAX);

	test_scan_file();
	return check_summary("listen-test");
}
