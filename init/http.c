/* Parses the metadata service's HTTP/1.x response as it arrives: status, Content-Length, the body. */
#include "init.h"

#include <string.h>
#include <strings.h>

/* Where the body starts: just past the first empty line (CRLF or bare LF), or 0 when none yet. */
static size_t header_end(const char *data, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (data[i] != '\n')
			continue;
		if (data[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && data[i + 1] == '\r' && data[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* The value of a "Name: value" line when the name matches, without surrounding blanks. */
static bool field_value(const char *line, size_t len, const char *name, const char **value, size_t *value_len)
{
	size_t name_len = strlen(name);
	if (len <= name_len || line[name_len] != ':' || strncasecmp(line, name, name_len) != 0)
		return false;
	const char *start = line + name_len + 1, *end = line + len;
	while (start < end && (*start == ' ' || *start == '\t'))
		start++;
	while (end > start && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	*value = start;
	*value_len = (size_t)(end - start);
	return true;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* "HTTP/1.x 404 Not Found"; the reason phrase is kept for messages, printable ASCII only. */
static bool parse_status_line(const char *line, size_t len, struct http_response *out)
{
	if (len < 12 || !is_digit(line[7]) || line[8] != ' ' || !is_digit(line[9]) || !is_digit(line[10]) ||
	    !is_digit(line[11]) || (len > 12 && line[12] != ' ' && line[12] != '\r'))
		return false;
	out->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
	size_t n = 0;
	for (size_t i = 13; i < len && line[i] != '\r' && n < sizeof out->reason - 1; i++)
		out->reason[n++] = line[i] >= 0x20 && line[i] < 0x7f ? line[i] : '?';
	out->reason[n] = '\0';
	return true;
}

/*
 * Decides from the bytes received so far (at_eof: the peer closed) whether the response is complete.
 * Any status but 200 is complete once the headers are in: its body is never needed.
 */
enum http_state http_parse_response(const char *data, size_t len, bool at_eof, struct http_response *out)
{
	static const char version[] = "HTTP/1.";
	size_t checkable = len < sizeof version - 1 ? len : sizeof version - 1;
	if (memcmp(data, version, checkable) != 0)
		return HTTP_MALFORMED;
	size_t body_at = header_end(data, len < HTTP_MAX_HEADERS ? len : HTTP_MAX_HEADERS);
	if (body_at == 0)
		return len >= HTTP_MAX_HEADERS ? HTTP_MALFORMED : HTTP_INCOMPLETE;

	const char *line = data, *headers_end = data + body_at;
	const char *newline = memchr(line, '\n', body_at);
	if (!parse_status_line(line, (size_t)(newline - line), out))
		return HTTP_MALFORMED;
	if (out->status != 200)
		return HTTP_COMPLETE;

	size_t content_length = 0;
	bool has_length = false;
	for (line = newline + 1; line < headers_end; line = newline + 1) {
		newline = memchr(line, '\n', (size_t)(headers_end - line));
		const char *value;
		size_t value_len, line_len = (size_t)(newline - line);
		if (field_value(line, line_len, "Transfer-Encoding", &value, &value_len) &&
		    !(value_len == 8 && strncasecmp(value, "identity", 8) == 0))
			return HTTP_UNSUPPORTED;
		if (!field_value(line, line_len, "Content-Length", &value, &value_len))
			continue;
		if (value_len == 0)
			return HTTP_MALFORMED;
		content_length = 0;
		for (size_t i = 0; i < value_len; i++) {
			if (!is_digit(value[i]))
				return HTTP_MALFORMED;
			content_length = content_length * 10 + (size_t)(value[i] - '0');
			if (content_length > HTTP_MAX_BODY)
				return HTTP_TOO_LARGE;
		}
		has_length = true;
	}

	out->body_at = body_at;
	size_t received = len - body_at;
	if (has_length && received >= content_length) {
		out->body_length = content_length;
		return HTTP_COMPLETE;
	}
	if (received > HTTP_MAX_BODY)
		return HTTP_TOO_LARGE;
	if (has_length || !at_eof)
		return HTTP_INCOMPLETE;
	out->body_length = received;
	return HTTP_COMPLETE;
}
