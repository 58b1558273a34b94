/*
 * Test app for boot-test.sh: reports what init gave it, serves one HTTP request, exits 3. With
 * LOG_DEMO, LOG_BURST or FLOOD in its environment it writes log lines instead (see log_modes).
 */
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void on_sigterm(int sig)
{
	(void)sig;
	static const char message[] = "test-app: got SIGTERM\n";
	write(STDOUT_FILENO, message, sizeof message - 1);
	_exit(0);
}

static void print_file(const char *path)
{
	char buf[512];
	FILE *file = fopen(path, "r");
	while (file && fgets(buf, sizeof buf, file))
		printf("test-app: %s: %s", path, buf);
	if (file)
		fclose(file);
}

/* Secrets are reported as a length and FNV-1a hash, so the test can check them without printing them. */
static void print_secret(const char *key)
{
	const char *value = getenv(key);
	if (!value) {
		printf("test-app: %s (unset)\n", key);
		return;
	}
	unsigned hash = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)value; *p; p++)
		hash = (hash ^ *p) * 16777619u;
	printf("test-app: %s length %zu fnv1a %08x\n", key, strlen(value), hash);
}

static void say(int fd, const char *text)
{
	write(fd, text, strlen(text));
}

/* Lines whose shipping the test checks: severities, JSON levels, a 70 KiB line, an unfinished last line. */
static int log_demo(void)
{
	say(1, "test-app: plain stdout line\n");
	say(2, "test-app: plain stderr line\n");
	say(1, "{\"level\":20,\"msg\":\"pino debug\"}\n");
	say(1, "{\"level\":40,\"msg\":\"pino warn\"}\n");
	say(1, "{\"level\":60,\"msg\":\"pino fatal\"}\n");
	say(1, "{\"level\":\"error\",\"msg\":\"named error on stdout\"}\n");
	say(2, "{\"level\":30,\"msg\":\"info on stderr\"}\n");
	say(1, "{\"level\":50,\"msg\":\"not JSON, no closing brace\"\n");
	say(1, "test-app: message with \"quotes\", \\ and ] kept as they are\r\n");
	/* 70 KiB: "test-app: long " then the digits 0-9 over and over; no byte is a newline. */
	static char line[70 * 1024 + 1];
	size_t prefix = strlen("test-app: long ");
	memcpy(line, "test-app: long ", prefix);
	for (size_t i = prefix; i < sizeof line - 1; i++)
		line[i] = (char)('0' + i % 10);
	line[sizeof line - 1] = '\n';
	write(1, line, sizeof line);
	say(1, "test-app: last words without a newline");
	return 0;
}

/* N lines of 1000 bytes while the endpoint is down, then a pause for it to come back. */
static int log_burst(long lines, long linger_s)
{
	static char line[1000];
	long written = 0;
	for (long i = 1; i <= lines; i++, written++) {
		int n = snprintf(line, sizeof line, "test-app: burst %05ld ", i);
		memset(line + n, 'b', sizeof line - 1 - (size_t)n);
		line[sizeof line - 1] = '\n';
		write(1, line, sizeof line);
	}
	say(1, "test-app: burst done\n");
	written++;
	sleep((unsigned)linger_s);
	printf("test-app: after the outage (%ld lines before)\n", written);
	return 0;
}

/* Lines as fast as stdio can write them; the rate is what init must not slow down. */
static int flood(long lines)
{
	static char buffer[64 * 1024];
	setvbuf(stdout, buffer, _IOFBF, sizeof buffer);
	struct timespec start, end;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (long i = 1; i <= lines; i++)
		printf("test-app: flood %06ld the quick brown fox jumps over the lazy dog 0123456789 abcdefghijklmnop\n", i);
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &end);
	long ms = (end.tv_sec - start.tv_sec) * 1000 + (end.tv_nsec - start.tv_nsec) / 1000000;
	fprintf(stderr, "test-app: flood %ld lines in %ld ms\n", lines, ms > 0 ? ms : 1);
	return 0;
}

static const char *env_or(const char *key, const char *fallback)
{
	const char *value = getenv(key);
	return value ? value : fallback;
}

int main(int argc, char **argv)
{
	if (getenv("LOG_DEMO"))
		return log_demo();
	if (getenv("LOG_BURST"))
		return log_burst(atol(getenv("LOG_BURST")), atol(env_or("LOG_LINGER", "6")));
	if (getenv("FLOOD"))
		return flood(atol(getenv("FLOOD")));
	/* STUBBORN=1 simulates an app that ignores SIGTERM, to exercise init's stop timeout. */
	const char *stubborn = getenv("STUBBORN");
	signal(SIGTERM, stubborn && strcmp(stubborn, "1") == 0 ? SIG_IGN : on_sigterm);
	char cwd[256] = "?", host[65] = "?";
	getcwd(cwd, sizeof cwd);
	gethostname(host, sizeof host);
	printf("test-app: argv[0]=%s argc=%d uid=%d gid=%d cwd=%s hostname=%s\n", argv[0], argc,
	       (int)getuid(), (int)getgid(), cwd, host);
	const char *keys[] = { "PATH", "HOME", "INGOT_ENV", "GREETING", "LAYERED", "INGOT_INSTANCE_ID" };
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		printf("test-app: %s=%s\n", keys[i], getenv(keys[i]) ? getenv(keys[i]) : "(unset)");
	print_secret("API_TOKEN");
	print_secret("DATABASE_URL");
	print_file("/etc/resolv.conf");
	print_file("/etc/hosts");
	fflush(stdout);

	int server = socket(AF_INET, SOCK_STREAM, 0), on = 1;
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(8080) };
	setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
	if (bind(server, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(server, 4) < 0) {
		perror("test-app: listen");
		return 1;
	}
	printf("test-app: listening on 8080\n");
	fflush(stdout);

	int client = accept(server, NULL, NULL);
	char request[1024];
	ssize_t n = read(client, request, sizeof request - 1);
	request[n > 0 ? n : 0] = '\0';
	static const char response[] = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
				       "Content-Length: 17\r\nConnection: close\r\n\r\nhello from ingot\n";
	write(client, response, sizeof response - 1);
	close(client);
	printf("test-app: served %.*s\n", (int)strcspn(request, "\r\n"), request);
	return 3;
}
