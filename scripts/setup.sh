#!/usr/bin/env bash
# Installs everything ingot needs on a fresh Debian/Ubuntu machine, idempotently: system packages,
# npm dependencies, the init binary, ingot's guest kernel, and the `ingot` command on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  qemu-system-x86 linux-image-cloud-amd64 musl-tools make gcc libc6-dev cpio kmod
  zstd xz-utils lz4 gzip git curl ca-certificates util-linux procps socat
  linux-source-6.1 build-essential bc bison flex libelf-dev libssl-dev   # ingot's kernel (kernel/)
  debootstrap qemu-utils e2fsprogs   # the traditional-image baseline in bench/
  haproxy   # environments' entry points (src/entry/); ingot starts its own, not the system service
  wrk   # the guest network figures (npm run bench:network)
  zsh   # the zsh completion script is tested in it (src/cli/completion.test.ts)
  rsyslog   # the log store's interoperability test and bench (test/logs-rsyslog.test.ts, bench/logs.ts); ingot runs its own rsyslogd
  rsyslog-gnutls openssl   # log forwarding over TLS, tested against rsyslog's gtls driver with certificates made by openssl (test/logs-forward.test.ts)
  nftables   # the host firewall of instances with outbound: internet (src/vm/outbound-firewall.ts)
  erofs-utils   # disk-form layers are EROFS filesystems (src/image/erofs.ts); dump.erofs finds a file's blocks in tests
  cryptsetup-bin   # veritysetup: the test that ingot's dm-verity trees are the ones it writes (src/image/verity.test.ts)
  systemd-boot-efi binutils mtools dosfstools   # ingot export: the EFI stub and objcopy make the unified kernel image, mkfs.fat and mtools its EFI system partition (src/export/); qemu-utils converts the disk
  ovmf fdisk   # UEFI firmware the exported disk boots under in its test (test/e2e/export.test.ts); sfdisk reads its partition table back (src/export/gpt.test.ts)
  postgresql   # accessories: the PostgreSQL an environment's instances reach at DATABASE_URL (src/accessory/); ingot runs its own clusters, not the system service
)
sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "setup: ingot needs Node.js 20 or newer (found ${node_major}); install it from your distribution or nodejs.org" >&2
  exit 1
fi

[ -d node_modules/tsx ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund
make -s -C init
# ~6.5 min the first time on 2 cores, then a stamp check; the Debian cloud kernel stays the fallback.
# It installs into /usr/local/lib/ingot/kernels, hence root (like the packages).
$sudo_cmd kernel/install.sh >/tmp/ingot-kernel-install.log 2>&1 || { tail -30 /tmp/ingot-kernel-install.log; echo "setup: building ingot's kernel failed (log: /tmp/ingot-kernel-install.log)" >&2; exit 1; }
tail -1 /tmp/ingot-kernel-install.log
ln -sf "$PWD/bin/ingot" /usr/local/bin/ingot 2>/dev/null || echo "setup: add $PWD/bin to PATH to use ingot"
echo "setup: ready ($(ingot --help >/dev/null 2>&1 && echo 'ingot on PATH' || echo "run $PWD/bin/ingot"))"
