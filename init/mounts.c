/* The API filesystems every Linux program expects, mounted before anything else runs. */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

struct mount_point {
	const char *source, *target, *type;
	unsigned long flags;
	const char *options;
};

static const struct mount_point mount_points[] = {
	{ "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
	{ "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
	{ "devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755" },
	/* ptmxmode=0666 lets the unprivileged app open /dev/pts/ptmx too. */
	{ "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "mode=0620,ptmxmode=0666" },
	{ "tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777" },
	{ "tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777" },
	{ "tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755" },
};

/* devtmpfs only holds device nodes; shells and runtimes also expect these links. */
static const char *const dev_links[][2] = {
	{ "/proc/self/fd", "/dev/fd" },
	{ "/proc/self/fd/0", "/dev/stdin" },
	{ "/proc/self/fd/1", "/dev/stdout" },
	{ "/proc/self/fd/2", "/dev/stderr" },
};

void mount_filesystems(void)
{
	for (size_t i = 0; i < sizeof mount_points / sizeof mount_points[0]; i++) {
		const struct mount_point *m = &mount_points[i];
		if (mkdir(m->target, 0755) < 0 && errno != EEXIST)
			log_warn("cannot create mount point as %s: %s", strerror(errno), m->target);
		/* EBUSY on /dev: the kernel mounted devtmpfs itself (a disk-form root, DEVTMPFS_MOUNT). */
		if (mount(m->source, m->target, m->type, m->flags, m->options) < 0 && !(errno == EBUSY && strcmp(m->type, "devtmpfs") == 0))
			log_warn("cannot mount %s as %s: %s", m->type, strerror(errno), m->target);
	}
	for (size_t i = 0; i < sizeof dev_links / sizeof dev_links[0]; i++) {
		if (symlink(dev_links[i][0], dev_links[i][1]) < 0 && errno != EEXIST)
			log_warn("cannot create link as %s: %s", strerror(errno), dev_links[i][1]);
	}
}

/* The kernel only opens /dev/console for init if the initramfs has that node; make sure. */
void attach_console(void)
{
	int fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd < 0)
		return;
	for (int target = 0; target <= 2; target++)
		dup2(fd, target);
	if (fd > 2)
		close(fd);
}
