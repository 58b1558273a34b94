/* Kernel modules (virtio drivers) listed by the image builder, already in dependency order. */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static bool load_module(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		log_warn("cannot open module as %s: %s", strerror(errno), path);
		return false;
	}
	/* finit_module lets the kernel read the file itself; no modprobe or decompression needed. */
	long result = syscall(SYS_finit_module, fd, "", 0);
	int saved_errno = errno;
	close(fd);
	if (result < 0 && saved_errno != EEXIST) {
		log_warn("cannot load module as %s: %s", strerror(saved_errno), path);
		return false;
	}
	log_debug("module %s%s", path, result < 0 ? " (already loaded)" : "");
	return true;
}

void load_modules(const char *list_path)
{
	char *list = read_file(list_path, NULL);
	if (!list) {
		log_info("modules: none (%s absent)", list_path);
		return;
	}
	int loaded = 0, failed = 0;
	for (char *line = strtok(list, "\n"); line; line = strtok(NULL, "\n")) {
		line = trim(line);
		if (*line == '\0' || *line == '#')
			continue;
		if (load_module(line))
			loaded++;
		else
			failed++;
	}
	log_info("modules loaded %d, failed %d", loaded, failed);
}
