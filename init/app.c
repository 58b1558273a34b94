/* Starts the app, supervises it as PID 1 (reaping, signal forwarding) and powers the VM off. */
#include "init.h"

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXIT_CANNOT_START 127
#define SHUTDOWN_GRACE_MS 2000
#define SHUTDOWN_KILL_MS 1000

static const char *const signal_names[] = {
	[SIGHUP] = "SIGHUP",   [SIGINT] = "SIGINT",     [SIGQUIT] = "SIGQUIT", [SIGILL] = "SIGILL",
	[SIGTRAP] = "SIGTRAP", [SIGABRT] = "SIGABRT",   [SIGBUS] = "SIGBUS",   [SIGFPE] = "SIGFPE",
	[SIGKILL] = "SIGKILL", [SIGUSR1] = "SIGUSR1",   [SIGSEGV] = "SIGSEGV", [SIGUSR2] = "SIGUSR2",
	[SIGPIPE] = "SIGPIPE", [SIGALRM] = "SIGALRM",   [SIGTERM] = "SIGTERM", [SIGSTKFLT] = "SIGSTKFLT",
	[SIGCHLD] = "SIGCHLD", [SIGCONT] = "SIGCONT",   [SIGSTOP] = "SIGSTOP", [SIGTSTP] = "SIGTSTP",
	[SIGTTIN] = "SIGTTIN", [SIGTTOU] = "SIGTTOU",   [SIGURG] = "SIGURG",   [SIGXCPU] = "SIGXCPU",
	[SIGXFSZ] = "SIGXFSZ", [SIGVTALRM] = "SIGVTALRM", [SIGPROF] = "SIGPROF", [SIGWINCH] = "SIGWINCH",
	[SIGIO] = "SIGIO",     [SIGPWR] = "SIGPWR",     [SIGSYS] = "SIGSYS",
};

const char *signal_name(int sig)
{
	if (sig > 0 && (size_t)sig < sizeof signal_names / sizeof signal_names[0] && signal_names[sig])
		return signal_names[sig];
	return "unknown";
}

/* Like execvp, but PATH comes from the app's environment rather than init's. */
static void exec_from_path(char **argv, char **envp)
{
	if (strchr(argv[0], '/')) {
		execve(argv[0], argv, envp);
		return;
	}
	const char *path = env_lookup(envp, "PATH");
	if (!path)
		path = DEFAULT_PATH;
	int reported_errno = ENOENT;
	for (const char *dir = path; ; dir++) {
		size_t dir_len = strcspn(dir, ":");
		char candidate[4096];
		/* An empty PATH entry means the working directory, as in POSIX execvp. */
		snprintf(candidate, sizeof candidate, "%.*s%s%s", (int)dir_len, dir, dir_len ? "/" : "",
			 argv[0]);
		execve(candidate, argv, envp);
		/* Keep looking past missing files, but remember a file we were not allowed to run. */
		if (errno == EACCES)
			reported_errno = EACCES;
		else if (errno != ENOENT && errno != ENOTDIR) {
			reported_errno = errno;
			break;
		}
		dir += dir_len;
		if (*dir == '\0')
			break;
	}
	errno = reported_errno;
}

static void exec_app(const struct app_spec *app) __attribute__((noreturn));
static void exec_app(const struct app_spec *app)
{
	/* The blocked mask survives execve; the app must see signals normally. */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Its own session and process group, so a stop signal reaches the app's children too. */
	setsid();
	/* Shipped logs: stdout and stderr become init's pipes; stdin stays the console. */
	if (app->stdout_fd >= 0 && (dup2(app->stdout_fd, STDOUT_FILENO) < 0 || dup2(app->stderr_fd, STDERR_FILENO) < 0)) {
		log_warn("cannot start app as %s: log pipes", strerror(errno));
		_exit(EXIT_CANNOT_START);
	}
	if (chdir(app->workdir) < 0) {
		log_warn("cannot start app as %s: workdir %s", strerror(errno), app->workdir);
		_exit(EXIT_CANNOT_START);
	}
	if (setgroups(0, NULL) < 0 || setgid(app->gid) < 0 || setuid(app->uid) < 0) {
		log_warn("cannot start app as %s: user %u:%u", strerror(errno), (unsigned)app->uid,
			 (unsigned)app->gid);
		_exit(EXIT_CANNOT_START);
	}
	exec_from_path(app->argv, app->envp);
	log_warn("cannot start app as %s: %s", strerror(errno), app->argv[0]);
	_exit(EXIT_CANNOT_START);
}

pid_t spawn_app(const struct app_spec *app)
{
	char command[256];
	size_t len = 0;
	command[0] = '\0';
	for (char **arg = app->argv; *arg && len < sizeof command; arg++)
		len += (size_t)snprintf(command + len, sizeof command - len, "%s%s", arg == app->argv ? "" : " ",
					*arg);
	log_info("starting app: %s as %u:%u", command, (unsigned)app->uid, (unsigned)app->gid);

	pid_t pid = fork();
	if (pid == 0)
		exec_app(app);
	if (pid < 0)
		log_warn("cannot start app as %s: fork", strerror(errno));
	return pid;
}

/* The app may not have called setsid yet, in which case its group does not exist. */
static void signal_app(pid_t app, int sig)
{
	if (kill(-app, sig) < 0)
		kill(app, sig);
}

static void drain_signals(int signal_fd, bool *stop_requested)
{
	struct signalfd_siginfo info;
	while (read(signal_fd, &info, sizeof info) == sizeof info) {
		int sig = (int)info.ssi_signo;
		if (sig == SIGTERM || sig == SIGINT || sig == SIGPWR || sig == SIGUSR1 || sig == SIGUSR2) {
			log_debug("received %s", signal_name(sig));
			*stop_requested = true;
		}
	}
}

/*
 * Runs until the app exits and returns its wait status; every other child is reaped on the way, the
 * ports the app listens on are reported as they change, and the app's output is shipped meanwhile
 * when logs is not NULL.
 */
int supervise_app(pid_t app, int signal_fd, unsigned stop_timeout_s, struct log_shipper *logs)
{
	long long kill_at = -1;
	bool killed = false;
	struct listen_watch ports;
	listen_watch_start(&ports);
	for (;;) {
		int status;
		pid_t pid;
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			if (pid == app)
				return status;
		}
		int timeout_ms = logs ? logs_timeout_ms(logs) : -1;
		/* Once a stop is requested the app closes its sockets: that is no news to report. */
		if (kill_at < 0) {
			int look_ms = listen_watch_timeout_ms(&ports);
			if (timeout_ms < 0 || look_ms < timeout_ms)
				timeout_ms = look_ms;
		}
		if (kill_at >= 0 && !killed) {
			long long left = kill_at - uptime_ms();
			int kill_ms = left > 0 ? (int)left : 0;
			if (timeout_ms < 0 || kill_ms < timeout_ms)
				timeout_ms = kill_ms;
		}
		struct pollfd fds[1 + LOGS_MAX_FDS] = { { .fd = signal_fd, .events = POLLIN } };
		nfds_t count = 1 + (logs ? logs_poll_fds(logs, fds + 1) : 0);
		if (poll(fds, count, timeout_ms) < 0) {
			for (nfds_t i = 0; i < count; i++)
				fds[i].revents = 0;
		}
		if (logs)
			logs_handle(logs, fds + 1);
		if (kill_at < 0)
			listen_watch_tick(&ports);
		if (kill_at >= 0 && !killed && uptime_ms() >= kill_at) {
			log_info("app still running after %us, sending SIGKILL", stop_timeout_s);
			signal_app(app, SIGKILL);
			killed = true;
		}
		if (!(fds[0].revents & POLLIN))
			continue;
		bool stop_requested = false;
		drain_signals(signal_fd, &stop_requested);
		if (stop_requested && kill_at < 0) {
			log_event("stopping app (SIGTERM, timeout %us)", stop_timeout_s);
			signal_app(app, SIGTERM);
			kill_at = uptime_ms() + (long long)stop_timeout_s * 1000;
		}
	}
}

/* Reaps children until none are left or the time runs out. */
static void reap_all(int signal_fd, int timeout_ms)
{
	long long until = uptime_ms() + timeout_ms;
	for (;;) {
		pid_t pid;
		while ((pid = waitpid(-1, NULL, WNOHANG)) > 0) {
		}
		if (pid < 0)
			return; /* ECHILD: nothing left */
		long long left = until - uptime_ms();
		if (left <= 0)
			return;
		struct pollfd pfd = { .fd = signal_fd, .events = POLLIN };
		if (poll(&pfd, 1, (int)left) > 0) {
			bool ignored;
			drain_signals(signal_fd, &ignored);
		}
	}
}

void power_off(int signal_fd)
{
	/* kill(-1) reaches every process but PID 1: leftovers get a chance to flush, then are killed. */
	if (kill(-1, SIGTERM) == 0)
		reap_all(signal_fd, SHUTDOWN_GRACE_MS);
	if (kill(-1, SIGKILL) == 0)
		reap_all(signal_fd, SHUTDOWN_KILL_MS);
	sync();
	log_info("power off");
	reboot(RB_POWER_OFF);
	/* reboot only returns on failure; PID 1 must never exit, or the kernel panics. */
	log_warn("cannot power off as %s", strerror(errno));
	for (;;)
		pause();
}
