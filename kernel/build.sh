#!/bin/sh
# Builds ingot's minimal guest kernel from Debian's linux-source-6.1 package.
#
#   kernel/build.sh OUTDIR [WORKDIR]
#
# OUTDIR receives vmlinux (uncompressed, symbols stripped, PVH-bootable with
# `qemu -kernel`; strip keeps the ELF notes, PVH's entry point among them),
# vmlinux.xz (xz -9 --check=crc32, the form ingot stores), System.map (symbols, for
# reading oopses) and config (the resolved .config). WORKDIR (default /var/tmp/ingot-kernel) holds the unpacked source tree.
# Idempotent: the tree is unpacked once, the config is regenerated every run (cheap),
# and make only rebuilds what changed.
#
# Needs: apt-get install --no-install-recommends linux-source-6.1 build-essential bc \
#        bison flex libelf-dev libssl-dev xz-utils
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUTDIR [WORKDIR]}
work=${2:-/var/tmp/ingot-kernel}
tarball=${INGOT_KERNEL_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
jobs=${JOBS:-$(nproc)}

# Fragments named relative to the caller's directory: make them absolute before cd.
extra=
for f in ${EXTRA_CONFIG:-}; do
	[ -f "$f" ] || { echo "build.sh: EXTRA_CONFIG file $f missing" >&2; exit 1; }
	extra="$extra $(cd "$(dirname "$f")" && pwd)/$(basename "$f")"
done
EXTRA_CONFIG=$extra

[ -f "$tarball" ] || { echo "build.sh: $tarball missing: apt-get install linux-source-6.1" >&2; exit 1; }
mkdir -p "$out" "$work"
src=$work/linux-source-6.1
if [ ! -f "$src/Makefile" ]; then
	echo "build.sh: unpacking $tarball"
	tar -C "$work" -xf "$tarball"
fi

# Reproducible: fixed timestamp/user/host in the version banner, no git/localversion noise.
export KBUILD_BUILD_TIMESTAMP=@0 KBUILD_BUILD_USER=ingot KBUILD_BUILD_HOST=ingot KBUILD_BUILD_VERSION=1
export ARCH=x86_64

cd "$src"
# tinyconfig + our fragment. Regenerating .config each run is cheap; kbuild's syncconfig
# only touches the include/config headers whose values changed, so make redoes nothing
# when the fragment is unchanged.
make -s tinyconfig
# shellcheck disable=SC2086 # EXTRA_CONFIG is a list of paths
scripts/kconfig/merge_config.sh -m .config "$here/ingot.config" ${EXTRA_CONFIG:-} >/dev/null
make -s olddefconfig
# merge_config.sh only warns; fail loudly if any requested value (the last one given
# for each symbol) did not stick.
missing=0
while IFS= read -r line; do
	case $line in
	CONFIG_*=*) grep -qxF "$line" .config || { echo "build.sh: not applied: $line" >&2; missing=1; } ;;
	"# CONFIG_"*" is not set")
		sym=${line#\# }; sym=${sym%% *}
		if grep -q "^$sym=" .config; then echo "build.sh: not applied: $line" >&2; missing=1; fi ;;
	esac
done <<EOF
$(cat "$here/ingot.config" ${EXTRA_CONFIG:-} | awk '
	/^CONFIG_[A-Za-z0-9_]+=/ { sym = $0; sub(/=.*/, "", sym) }
	/^# CONFIG_[A-Za-z0-9_]+ is not set$/ { sym = $2 }
	sym != "" { last[sym] = $0; if (!(sym in seen)) { seen[sym] = 1; order[++n] = sym }; sym = "" }
	END { for (i = 1; i <= n; i++) print last[order[i]] }')
EOF
[ "$missing" = 0 ] || exit 1

start=$(date +%s)
# bzImage too: the EFI application an exported disk boots (ingot export); vmlinux boots through PVH.
make -j"$jobs" vmlinux bzImage
echo "build.sh: make vmlinux bzImage took $(( $(date +%s) - start ))s"

cp .config "$out/config"
cp System.map "$out/System.map"
cp arch/x86/boot/bzImage "$out/bzImage"
strip --strip-all -o "$out/vmlinux.tmp" vmlinux && mv "$out/vmlinux.tmp" "$out/vmlinux"
xz -9 --check=crc32 -T1 -c "$out/vmlinux" >"$out/vmlinux.xz.tmp" && mv "$out/vmlinux.xz.tmp" "$out/vmlinux.xz"
make -s kernelrelease >"$out/release"
echo "build.sh: $(cat "$out/release")"
ls -l "$out/vmlinux" "$out/vmlinux.xz"
sha256sum "$out/vmlinux" "$out/vmlinux.xz"
