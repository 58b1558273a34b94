/*
 * Reads the metadata service's configuration document: checks the whole JSON body, collects the
 * "env" member's strings as "KEY=VALUE" entries, in member order, and the instance id and log
 * endpoint. Pure, for host unit tests.
 */
#include "init.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the member callbacks see through the reader's context. */
struct config {
	struct instance_config *out;
	bool found_env;
};

static bool env_append(struct env_list *env, char *entry)
{
	if (env->count + 2 > env->capacity) {
		size_t capacity = env->capacity ? env->capacity * 2 : 16;
		char **grown = realloc(env->entries, capacity * sizeof *grown);
		if (!grown)
			return false;
		env->entries = grown;
		env->capacity = capacity;
	}
	env->entries[env->count++] = entry;
	env->entries[env->count] = NULL;
	return true;
}

/* One member of "env": a string value, a key that can be a variable name in an environ entry. */
static bool env_member(struct json_reader *r, size_t key_at, size_t key_end, int depth)
{
	size_t value_at = r->pos;
	if (value_at >= r->len || r->text[value_at] != '"')
		return json_skip_value(r, depth) && json_fail(r, value_at, "an env value is not a string");
	if (!json_read_string(r, NULL, NULL))
		return false;
	/* Both raw lengths count two quotes, which leaves room for the '=' and the final NUL. */
	size_t size = (key_end - key_at) + (r->pos - value_at);
	char *entry = malloc(size);
	if (!entry)
		return json_fail(r, JSON_NO_OFFSET, "there is not enough memory for the env");
	size_t key_len = json_decode_at(r, key_at, entry), problem_at = key_at;
	const char *problem = key_len == 0 ? "an env key is empty"
			      : memchr(entry, '=', key_len) ? "an env key contains '='"
			      : memchr(entry, '\0', key_len) ? "an env key contains NUL" : NULL;
	if (!problem) {
		entry[key_len] = '=';
		size_t value_len = json_decode_at(r, value_at, entry + key_len + 1);
		entry[key_len + 1 + value_len] = '\0';
		if (memchr(entry + key_len + 1, '\0', value_len)) {
			problem = "an env value contains NUL";
			problem_at = value_at;
		}
	}
	struct config *config = r->context;
	if (!problem && env_append(&config->out->env, entry))
		return true;
	explicit_bzero(entry, size);
	free(entry);
	if (!problem)
		return json_fail(r, JSON_NO_OFFSET, "there is not enough memory for the env");
	return json_fail(r, problem_at, problem);
}

/* Whether the member's key decodes to name; keys we look for are short, so longer raw keys are not. */
static bool key_is(struct json_reader *r, size_t key_at, size_t key_end, const char *name)
{
	/* Each character may be spelled as a 6-byte \u escape, plus the two quotes. */
	char key[64];
	size_t len = strlen(name);
	return key_end - key_at <= sizeof key && key_end - key_at <= len * 6 + 2 &&
	       json_decode_at(r, key_at, key) == len && memcmp(key, name, len) == 0;
}

/*
 * A string member decoded into out (size bytes with the NUL). Anything that is not a string, is empty,
 * too long or contains NUL fails with problem at its offset.
 */
static bool string_member(struct json_reader *r, int depth, char *out, size_t size, const char *problem)
{
	size_t value_at = r->pos, len;
	if (value_at >= r->len || r->text[value_at] != '"')
		return json_skip_value(r, depth) && json_fail(r, value_at, problem);
	if (!json_read_string(r, NULL, &len))
		return false;
	if (len == 0 || len >= size)
		return json_fail(r, value_at, problem);
	json_decode_at(r, value_at, out);
	out[len] = '\0';
	return strlen(out) == len || json_fail(r, value_at, problem);
}

/* "logs": {"address": "10.0.2.101:601", "app": "shop"}; other members are skipped. */
static bool logs_member(struct json_reader *r, size_t key_at, size_t key_end, int depth)
{
	struct instance_config *out = ((struct config *)r->context)->out;
	if (key_is(r, key_at, key_end, "address")) {
		size_t value_at = r->pos;
		if (!string_member(r, depth, out->log_address, sizeof out->log_address, "the logs address is not IPV4:PORT"))
			return false;
		struct in_addr address;
		uint16_t port;
		if (!parse_endpoint(out->log_address, 0, &address, &port))
			return json_fail(r, value_at, "the logs address is not IPV4:PORT");
		return true;
	}
	if (key_is(r, key_at, key_end, "app"))
		return string_member(r, depth, out->app_name, sizeof out->app_name, "the logs app is not a string of 1 to 48 bytes");
	return json_skip_value(r, depth);
}

static bool top_member(struct json_reader *r, size_t key_at, size_t key_end, int depth)
{
	struct instance_config *out = ((struct config *)r->context)->out;
	if (key_is(r, key_at, key_end, "instance"))
		return string_member(r, depth, out->instance, sizeof out->instance, "the instance is not a string of 1 to 128 bytes");
	if (key_is(r, key_at, key_end, "logs")) {
		size_t value_at = r->pos;
		if (value_at >= r->len || r->text[value_at] != '{')
			return json_skip_value(r, depth) && json_fail(r, value_at, "the logs member is not an object");
		return json_read_object(r, depth + 1, logs_member);
	}
	if (!key_is(r, key_at, key_end, "env"))
		return json_skip_value(r, depth);
	size_t value_at = r->pos;
	if (value_at >= r->len || r->text[value_at] != '{')
		return json_skip_value(r, depth) && json_fail(r, value_at, "the env member is not an object");
	((struct config *)r->context)->found_env = true;
	return json_read_object(r, depth + 1, env_member);
}

/* Zeroes the entries before freeing them: the values may be secrets. */
void env_list_wipe(struct env_list *env)
{
	for (size_t i = 0; i < env->count; i++) {
		explicit_bzero(env->entries[i], strlen(env->entries[i]));
		free(env->entries[i]);
	}
	free(env->entries);
	*env = (struct env_list){ 0 };
}

/*
 * Reads a configuration body such as {"instance":"i-1","logs":{"address":"10.0.2.101:601"},"env":{"K":"V"}}
 * into out: the "env" members are appended to out->env. On failure out->env is wiped and reason says
 * why, with a 0-based byte offset where one applies.
 */
bool config_read(const char *text, size_t len, struct instance_config *out, char *reason, size_t reason_size)
{
	struct config config = { .out = out };
	struct json_reader r = { .text = text, .len = len, .context = &config };
	if (json_read_document(&r, top_member) && !config.found_env)
		json_fail(&r, JSON_NO_OFFSET, "the body has no env object");
	if (!r.error)
		return true;
	env_list_wipe(&out->env);
	if (r.error_at == JSON_NO_OFFSET)
		snprintf(reason, reason_size, "%s", r.error);
	else
		snprintf(reason, reason_size, "%s at byte %zu", r.error, r.error_at);
	return false;
}

/* "10.0.2.100:80"; numeric only, as nothing can resolve a name this early. default_port 0: required. */
bool parse_endpoint(const char *text, long default_port, struct in_addr *address, uint16_t *port)
{
	char host[16];
	const char *colon = strchr(text, ':');
	size_t host_len = colon ? (size_t)(colon - text) : strlen(text);
	if (host_len >= sizeof host || (!colon && default_port == 0))
		return false;
	memcpy(host, text, host_len);
	host[host_len] = '\0';
	long value = default_port;
	if (colon) {
		char *end;
		value = strtol(colon + 1, &end, 10);
		if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || value < 1 || value > 65535)
			return false;
	}
	*port = (uint16_t)value;
	return inet_pton(AF_INET, host, address) == 1;
}
