/* Shared declarations for ingot's PID 1; the contract is described in README.md. */
#ifndef INGOT_INIT_H
#define INGOT_INIT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MAX_DNS_SERVERS 3  /* glibc and musl resolvers read at most three (MAXNS) */
#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

struct net_config {
	struct in_addr address, netmask, gateway;
	struct in_addr dns[MAX_DNS_SERVERS];
	int dns_count;
	char domain[128];
};

struct boot_config {
	char hostname[65];
	char env_name[64];
	unsigned stop_timeout_s;
	bool static_net; /* ingot.ip was given; otherwise ask DHCP */
	struct net_config net;
};

struct app_spec {
	char **argv;
	char **envp;
	uid_t uid;
	gid_t gid;
	const char *workdir;
};

/* log.c */
extern bool debug_enabled;
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_event(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_newline(void);
long long uptime_ms(void);
char *read_file(const char *path, size_t *len);
char *trim(char *s);

/* mounts.c */
void mount_filesystems(void);
void attach_console(void);

/* modules.c */
void load_modules(const char *list_path);

/* cmdline.c */
void parse_cmdline(struct boot_config *cfg);

/* spec.c */
bool load_app_spec(const struct boot_config *cfg, struct app_spec *app);
const char *env_lookup(char **envp, const char *key);

/* net.c */
void setup_network(const struct boot_config *cfg);
bool parse_ipv4(const char *text, struct in_addr *out);
const char *format_ipv4(struct in_addr addr, char buf[16]);

/* dhcp.c */
bool dhcp_lease(const char *ifname, const uint8_t mac[6], const char *hostname,
		struct net_config *out);

/* app.c */
pid_t spawn_app(const struct app_spec *app);
int supervise_app(pid_t app, int signal_fd, unsigned stop_timeout_s);
void power_off(int signal_fd) __attribute__((noreturn));
const char *signal_name(int sig);

#endif
