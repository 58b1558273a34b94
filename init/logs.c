/*
 * Ships the app's stdout and stderr, line by line, as RFC 5424 syslog over TCP (octet counting,
 * RFC 6587) to the log endpoint, and mirrors every line to the console. The app is never blocked by
 * the endpoint: lines wait in a bounded buffer (log-link.c) while it is down or slow, and are dropped,
 * and counted in the stream, when the buffer is full. Runs inside init's poll loop; no threads.
 */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define FLUSH_AT_EXIT_MS 2000
#define SD_ID "ingot@32473"
#define FACILITY_USER 1
#define NOTICE_MAX (SYSLOG_HEADER_MAX + 160)

struct log_stream {
	int fd, write_fd, console_fd; /* fd is -1 once at EOF */
	const char *name;
	int severity;
	struct line_reader lines;
	char sd[448];
};

struct log_shipper {
	struct log_link link;
	char hostname[256], app_name[49], proc_id[16];
	char sd_base[448]; /* [ingot@32473 instance="…" env="…", for init's own notices */
	struct log_stream streams[2];
	unsigned long dropped;
};

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

/*
 * Once the endpoint takes lines again, the stream itself says how many are missing, where they are
 * missing: the notice goes in when it fits, and no line goes in before it.
 */
static void enqueue_drop_notice(struct log_shipper *s)
{
	if (s->link.state != LINK_UP || !link_has_room(&s->link, NOTICE_MAX))
		return;
	char sd[sizeof s->sd_base + 32], header[SYSLOG_HEADER_MAX], msg[160];
	snprintf(sd, sizeof sd, "%s dropped=\"%lu\"", s->sd_base, s->dropped);
	size_t header_len = format_header(s, header, 4, "1", "dropped", sd, NULL);
	int msg_len = snprintf(msg, sizeof msg, "ingot-init: dropped %lu log lines as the buffer of %zu bytes was full",
			       s->dropped, s->link.capacity);
	link_enqueue(&s->link, header, header_len, msg, (size_t)msg_len);
	log_info("log endpoint %s caught up: %lu lines were dropped", s->link.endpoint_text, s->dropped);
	s->dropped = 0;
}

static void ship_line(struct log_shipper *s, struct log_stream *stream, const struct log_line *line)
{
	/* While lines are dropped, one that cannot fit with the notice costs no formatting: a flood stays cheap. */
	size_t most = NOTICE_MAX + SYSLOG_HEADER_MAX + line->len + 24;
	if (s->dropped && !link_has_room(&s->link, most)) {
		s->dropped++;
		return;
	}
	char header[SYSLOG_HEADER_MAX];
	int severity = syslog_severity(line->text, line->len, stream->severity);
	size_t header_len = format_header(s, header, severity, s->proc_id, stream->name, stream->sd, line);
	if (s->dropped)
		enqueue_drop_notice(s);
	if (!s->dropped && link_enqueue(&s->link, header, header_len, line->text, line->len))
		return;
	if (s->dropped++ == 0)
		log_warn("cannot ship log lines as the buffer of %zu bytes is full: dropping them until %s takes more",
			 s->link.capacity, s->link.endpoint_text);
}

static void write_console(int fd, const struct iovec *parts, int count)
{
	if (writev(fd, parts, count) < 0) {
		/* Nowhere left to report it. */
	}
}

/*
 * Mirrors the lines to the console as the app wrote them, whole lines only: the ones that end with a
 * newline in one write per read, a piece of a long line or a last line without one on its own, with
 * a newline added. So stdout and stderr never mix within a line, and a flood costs few writes.
 */
static void take_lines(struct log_shipper *s, struct log_stream *stream, bool at_eof)
{
	struct line_reader *lines = &stream->lines;
	size_t batch_at = lines->consumed;
	struct log_line line;
	while (line_next(lines, at_eof, &line)) {
		ship_line(s, stream, &line);
		if (lines->data[lines->consumed - 1] == '\n')
			continue;
		struct iovec parts[] = { { lines->data + batch_at, (size_t)(line.text - lines->data) - batch_at },
					 { (void *)line.text, line.len }, { "\n", 1 } };
		write_console(stream->console_fd, parts, 3);
		batch_at = lines->consumed;
	}
	if (lines->consumed > batch_at)
		write_console(stream->console_fd, &(struct iovec){ lines->data + batch_at, lines->consumed - batch_at }, 1);
	line_compact(lines);
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
	struct log_link *link = &s->link;
	link->endpoint.sin_family = AF_INET;
	uint16_t port;
	/* Both sources were checked already; this cannot fail. */
	parse_endpoint(address, LOG_DEFAULT_PORT, &link->endpoint.sin_addr, &port);
	link->endpoint.sin_port = htons(port);
	char ip[16];
	snprintf(link->endpoint_text, sizeof link->endpoint_text, "%s:%u", format_ipv4(link->endpoint.sin_addr, ip),
		 port);

	const char *instance_id = instance->instance[0] ? instance->instance : cfg->hostname;
	syslog_clean_name(s->hostname, sizeof s->hostname, instance_id);
	find_app_name(s, instance);
	char escaped_instance[260], escaped_env[130];
	syslog_escape_param(escaped_instance, sizeof escaped_instance, instance_id);
	syslog_escape_param(escaped_env, sizeof escaped_env, cfg->env_name);
	snprintf(s->sd_base, sizeof s->sd_base, "[" SD_ID " instance=\"%s\" env=\"%s\"", escaped_instance, escaped_env);
	/* Info for stdout, error for stderr, unless a JSON line says otherwise. */
	if (!open_stream(&s->streams[0], "stdout", 6, STDOUT_FILENO, escaped_instance, escaped_env) ||
	    !open_stream(&s->streams[1], "stderr", 3, STDERR_FILENO, escaped_instance, escaped_env) ||
	    !link_open(link, cfg->log_buffer_bytes)) {
		log_warn("cannot ship logs as %s: pipes and a buffer of %zu bytes", strerror(errno), cfg->log_buffer_bytes);
		return NULL;
	}
	app->stdout_fd = s->streams[0].write_fd;
	app->stderr_fd = s->streams[1].write_fd;
	log_info("shipping logs to %s as %s/%s (buffer %zu bytes)", link->endpoint_text, s->hostname, s->app_name,
		 link->capacity);
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
	link_poll_fd(&s->link, &fds[2]);
	return LOGS_MAX_FDS;
}

int logs_timeout_ms(struct log_shipper *s)
{
	return link_timeout_ms(&s->link);
}

static void handle_link(struct log_shipper *s, short revents)
{
	link_handle(&s->link, revents);
	if (s->dropped)
		enqueue_drop_notice(s);
}

void logs_handle(struct log_shipper *s, const struct pollfd *fds)
{
	for (int i = 0; i < 2; i++) {
		if (fds[i].revents)
			read_stream(s, &s->streams[i]);
	}
	handle_link(s, fds[2].revents);
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
	struct log_link *link = &s->link;
	long long deadline = uptime_ms() + FLUSH_AT_EXIT_MS;
	while (link->tail > link->head || s->dropped) {
		long long left = deadline - uptime_ms();
		if (left <= 0) {
			log_warn("cannot ship %zu buffered log bytes as %s is %s", link->tail - link->head,
				 link->endpoint_text, link_state_names[link->state]);
			return;
		}
		struct pollfd fd;
		link_poll_fd(link, &fd);
		int timeout = link_timeout_ms(link);
		if (timeout < 0 || timeout > left)
			timeout = (int)left;
		if (poll(&fd, 1, timeout) < 0)
			fd.revents = 0;
		handle_link(s, fd.revents);
	}
	link_close(link, deadline);
}
