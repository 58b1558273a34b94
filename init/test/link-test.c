/*
 * Host unit test of log-link.c's frame buffer over a socketpair standing in for the endpoint:
 * frames leave whole and in order, the buffer refuses what does not fit and reuses the space that
 * sent frames leave, and a frame cut short by a lost connection goes again whole. make -C init unit
 */
#include "../init.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A link that is up on one end of a socketpair; *peer is the endpoint's end. */
static void connect_link(struct log_link *l, int *peer)
{
	int fds[2];
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds);
	l->sock = fds[0];
	l->state = LINK_UP;
	*peer = fds[1];
}

static bool enqueue_text(struct log_link *l, const char *header, const char *msg)
{
	return link_enqueue(l, header, strlen(header), msg, strlen(msg));
}

/* Everything the endpoint can read now. */
static size_t receive(int peer, char *out, size_t size)
{
	size_t len = 0;
	ssize_t n;
	while (len < size && (n = recv(peer, out + len, size - len, MSG_DONTWAIT)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	return len;
}

static void send_all(struct log_link *l)
{
	for (int i = 0; i < 100 && l->tail > l->sent; i++)
		link_handle(l, POLLOUT);
}

static struct log_link new_link(size_t capacity)
{
	struct log_link l = { .sock = -1, .capacity = capacity, .state = LINK_DOWN, .backoff_ms = 600000 };
	l.buffer = malloc(capacity);
	l.state_until_ms = uptime_ms() + 600000; /* no reconnect of its own during the test */
	return l;
}

static void test_small_frames(void)
{
	struct log_link l = new_link(64);
	int peer;
	char got[256];
	CHECK(enqueue_text(&l, "<14>1 h ", "one") && enqueue_text(&l, "<11>1 h ", "two"), "two frames do not fit");
	CHECK(l.tail == 2 * (3 + 8 + 3), "the buffer holds %zu bytes", l.tail);
	/* 28 + 38 > 64: refused, nothing appended. */
	CHECK(!enqueue_text(&l, "<14>1 h ", "a message of 27 bytes......"), "a frame over the capacity was taken");
	CHECK(l.tail == 28, "a refused frame left %zu bytes", l.tail);
	connect_link(&l, &peer);
	send_all(&l);
	receive(peer, got, sizeof got);
	CHECK(strcmp(got, "11 <14>1 h one11 <11>1 h two") == 0, "the endpoint got '%s'", got);
	CHECK(l.head == 0 && l.tail == 0 && l.sent == 0, "sent frames stay: head %zu tail %zu", l.head, l.tail);
	close(peer);
	close(l.sock);
	free(l.buffer);
}

/*
 * Frames of 1000-3000 bytes through a socket that takes a few KiB at a time: partial sends, space
 * reused as frames leave; the endpoint reads every frame, whole and in order.
 */
static void test_stream(void)
{
	enum { FRAMES = 300 };
	struct log_link l = new_link(16 * 1024);
	int peer, small = 4096;
	connect_link(&l, &peer);
	setsockopt(l.sock, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
	setsockopt(peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
	size_t expected_size = 4 * 1024 * 1024, expected_len = 0, got_len = 0;
	char *expected = malloc(expected_size), *got = malloc(expected_size), msg[3001], header[24];
	int queued = 0, refused = 0, partial = 0;
	for (int round = 0; round < 100000 && (queued < FRAMES || l.tail > l.head); round++) {
		while (queued < FRAMES) {
			size_t len = 1000 + (size_t)(queued * 7919) % 2000;
			memset(msg, 'a' + queued % 26, len);
			msg[len] = '\0';
			snprintf(header, sizeof header, "<14>1 %04d ", queued);
			if (!enqueue_text(&l, header, msg)) {
				refused++;
				break;
			}
			expected_len += (size_t)sprintf(expected + expected_len, "%zu %s%s", strlen(header) + len, header, msg);
			queued++;
		}
		link_handle(&l, POLLOUT);
		partial += l.sent > l.head; /* a frame is partly sent */
		got_len += receive(peer, got + got_len, expected_size - got_len - 1);
	}
	got_len += receive(peer, got + got_len, expected_size - got_len - 1);
	CHECK(queued == FRAMES && refused > 0 && partial > 0, "%d frames queued, %d refused, %d partly sent", queued,
	      refused, partial);
	CHECK(got_len == expected_len && memcmp(got, expected, got_len) == 0,
	      "the endpoint got %zu bytes, expected %zu in that order", got_len, expected_len);
	close(peer);
	close(l.sock);
	free(expected);
	free(got);
	free(l.buffer);
}

/* The endpoint goes away in the middle of a frame: the whole frame goes on the next connection. */
static void test_cut_frame(void)
{
	struct log_link l = new_link(128 * 1024);
	int peer, small = 4096;
	connect_link(&l, &peer);
	setsockopt(l.sock, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
	setsockopt(peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
	static char msg[60000], got[70000];
	memset(msg, 'x', sizeof msg - 1);
	CHECK(enqueue_text(&l, "<14>1 h ", msg), "a 60 KB frame was refused");
	link_handle(&l, POLLOUT);
	CHECK(l.sent > 0 && l.sent < l.tail && l.head == 0, "sent %zu of %zu, head %zu", l.sent, l.tail, l.head);
	close(peer);
	link_handle(&l, POLLIN);
	CHECK(l.state == LINK_DOWN && l.sent == 0 && l.tail > 0, "state %s, sent %zu after EOF",
	      link_state_names[l.state], l.sent);
	connect_link(&l, &peer);
	size_t got_len = 0;
	for (int i = 0; i < 10000 && l.tail > 0; i++) {
		link_handle(&l, POLLOUT);
		got_len += receive(peer, got + got_len, sizeof got - got_len - 1);
	}
	CHECK(got_len == 6 + 8 + sizeof msg - 1 && memcmp(got, "60007 <14>1 h xxx", 17) == 0,
	      "after a reconnect the endpoint got %zu bytes: %.20s", got_len, got);
	close(peer);
	close(l.sock);
	free(l.buffer);
}

int main(void)
{
	test_small_frames();
	test_stream();
	test_cut_frame();
	return check_summary("link-test");
}
