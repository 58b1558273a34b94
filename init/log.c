/* Console logging and small file helpers shared by the boot steps. */
#include "init.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

bool debug_enabled;

/* CLOCK_BOOTTIME starts with the kernel, so the host can read boot time straight off the console. */
long long uptime_ms(void)
{
	struct timespec now;
	clock_gettime(CLOCK_BOOTTIME, &now);
	return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void write_line(bool timestamp, const char *level, const char *fmt, va_list args)
{
	char line[1024];
	size_t len = (size_t)snprintf(line, sizeof line, "ingot-init: ");
	if (timestamp) {
		long long ms = uptime_ms();
		len += (size_t)snprintf(line + len, sizeof line - len, "[%lld.%03lld] ", ms / 1000, ms % 1000);
	}
	len += (size_t)snprintf(line + len, sizeof line - len, "%s", level);
	int written = vsnprintf(line + len, sizeof line - len, fmt, args);
	len = written < 0 ? len : len + (size_t)written;
	if (len > sizeof line - 2)
		len = sizeof line - 2;
	line[len++] = '\n';
	/* One write per line so init's lines never interleave with the app's output. */
	if (write(STDERR_FILENO, line, len) < 0) {
		/* Nowhere left to report it. */
	}
}

void log_info(const char *fmt, ...)
{
	va_list args;
	va_start(args, fmt);
	write_line(true, "", fmt, args);
	va_end(args);
}

void log_warn(const char *fmt, ...)
{
	va_list args;
	va_start(args, fmt);
	write_line(true, "warning: ", fmt, args);
	va_end(args);
}

void log_debug(const char *fmt, ...)
{
	if (!debug_enabled)
		return;
	va_list args;
	va_start(args, fmt);
	write_line(true, "debug: ", fmt, args);
	va_end(args);
}

/* The host reads "boot failed (status N)" and exits with N, so this shape is part of the contract. */
void log_boot_failed(int status, const char *fmt, ...)
{
	char level[48];
	snprintf(level, sizeof level, "boot failed (status %d): ", status);
	va_list args;
	va_start(args, fmt);
	write_line(true, level, fmt, args);
	va_end(args);
}

void log_newline(void)
{
	if (write(STDERR_FILENO, "\n", 1) < 0) {
		/* Nowhere left to report it. */
	}
}

/* App lifecycle lines have a fixed, timestamp-free shape that the host matches exactly. */
void log_event(const char *fmt, ...)
{
	va_list args;
	va_start(args, fmt);
	write_line(false, "", fmt, args);
	va_end(args);
}

/* Reads a whole file, NUL-terminated; /proc files report size 0, so read until EOF. */
char *read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t size = 0, capacity = 4096;
	char *data = malloc(capacity);
	for (;;) {
		if (!data)
			break;
		if (size + 1 >= capacity) {
			char *grown = realloc(data, capacity *= 2);
			if (!grown) {
				free(data);
				data = NULL;
				break;
			}
			data = grown;
		}
		ssize_t n = read(fd, data + size, capacity - size - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(data);
			data = NULL;
			break;
		}
		if (n == 0)
			break;
		size += (size_t)n;
	}
	int saved_errno = errno;
	close(fd);
	errno = saved_errno;
	if (data) {
		data[size] = '\0';
		if (len)
			*len = size;
	}
	return data;
}

char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t len = strlen(s);
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		s[--len] = '\0';
	return s;
}
