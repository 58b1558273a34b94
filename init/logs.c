/*
 * Ships the app's stdout and stderr, line by line, as RFC 5424 syslog over TCP (octet counting,
 * RFC 6587) to the log endpoint, and mirrors every line to the console. The app is never blocked by
 * the endpoint: lines wait in a bounded buffer while it is down or slow, and are dropped (and counted,
 * in the stream) when the buffer is full. Runs inside init's poll loop; no threads.
 */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
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
#define FLUSH_AT_EXIT_MS 2000
#define SD_ID "ingot@32473"
#define FACILITY_USER 1

enum link_state { LINK_DOWN, LINK_CONNECTING, LINK_SETTLING, LINK_UP };
static const char *const link_names[] = { "down", "connecting", "settling", "up" };

struct log_stream {
	int fd, write_fd, console_fd; /* fd is -1 once at EOF */
	const char *name;
	int severity;
	struct line_reader lines;
	char sd[448];
};

struct log_shipper {
	struct sockaddr_in endpoint;
	char endpoint_text[32];
	char hostname[256], app_name[49], proc_id[16];
	char sd_base[448]; /* [ingot@32473 instance="…" env="…", for init's own notices */
	struct log_stream streams[2];
	int sock;
	enum link_state state;
	long long state_until_ms, backoff_ms;
	/* Whole frames in buffer[head, tail); [head, sent) went out on this connection already. */
	char *buffer;
	size_t capacity, head, sent, tail;
	unsigned long dropped;
};

static void set_state(struct log_shipper *s, enum link_state state, long long for_ms)
{
	log_debug("log endpoint %s: %s", s->endpoint_text, link_names[state]);
	s->state = state;
	s->state_until_ms = uptime_ms() + for_ms;
}

/* Frames partly sent go again in full on the next connection; whole ones are gone either way. */
static void link_down(struct log_shipper *s)
{
	if (s->sock >= 0)
		close(s->sock);
	s->sock = -1;
	s->sent = s->head;
	set_state(s, LINK_DOWN, s->backoff_ms);
	s->backoff_ms = s->backoff_ms * 2 > MAX_BACKOFF_MS ? MAX_BACKOFF_MS : s->backoff_ms * 2;
}

static void link_connect(struct log_shipper *s)
{
	s->sock = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->sock < 0) {
		link_down(s);
		return;
	}
	if (connect(s->sock, (struct sockaddr *)&s->endpoint, sizeof s->endpoint) == 0)
		set_state(s, LINK_SETTLING, SETTLE_MS);
	else if (errno == EINPROGRESS)
		set_state(s, LINK_CONNECTING, CONNECT_TIMEOUT_MS);
	else
		link_down(s);
}

/* Room for n more bytes, moving the unsent frames to the front when that makes enough. */
static bool reserve(struct log_shipper *s, size_t n)
{
	if (s->tail + n <= s->capacity)
		return true;
	if (s->tail - s->head + n > s->capacity)
		return false;
	memmove(s->buffer, s->buffer + s->head, s->tail - s->head);
	s->sent -= s->head;
	s->tail -= s->head;
	s->head = 0;
	return true;
}

static bool enqueue(struct log_shipper *s, const char *header, size_t header_len, const char *msg, size_t msg_len)
{
	char prefix[24];
	size_t prefix_len = syslog_frame_prefix(prefix, header_len, msg_len);
	if (!reserve(s, prefix_len + header_len + msg_len))
		return false;
	memcpy(s->buffer + s->tail, prefix, prefix_len);
	memcpy(s->buffer + s->tail + prefix_len, header, header_len);
	memcpy(s->buffer + s->tail + prefix_len + header_len, msg, msg_len);
	s->tail += prefix_len + header_len + msg_len;
	return true;
}

static size_t format_header(struct log_shipper *s, char *out, int severity, const char *proc_id,
			    const char *msg_id, const char *sd, const struct log_line *line)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct syslog_header h = { .priority = FACILITY_USER * 8 + severity, .time_s = now.tv_sec,
				   .time_us = now.tv_nsec / 1000, .hostname = s->hostname, .app_name = s->app_name,
				   .proc_id = proc_id, .msg_id = msg_id, .sd = sd,
				   .part = line ? line->part : 0, .continued = line && line->continued };
	return syslog_format_header(out, SYSLOG_HEADER_MAX, &h);
}

/* Room for n more bytes, whether or not they are at the end yet. */
static bool has_room(const struct log_shipper *s, size_t n)
{
	return s->tail - s->head + n <= s->capacity;
}

#define NOTICE_MAX (SYSLOG_HEADER_MAX + 160)

/*
 * Once the endpoint takes lines again, the stream itself says how many are missing, where they are
 * missing: the notice goes in when it fits, and no line goes in before it.
 */
static void enqueue_drop_notice(struct log_shipper *s)
{
	if (s->state != LINK_UP || !has_room(s, NOTICE_MAX))
		return;
	char sd[sizeof s->sd_base + 32], header[SYSLOG_HEADER_MAX], msg[160];
	snprintf(sd, sizeof sd, "%s dropped=\"%lu\"", s->sd_base, s->dropped);
	size_t header_len = format_header(s, header, 4, "1", "dropped", sd, NULL);
	int msg_len = snprintf(msg, sizeof msg, "ingot-init: dropped %lu log lines as the buffer of %zu bytes was full",
			       s->dropped, s->capacity);
	enqueue(s, header, header_len, msg, (size_t)msg_len);
	log_info("log endpoint %s caught up: %lu lines were dropped", s->endpoint_text, s->dropped);
	s->dropped = 0;
}

static void ship_line(struct log_shipper *s, struct log_stream *stream, const struct log_line *line)
{
	char header[SYSLOG_HEADER_MAX];
	int severity = syslog_severity(line->text, line->len, stream->severity);
	size_t header_len = format_header(s, header, severity, s->proc_id, stream->name, stream->sd, line);
	if (s->dropped && has_room(s, NOTICE_MAX + header_len + line->len + 24))
		enqueue_drop_notice(s);
	if (!s->dropped && enqueue(s, header, header_len, line->text, line->len))
		return;
	if (s->dropped++ == 0)
		log_warn("cannot ship log lines as the buffer of %zu bytes is full: dropping them until %s takes more",
			 s->capacity, s->endpoint_text);
}

/* One write per line, so the console shows whole lines even when stdout and stderr interleave. */
static void mirror_line(const struct log_stream *stream, const struct log_line *line)
{
	struct iovec parts[] = { { (void *)line->text, line->len }, { "\n", 1 } };
	if (writev(stream->console_fd, parts, 2) < 0) {
		/* Nowhere left to report it. */
	}
}

static void take_lines(struct log_shipper *s, struct log_stream *stream, bool at_eof)
{
	struct log_line line;
	while (line_next(&stream->lines, at_eof, &line)) {
		mirror_line(stream, &line);
		ship_line(s, stream, &line);
	}
	line_compact(&stream->lines);
}

/* Reads what the pipe holds now; false when there is nothing more for the moment. */
static bool read_stream(struct log_shipper *s, struct log_stream *stream)
{
	if (stream->fd < 0)
		return false;
	struct line_reader *lines = &stream->lines;
	ssize_t n = read(stream->fd, lines->data + lines->len, LOG_LINE_MAX + 1 - lines->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return false;
	if (n > 0) {
		lines->len += (size_t)n;
		take_lines(s, stream, false);
		return true;
	}
	/* EOF: the last line may lack its newline. */
	take_lines(s, stream, true);
	close(stream->fd);
	stream->fd = -1;
	return false;
}

/* After a send, frames wholly sent leave the buffer; a partly sent one stays at head. */
static void advance_head(struct log_shipper *s)
{
	while (s->head < s->sent) {
		size_t at = s->head, len = 0;
		while (s->buffer[at] != ' ')
			len = len * 10 + (size_t)(s->buffer[at++] - '0');
		size_t frame_end = at + 1 + len;
		if (frame_end > s->sent)
			break;
		s->head = frame_end;
	}
	if (s->head == s->tail)
		s->head = s->sent = s->tail = 0;
}

static void send_frames(struct log_shipper *s)
{
	ssize_t n = send(s->sock, s->buffer + s->sent, s->tail - s->sent, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			link_down(s);
		return;
	}
	s->sent += (size_t)n;
	advance_head(s);
	if (s->dropped)
		enqueue_drop_notice(s);
}

/* A syslog receiver sends nothing; readable means closed, or bytes to ignore. */
static void check_closed(struct log_shipper *s)
{
	char ignored[256];
	ssize_t n = recv(s->sock, ignored, sizeof ignored, MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		link_down(s);
}

static void on_socket(struct log_shipper *s, short revents)
{
	if (s->state == LINK_CONNECTING && revents) {
		int err = 0;
		socklen_t err_len = sizeof err;
		if (getsockopt(s->sock, SOL_SOCKET, SO_ERROR, &err, &err_len) < 0 || err != 0)
			link_down(s);
		else
			set_state(s, LINK_SETTLING, SETTLE_MS);
		return;
	}
	if (revents & (POLLIN | POLLHUP | POLLERR))
		check_closed(s);
	if (s->state == LINK_UP && (revents & POLLOUT))
		send_frames(s);
}

static void on_timers(struct log_shipper *s)
{
	if (s->state == LINK_UP || uptime_ms() < s->state_until_ms)
		return;
	if (s->state == LINK_DOWN) {
		link_connect(s);
	} else if (s->state == LINK_CONNECTING) {
		link_down(s);
	} else {
		s->backoff_ms = FIRST_BACKOFF_MS;
		set_state(s, LINK_UP, 0);
	}
}

static bool open_stream(struct log_stream *stream, const char *name, int severity, int console_fd,
			const char *instance, const char *env)
{
	int fds[2];
	stream->lines.data = malloc(LOG_LINE_MAX + 1);
	/* Only init's end is non-blocking: the app writes to an ordinary, blocking pipe. */
	if (!stream->lines.data || pipe2(fds, O_CLOEXEC) < 0 || fcntl(fds[0], F_SETFL, O_NONBLOCK) < 0)
		return false;
	stream->fd = fds[0];
	stream->write_fd = fds[1];
	stream->console_fd = console_fd;
	stream->name = name;
	stream->severity = severity;
	snprintf(stream->sd, sizeof stream->sd, "[" SD_ID " instance=\"%s\" stream=\"%s\" env=\"%s\"", instance, name,
		 env);
	return true;
}

/* The app's name: the configuration's logs.app, else /etc/ingot/app, else "app". */
static void find_app_name(struct log_shipper *s, const struct instance_config *instance)
{
	char *file = instance->app_name[0] ? NULL : read_file("/etc/ingot/app", NULL);
	const char *name = instance->app_name[0] ? instance->app_name : file && *trim(file) ? trim(file) : "app";
	syslog_clean_name(s->app_name, sizeof s->app_name, name);
	free(file);
}

/*
 * Sets up shipping when the configuration (which wins) or ingot.logs names an endpoint: the app's
 * stdout and stderr become pipes to init. NULL when logs are not shipped; the app then writes to
 * the console directly, as without an endpoint.
 */
struct log_shipper *logs_open(const struct boot_config *cfg, const struct instance_config *instance,
			      struct app_spec *app)
{
	const char *address = instance->log_address[0] ? instance->log_address : cfg->log_address;
	if (!address[0])
		return NULL;
	struct log_shipper *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->endpoint.sin_family = AF_INET;
	uint16_t port;
	/* Both sources were checked already; this cannot fail. */
	parse_endpoint(address, LOG_DEFAULT_PORT, &s->endpoint.sin_addr, &port);
	s->endpoint.sin_port = htons(port);
	char ip[16];
	snprintf(s->endpoint_text, sizeof s->endpoint_text, "%s:%u", format_ipv4(s->endpoint.sin_addr, ip), port);

	const char *instance_id = instance->instance[0] ? instance->instance : cfg->hostname;
	syslog_clean_name(s->hostname, sizeof s->hostname, instance_id);
	find_app_name(s, instance);
	char escaped_instance[260], escaped_env[130];
	syslog_escape_param(escaped_instance, sizeof escaped_instance, instance_id);
	syslog_escape_param(escaped_env, sizeof escaped_env, cfg->env_name);
	snprintf(s->sd_base, sizeof s->sd_base, "[" SD_ID " instance=\"%s\" env=\"%s\"", escaped_instance, escaped_env);
	s->capacity = cfg->log_buffer_bytes;
	s->buffer = malloc(s->capacity);
	s->sock = -1;
	s->backoff_ms = FIRST_BACKOFF_MS;
	/* Info for stdout, error for stderr, unless a JSON line says otherwise. */
	if (!s->buffer || !open_stream(&s->streams[0], "stdout", 6, STDOUT_FILENO, escaped_instance, escaped_env) ||
	    !open_stream(&s->streams[1], "stderr", 3, STDERR_FILENO, escaped_instance, escaped_env)) {
		log_warn("cannot ship logs as %s: pipes and a buffer of %zu bytes", strerror(errno), s->capacity);
		return NULL;
	}
	app->stdout_fd = s->streams[0].write_fd;
	app->stderr_fd = s->streams[1].write_fd;
	log_info("shipping logs to %s as %s/%s (buffer %zu bytes)", s->endpoint_text, s->hostname, s->app_name,
		 s->capacity);
	link_connect(s);
	return s;
}

/* The app has its copies of the pipes' write ends; init's would keep them from ever reaching EOF. */
void logs_app_started(struct log_shipper *s, pid_t app)
{
	snprintf(s->proc_id, sizeof s->proc_id, "%d", (int)app);
	for (int i = 0; i < 2; i++) {
		close(s->streams[i].write_fd);
		s->streams[i].write_fd = -1;
	}
}

/* Always LOGS_MAX_FDS entries: stdout, stderr, the socket; -1 where poll should not look. */
size_t logs_poll_fds(struct log_shipper *s, struct pollfd *fds)
{
	for (int i = 0; i < 2; i++)
		fds[i] = (struct pollfd){ .fd = s->streams[i].fd, .events = POLLIN };
	short events = s->state == LINK_CONNECTING ? POLLOUT
		       : s->state == LINK_DOWN	  ? 0
		       : s->sent < s->tail && s->state == LINK_UP ? POLLIN | POLLOUT
								  : POLLIN;
	fds[2] = (struct pollfd){ .fd = events ? s->sock : -1, .events = events };
	return LOGS_MAX_FDS;
}

int logs_timeout_ms(struct log_shipper *s)
{
	if (s->state == LINK_UP)
		return -1;
	long long left = s->state_until_ms - uptime_ms();
	return left > 0 ? (int)left : 0;
}

void logs_handle(struct log_shipper *s, const struct pollfd *fds)
{
	for (int i = 0; i < 2; i++) {
		if (fds[i].revents)
			read_stream(s, &s->streams[i]);
	}
	if (fds[2].revents && s->sock >= 0)
		on_socket(s, fds[2].revents);
	on_timers(s);
}

/*
 * After the app exited: takes what is left in the pipes (a bounded amount, as a child of the app may
 * still be writing) and ships a last line that lacks its newline.
 */
void logs_drain(struct log_shipper *s)
{
	for (int i = 0; i < 2; i++) {
		struct log_stream *stream = &s->streams[i];
		for (int reads = 0; reads < 64 && read_stream(s, stream); reads++) {
		}
		if (stream->fd >= 0) {
			take_lines(s, stream, true);
			close(stream->fd);
			stream->fd = -1;
		}
	}
}

/* Gives the endpoint up to FLUSH_AT_EXIT_MS to take the buffered lines before the power goes off. */
void logs_flush(struct log_shipper *s)
{
	long long deadline = uptime_ms() + FLUSH_AT_EXIT_MS;
	while (s->tail > s->head || s->dropped) {
		long long left = deadline - uptime_ms();
		if (left <= 0) {
			log_warn("cannot ship %zu buffered log bytes as %s is %s", s->tail - s->head, s->endpoint_text,
				 link_names[s->state]);
			return;
		}
		struct pollfd fds[LOGS_MAX_FDS];
		logs_poll_fds(s, fds);
		int timeout = logs_timeout_ms(s);
		if (timeout < 0 || timeout > left)
			timeout = (int)left;
		if (poll(fds, LOGS_MAX_FDS, timeout) < 0)
			fds[2].revents = 0;
		if (fds[2].revents && s->sock >= 0)
			on_socket(s, fds[2].revents);
		on_timers(s);
	}
	/* Powering off drops what the kernel has not sent yet: wait until the endpoint has it all
	 * (TIOCOUTQ on a socket is SIOCOUTQ, the bytes not yet acknowledged). */
	int unsent = 0;
	while (s->sock >= 0 && ioctl(s->sock, TIOCOUTQ, &unsent) == 0 && unsent > 0 && uptime_ms() < deadline) {
		struct timespec pause = { 0, 10 * 1000000 };
		nanosleep(&pause, NULL);
	}
	if (s->sock >= 0)
		close(s->sock);
}
