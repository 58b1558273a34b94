/*
 * A disk-form image's layers (ingot.layers=NAME,…): the kernel has set up one dm-verity device per
 * layer (dm-mod.create) and mounted the base layer, dm-0, read-only as /. Here the others (dm-1, …,
 * in the order named) are mounted read-only, stacked with the base in one overlay with no upper
 * directory, and that overlay becomes / — nothing in it can be written; /tmp and /run are tmpfs.
 * Every block read from a layer is checked against the root hash on the command line; a block that
 * does not match is an I/O error, which report_integrity_errors names by layer.
 */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define LAYERS_DIR "/run/ingot/layers"
#define NEW_ROOT "/run/ingot/root"
/* Mounts that init made on the base layer's / and carries over to the stacked one. */
static const char *const carried[] = { "/proc", "/sys", "/dev", "/tmp" };

static bool mount_layer(const struct boot_config *cfg, const char *device, const char *name, char *lowerdir, size_t size)
{
	char path[128];
	snprintf(path, sizeof path, LAYERS_DIR "/%s", name);
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		log_boot_failed(EXIT_SOFTWARE, "cannot create %s as %s", path, strerror(errno));
		return false;
	}
	if (mount(device, path, "erofs", MS_RDONLY | MS_NODEV | MS_NOSUID, NULL) < 0) {
		int error = errno;
		/* A changed superblock fails the mount: say that rather than "I/O error". */
		if (!report_integrity_errors(cfg))
			log_boot_failed(EXIT_SOFTWARE, "cannot mount layer %s (%s) as %s", name, device, strerror(error));
		return false;
	}
	/* overlayfs lists the top layer first: each later layer goes in front. */
	char previous[1024];
	snprintf(previous, sizeof previous, "%s", lowerdir);
	int len = snprintf(lowerdir, size, "%s%s%s", path, previous[0] ? ":" : "", previous);
	if (len < 0 || (size_t)len >= size) {
		log_boot_failed(EXIT_SOFTWARE, "cannot stack the layers as their paths are too long");
		return false;
	}
	return true;
}

bool stack_layers(const struct boot_config *cfg)
{
	if (!cfg->layers[0])
		return true; /* an initrd-form image: / is the unpacked initramfs */
	mkdir("/run/ingot", 0700);
	mkdir(LAYERS_DIR, 0700);
	char lowerdir[1024] = "";
	/* The base again, as a layer of the overlay: / itself cannot be one while it is being covered. */
	if (!mount_layer(cfg, "/dev/dm-0", "base", lowerdir, sizeof lowerdir))
		return false;
	char names[sizeof cfg->layers];
	snprintf(names, sizeof names, "%s", cfg->layers);
	int index = 1;
	for (char *saveptr, *name = strtok_r(names, ",", &saveptr); name; name = strtok_r(NULL, ",", &saveptr)) {
		char device[32];
		snprintf(device, sizeof device, "/dev/dm-%d", index++);
		if (!mount_layer(cfg, device, name, lowerdir, sizeof lowerdir))
			return false;
	}
	char options[1100];
	snprintf(options, sizeof options, "lowerdir=%s", lowerdir);
	mkdir(NEW_ROOT, 0755);
	if (mount("overlay", NEW_ROOT, "overlay", MS_RDONLY | MS_NODEV | MS_NOSUID, options) < 0) {
		log_boot_failed(EXIT_SOFTWARE, "cannot stack the layers as %s (%s)", strerror(errno), options);
		return false;
	}
	for (size_t i = 0; i < sizeof carried / sizeof carried[0]; i++) {
		char target[64];
		snprintf(target, sizeof target, NEW_ROOT "%s", carried[i]);
		if (mount(carried[i], target, NULL, MS_MOVE, NULL) < 0)
			log_warn("cannot move %s onto the stacked layers as %s", carried[i], strerror(errno));
	}
	/* What switch_root does: the stacked layers are mounted over / and become the root. */
	if (chdir(NEW_ROOT) < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 || chdir("/") < 0) {
		log_boot_failed(EXIT_SOFTWARE, "cannot make the stacked layers the root as %s", strerror(errno));
		return false;
	}
	/* The old /run, with the layers' mounts, stays beneath; the new root gets its own. */
	if (mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
		log_warn("cannot mount tmpfs as %s: /run", strerror(errno));
	log_debug("layers stacked read-only: %s", lowerdir);
	return true;
}

/* Whether the sysfs file PATH holds the device number DEVNO ("254:16"). */
static bool device_is(const char *path, const char *devno)
{
	char *text = read_file(path, NULL);
	if (!text)
		return false;
	bool match = strcmp(trim(text), devno) == 0;
	free(text);
	return match;
}

/*
 * The position of the layer on MAJOR:MINOR: a disk per layer under ingot (vda the base, vdb the
 * first of ingot.layers, …), or a partition of an exported disk (partition 1 the EFI system
 * partition, 2 the base, 3 the first of ingot.layers, …). -1 when it is neither.
 */
static int layer_index_of_device(const char *devno, char *disk)
{
	for (int index = 0; index < 26; index++) {
		char path[64];
		snprintf(path, sizeof path, "/sys/block/vd%c/dev", 'a' + index);
		if (access(path, F_OK) < 0)
			return -1;
		if (device_is(path, devno)) {
			snprintf(disk, 8, "vd%c", 'a' + index);
			return index;
		}
		for (int partition = 2; partition < 64; partition++) {
			snprintf(path, sizeof path, "/sys/block/vd%c/vd%c%d/dev", 'a' + index, 'a' + index, partition);
			if (access(path, F_OK) < 0)
				break;
			if (device_is(path, devno)) {
				snprintf(disk, 8, "vd%c%d", 'a' + index, partition);
				return partition - 2;
			}
		}
	}
	return -1;
}

/* The layer whose disk or partition is MAJOR:MINOR, by its position in ingot.layers. */
static bool layer_of_device(const struct boot_config *cfg, const char *devno, char *name, size_t size, char *disk)
{
	int index = layer_index_of_device(devno, disk);
	if (index < 0)
		return false;
	if (index == 0) {
		snprintf(name, size, "base");
		return true;
	}
	char names[sizeof cfg->layers];
	snprintf(names, sizeof names, "%s", cfg->layers);
	int at = 1;
	for (char *saveptr, *item = strtok_r(names, ",", &saveptr); item; item = strtok_r(NULL, ",", &saveptr), at++) {
		if (at == index) {
			snprintf(name, size, "%s", item);
			return true;
		}
	}
	return false;
}

/*
 * dm-verity reports a mismatch in the kernel log as "device-mapper: verity: 254:16: data block 5 is
 * corrupted", naming the data disk by number. Returns whether any layer failed its check; the first
 * is reported as the reason the boot failed, so the host shows it instead of a crash.
 */
bool report_integrity_errors(const struct boot_config *cfg)
{
	if (!cfg->layers[0])
		return false;
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool found = false;
	char record[2048];
	ssize_t len;
	while (!found && ((len = read(fd, record, sizeof record - 1)) > 0 || (len < 0 && errno == EPIPE))) {
		if (len < 0)
			continue; /* records were overwritten before we read them; go on with the next */
		record[len] = '\0';
		const char *at = strstr(record, "verity: ");
		unsigned major, minor;
		unsigned long long block;
		if (!at || !strstr(at, "is corrupted") || sscanf(at, "verity: %u:%u: %*s block %llu", &major, &minor, &block) != 3)
			continue;
		char devno[32];
		snprintf(devno, sizeof devno, "%u:%u", major, minor);
		char name[64] = "?", disk[8] = "?";
		layer_of_device(cfg, devno, name, sizeof name, disk);
		log_boot_failed(EXIT_DATAERR, "integrity error: layer %s (%s) block %llu does not match the image's root hash: the disk was changed after the image was built", name, disk, block);
		found = true;
	}
	close(fd);
	return found;
}
