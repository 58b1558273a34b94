/*
 * Reads the metadata service's configuration document: checks the whole JSON body and collects the
 * "env" member's strings as "KEY=VALUE" entries, in member order. Pure, for host unit tests.
 */
#include "init.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the member callbacks see through the reader's context. */
struct config {
	struct env_list *env;
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
	if (!problem && env_append(config->env, entry))
		return true;
	explicit_bzero(entry, size);
	free(entry);
	if (!problem)
		return json_fail(r, JSON_NO_OFFSET, "there is not enough memory for the env");
	return json_fail(r, problem_at, problem);
}

static bool top_member(struct json_reader *r, size_t key_at, size_t key_end, int depth)
{
	/* "env" spelled with \u escapes is at most 3 * 6 bytes between its quotes. */
	char key[20];
	if (key_end - key_at > sizeof key || json_decode_at(r, key_at, key) != 3 || memcmp(key, "env", 3) != 0)
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
 * Appends the "env" members of a configuration body such as {"instance":"i-1","env":{"K":"V"}} to
 * env. On failure env is wiped and reason says why, with a 0-based byte offset where one applies.
 */
bool config_read_env(const char *text, size_t len, struct env_list *env, char *reason, size_t reason_size)
{
	struct config config = { .env = env };
	struct json_reader r = { .text = text, .len = len, .context = &config };
	if (json_read_document(&r, top_member) && !config.found_env)
		json_fail(&r, JSON_NO_OFFSET, "the body has no env object");
	if (!r.error)
		return true;
	env_list_wipe(env);
	if (r.error_at == JSON_NO_OFFSET)
		snprintf(reason, reason_size, "%s", r.error);
	else
		snprintf(reason, reason_size, "%s at byte %zu", r.error, r.error_at);
	return false;
}
