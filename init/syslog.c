/*
 * The pure parts of log shipping, for host unit tests: splitting a stream into lines, the severity
 * of a line, and RFC 5424 headers with RFC 6587 octet-counting frames.
 */
#include "init.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/*
 * The next whole line (its '\n' and a '\r' before it removed) or LOG_LINE_MAX-byte piece of a longer
 * one in r->data; at EOF an unterminated rest is a line too. false when more bytes are needed.
 */
bool line_next(struct line_reader *r, bool at_eof, struct log_line *out)
{
	size_t left = r->len - r->consumed;
	if (left == 0)
		return false;
	const char *start = r->data + r->consumed;
	const char *newline = memchr(start, '\n', left);
	size_t len = newline ? (size_t)(newline - start) : left;
	/* A line of exactly LOG_LINE_MAX bytes still fits whole with its '\n'. */
	out->continued = len > LOG_LINE_MAX;
	if (out->continued)
		len = LOG_LINE_MAX;
	else if (!newline && !at_eof)
		return false;
	r->consumed += len + (newline && !out->continued);
	if (!out->continued && len > 0 && start[len - 1] == '\r')
		len--;
	out->text = start;
	out->len = len;
	out->part = out->continued || r->part ? ++r->part : 0;
	if (!out->continued)
		r->part = 0;
	return true;
}

/* Moves the bytes not yet taken to the front, so the next read has room. */
void line_compact(struct line_reader *r)
{
	memmove(r->data, r->data + r->consumed, r->len - r->consumed);
	r->len -= r->consumed;
	r->consumed = 0;
}

/* pino and bunyan: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal. */
static int severity_of_number(long level)
{
	return level <= 20 ? 7 : level <= 30 ? 6 : level <= 40 ? 4 : level <= 50 ? 3 : 2;
}

static int severity_of_name(const char *name)
{
	static const struct {
		const char *name;
		int severity;
	} names[] = {
		{ "trace", 7 }, { "debug", 7 },	   { "info", 6 },  { "notice", 5 },   { "warn", 4 },
		{ "warning", 4 }, { "error", 3 },  { "err", 3 },   { "fatal", 2 },    { "critical", 2 },
		{ "crit", 2 },	  { "alert", 1 },  { "emerg", 0 }, { "emergency", 0 }, { "panic", 0 },
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (strcasecmp(name, names[i].name) == 0)
			return names[i].severity;
	}
	return -1;
}

static bool level_member(struct json_reader *r, size_t key_at, size_t key_end, int depth)
{
	/* "level" with every letter a \u escape is 32 bytes with its quotes. */
	char key[32];
	int *severity = r->context;
	if (key_end - key_at > sizeof key || json_decode_at(r, key_at, key) != 5 || memcmp(key, "level", 5) != 0)
		return json_skip_value(r, depth);
	size_t value_at = r->pos;
	char c = r->text[value_at];
	if (c == '"') {
		char name[16];
		size_t len;
		if (!json_read_string(r, NULL, &len))
			return false;
		if (len < sizeof name && r->pos - value_at <= sizeof name) {
			name[json_decode_at(r, value_at, name)] = '\0';
			int named = severity_of_name(name);
			if (named >= 0)
				*severity = named;
		}
		return true;
	}
	long level = 0;
	size_t pos = value_at;
	while (pos < r->len && pos - value_at < 6 && r->text[pos] >= '0' && r->text[pos] <= '9')
		level = level * 10 + (r->text[pos++] - '0');
	if (!json_skip_value(r, depth))
		return false;
	/* Whole numbers only; 30.5, -1 or 1e2 keep the stream's severity. */
	if (pos > value_at && pos == r->pos)
		*severity = severity_of_number(level);
	return true;
}

/*
 * The RFC 5424 severity of a line: a JSON object's top-level "level" (a pino/bunyan number or a
 * name such as "warn"), otherwise fallback (the stream's). Invalid JSON is an ordinary line.
 */
int syslog_severity(const char *text, size_t len, int fallback)
{
	size_t at = 0;
	while (at < len && (text[at] == ' ' || text[at] == '\t'))
		at++;
	if (at == len || text[at] != '{')
		return fallback;
	int severity = fallback;
	struct json_reader r = { .text = text, .len = len, .context = &severity };
	return json_read_document(&r, level_member) ? severity : fallback;
}

/* An SD-PARAM value with '"', '\' and ']' escaped (RFC 5424 6.3.3); never cuts an escape in half. */
size_t syslog_escape_param(char *out, size_t size, const char *value)
{
	size_t n = 0;
	for (; *value; value++) {
		bool escape = *value == '"' || *value == '\\' || *value == ']';
		if (n + 1 + escape >= size)
			break;
		if (escape)
			out[n++] = '\\';
		out[n++] = *value;
	}
	out[n] = '\0';
	return n;
}

/* HOSTNAME, APP-NAME and PROCID are printable ASCII without spaces; "-" stands for none. */
size_t syslog_clean_name(char *out, size_t size, const char *name)
{
	size_t n = 0;
	for (; name[n] && n + 1 < size; n++)
		out[n] = name[n] > ' ' && name[n] < 0x7f ? name[n] : '_';
	if (n == 0)
		out[n++] = '-';
	out[n] = '\0';
	return n;
}

/*
 * "<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] " up to the message, e.g.
 * <14>1 2026-11-30T23:47:39.123456Z i-3f2a9c1e shop 42 stdout [ingot@32473 instance="i-3f2a9c1e" stream="stdout" env="prod"]
 * Pieces of a split line add part="N", and continued="true" to all but the last.
 */
size_t syslog_format_header(char *out, size_t size, const struct syslog_header *h)
{
	struct tm tm;
	time_t seconds = (time_t)h->time_s;
	gmtime_r(&seconds, &tm);
	char part[48] = "";
	if (h->part)
		snprintf(part, sizeof part, " part=\"%u\"%s", h->part, h->continued ? " continued=\"true\"" : "");
	int n = snprintf(out, size, "<%d>1 %04d-%02d-%02dT%02d:%02d:%02d.%06ldZ %s %s %s %s %s%s] ", h->priority,
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, h->time_us,
			 h->hostname, h->app_name, h->proc_id, h->msg_id, h->sd, part);
	return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}

/* RFC 6587 octet counting: "MSG-LEN SP" before the message, whose length counts header and MSG. */
size_t syslog_frame_prefix(char *out, size_t header_len, size_t msg_len)
{
	return (size_t)sprintf(out, "%zu ", header_len + msg_len);
}
