/* Reads the app's command, environment, user and working directory from /etc/ingot. */
#include "init.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INGOT_DIR "/etc/ingot"
#define NOBODY_ID 65534

static size_t key_length(const char *entry)
{
	return (size_t)(strchr(entry, '=') - entry);
}

/* Later entries replace earlier ones with the same key, as the contract's layering requires. */
static void env_set(struct env_list *env, char *entry)
{
	size_t klen = key_length(entry);
	for (size_t i = 0; i < env->count; i++) {
		if (key_length(env->entries[i]) == klen && strncmp(env->entries[i], entry, klen) == 0) {
			env->entries[i] = entry;
			return;
		}
	}
	if (env->count + 2 > env->capacity) {
		size_t capacity = env->capacity ? env->capacity * 2 : 32;
		char **grown = realloc(env->entries, capacity * sizeof *grown);
		if (!grown)
			return;
		env->entries = grown;
		env->capacity = capacity;
	}
	env->entries[env->count++] = entry;
	env->entries[env->count] = NULL;
}

/* Splits a buffer of NUL-terminated strings; a missing final NUL is tolerated. */
static size_t split_nul_list(char *data, size_t len, char **out, size_t max)
{
	size_t count = 0;
	for (size_t start = 0; start < len;) {
		size_t item_len = strnlen(data + start, len - start);
		if (out && count < max)
			out[count] = data + start;
		count++;
		start += item_len + 1;
	}
	return count;
}

static int env_merge_file(struct env_list *env, const char *path)
{
	size_t len;
	char *data = read_file(path, &len);
	if (!data)
		return 0;
	size_t count = split_nul_list(data, len, NULL, 0);
	char **items = calloc(count + 1, sizeof *items);
	if (!items)
		return 0;
	split_nul_list(data, len, items, count);
	int merged = 0;
	for (size_t i = 0; i < count; i++) {
		if (items[i][0] == '\0')
			continue;
		if (items[i][0] == '=' || !strchr(items[i], '=')) {
			log_warn("ignoring entry in %s as it is not KEY=VALUE (entry %zu)", path, i + 1);
			continue;
		}
		env_set(env, items[i]);
		merged++;
	}
	free(items);
	return merged;
}

static char *format_entry(const char *key, const char *value)
{
	size_t size = strlen(key) + strlen(value) + 2;
	char *entry = malloc(size);
	if (entry)
		snprintf(entry, size, "%s=%s", key, value);
	return entry;
}

/* Precedence, lowest first: init's defaults, env, env.<ENV>, then the fetched configuration. */
static char **build_env(const struct boot_config *cfg, char **fetched_env)
{
	struct env_list env = { 0 };
	env_set(&env, "PATH=" DEFAULT_PATH);
	env_set(&env, "HOME=/tmp");
	char *ingot_env = format_entry("INGOT_ENV", cfg->env_name);
	if (ingot_env)
		env_set(&env, ingot_env);

	char path[128];
	int base = env_merge_file(&env, INGOT_DIR "/env");
	snprintf(path, sizeof path, INGOT_DIR "/env.%s", cfg->env_name);
	int specific = env_merge_file(&env, path), fetched = 0;
	for (; fetched_env && fetched_env[fetched]; fetched++)
		env_set(&env, fetched_env[fetched]);
	/* Values may be secrets, so only counts are ever logged. */
	log_debug("environment: %d baked, %d from %s, %d fetched, %zu total", base, specific, path, fetched,
		  env.count);
	return env.entries;
}

const char *env_lookup(char **envp, const char *key)
{
	size_t klen = strlen(key);
	for (; envp && *envp; envp++) {
		if (strncmp(*envp, key, klen) == 0 && (*envp)[klen] == '=')
			return *envp + klen + 1;
	}
	return NULL;
}

static bool load_command(struct app_spec *app)
{
	size_t len;
	char *data = read_file(INGOT_DIR "/command", &len);
	if (!data) {
		log_warn("cannot start app as %s: " INGOT_DIR "/command", strerror(errno));
		return false;
	}
	size_t argc = split_nul_list(data, len, NULL, 0);
	if (argc == 0 || data[0] == '\0') {
		log_warn("cannot start app as the command is empty: " INGOT_DIR "/command");
		return false;
	}
	app->argv = calloc(argc + 1, sizeof *app->argv);
	if (!app->argv)
		return false;
	split_nul_list(data, len, app->argv, argc);
	return true;
}

/* strtoul rather than sscanf: scanf alone would add 12 KB to the binary. */
static bool parse_id(const char *text, unsigned long *id)
{
	char *end;
	errno = 0;
	*id = strtoul(text, &end, 10);
	return *text >= '0' && *text <= '9' && *end == '\0' && errno == 0 && *id < 0xffffffffUL;
}

static bool load_user(struct app_spec *app)
{
	char *text = read_file(INGOT_DIR "/user", NULL);
	if (!text) {
		app->uid = NOBODY_ID;
		app->gid = NOBODY_ID;
		return true;
	}
	char *value = trim(text), *colon = strchr(value, ':');
	unsigned long uid = 0, gid = 0;
	if (colon)
		*colon = '\0';
	if (!colon || !parse_id(value, &uid) || !parse_id(colon + 1, &gid)) {
		if (colon)
			*colon = ':';
		log_warn("cannot start app as " INGOT_DIR "/user is not UID:GID: %s", value);
		return false;
	}
	/* The contract promises the app never runs as root; refuse rather than guess. */
	if (uid == 0 || gid == 0) {
		log_warn("cannot start app as root: " INGOT_DIR "/user is %lu:%lu", uid, gid);
		return false;
	}
	app->uid = (uid_t)uid;
	app->gid = (gid_t)gid;
	return true;
}

bool load_app_spec(const struct boot_config *cfg, char **fetched_env, struct app_spec *app)
{
	if (!load_command(app) || !load_user(app))
		return false;
	char *workdir = read_file(INGOT_DIR "/workdir", NULL);
	app->workdir = workdir && *trim(workdir) ? trim(workdir) : "/";
	app->envp = build_env(cfg, fetched_env);
	return app->envp != NULL;
}
