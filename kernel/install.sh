#!/bin/sh
# Builds ingot's guest kernel (build.sh with the -O2 fragment) and installs it where
# `ingot build` looks first: $INGOT_KERNELS (default /usr/local/lib/ingot/kernels)/RELEASE/.
#
#   kernel/install.sh [WORKDIR]
#
# Idempotent and cheap when nothing changed: a stamp over the recipe and the Debian source
# package version skips the build; a changed recipe rebuilds incrementally in WORKDIR
# (default /var/tmp/ingot-kernel). A fresh build takes ~6.5 min on 2 cores.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
kernels=${INGOT_KERNELS:-/usr/local/lib/ingot/kernels}
work=${1:-/var/tmp/ingot-kernel}
source_version=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || echo none)
stamp=$(cat "$here/build.sh" "$here/ingot.config" "$here/o2.config" | sha256sum | cut -c1-16)-$source_version

for installed in "$kernels"/*/stamp; do
	if [ -f "$installed" ] && [ "$(cat "$installed")" = "$stamp" ]; then
		echo "kernel: $(basename "$(dirname "$installed")") is up to date"
		exit 0
	fi
done

out=$work/out-install
EXTRA_CONFIG="$here/o2.config" "$here/build.sh" "$out" "$work"
release=$(cat "$out/release")
mkdir -p "$kernels/$release.tmp"
cp "$out/vmlinux" "$out/config" "$out/System.map" "$kernels/$release.tmp/"
echo "$stamp" >"$kernels/$release.tmp/stamp"
echo "linux-source-6.1 $source_version" >"$kernels/$release.tmp/source"
rm -rf "$kernels/$release"
mv "$kernels/$release.tmp" "$kernels/$release"
echo "kernel: installed $kernels/$release"
