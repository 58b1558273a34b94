/*
 * Fetches the instance's configuration from the metadata service named by ingot.metadata:
 * GET /v1/config over HTTP/1.0, retried with backoff while the service is not answering yet.
 */
#include "init.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ATTEMPT_TIMEOUT_MS 2000
#define FIRST_BACKOFF_MS 100
#define MAX_BACKOFF_MS 2000
/* Large enough that http_parse_response always reaches a verdict before the buffer is full. */
#define BUFFER_SIZE (HTTP_MAX_HEADERS + HTTP_MAX_BODY + 1)

enum outcome { FETCHED, RETRY, GIVE_UP };

struct fetch {
	const struct boot_config *cfg;
	long long deadline_ms;
	char *buffer;
	size_t length, dirty; /* dirty: how much of the buffer ever held response bytes */
	bool reset; /* the response ended with a reset instead of EOF */
	struct http_response response;
	char reason[160];
};

static bool fail_errno(struct fetch *f, int err)
{
	/* strerror's "Connection refused" continues the sentence as "connection refused". */
	snprintf(f->reason, sizeof f->reason, "%s", strerror(err));
	if (f->reason[0] >= 'A' && f->reason[0] <= 'Z')
		f->reason[0] = (char)(f->reason[0] - 'A' + 'a');
	return false;
}

static bool fail_with(struct fetch *f, const char *reason)
{
	snprintf(f->reason, sizeof f->reason, "%s", reason);
	return false;
}

/* Waits up to the per-attempt timeout, never past the whole fetch's deadline; 0 means timed out. */
static int wait_for(struct fetch *f, int fd, short events)
{
	long long left = f->deadline_ms - uptime_ms();
	int timeout_ms = left > ATTEMPT_TIMEOUT_MS ? ATTEMPT_TIMEOUT_MS : left > 0 ? (int)left : 0;
	struct pollfd pfd = { .fd = fd, .events = events };
	int ready;
	do
		ready = poll(&pfd, 1, timeout_ms);
	while (ready < 0 && errno == EINTR);
	return ready;
}

static bool connect_service(struct fetch *f, int sock)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(f->cfg->metadata_port),
				    .sin_addr = f->cfg->metadata_address };
	if (connect(sock, (struct sockaddr *)&addr, sizeof addr) == 0)
		return true;
	if (errno != EINPROGRESS)
		return fail_errno(f, errno);
	if (wait_for(f, sock, POLLOUT) <= 0)
		return fail_with(f, "connection timed out");
	int err = 0;
	socklen_t err_len = sizeof err;
	if (getsockopt(sock, SOL_SOCKET, SO_ERROR, &err, &err_len) < 0)
		err = errno;
	return err == 0 || fail_errno(f, err);
}

/*
 * A failed send is left to the reads that follow: a connector that answers without reading the
 * request may already have sent its whole response.
 */
static void send_request(struct fetch *f, int sock)
{
	char request[96], host[16];
	size_t len = (size_t)snprintf(request, sizeof request, "GET /v1/config HTTP/1.0\r\nHost: %s\r\n\r\n",
				      format_ipv4(f->cfg->metadata_address, host));
	for (size_t sent = 0; sent < len;) {
		ssize_t n = send(sock, request + sent, len - sent, MSG_NOSIGNAL);
		if (n >= 0)
			sent += (size_t)n;
		else if (errno != EAGAIN || wait_for(f, sock, POLLOUT) <= 0)
			return;
	}
}

/* Reads until the response is complete; HTTP_INCOMPLETE with the reason set when it never is. */
static enum http_state receive_response(struct fetch *f, int sock)
{
	bool at_eof = false;
	f->length = 0;
	f->reset = false;
	for (;;) {
		enum http_state state = http_parse_response(f->buffer, f->length, at_eof, &f->response);
		if (state != HTTP_INCOMPLETE)
			return state;
		if (at_eof) {
			fail_with(f, f->reset ? "connection reset by peer"
				     : f->length ? "connection closed before the response was complete"
						 : "connection closed without a response");
			return state;
		}
		if (wait_for(f, sock, POLLIN) <= 0) {
			fail_with(f, "the response timed out");
			return state;
		}
		ssize_t n = recv(sock, f->buffer + f->length, BUFFER_SIZE - f->length, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		/* A guestfwd connector that exits without reading the request ends it with a reset. */
		if (n < 0 && errno == ECONNRESET && f->length > 0) {
			f->reset = at_eof = true;
			continue;
		}
		if (n < 0) {
			fail_errno(f, errno);
			return state;
		}
		at_eof = n == 0;
		f->length += (size_t)n;
		if (f->length > f->dirty)
			f->dirty = f->length;
	}
}

/* 5xx and anything that looks like a service not up yet is retried; other answers are final. */
static enum outcome classify(struct fetch *f, enum http_state state)
{
	switch (state) {
	case HTTP_INCOMPLETE:
		return RETRY;
	case HTTP_MALFORMED:
		/* A failing connector may write its own error message into the connection. */
		fail_with(f, "the response is not HTTP");
		return RETRY;
	case HTTP_TOO_LARGE:
		fail_with(f, "the body is larger than 1 MiB");
		return GIVE_UP;
	case HTTP_UNSUPPORTED:
		fail_with(f, "the response has a Transfer-Encoding");
		return GIVE_UP;
	case HTTP_COMPLETE:
		break;
	}
	int status = f->response.status;
	if (status == 200)
		return FETCHED;
	snprintf(f->reason, sizeof f->reason, "HTTP %d%s%s", status, f->response.reason[0] ? " " : "",
		 f->response.reason);
	return status >= 500 && status <= 599 ? RETRY : GIVE_UP;
}

static enum outcome read_config(struct fetch *f, struct instance_config *out)
{
	char reason[96];
	const char *body = f->buffer + f->response.body_at;
	if (config_read(body, f->response.body_length, out, reason, sizeof reason))
		return FETCHED;
	/* A JSON object shows when it was cut short; after a reset that deserves another try. */
	snprintf(f->reason, sizeof f->reason, "%s%s%s", f->reset ? "connection reset by peer (" : "", reason,
		 f->reset ? ")" : "");
	return f->reset ? RETRY : GIVE_UP;
}

static enum outcome attempt(struct fetch *f, struct instance_config *out)
{
	int sock = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	enum outcome outcome = RETRY;
	if (sock < 0) {
		fail_errno(f, errno);
		return outcome;
	}
	if (connect_service(f, sock)) {
		send_request(f, sock);
		outcome = classify(f, receive_response(f, sock));
	}
	close(sock);
	return outcome == FETCHED ? read_config(f, out) : outcome;
}

/* Init's signals are blocked (read through a signalfd), so nothing interrupts the sleep. */
static void sleep_ms(long long ms)
{
	struct timespec delay = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };
	nanosleep(&delay, NULL);
}

static bool report_failure(const struct boot_config *cfg, const char *reason)
{
	log_boot_failed(EXIT_UNAVAILABLE, "cannot fetch configuration from %s as %s", cfg->metadata_endpoint,
			reason);
	return false;
}

static void report_success(const struct env_list *env, long long elapsed_ms, int attempts)
{
	log_info("configuration fetched: %zu variables in %lld ms (attempt %d)", env->count, elapsed_ms,
		 attempts);
	/* Keys only: values may be secrets and never reach the console. */
	for (size_t i = 0; i < env->count; i++)
		log_debug("configuration sets %.*s", (int)strcspn(env->entries[i], "="), env->entries[i]);
}

/*
 * Reads the fetched configuration into out, or prints the "boot failed" line and returns false. Retries until
 * ingot.metadata_timeout has passed since the first attempt; the response is zeroed afterwards.
 */
bool fetch_configuration(const struct boot_config *cfg, struct instance_config *out)
{
	if (cfg->metadata_port == 0)
		return report_failure(cfg, "ingot.metadata is not IPV4[:PORT]");
	struct fetch f = { .cfg = cfg, .buffer = malloc(BUFFER_SIZE) };
	if (!f.buffer)
		return report_failure(cfg, "there is not enough memory for the response");
	long long started_ms = uptime_ms(), backoff_ms = FIRST_BACKOFF_MS;
	f.deadline_ms = started_ms + (long long)cfg->metadata_timeout_s * 1000;
	int attempts = 0;
	enum outcome outcome;
	for (;;) {
		outcome = attempt(&f, out);
		attempts++;
		if (outcome != RETRY)
			break;
		log_debug("configuration attempt %d failed: %s", attempts, f.reason);
		long long left_ms = f.deadline_ms - uptime_ms();
		if (left_ms <= 0)
			break;
		sleep_ms(backoff_ms < left_ms ? backoff_ms : left_ms);
		if (uptime_ms() >= f.deadline_ms)
			break;
		backoff_ms = backoff_ms * 2 > MAX_BACKOFF_MS ? MAX_BACKOFF_MS : backoff_ms * 2;
	}
	explicit_bzero(f.buffer, f.dirty);
	free(f.buffer);
	if (outcome == FETCHED) {
		report_success(&out->env, uptime_ms() - started_ms, attempts);
		return true;
	}
	if (outcome == RETRY) {
		long long elapsed_s = (uptime_ms() - started_ms + 500) / 1000;
		size_t len = strlen(f.reason);
		snprintf(f.reason + len, sizeof f.reason - len, " after %d attempt%s in %lld s", attempts,
			 attempts == 1 ? "" : "s", elapsed_s);
	}
	return report_failure(cfg, f.reason);
}
