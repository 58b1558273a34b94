/* Host unit test of syslog.c, the pure parts of log shipping: make -C init unit */
#include "../init.h"
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void expect_severity(const char *line, int fallback, int expected)
{
	int got = syslog_severity(line, strlen(line), fallback);
	CHECK(got == expected, "%s: severity %d, expected %d", line, got, expected);
}

static void test_severity(void)
{
	expect_severity("plain text", 6, 6);
	expect_severity("plain text", 3, 3);
	/* pino and bunyan numbers, and the names in between. */
	const int numbers[][2] = { { 10, 7 }, { 20, 7 }, { 30, 6 }, { 40, 4 }, { 50, 3 }, { 60, 2 }, { 35, 4 }, { 0, 7 } };
	for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
		char line[64];
		snprintf(line, sizeof line, "{\"level\":%d,\"msg\":\"hi\"}", numbers[i][0]);
		expect_severity(line, 3, numbers[i][1]);
	}
	expect_severity("{\"level\":\"trace\"}", 3, 7);
	expect_severity("{\"level\":\"debug\"}", 3, 7);
	expect_severity("{\"msg\":\"x\",\"level\":\"info\"}", 3, 6);
	expect_severity("{\"level\":\"WARN\"}", 6, 4);
	expect_severity("{\"level\":\"warning\"}", 6, 4);
	expect_severity("{\"level\":\"error\"}", 6, 3);
	expect_severity("{\"level\":\"fatal\"}", 6, 2);
	expect_severity("  {\"level\" : \"\\u0065rror\"}", 6, 3);
	expect_severity("{\"\\u006cevel\":50}", 6, 3);
	/* Not a level: the stream's severity stays. */
	expect_severity("{\"level\":\"verbose\"}", 6, 6);
	expect_severity("{\"level\":30.5}", 3, 3);
	expect_severity("{\"level\":-1}", 3, 3);
	expect_severity("{\"level\":1e2}", 3, 3);
	expect_severity("{\"level\":true}", 3, 3);
	expect_severity("{\"level\":9999999999}", 3, 3);
	expect_severity("{\"nested\":{\"level\":60}}", 6, 6);
	expect_severity("{\"level\":50", 6, 6);
	expect_severity("{\"level\":50} trailing", 6, 6);
	expect_severity("[{\"level\":50}]", 6, 6);
	/* The last of two levels wins, as in JSON.parse. */
	expect_severity("{\"level\":60,\"level\":30}", 3, 6);
}

static void test_escape(void)
{
	char out[64];
	size_t n = syslog_escape_param(out, sizeof out, "i-\"q\"\\x]y");
	CHECK(strcmp(out, "i-\\\"q\\\"\\\\x\\]y") == 0 && n == strlen(out), "escaped to '%s'", out);
	/* Truncation never leaves half an escape. */
	syslog_escape_param(out, 4, "ab]");
	CHECK(strcmp(out, "ab") == 0, "truncated to '%s'", out);
	syslog_clean_name(out, sizeof out, "my app\x01\xc3\xa9");
	CHECK(strcmp(out, "my_app___") == 0, "cleaned to '%s'", out);
	syslog_clean_name(out, sizeof out, "");
	CHECK(strcmp(out, "-") == 0, "empty name is '%s'", out);
	syslog_clean_name(out, 5, "abcdefgh");
	CHECK(strcmp(out, "abcd") == 0, "long name is '%s'", out);
}

static void test_frame(void)
{
	char header[SYSLOG_HEADER_MAX], prefix[24];
	struct syslog_header h = { .priority = 14, .time_s = 1796082459, .time_us = 1234, .hostname = "i-1",
				   .app_name = "shop", .proc_id = "42", .msg_id = "stdout",
				   .sd = "[ingot@32473 instance=\"i-1\" stream=\"stdout\" env=\"prod\"" };
	size_t len = syslog_format_header(header, sizeof header, &h);
	const char *expected = "<14>1 2026-11-30T23:47:39.001234Z i-1 shop 42 stdout "
			       "[ingot@32473 instance=\"i-1\" stream=\"stdout\" env=\"prod\"] ";
	CHECK(len == strlen(expected) && strcmp(header, expected) == 0, "header '%s'", header);
	size_t prefix_len = syslog_frame_prefix(prefix, len, 5);
	char expected_prefix[24];
	snprintf(expected_prefix, sizeof expected_prefix, "%zu ", len + 5);
	CHECK(prefix_len == strlen(expected_prefix) && strcmp(prefix, expected_prefix) == 0, "prefix '%s'", prefix);

	h.part = 1;
	h.continued = true;
	syslog_format_header(header, sizeof header, &h);
	CHECK(strstr(header, "env=\"prod\" part=\"1\" continued=\"true\"] ") != NULL, "first piece '%s'", header);
	h.part = 2;
	h.continued = false;
	syslog_format_header(header, sizeof header, &h);
	CHECK(strstr(header, "env=\"prod\" part=\"2\"] ") != NULL, "last piece '%s'", header);
	h.time_s = 0;
	h.time_us = 999999;
	syslog_format_header(header, sizeof header, &h);
	CHECK(strncmp(header, "<14>1 1970-01-01T00:00:00.999999Z ", 34) == 0, "epoch '%s'", header);
}

/* Feeds text in chunks of chunk bytes; the lines come out as "text|part|continued" joined by ';'. */
static void expect_lines(const char *text, size_t text_len, size_t chunk, const char *expected)
{
	struct line_reader r = { .data = malloc(LOG_LINE_MAX + 1) };
	char got[512] = "";
	size_t got_len = 0;
	for (size_t fed = 0; fed <= text_len;) {
		size_t room = LOG_LINE_MAX + 1 - r.len, n = text_len - fed < chunk ? text_len - fed : chunk;
		n = n < room ? n : room;
		memcpy(r.data + r.len, text + fed, n);
		r.len += n;
		fed += n;
		bool at_eof = fed == text_len;
		struct log_line line;
		while (line_next(&r, at_eof, &line)) {
			/* Long lines show as their length and first byte. */
			if (line.len > 20)
				got_len += (size_t)snprintf(got + got_len, sizeof got - got_len, "%zu*%c|%u|%d;", line.len,
							    line.text[0], line.part, line.continued);
			else
				got_len += (size_t)snprintf(got + got_len, sizeof got - got_len, "%.*s|%u|%d;", (int)line.len,
							    line.text, line.part, line.continued);
		}
		line_compact(&r);
		if (at_eof)
			break;
	}
	CHECK(strcmp(got, expected) == 0, "chunk %zu: lines '%s', expected '%s'", chunk, got, expected);
	CHECK(r.len == 0, "chunk %zu: %zu bytes left", chunk, r.len);
	free(r.data);
}

static void test_lines(void)
{
	const char *text = "one\ntwo\r\n\nthree";
	for (size_t chunk = 1; chunk < 8; chunk++)
		expect_lines(text, strlen(text), chunk, "one|0|0;two|0|0;|0|0;three|0|0;");
	/* 70 KiB: one full piece, then the rest; a line of exactly 64 KiB is whole. */
	size_t long_len = 70 * 1024;
	char *big = malloc(long_len + LOG_LINE_MAX + 16);
	memset(big, 'a', long_len);
	memcpy(big + long_len, "\nnext\n", 6);
	expect_lines(big, long_len + 6, 4096, "65536*a|1|1;6144*a|2|0;next|0|0;");
	expect_lines(big, long_len + 6, 100000, "65536*a|1|1;6144*a|2|0;next|0|0;");
	memset(big, 'b', LOG_LINE_MAX);
	memcpy(big + LOG_LINE_MAX, "\nx\n", 3);
	expect_lines(big, LOG_LINE_MAX + 3, 65536, "65536*b|0|0;x|0|0;");
	/* One byte more: split, the rest is a piece of its own; also when the app exits mid-line. */
	memset(big, 'c', LOG_LINE_MAX + 1);
	memcpy(big + LOG_LINE_MAX + 1, "\n", 1);
	expect_lines(big, LOG_LINE_MAX + 2, 65536, "65536*c|1|1;c|2|0;");
	expect_lines(big, LOG_LINE_MAX + 1, 65536, "65536*c|1|1;c|2|0;");
	expect_lines(big, LOG_LINE_MAX, 65536, "65536*c|0|0;");
	/* Three pieces; the part count restarts with the next line. */
	memset(big, 'd', 2 * LOG_LINE_MAX + 10);
	char *bigger = malloc(2 * LOG_LINE_MAX + 32);
	memset(bigger, 'd', 2 * LOG_LINE_MAX + 10);
	memcpy(bigger + 2 * LOG_LINE_MAX + 10, "\nz\n", 3);
	expect_lines(bigger, 2 * LOG_LINE_MAX + 13, 30000, "65536*d|1|1;65536*d|2|1;dddddddddd|3|0;z|0|0;");
	free(bigger);
	free(big);
}

int main(void)
{
	test_severity();
	test_escape();
	test_frame();
	test_lines();
	return check_summary("syslog-test");
}
