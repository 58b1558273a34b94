#!/usr/bin/env bash
# Build a *traditional* Debian VM image of examples/hello, as a baseline for ingot.
#
#   bench/traditional/build.sh OUTDIR
#
# debootstrap --variant=minbase bookworm + linux-image-cloud-amd64 + systemd-sysv + udev
# + nodejs (Debian's), systemd-networkd DHCP on en*/eth*, the app in /opt/hello run by
# hello.service. Outputs in OUTDIR:
#   rootfs.ext4     raw ext4 (sparse, IMAGE_SIZE, default 2G), made with mkfs.ext4 -d
#   rootfs.qcow2    qemu-img convert -c -O qcow2 of it
#   rootfs.ext4.xz  xz -T0 -6 of the raw image
#   rootfs.tar.xz   xz -T0 -6 of a sorted tar of the tree (for comparison)
#   vmlinuz, initrd.img   the tree's kernel and initramfs (boot with -kernel/-initrd)
#   tree/           the root tree (cached; TREE_DIR overrides), build-info.json
#
# Needs root and the host packages: debootstrap qemu-utils e2fsprogs xz-utils tar
# (util-linux for unshare/mount, coreutils). Env: MIRROR, SECURITY_MIRROR (default: read
# from the host's apt sources), SUITE (bookworm), IMAGE_SIZE (2G), SOURCE_DATE_EPOCH.
# Idempotent: the debootstrap+apt stage is cached under the tree and redone only when its
# recipe, mirror or package list change; the whole build is skipped when rootfs.ext4
# exists and nothing that goes into it changed.
set -euo pipefail

die() { echo "build.sh: $*" >&2; exit 1; }
log() { echo "build.sh: $*" >&2; }

[ $# -eq 1 ] || die "usage: $0 OUTDIR"
[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, chroot)"
for c in debootstrap mkfs.ext4 debugfs e2fsck qemu-img xz tar unshare chroot sha256sum; do
  command -v "$c" >/dev/null || die "missing $c (apt-get install debootstrap qemu-utils e2fsprogs xz-utils)"
done

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
APP_DIR="${APP_DIR:-$REPO/examples/hello}"
[ -f "$APP_DIR/server.js" ] || die "no app at $APP_DIR"

mkdir -p "$1"
OUT="$(cd "$1" && pwd)"
TREE="${TREE_DIR:-$OUT/tree}"
SUITE="${SUITE:-bookworm}"
IMAGE_SIZE="${IMAGE_SIZE:-2G}"
PACKAGES="linux-image-cloud-amd64 systemd-sysv udev nodejs"
export LC_ALL=C TZ=UTC

# --- the mirror, from the host's apt sources (deb822 or one-line), unless given -------------
find_mirror() { # $1: suite to look for, prints the first URI that serves it
  local suite="$1" f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v want="$suite" 'BEGIN{RS=""; FS="\n"}
      { types=""; uris=""; suites=""; enabled="yes"
        for (i=1;i<=NF;i++) {
          if ($i ~ /^Types:/)   { types=$i }
          if ($i ~ /^URIs:/)    { uris=$i; sub(/^URIs:[ \t]*/,"",uris) }
          if ($i ~ /^Suites:/)  { suites=$i; sub(/^Suites:/,"",suites) }
          if ($i ~ /^Enabled:[ \t]*no/) { enabled="no" }
        }
        if (enabled=="yes" && types ~ /[ \t]deb([ \t]|$)/ && (" " suites " ") ~ ("[ \t]" want "[ \t]")) {
          split(uris,u,/[ \t]+/); print u[1]; exit }
      }' "$f"
  done | head -n1 | grep . && return 0
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk -v want="$suite" '$1=="deb" { i=2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
      if ($(i+1)==want) { print $i; exit } }' "$f"
  done | head -n1 | grep . && return 0
  return 1
}
MIRROR="${MIRROR:-$(find_mirror "$SUITE" || echo http://deb.debian.org/debian)}"
SECURITY_MIRROR="${SECURITY_MIRROR:-$(find_mirror "$SUITE-security" || echo http://deb.debian.org/debian-security)}"
MIRROR="${MIRROR%/}"; SECURITY_MIRROR="${SECURITY_MIRROR%/}"

# --- reproducibility knobs --------------------------------------------------------------------
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  SOURCE_DATE_EPOCH="$(git -C "$REPO" log -1 --format=%ct -- examples/hello 2>/dev/null || true)"
  SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-1747699200}" # 2025-05-20T00:00:00Z
fi
export SOURCE_DATE_EPOCH

# --- stage 1: debootstrap + apt (cached) ------------------------------------------------------
stage1_base() { # $1: target directory (fresh)
  local t="$1"
  # A private mount namespace: whatever debootstrap and the chroot mount goes away with it.
  unshare --mount --propagation private -- debootstrap --variant=minbase --arch=amd64 \
    --components=main "$SUITE" "$t" "$MIRROR" >&2
  cat >"$t/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
EOF
  # no daemons started inside the chroot
  printf '#!/bin/sh\nexit 101\n' >"$t/usr/sbin/policy-rc.d"; chmod 755 "$t/usr/sbin/policy-rc.d"
  unshare --mount --propagation private -- /bin/sh -euc '
    t="$1"; shift
    mount -t proc proc "$t/proc"; mount -t sysfs sys "$t/sys"; mount --rbind /dev "$t/dev"
    export DEBIAN_FRONTEND=noninteractive
    chroot "$t" apt-get -q update
    chroot "$t" apt-get -q -y dist-upgrade
    chroot "$t" apt-get -q -y install --no-install-recommends "$@"
    chroot "$t" apt-get clean
  ' sh "$t" $PACKAGES >&2
  rm -f "$t/usr/sbin/policy-rc.d"
}

# --- stage 2: system configuration + the app (cheap, redone when anything changes) -----------
stage2_config() { # $1: tree
  local t="$1"
  echo hello-traditional >"$t/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\thello-traditional\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$t/etc/hosts"
  printf '/dev/vda\t/\text4\trw,errors=remount-ro\t0\t1\n' >"$t/etc/fstab"

  mkdir -p "$t/etc/systemd/network"
  cat >"$t/etc/systemd/network/20-dhcp.network" <<'EOF'
[Match]
Name=en* eth*

[Network]
DHCP=yes
EOF

  rm -rf "$t/opt/hello"; mkdir -p "$t/opt/hello"
  tar -C "$APP_DIR" --exclude=node_modules --exclude=.git -cf - . | tar -C "$t/opt/hello" -xf - --no-same-owner
  chown -R root:root "$t/opt/hello"

  cat >"$t/etc/systemd/system/hello.service" <<'EOF'
[Unit]
Description=hello example app (ingot benchmark baseline)
After=network.target

[Service]
Environment=PORT=8080
ExecStart=/usr/bin/node /opt/hello/server.js
WorkingDirectory=/opt/hello
Restart=always
RestartSec=1

[Install]
WantedBy=multi-user.target
EOF
  # Benchmark helper: 2 s after the app listens on 8080, print the guest's memory use
  # on the console, where measure.sh reads it (memoryUsedMiB). Not part of the app.
  cat >"$t/usr/local/sbin/bench-meminfo" <<'EOF'
#!/bin/sh
# wait (up to 10 min) until something listens on TCP 8080, let it settle 2 s, then report
i=0
while [ $i -lt 600 ] && ! awk '$2 ~ /:1F90$/ && $4 == "0A" { found = 1 } END { exit !found }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null; do
  sleep 1; i=$((i + 1))
done
sleep 2
awk '/^MemTotal:/ { t = $2 } /^MemAvailable:/ { a = $2 }
  END { printf "INGOT-BENCH-MEM totalKiB=%d availableKiB=%d\n", t, a }' /proc/meminfo >/dev/console
EOF
  chmod 755 "$t/usr/local/sbin/bench-meminfo"
  cat >"$t/etc/systemd/system/bench-meminfo.service" <<'EOF'
[Unit]
Description=Print memory use on the console for measure.sh
After=hello.service

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/bench-meminfo

[Install]
WantedBy=multi-user.target
EOF
  chroot "$t" systemctl enable systemd-networkd.service hello.service bench-meminfo.service >&2

  # make it a fresh machine: identity generated on first boot, no caches or logs
  : >"$t/etc/machine-id"; rm -f "$t/var/lib/dbus/machine-id"
  rm -rf "$t"/var/lib/apt/lists/* "$t"/var/cache/apt/*.bin "$t"/var/cache/apt/archives/*.deb \
         "$t"/var/cache/debconf/*-old "$t"/var/lib/dpkg/*-old "$t"/var/cache/ldconfig/aux-cache \
         "$t"/var/log/apt/* "$t"/var/log/dpkg.log "$t"/var/log/alternatives.log "$t"/var/log/bootstrap.log \
         "$t"/tmp/* "$t"/var/tmp/* "$t"/root/.bash_history
  mkdir -p "$t/var/lib/apt/lists/partial"
  # clamp every timestamp to SOURCE_DATE_EPOCH
  find "$t" -xdev -newermt "@$SOURCE_DATE_EPOCH" -print0 | xargs -0r touch -h -d "@$SOURCE_DATE_EPOCH"
}

hash_inputs() { # what stage 2 + images depend on
  { echo "$MIRROR $SECURITY_MIRROR $SUITE $IMAGE_SIZE $SOURCE_DATE_EPOCH $PACKAGES"
    cat "$TREE.stamp1" 2>/dev/null || true
    sha256sum "$HERE/build.sh"
    (cd "$APP_DIR" && find . -path ./node_modules -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
  } | sha256sum | cut -d' ' -f1
}

START=$(date +%s)
STAMP1="$( { echo "$MIRROR $SECURITY_MIRROR $SUITE $PACKAGES"; declare -f stage1_base; } | sha256sum | cut -d' ' -f1)"
if [ -d "$TREE" ] && [ "$(cat "$TREE.stamp1" 2>/dev/null)" = "$STAMP1" ]; then
  log "stage 1 cached ($TREE)"
else
  log "stage 1: debootstrap $SUITE from $MIRROR (+ $SECURITY_MIRROR), this takes minutes"
  rm -rf "$TREE" "$TREE.tmp" "$TREE.stamp1" "$OUT/.stamp"
  stage1_base "$TREE.tmp"
  mv "$TREE.tmp" "$TREE"
  echo "$STAMP1" >"$TREE.stamp1"
fi

STAMP="$(hash_inputs)"
if [ -f "$OUT/rootfs.ext4" ] && [ "$(cat "$OUT/.stamp" 2>/dev/null)" = "$STAMP" ] \
   && [ -f "$OUT/rootfs.qcow2" ] && [ -f "$OUT/rootfs.ext4.xz" ] && [ -f "$OUT/vmlinuz" ]; then
  log "up to date: $OUT"
  exit 0
fi
rm -f "$OUT/.stamp"

log "stage 2: configure the tree and add the app"
stage2_config "$TREE"

KVER="$(cd "$TREE/boot" && ls vmlinuz-* | sed 's/^vmlinuz-//' | sort -V | tail -n1)"
[ -n "$KVER" ] && [ -f "$TREE/boot/initrd.img-$KVER" ] || die "no kernel/initrd in $TREE/boot"
install -m 644 "$TREE/boot/vmlinuz-$KVER" "$OUT/vmlinuz"
install -m 644 "$TREE/boot/initrd.img-$KVER" "$OUT/initrd.img"

log "image: mkfs.ext4 -d ($IMAGE_SIZE sparse)"
UUID="$(echo "$STAMP" | sed -E 's/^(.{8})(.{4})(.{4})(.{4})(.{12}).*/\1-\2-\3-\4-\5/')"
rm -f "$OUT/rootfs.ext4.tmp"
truncate -s "$IMAGE_SIZE" "$OUT/rootfs.ext4.tmp"
E2FSPROGS_FAKE_TIME="$SOURCE_DATE_EPOCH" mkfs.ext4 -q -F -L root -U "$UUID" \
  -E "hash_seed=$UUID,root_owner=0:0" -d "$TREE" "$OUT/rootfs.ext4.tmp"
# mkfs.ext4 -d (1.47.0) copies each file's atime and ctime from the tree, and those change
# whenever the tree is read or touched: pin them to SOURCE_DATE_EPOCH so that the same tree
# always gives the same image, byte for byte.
(cd "$TREE" && find . -xdev -mindepth 1 -printf '%P\n' | awk -v e="$SOURCE_DATE_EPOCH" \
  '{ printf "sif \"/%s\" atime @%s\nsif \"/%s\" ctime @%s\n", $0, e, $0, e }
   END { printf "sif / atime @%s\nsif / ctime @%s\n", e, e }') >"$OUT/debugfs-times.cmd"
E2FSPROGS_FAKE_TIME="$SOURCE_DATE_EPOCH" debugfs -w -f "$OUT/debugfs-times.cmd" "$OUT/rootfs.ext4.tmp" \
  >"$OUT/debugfs-times.log" 2>&1
if grep -v '^debugfs' "$OUT/debugfs-times.log" | grep -q .; then
  die "debugfs could not pin times, see $OUT/debugfs-times.log"
fi
rm -f "$OUT/debugfs-times.cmd" "$OUT/debugfs-times.log"
e2fsck -fn "$OUT/rootfs.ext4.tmp" >/dev/null 2>&1 || die "fresh image fails e2fsck"
mv "$OUT/rootfs.ext4.tmp" "$OUT/rootfs.ext4"

log "qcow2 (compressed)"
qemu-img convert -c -O qcow2 "$OUT/rootfs.ext4" "$OUT/rootfs.qcow2.tmp"
mv "$OUT/rootfs.qcow2.tmp" "$OUT/rootfs.qcow2"

log "xz of the raw image"
xz -T0 -6 -c "$OUT/rootfs.ext4" >"$OUT/rootfs.ext4.xz.tmp"
mv "$OUT/rootfs.ext4.xz.tmp" "$OUT/rootfs.ext4.xz"

log "xz of a tar of the tree"
tar -C "$TREE" --sort=name --numeric-owner --format=gnu -cf - . | xz -T0 -6 -c >"$OUT/rootfs.tar.xz.tmp"
mv "$OUT/rootfs.tar.xz.tmp" "$OUT/rootfs.tar.xz"

NODE_VER="$(chroot "$TREE" dpkg-query -W -f='${Version}' nodejs)"
KPKG_VER="$(chroot "$TREE" dpkg-query -W -f='${Version}' linux-image-cloud-amd64)"
NPKGS="$(chroot "$TREE" dpkg-query -W -f='.\n' | wc -l)"
cat >"$OUT/build-info.json" <<EOF
{"tree": "$TREE", "suite": "$SUITE", "mirror": "$MIRROR", "securityMirror": "$SECURITY_MIRROR", "kernel": "$KVER", "kernelPackage": "$KPKG_VER", "nodejs": "$NODE_VER", "packages": $NPKGS, "sourceDateEpoch": $SOURCE_DATE_EPOCH, "buildSeconds": $(( $(date +%s) - START ))}
EOF
echo "$STAMP" >"$OUT/.stamp"
log "done in $(( $(date +%s) - START )) s: $OUT"
