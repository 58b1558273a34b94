#!/bin/sh
# Builds ingot's guest kernel (build.sh with the -O2 fragment) and installs it where
# `ingot build` looks first: $INGOT_KERNELS (default /usr/local/lib/ingot/kernels)/RELEASE/.
#
#   kernel/install.sh [WORKDIR]
#
# The source is the Debian package version pinned in kernel/source.lock (NAME VERSION SHA256 of
# the .deb): the installed package when it is that version, else that .deb fetched with apt and
# checked; only when no archive serves it any more is the installed version used, with a warning
# (update the pin with kernel/pin-source.sh). So a fresh machine builds the same bytes.
#
# Idempotent and cheap when nothing changed: a stamp over the recipe and the source version skips
# the build; a changed recipe rebuilds incrementally in WORKDIR (default /var/tmp/ingot-kernel).
# A fresh build takes ~6.5 min on 2 cores.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
kernels=${INGOT_KERNELS:-/usr/local/lib/ingot/kernels}
work=${1:-/var/tmp/ingot-kernel}
read -r source_package source_version source_sha256 <"$here/source.lock"
installed_version=$(dpkg-query -W -f='${Version}' "$source_package" 2>/dev/null || echo none)
tarball=/usr/src/$source_package.tar.xz

# Fetches the pinned .deb into WORKDIR and unpacks its tarball; fails when no archive serves it.
fetch_pinned_source() {
	local dir=$work/$source_package-$source_version
	[ -f "$dir/$source_package.tar.xz" ] && return 0
	rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
	(cd "$dir.tmp" && apt-get download -q -o APT::Sandbox::User=root "$source_package=$source_version") >&2 || return 1
	echo "$source_sha256  $(ls "$dir.tmp"/*.deb)" | sha256sum -c --quiet - || { echo "kernel: $source_package $source_version does not match the sha256 in kernel/source.lock" >&2; exit 1; }
	dpkg-deb --fsys-tarfile "$dir.tmp"/*.deb | tar -x -C "$dir.tmp" "./usr/src/$source_package.tar.xz"
	mv "$dir.tmp/usr/src/$source_package.tar.xz" "$dir.tmp/" && rm -rf "$dir.tmp/usr" "$dir.tmp"/*.deb
	rm -rf "$dir" && mv "$dir.tmp" "$dir"
}

recipe=$(cat "$here/build.sh" "$here/ingot.config" "$here/o2.config" | sha256sum | cut -c1-16)
exit_if_installed() { # stamp
	for installed in "$kernels"/*/stamp; do
		if [ -f "$installed" ] && [ "$(cat "$installed")" = "$1" ]; then
			echo "kernel: $(basename "$(dirname "$installed")") is up to date"
			exit 0
		fi
	done
}
exit_if_installed "$recipe-$source_version"

if [ "$installed_version" != "$source_version" ]; then
	if fetch_pinned_source; then
		tarball=$work/$source_package-$source_version/$source_package.tar.xz
	elif [ "$installed_version" != none ]; then
		echo "kernel: warning: no archive serves the pinned $source_package $source_version any more; building from the installed $installed_version (run kernel/pin-source.sh and commit kernel/source.lock)" >&2
		source_version=$installed_version
	else
		echo "kernel: cannot fetch $source_package $source_version and none is installed: apt-get install $source_package, then kernel/pin-source.sh" >&2
		exit 1
	fi
fi
stamp=$recipe-$source_version
exit_if_installed "$stamp"

out=$work/out-install
# One source tree per version: a tree unpacked from another version must never be built again.
INGOT_KERNEL_TARBALL=$tarball EXTRA_CONFIG="$here/o2.config" "$here/build.sh" "$out" "$work/tree-$source_version"
release=$(cat "$out/release")
mkdir -p "$kernels/$release.tmp"
cp "$out/vmlinux" "$out/bzImage" "$out/config" "$out/System.map" "$kernels/$release.tmp/"
echo "$stamp" >"$kernels/$release.tmp/stamp"
echo "$source_package $source_version" >"$kernels/$release.tmp/source"
rm -rf "$kernels/$release"
mv "$kernels/$release.tmp" "$kernels/$release"
echo "kernel: installed $kernels/$release"
