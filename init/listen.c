/*
 * Which TCP ports the app listens on, read from /proc/net/tcp and /proc/net/tcp6 (the app is the only
 * one in the guest that listens), and reported on the console when that changes: the host leads the
 * default port of an app that declares none to where it listens, and says so when the app listens
 * elsewhere than expected.
 */
#include "init.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TCP_LISTEN "0A" /* the kernel's TCP_LISTEN state, as /proc/net/tcp prints it */
#define FIRST_LOOK_MS 100
#define LOOK_AGAIN_MAX_MS 5000
#define AFTER_CHANGE_MS 250
/* "no tcp port" is said only once the app had time to listen: a Node app takes ~7 s without KVM. */
#define NONE_AFTER_MS 10000

static const char *skip_spaces(const char *p)
{
	while (*p == ' ')
		p++;
	return p;
}

static size_t hex_digits(const char *p)
{
	size_t n = 0;
	while (isxdigit((unsigned char)p[n]))
		n++;
	return n;
}

/*
 * "   0: 0100007F:0BB8 00000000:0000 0A …": the local address is the raw address as 32-bit words,
 * each printed as %08X in the kernel's byte order, so decoding them as native words gives the
 * address bytes back on the machine that printed them. Read by hand: sscanf adds 10 KB to init.
 */
bool listen_parse_line(const char *line, struct listen_socket *out)
{
	const char *p = skip_spaces(line);
	size_t n = hex_digits(p); /* the slot number, decimal */
	if (n == 0 || p[n] != ':')
		return false;
	const char *hex = p = skip_spaces(p + n + 1);
	size_t hex_len = hex_digits(p);
	if (p[hex_len] != ':' || (hex_len != 8 && hex_len != 32))
		return false;
	p += hex_len + 1;
	size_t port_len = hex_digits(p);
	if (port_len == 0 || port_len > 4)
		return false;
	unsigned long port = strtoul(p, NULL, 16);
	p = skip_spaces(p + port_len); /* the remote address and port */
	n = hex_digits(p);
	if (n == 0 || p[n] != ':')
		return false;
	p = skip_spaces(p + n + 1 + hex_digits(p + n + 1));
	if (strncmp(p, TCP_LISTEN, 2) != 0 || isxdigit((unsigned char)p[2]))
		return false;
	size_t words = hex_len / 8;
	uint8_t bytes[16];
	for (size_t i = 0; i < words; i++) {
		char word[9];
		memcpy(word, hex + i * 8, 8);
		word[8] = '\0';
		uint32_t value = (uint32_t)strtoul(word, NULL, 16);
		memcpy(bytes + i * 4, &value, 4);
	}
	static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const uint8_t any6[16], loopback6[16] = { [15] = 1 };
	/* ::ffff:127.0.0.1 is 127.0.0.1 to whoever connects. */
	const uint8_t *v4 = words == 1 ? bytes : memcmp(bytes, v4_mapped, 12) == 0 ? bytes + 12 : NULL;
	out->port = (uint16_t)port;
	out->loopback = v4 ? v4[0] == 127 : memcmp(bytes, loopback6, 16) == 0;
	out->address[0] = '\0';
	if (v4 ? memcmp(v4, any6, 4) == 0 : memcmp(bytes, any6, 16) == 0)
		return true; /* any address: "" */
	char text[INET6_ADDRSTRLEN];
	inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? (const void *)v4 : bytes, text, sizeof text);
	snprintf(out->address, sizeof out->address, v4 ? "%s" : "[%s]", text);
	return true;
}

static bool same_socket(const struct listen_socket *a, const struct listen_socket *b)
{
	return a->port == b->port && strcmp(a->address, b->address) == 0;
}

static bool listen_has(const struct listen_set *set, const struct listen_socket *s)
{
	for (size_t i = 0; i < set->count; i++)
		if (same_socket(&set->sockets[i], s))
			return true;
	return false;
}

/* Adds a socket unless it is there already (0.0.0.0 and :: are both "any address"); false when full. */
bool listen_add(struct listen_set *set, const struct listen_socket *s)
{
	if (listen_has(set, s))
		return true;
	if (set->count == LISTEN_MAX)
		return false;
	set->sockets[set->count++] = *s;
	return true;
}

static int by_port(const void *a, const void *b)
{
	const struct listen_socket *x = a, *y = b;
	return x->port != y->port ? (int)x->port - (int)y->port : strcmp(x->address, y->address);
}

/* Adds the LISTEN sockets of one /proc/net/tcp* file; a missing file (no IPv6) adds none. */
void listen_scan_file(const char *path, struct listen_set *set)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	char buffer[4096];
	size_t len = 0;
	ssize_t n;
	while ((n = read(fd, buffer + len, sizeof buffer - 1 - len)) > 0) {
		len += (size_t)n;
		buffer[len] = '\0';
		char *line = buffer, *end;
		while ((end = memchr(line, '\n', len - (size_t)(line - buffer)))) {
			*end = '\0';
			struct listen_socket s;
			if (listen_parse_line(line, &s))
				listen_add(set, &s);
			line = end + 1;
		}
		len -= (size_t)(line - buffer);
		memmove(buffer, line, len);
		/* A line longer than the buffer is not one of the kernel's: drop it. */
		if (len == sizeof buffer - 1)
			len = 0;
	}
	close(fd);
}

/*
 * Orders `now` as the app opened its sockets, as far as looking now and then can tell: those seen
 * before keep their place (`before`'s order), new ones follow by port. The first is "the first port
 * the app listens on", which the host's health check follows when ingot.yaml declares no port.
 */
void listen_order(struct listen_set *now, const struct listen_set *before)
{
	struct listen_set ordered = { .count = 0 };
	for (size_t i = 0; i < before->count; i++)
		if (listen_has(now, &before->sockets[i]))
			listen_add(&ordered, &before->sockets[i]);
	size_t kept = ordered.count;
	for (size_t i = 0; i < now->count; i++)
		listen_add(&ordered, &now->sockets[i]);
	qsort(ordered.sockets + kept, ordered.count - kept, sizeof ordered.sockets[0], by_port);
	*now = ordered;
}

bool listen_equal(const struct listen_set *a, const struct listen_set *b)
{
	if (a->count != b->count)
		return false;
	for (size_t i = 0; i < a->count; i++)
		if (!same_socket(&a->sockets[i], &b->sockets[i]))
			return false;
	return true;
}

/* "3000, 127.0.0.1:9229, [::1]:5000": a bare port listens on every address. */
size_t listen_format(const struct listen_set *set, char *out, size_t size)
{
	size_t len = 0;
	out[0] = '\0';
	for (size_t i = 0; i < set->count && len < size; i++) {
		const struct listen_socket *s = &set->sockets[i];
		len += (size_t)snprintf(out + len, size - len, "%s%s%s%u", i ? ", " : "", s->address,
					s->address[0] ? ":" : "", (unsigned)s->port);
	}
	return len < size ? len : size - 1;
}

void listen_watch_start(struct listen_watch *w)
{
	*w = (struct listen_watch){ .started_ms = uptime_ms(), .interval_ms = FIRST_LOOK_MS };
	w->next_at_ms = w->started_ms + FIRST_LOOK_MS;
}

int listen_watch_timeout_ms(const struct listen_watch *w)
{
	long long left = w->next_at_ms - uptime_ms();
	return left > 0 ? (int)left : 0;
}

/*
 * Looks when it is time: soon after the app starts, then less and less often (up to every 5 s),
 * and soon again after a change, as an app may open several sockets in a row.
 */
void listen_watch_tick(struct listen_watch *w)
{
	long long now_ms = uptime_ms();
	if (now_ms < w->next_at_ms)
		return;
	struct listen_set now = { .count = 0 };
	listen_scan_file("/proc/net/tcp", &now);
	listen_scan_file("/proc/net/tcp6", &now);
	listen_order(&now, &w->reported);
	bool changed = !listen_equal(&now, &w->reported) || (!w->said_anything && now_ms - w->started_ms >= NONE_AFTER_MS);
	if (changed) {
		if (now.count) {
			char ports[LISTEN_MAX * 56];
			listen_format(&now, ports, sizeof ports);
			log_info("app listens on tcp %s", ports);
		} else {
			log_info("app listens on no tcp port");
		}
		w->reported = now;
		w->said_anything = true;
		w->interval_ms = AFTER_CHANGE_MS;
	} else {
		w->interval_ms = w->interval_ms * 2 > LOOK_AGAIN_MAX_MS ? LOOK_AGAIN_MAX_MS : w->interval_ms * 2;
	}
	w->next_at_ms = now_ms + w->interval_ms;
}
