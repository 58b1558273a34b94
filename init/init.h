/* Shared declarations for ingot's PID 1; the contract is described in README.md. */
#ifndef INGOT_INIT_H
#define INGOT_INIT_H

#include <netinet/in.h>
#include <poll.h>
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

/* A growable, NULL-terminated array of "KEY=VALUE" strings. */
struct env_list {
	char **entries;
	size_t count, capacity;
};

struct boot_config {
	char hostname[65];
	char env_name[64];
	unsigned stop_timeout_s;
	bool static_net; /* ingot.ip was given; otherwise ask DHCP */
	struct net_config net;
	bool metadata_requested; /* ingot.metadata was given, even a malformed one */
	struct in_addr metadata_address;
	uint16_t metadata_port; /* 0 when ingot.metadata is malformed, so the boot fails */
	char metadata_endpoint[32]; /* "10.0.2.100:80", or the malformed text, for messages */
	unsigned metadata_timeout_s;
	char log_address[32]; /* ingot.logs, "" when not given or malformed */
	size_t log_buffer_bytes;
	char layers[256]; /* ingot.layers: the disk layers above the base, "" for an initrd image */
};

/* What the metadata service's configuration says, beyond the app's environment. */
struct instance_config {
	struct env_list env;
	char instance[129];    /* "" when absent */
	char log_address[32];  /* "IPV4:PORT", "" when absent */
	char app_name[49];     /* RFC 5424 APP-NAME is at most 48 bytes; "" when absent */
};

struct app_spec {
	char **argv;
	char **envp;
	uid_t uid;
	gid_t gid;
	const char *workdir;
	int stdout_fd, stderr_fd; /* pipes to init when logs are shipped, else -1 (the console) */
};

/* log.c */
extern bool debug_enabled;
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_event(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_boot_failed(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_newline(void);
long long uptime_ms(void);
char *read_file(const char *path, size_t *len);
char *trim(char *s);

/* mounts.c */
void mount_filesystems(void);
void attach_console(void);

/* layers.c */
bool stack_layers(const struct boot_config *cfg);
bool report_integrity_errors(const struct boot_config *cfg);

/* modules.c */
void load_modules(const char *list_path);

/* cmdline.c */
void parse_cmdline(struct boot_config *cfg);

/* spec.c */
bool load_app_spec(const struct boot_config *cfg, char **fetched_env, struct app_spec *app);
const char *env_lookup(char **envp, const char *key);

/* net.c */
void setup_network(const struct boot_config *cfg);
bool parse_ipv4(const char *text, struct in_addr *out);
const char *format_ipv4(struct in_addr addr, char buf[16]);

/* dhcp.c */
bool dhcp_lease(const char *ifname, const uint8_t mac[6], const char *hostname,
		struct net_config *out);

/* http.c: the metadata response, parsed as it arrives */
#define HTTP_MAX_HEADERS (16 * 1024)
#define HTTP_MAX_BODY (1024 * 1024)
enum http_state { HTTP_INCOMPLETE, HTTP_COMPLETE, HTTP_MALFORMED, HTTP_TOO_LARGE, HTTP_UNSUPPORTED };
struct http_response {
	int status;
	char reason[64]; /* printable ASCII only */
	size_t body_at, body_length;
};
enum http_state http_parse_response(const char *data, size_t len, bool at_eof, struct http_response *out);

/* json.c: a checking reader; the first failure is kept with its 0-based byte offset */
#define JSON_NO_OFFSET ((size_t)-1)
struct json_reader {
	const char *text;
	size_t len, pos;
	const char *error;
	size_t error_at;
	void *context; /* for the member callbacks */
};
/* Called with r->pos at the member's value, which it must consume; key_at is the key's opening quote. */
typedef bool json_member_fn(struct json_reader *r, size_t key_at, size_t key_end, int depth);
bool json_fail(struct json_reader *r, size_t at, const char *what);
void json_skip_space(struct json_reader *r);
bool json_read_string(struct json_reader *r, char *out, size_t *decoded_len);
size_t json_decode_at(struct json_reader *r, size_t at, char *out);
bool json_skip_value(struct json_reader *r, int depth);
bool json_read_object(struct json_reader *r, int depth, json_member_fn *on_member);
bool json_read_document(struct json_reader *r, json_member_fn *on_member);

/* config.c */
bool config_read(const char *text, size_t len, struct instance_config *out, char *reason, size_t reason_size);
void env_list_wipe(struct env_list *env);
bool parse_endpoint(const char *text, long default_port, struct in_addr *address, uint16_t *port);

/* metadata.c */
#define EXIT_UNAVAILABLE 69 /* EX_UNAVAILABLE from sysexits.h */
#define EXIT_DATAERR 65 /* EX_DATAERR: a layer's blocks do not match the image */
#define EXIT_SOFTWARE 70 /* EX_SOFTWARE: the layers cannot be mounted */
bool fetch_configuration(const struct boot_config *cfg, struct instance_config *out);

/* syslog.c: the pure parts of log shipping, for host unit tests */
#define LOG_LINE_MAX 65536 /* longer lines are split into pieces of this many bytes */
#define LOG_DEFAULT_PORT 601 /* syslog-conn */
#define LOG_BUFFER_DEFAULT (1024 * 1024)
#define LOG_BUFFER_MIN (128 * 1024) /* room for the longest frame (LOG_LINE_MAX and its header) */
#define LOG_BUFFER_MAX (256 * 1024 * 1024)
#define SYSLOG_HEADER_MAX 1024
/* One stream's bytes, split into lines; data holds LOG_LINE_MAX + 1 bytes. */
struct line_reader {
	char *data;
	size_t len, consumed;
	unsigned part; /* pieces of the current line already taken, 0 when it is not split */
};
struct log_line {
	const char *text;
	size_t len;
	unsigned part;  /* 1, 2, … for the pieces of a split line; 0 for a whole line */
	bool continued; /* the next piece continues this line */
};
bool line_next(struct line_reader *r, bool at_eof, struct log_line *out);
void line_compact(struct line_reader *r);
int syslog_severity(const char *text, size_t len, int fallback);
size_t syslog_escape_param(char *out, size_t size, const char *value);
size_t syslog_clean_name(char *out, size_t size, const char *name);
struct syslog_header {
	int priority;
	long long time_s; /* realtime */
	long time_us;
	const char *hostname, *app_name, *proc_id, *msg_id;
	const char *sd; /* the structured data's first element without its "]", e.g. [ingot@32473 a="b" */
	unsigned part;
	bool continued;
};
size_t syslog_format_header(char *out, size_t size, const struct syslog_header *h);
size_t syslog_frame_prefix(char *out, size_t header_len, size_t msg_len);

/* log-link.c: the connection to the log endpoint and the frames waiting for it */
enum link_state { LINK_DOWN, LINK_CONNECTING, LINK_SETTLING, LINK_UP };
extern const char *const link_state_names[];
struct log_link {
	struct sockaddr_in endpoint;
	char endpoint_text[32];
	int sock;
	enum link_state state;
	long long state_until_ms, backoff_ms;
	/* Whole frames in buffer[head, tail); [head, sent) went out on this connection already. */
	char *buffer;
	size_t capacity, head, sent, tail;
};
bool link_open(struct log_link *l, size_t capacity);
bool link_has_room(const struct log_link *l, size_t n);
bool link_enqueue(struct log_link *l, const char *header, size_t header_len, const char *msg, size_t msg_len);
void link_poll_fd(const struct log_link *l, struct pollfd *fd);
int link_timeout_ms(const struct log_link *l);
void link_handle(struct log_link *l, short revents);
void link_close(struct log_link *l, long long deadline_ms);

/* logs.c: captures the app's output and ships it; see README.md "Log shipping" */
struct log_shipper;
struct log_shipper *logs_open(const struct boot_config *cfg, const struct instance_config *instance,
			      struct app_spec *app);
void logs_app_started(struct log_shipper *s, pid_t app);
size_t logs_poll_fds(struct log_shipper *s, struct pollfd *fds);
int logs_timeout_ms(struct log_shipper *s);
void logs_handle(struct log_shipper *s, const struct pollfd *fds);
void logs_drain(struct log_shipper *s);
void logs_flush(struct log_shipper *s);
#define LOGS_MAX_FDS 3

/* listen.c: the TCP ports the app listens on, from /proc/net/tcp*, reported when they change */
#define LISTEN_MAX 16
struct listen_socket {
	uint16_t port;
	char address[48]; /* "" for any address, else "127.0.0.1" or "[::1]" */
	bool loopback;
};
struct listen_set {
	struct listen_socket sockets[LISTEN_MAX];
	size_t count;
};
struct listen_watch {
	long long started_ms, next_at_ms, interval_ms;
	struct listen_set reported;
	bool said_anything;
};
bool listen_parse_line(const char *line, struct listen_socket *out);
bool listen_add(struct listen_set *set, const struct listen_socket *s);
void listen_scan_file(const char *path, struct listen_set *set);
void listen_order(struct listen_set *now, const struct listen_set *before);
bool listen_equal(const struct listen_set *a, const struct listen_set *b);
size_t listen_format(const struct listen_set *set, char *out, size_t size);
void listen_watch_start(struct listen_watch *w);
int listen_watch_timeout_ms(const struct listen_watch *w);
void listen_watch_tick(struct listen_watch *w);

/* app.c */
pid_t spawn_app(const struct app_spec *app);
int supervise_app(pid_t app, int signal_fd, unsigned stop_timeout_s, struct log_shipper *logs);
void power_off(int signal_fd) __attribute__((noreturn));
const char *signal_name(int sig);

#endif
