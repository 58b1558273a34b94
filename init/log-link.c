/*
 * The connection to the log endpoint and the bounded buffer of frames waiting for it: non-blocking
 * connect, reconnect with backoff, partial writes. Driven by init's poll loop through logs.c.
 */
#include "init.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FIRST_BACKOFF_MS 100
#define MAX_BACKOFF_MS 5000
#define CONNECT_TIMEOUT_MS 5000
/*
 * Under QEMU's guestfwd every connect succeeds and a failing connector shows up as EOF or a reset a
 * moment later; lines sent before that would be lost, so a connection is used once it has lasted.
 */
#define SETTLE_MS 500

const char *const link_state_names[] = { "down", "connecting", "settling", "up" };

static void set_state(struct log_link *l, enum link_state state, long long for_ms)
{
	log_debug("log endpoint %s: %s", l->endpoint_text, link_state_names[state]);
	l->state = state;
	l->state_until_ms = uptime_ms() + for_ms;
}

/* Frames partly sent go again in full on the next connection; whole ones are gone either way. */
static void link_down(struct log_link *l)
{
	if (l->sock >= 0)
		close(l->sock);
	l->sock = -1;
	l->sent = l->head;
	set_state(l, LINK_DOWN, l->backoff_ms);
	l->backoff_ms = l->backoff_ms * 2 > MAX_BACKOFF_MS ? MAX_BACKOFF_MS : l->backoff_ms * 2;
}

static void link_connect(struct log_link *l)
{
	l->sock = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->sock < 0)
		link_down(l);
	else if (connect(l->sock, (struct sockaddr *)&l->endpoint, sizeof l->endpoint) == 0)
		set_state(l, LINK_SETTLING, SETTLE_MS);
	else if (errno == EINPROGRESS)
		set_state(l, LINK_CONNECTING, CONNECT_TIMEOUT_MS);
	else
		link_down(l);
}

/* Allocates the buffer and starts connecting; false without memory. */
bool link_open(struct log_link *l, size_t capacity)
{
	l->buffer = malloc(capacity);
	l->capacity = capacity;
	l->sock = -1;
	l->backoff_ms = FIRST_BACKOFF_MS;
	if (!l->buffer)
		return false;
	link_connect(l);
	return true;
}

/* Whether n more bytes fit, at the end now or once the unsent frames move to the front. */
bool link_has_room(const struct log_link *l, size_t n)
{
	return l->tail - l->head + n <= l->capacity;
}

/* Appends one frame, "MSG-LEN SP" then header and msg; false (nothing appended) when it does not fit. */
bool link_enqueue(struct log_link *l, const char *header, size_t header_len, const char *msg, size_t msg_len)
{
	char prefix[24];
	size_t prefix_len = syslog_frame_prefix(prefix, header_len, msg_len), n = prefix_len + header_len + msg_len;
	if (!link_has_room(l, n))
		return false;
	if (l->tail + n > l->capacity) {
		memmove(l->buffer, l->buffer + l->head, l->tail - l->head);
		l->sent -= l->head;
		l->tail -= l->head;
		l->head = 0;
	}
	memcpy(l->buffer + l->tail, prefix, prefix_len);
	memcpy(l->buffer + l->tail + prefix_len, header, header_len);
	memcpy(l->buffer + l->tail + prefix_len + header_len, msg, msg_len);
	l->tail += n;
	return true;
}

/* After a send, frames wholly sent leave the buffer; a partly sent one stays at head. */
static void advance_head(struct log_link *l)
{
	while (l->head < l->sent) {
		size_t at = l->head, len = 0;
		while (l->buffer[at] != ' ')
			len = len * 10 + (size_t)(l->buffer[at++] - '0');
		size_t frame_end = at + 1 + len;
		if (frame_end > l->sent)
			break;
		l->head = frame_end;
	}
	if (l->head == l->tail)
		l->head = l->sent = l->tail = 0;
}

static void send_frames(struct log_link *l)
{
	ssize_t n = send(l->sock, l->buffer + l->sent, l->tail - l->sent, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			link_down(l);
		return;
	}
	l->sent += (size_t)n;
	advance_head(l);
}

/* A syslog receiver sends nothing; readable means closed, or bytes to ignore. */
static void check_closed(struct log_link *l)
{
	char ignored[256];
	ssize_t n = recv(l->sock, ignored, sizeof ignored, MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		link_down(l);
}

void link_poll_fd(const struct log_link *l, struct pollfd *fd)
{
	short events = l->state == LINK_CONNECTING		  ? POLLOUT
		       : l->state == LINK_DOWN			  ? 0
		       : l->state == LINK_UP && l->sent < l->tail ? POLLIN | POLLOUT
								  : POLLIN;
	*fd = (struct pollfd){ .fd = events ? l->sock : -1, .events = events };
}

/* Until the next change of state that waits for time; -1 when none does. */
int link_timeout_ms(const struct log_link *l)
{
	if (l->state == LINK_UP)
		return -1;
	long long left = l->state_until_ms - uptime_ms();
	return left > 0 ? (int)left : 0;
}

static void on_timers(struct log_link *l)
{
	if (l->state == LINK_UP || uptime_ms() < l->state_until_ms)
		return;
	if (l->state == LINK_DOWN) {
		link_connect(l);
	} else if (l->state == LINK_CONNECTING) {
		link_down(l);
	} else {
		l->backoff_ms = FIRST_BACKOFF_MS;
		set_state(l, LINK_UP, 0);
	}
}

/* After poll, with the revents of link_poll_fd's entry. */
void link_handle(struct log_link *l, short revents)
{
	if (revents && l->state == LINK_CONNECTING) {
		int err = 0;
		socklen_t err_len = sizeof err;
		if (getsockopt(l->sock, SOL_SOCKET, SO_ERROR, &err, &err_len) < 0 || err != 0)
			link_down(l);
		else
			set_state(l, LINK_SETTLING, SETTLE_MS);
	} else if (revents && l->sock >= 0) {
		if (revents & (POLLIN | POLLHUP | POLLERR))
			check_closed(l);
		if (l->state == LINK_UP && (revents & POLLOUT))
			send_frames(l);
	}
	on_timers(l);
}

/*
 * Powering off drops what the kernel has not sent yet: waits until the endpoint has acknowledged it
 * all (TIOCOUTQ on a socket is SIOCOUTQ) or the deadline passes, then closes the connection.
 */
void link_close(struct log_link *l, long long deadline_ms)
{
	int unsent = 0;
	while (l->sock >= 0 && ioctl(l->sock, TIOCOUTQ, &unsent) == 0 && unsent > 0 && uptime_ms() < deadline_ms) {
		struct timespec pause = { 0, 10 * 1000000 };
		nanosleep(&pause, NULL);
	}
	if (l->sock >= 0)
		close(l->sock);
	l->sock = -1;
}
