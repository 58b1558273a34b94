/*
 * A small checking JSON reader with no dependencies: it walks one buffer, decodes strings to UTF-8
 * and skips whatever the caller does not want; config.c builds on it. Pure, for host unit tests.
 */
#include "init.h"

#include <string.h>

/* Deep enough for any sensible document, shallow enough that the recursion cannot exhaust the stack. */
#define MAX_DEPTH 64
#define INVALID "the body is not valid JSON"

/* The first failure wins; later ones are only its consequences. Always returns false. */
bool json_fail(struct json_reader *r, size_t at, const char *what)
{
	if (!r->error) {
		r->error = what;
		r->error_at = at;
	}
	return false;
}

void json_skip_space(struct json_reader *r)
{
	while (r->pos < r->len && (r->text[r->pos] == ' ' || r->text[r->pos] == '\t' ||
				   r->text[r->pos] == '\n' || r->text[r->pos] == '\r'))
		r->pos++;
}

static bool consume(struct json_reader *r, char c)
{
	json_skip_space(r);
	if (r->pos >= r->len || r->text[r->pos] != c)
		return false;
	r->pos++;
	return true;
}

/* The four hex digits of a \u escape; -1 when they are not. */
static long read_hex4(struct json_reader *r)
{
	long value = 0;
	for (int i = 0; i < 4; i++, r->pos++) {
		char c = r->pos < r->len ? r->text[r->pos] : '\0', lower = (char)(c | 0x20);
		if (c >= '0' && c <= '9')
			value = value * 16 + (c - '0');
		else if (lower >= 'a' && lower <= 'f')
			value = value * 16 + (lower - 'a' + 10);
		else
			return -1;
	}
	return value;
}

static size_t put_utf8(char *out, unsigned long cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	size_t count = cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
	static const unsigned char lead[] = { 0, 0, 0xc0, 0xe0, 0xf0 };
	for (size_t i = count - 1; i > 0; i--, cp >>= 6)
		out[i] = (char)(0x80 | (cp & 0x3f));
	out[0] = (char)(lead[count] | cp);
	return count;
}

/* \uXXXX at r->pos (past the backslash and u); a UTF-16 surrogate pair spans two escapes. */
static long read_code_point(struct json_reader *r)
{
	long cp = read_hex4(r);
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return -1;
	if (cp < 0xd800 || cp > 0xdbff)
		return cp;
	if (r->len - r->pos < 2 || r->text[r->pos] != '\\' || r->text[r->pos + 1] != 'u')
		return -1;
	r->pos += 2;
	long low = read_hex4(r);
	if (low < 0xdc00 || low > 0xdfff)
		return -1;
	return 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
}

/* The string whose opening quote is at r->pos, decoded into out (NULL: only checked) as UTF-8. */
bool json_read_string(struct json_reader *r, char *out, size_t *decoded_len)
{
	static const char escapes[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
	size_t n = 0;
	for (r->pos++;; ) {
		if (r->pos >= r->len)
			return json_fail(r, r->pos, INVALID);
		unsigned char c = (unsigned char)r->text[r->pos];
		if (c == '"')
			break;
		if (c < 0x20)
			return json_fail(r, r->pos, INVALID);
		char bytes[4] = { (char)c };
		size_t count = 1, escape_at = r->pos++;
		if (c == '\\') {
			char e = r->pos < r->len ? r->text[r->pos++] : '\0';
			const char *simple = e ? strchr(escapes, e) : NULL;
			long cp = e == 'u' ? read_code_point(r) : -1;
			if (simple && (simple - escapes) % 2 == 0)
				bytes[0] = simple[1];
			else if (cp >= 0)
				count = put_utf8(bytes, (unsigned long)cp);
			else
				return json_fail(r, escape_at, INVALID);
		}
		if (out)
			memcpy(out + n, bytes, count);
		n += count;
	}
	r->pos++;
	if (decoded_len)
		*decoded_len = n;
	return true;
}

/* Decodes a string that json_read_string already checked; decoding never makes it longer. */
size_t json_decode_at(struct json_reader *r, size_t at, char *out)
{
	size_t saved = r->pos, n = 0;
	r->pos = at;
	json_read_string(r, out, &n);
	r->pos = saved;
	return n;
}

static bool skip_digits(struct json_reader *r)
{
	size_t start = r->pos;
	while (r->pos < r->len && r->text[r->pos] >= '0' && r->text[r->pos] <= '9')
		r->pos++;
	return r->pos > start || json_fail(r, r->pos, INVALID);
}

static bool skip_number(struct json_reader *r)
{
	if (r->text[r->pos] == '-')
		r->pos++;
	if (r->pos < r->len && r->text[r->pos] == '0')
		r->pos++;
	else if (!skip_digits(r))
		return false;
	if (r->pos < r->len && r->text[r->pos] == '.') {
		r->pos++;
		if (!skip_digits(r))
			return false;
	}
	if (r->pos < r->len && (r->text[r->pos] | 0x20) == 'e') {
		r->pos++;
		if (r->pos < r->len && (r->text[r->pos] == '+' || r->text[r->pos] == '-'))
			r->pos++;
		return skip_digits(r);
	}
	return true;
}

static bool skip_literal(struct json_reader *r)
{
	static const char *const words[] = { "true", "false", "null" };
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
		size_t n = strlen(words[i]);
		if (r->len - r->pos >= n && memcmp(r->text + r->pos, words[i], n) == 0) {
			r->pos += n;
			return true;
		}
	}
	return json_fail(r, r->pos, INVALID);
}

static bool skip_member(struct json_reader *r, size_t key_at, size_t key_end, int depth);

/* Checks and skips one value; depth counts the containers around it. */
bool json_skip_value(struct json_reader *r, int depth)
{
	json_skip_space(r);
	char c = r->pos < r->len ? r->text[r->pos] : '\0';
	if ((c == '{' || c == '[') && depth >= MAX_DEPTH)
		return json_fail(r, r->pos, "the body is nested too deeply");
	if (c == '{')
		return json_read_object(r, depth + 1, skip_member);
	if (c == '"')
		return json_read_string(r, NULL, NULL);
	if (c == '-' || (c >= '0' && c <= '9'))
		return skip_number(r);
	if (c != '[')
		return skip_literal(r);
	r->pos++;
	if (consume(r, ']'))
		return true;
	do {
		if (!json_skip_value(r, depth + 1))
			return false;
	} while (consume(r, ','));
	return consume(r, ']') || json_fail(r, r->pos, INVALID);
}

static bool skip_member(struct json_reader *r, size_t key_at, size_t key_end, int depth)
{
	(void)key_at, (void)key_end;
	return json_skip_value(r, depth);
}

/* The opening brace is at r->pos; on_member finds r->pos at its value. */
bool json_read_object(struct json_reader *r, int depth, json_member_fn *on_member)
{
	r->pos++;
	if (consume(r, '}'))
		return true;
	do {
		json_skip_space(r);
		size_t key_at = r->pos;
		if (key_at >= r->len || r->text[key_at] != '"')
			return json_fail(r, key_at, INVALID);
		if (!json_read_string(r, NULL, NULL))
			return false;
		size_t key_end = r->pos;
		if (!consume(r, ':'))
			return json_fail(r, r->pos, INVALID);
		json_skip_space(r);
		if (!on_member(r, key_at, key_end, depth))
			return false;
	} while (consume(r, ','));
	return consume(r, '}') || json_fail(r, r->pos, INVALID);
}

/* The whole text must be one object and nothing more but blanks; on_member sees its members. */
bool json_read_document(struct json_reader *r, json_member_fn *on_member)
{
	json_skip_space(r);
	size_t start = r->pos;
	if (start < r->len && r->text[start] == '{')
		json_read_object(r, 1, on_member);
	else if (json_skip_value(r, 0))
		json_fail(r, start, "the body is not a JSON object");
	json_skip_space(r);
	if (r->pos != r->len)
		json_fail(r, r->pos, INVALID);
	return !r->error;
}
