/* Reads ingot.* options from the kernel command line. */
#include "init.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A whole number of seconds from `min` to a day; anything else keeps the default, with a warning. */
static void parse_seconds(const char *key, const char *value, long min, unsigned *out)
{
	char *end;
	long seconds = strtol(value, &end, 10);
	if (*end != '\0' || end == value || seconds < min || seconds > 86400)
		log_warn("ignoring %s as it is not a number of seconds: %s", key, value);
	else
		*out = (unsigned)seconds;
}

static void copy_string(char *dest, size_t size, const char *src, const char *key)
{
	if (strlen(src) >= size) {
		log_warn("ignoring %s as it is longer than %zu bytes: %s", key, size - 1, src);
		return;
	}
	strcpy(dest, src);
}

/* "10.0.2.15/24"; a missing prefix length means /24, the common case for a VM's one subnet. */
static bool parse_cidr(const char *text, struct in_addr *address, struct in_addr *netmask)
{
	char buf[32];
	if (strlen(text) >= sizeof buf)
		return false;
	strcpy(buf, text);
	long prefix = 24;
	char *slash = strchr(buf, '/');
	if (slash) {
		char *end;
		*slash = '\0';
		prefix = strtol(slash + 1, &end, 10);
		if (*end != '\0' || end == slash + 1 || prefix < 0 || prefix > 32)
			return false;
	}
	netmask->s_addr = htonl(prefix == 0 ? 0 : 0xffffffffu << (32 - prefix));
	return parse_ipv4(buf, address);
}

static void parse_dns_list(char *value, struct net_config *net)
{
	for (char *item = strtok(value, ","); item; item = strtok(NULL, ",")) {
		if (net->dns_count == MAX_DNS_SERVERS)
			break;
		if (parse_ipv4(item, &net->dns[net->dns_count]))
			net->dns_count++;
		else
			log_warn("ignoring ingot.dns entry as it is not an IPv4 address: %s", item);
	}
}

/* A malformed endpoint still counts as requested: starting the app without its config is worse. */
static void apply_metadata(struct boot_config *cfg, const char *value)
{
	cfg->metadata_requested = true;
	if (parse_endpoint(value, 80, &cfg->metadata_address, &cfg->metadata_port)) {
		char address[16];
		snprintf(cfg->metadata_endpoint, sizeof cfg->metadata_endpoint, "%s:%u",
			 format_ipv4(cfg->metadata_address, address), (unsigned)cfg->metadata_port);
	} else {
		cfg->metadata_port = 0;
		snprintf(cfg->metadata_endpoint, sizeof cfg->metadata_endpoint, "%s", value);
	}
}

/* Unlike the metadata service, a log endpoint is not worth failing the boot for: the app runs unlogged. */
static void apply_logs(struct boot_config *cfg, const char *value)
{
	struct in_addr address;
	uint16_t port;
	char ip[16];
	if (parse_endpoint(value, LOG_DEFAULT_PORT, &address, &port))
		snprintf(cfg->log_address, sizeof cfg->log_address, "%s:%u", format_ipv4(address, ip), (unsigned)port);
	else
		log_warn("ignoring ingot.logs as it is not IPV4[:PORT]: %s", value);
}

/* At least 128 KiB, room for the longest frame (64 KiB and its header); at most 256 MiB. */
static void parse_buffer_size(const char *key, const char *value, size_t *out)
{
	char *end;
	unsigned long bytes = strtoul(value, &end, 10);
	if (*end != '\0' || end == value || *value < '0' || *value > '9' || bytes < LOG_BUFFER_MIN ||
	    bytes > LOG_BUFFER_MAX)
		log_warn("ignoring %s as it is not a number of bytes from %d to %d: %s", key, LOG_BUFFER_MIN,
			 LOG_BUFFER_MAX, value);
	else
		*out = bytes;
}

static void apply_option(struct boot_config *cfg, const char *key, char *value)
{
	if (strcmp(key, "ingot.ip") == 0) {
		if (parse_cidr(value, &cfg->net.address, &cfg->net.netmask))
			cfg->static_net = true;
		else
			log_warn("ignoring ingot.ip as it is not ADDRESS/PREFIX: %s", value);
	} else if (strcmp(key, "ingot.gw") == 0) {
		if (!parse_ipv4(value, &cfg->net.gateway))
			log_warn("ignoring ingot.gw as it is not an IPv4 address: %s", value);
	} else if (strcmp(key, "ingot.dns") == 0) {
		parse_dns_list(value, &cfg->net);
	} else if (strcmp(key, "ingot.env") == 0) {
		/* The name becomes part of a path, so it must not climb out of /etc/ingot. */
		if (strchr(value, '/') || *value == '\0' || *value == '.')
			log_warn("ignoring ingot.env as it is not a plain name: %s", value);
		else
			copy_string(cfg->env_name, sizeof cfg->env_name, value, key);
	} else if (strcmp(key, "ingot.hostname") == 0) {
		copy_string(cfg->hostname, sizeof cfg->hostname, value, key);
	} else if (strcmp(key, "ingot.stop_timeout") == 0) {
		parse_seconds(key, value, 0, &cfg->stop_timeout_s);
	} else if (strcmp(key, "ingot.metadata") == 0) {
		apply_metadata(cfg, value);
	} else if (strcmp(key, "ingot.metadata_timeout") == 0) {
		parse_seconds(key, value, 1, &cfg->metadata_timeout_s);
	} else if (strcmp(key, "ingot.logs") == 0) {
		apply_logs(cfg, value);
	} else if (strcmp(key, "ingot.logs_buffer") == 0) {
		parse_buffer_size(key, value, &cfg->log_buffer_bytes);
	} else if (strcmp(key, "ingot.layers") == 0) {
		copy_string(cfg->layers, sizeof cfg->layers, value, key);
	} else if (strcmp(key, "ingot.debug") == 0) {
		debug_enabled = strcmp(value, "0") != 0;
	}
}

void parse_cmdline(struct boot_config *cfg)
{
	strcpy(cfg->hostname, "ingot");
	strcpy(cfg->env_name, "dev");
	cfg->stop_timeout_s = 10;
	cfg->metadata_timeout_s = 30;
	cfg->log_buffer_bytes = LOG_BUFFER_DEFAULT;

	char *cmdline = read_file("/proc/cmdline", NULL);
	if (!cmdline) {
		log_warn("cannot read kernel command line as %s", strerror(errno));
		return;
	}
	for (char *saveptr, *word = strtok_r(cmdline, " \t\n", &saveptr); word;
	     word = strtok_r(NULL, " \t\n", &saveptr)) {
		char *eq = strchr(word, '=');
		if (strncmp(word, "ingot.", 6) != 0 || !eq)
			continue;
		*eq = '\0';
		apply_option(cfg, word, eq + 1);
	}
	free(cmdline);
}
