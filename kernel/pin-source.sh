#!/bin/sh
# Pins ingot's kernel to the newest linux-source-6.1 that Debian's archive serves: writes
# kernel/source.lock (NAME VERSION SHA256 of the .deb, from apt's signed index). Commit the result;
# kernel/install.sh then builds exactly that source on every machine.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
package=linux-source-6.1
version=$(apt-cache policy "$package" | awk '/Candidate:/ { print $2 }')
[ -n "$version" ] && [ "$version" != "(none)" ] || { echo "pin-source.sh: no archive serves $package: apt-get update" >&2; exit 1; }
sha256=$(apt-cache show "$package=$version" | awk '/^SHA256:/ { print $2; exit }')
echo "$package $version $sha256" >"$here/source.lock"
echo "pin-source.sh: $package $version"
