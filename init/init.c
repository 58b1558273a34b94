/* ingot's PID 1: prepares the VM, runs the one app, and powers off when the app exits. */
#include "init.h"

#include <signal.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

#define MODULES_LIST "/etc/ingot/modules"

/*
 * Blocked from the first instruction and read through a signalfd, so none is lost while booting:
 * a stop requested before the app starts is forwarded as soon as it runs.
 */
static int block_signals(void)
{
	sigset_t set;
	sigemptyset(&set);
	int handled[] = { SIGCHLD, SIGTERM, SIGINT, SIGPWR, SIGUSR1, SIGUSR2 };
	for (size_t i = 0; i < sizeof handled / sizeof handled[0]; i++)
		sigaddset(&set, handled[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

static void report_exit(int status)
{
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		log_event("app killed by signal %d (%s)", sig, signal_name(sig));
	} else {
		log_event("app exited with status %d", WEXITSTATUS(status));
	}
}

int main(void)
{
	int signal_fd = block_signals();
	mount_filesystems();
	attach_console();

	/* Firmware leaves the serial console mid-line; start fresh so the host can match whole lines. */
	log_newline();
	struct boot_config cfg = { 0 };
	parse_cmdline(&cfg);
	log_info("init started (env %s, hostname %s)", cfg.env_name, cfg.hostname);
	if (signal_fd < 0)
		log_warn("cannot create signalfd, signals and children will not be handled");

	/* Ctrl-Alt-Del (QEMU send-key) then arrives as SIGINT, our graceful-stop request. */
	reboot(RB_DISABLE_CAD);

	if (!stack_layers(&cfg))
		power_off(signal_fd);
	load_modules(MODULES_LIST);
	setup_network(&cfg);

	/* Without its configuration the app would start half-set-up, so a failed fetch powers off. */
	struct instance_config instance = { 0 };
	if (cfg.metadata_requested && !fetch_configuration(&cfg, &instance))
		power_off(signal_fd);

	struct app_spec app = { .stdout_fd = -1, .stderr_fd = -1 };
	if (load_app_spec(&cfg, instance.env.entries, &app)) {
		struct log_shipper *logs = logs_open(&cfg, &instance, &app);
		pid_t pid = spawn_app(&app);
		if (logs && pid > 0)
			logs_app_started(logs, pid);
		if (pid > 0) {
			int status = supervise_app(pid, signal_fd, cfg.stop_timeout_s, logs);
			/* The app's last lines reach the console before the line that says it exited. */
			if (logs)
				logs_drain(logs);
			/* A crash from a changed block is reported as that, before the exit it caused. */
			report_integrity_errors(&cfg);
			report_exit(status);
		}
		if (logs)
			logs_flush(logs);
	}
	power_off(signal_fd);
}
