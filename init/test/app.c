/* Test app for boot-test.sh: reports what init gave it, serves one HTTP request, exits 3. */
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

int main(int argc, char **argv)
{
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
