#!/usr/bin/env bash
# Measure the traditional image that build.sh made in OUTDIR; prints one JSON object.
#
#   RUNS=3 bench/traditional/measure.sh OUTDIR
#
# Sizes: xzBytes (xz -6 of the raw ext4), treeTarXzBytes (xz -6 of a tar of the tree),
# qcow2Bytes (compressed qcow2), rawImageBytes (apparent size of the sparse raw image),
# rawTreeBytes (du -sb of the tree), fileCount (regular files), elfCount (regular files that
# start with \x7fELF). Boot: bootToHttp200Ms is the median over RUNS boots of the time from
# starting QEMU to the first HTTP 200 on /health through a user-mode hostfwd (polled every
# 100 ms, 180 s timeout); memoryUsedMiB is the median of the guest's MemTotal-MemAvailable
# as the image's bench-meminfo.service prints it on the console 2 s after the app listens.
# Env: RUNS (3), TIMEOUT_S (180), QEMU (qemu-system-x86_64), KEEP_LOGS=1 keeps console logs.
set -euo pipefail

die() { echo "measure.sh: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: $0 OUTDIR"
OUT="$(cd "$1" && pwd)"
RUNS="${RUNS:-3}"
TIMEOUT_S="${TIMEOUT_S:-180}"
QEMU="${QEMU:-qemu-system-x86_64}"
for f in rootfs.ext4 rootfs.ext4.xz rootfs.qcow2 vmlinuz initrd.img; do
  [ -f "$OUT/$f" ] || die "missing $OUT/$f (run build.sh first)"
done
command -v "$QEMU" >/dev/null || die "missing $QEMU"
command -v curl >/dev/null || die "missing curl"
TREE="$(sed -n 's/.*"tree": *"\([^"]*\)".*/\1/p' "$OUT/build-info.json" 2>/dev/null)"
TREE="${TREE:-$OUT/tree}"
[ -d "$TREE" ] || die "missing tree $TREE"

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) { print "null"; exit }
  if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

# --- sizes ------------------------------------------------------------------------------------
size() { stat -c %s "$1"; }
XZ_BYTES=$(size "$OUT/rootfs.ext4.xz")
QCOW2_BYTES=$(size "$OUT/rootfs.qcow2")
RAW_IMAGE_BYTES=$(size "$OUT/rootfs.ext4")
TAR_XZ_BYTES=null; [ -f "$OUT/rootfs.tar.xz" ] && TAR_XZ_BYTES=$(size "$OUT/rootfs.tar.xz")
RAW_TREE_BYTES=$(du -sb "$TREE" | cut -f1)
FILE_COUNT=$(find "$TREE" -xdev -type f | wc -l)
ELF_COUNT=$(find "$TREE" -xdev -type f -size +3c -print0 | perl -0ne '
  chomp; if (open(my $f, "<:raw", $_)) { my $m; $n++ if read($f, $m, 4) == 4 && $m eq "\x7fELF" }
  END { print $n + 0 }')

# --- boots ------------------------------------------------------------------------------------
QPID=""
WORK="$(mktemp -d)"
cleanup() {
  if [ -n "$QPID" ] && kill -0 "$QPID" 2>/dev/null; then
    kill "$QPID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$QPID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$QPID" 2>/dev/null || true
    wait "$QPID" 2>/dev/null || true
  fi
  QPID=""
}
trap 'cleanup; [ -n "${KEEP_LOGS:-}" ] && echo "measure.sh: logs in $WORK" >&2 || rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

free_port() { # a port nothing on 127.0.0.1 listens on (QEMU failing to bind is retried too)
  local p
  for _ in $(seq 100); do
    p=$(( 20000 + RANDOM % 40000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  return 1
}

boot_once() { # $1: run index; sets RUN_MS and RUN_MEM_KIB ("null" when not reported)
  local i="$1" port log t0 code elapsed deadline mem="null" line tries=0
  while :; do
    port=$(free_port) || die "no free port"
    log="$WORK/console-$i.log"
    t0=$(now_ms)
    "$QEMU" -M q35 -m 512 -smp 1 -nographic -no-reboot \
      -kernel "$OUT/vmlinuz" -initrd "$OUT/initrd.img" \
      -append "root=/dev/vda rw console=ttyS0 quiet" \
      -drive "file=$OUT/rootfs.ext4,if=virtio,format=raw" -snapshot \
      -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:8080" -device virtio-net-pci,netdev=n0 \
      </dev/null >"$log" 2>&1 &
    QPID=$!
    sleep 0.3
    if ! kill -0 "$QPID" 2>/dev/null && grep -qi "could not set up host forwarding" "$log" \
       && [ $((tries += 1)) -lt 5 ]; then
      wait "$QPID" 2>/dev/null || true; QPID=""; continue
    fi
    break
  done
  deadline=$(( t0 + TIMEOUT_S * 1000 ))
  while :; do
    kill -0 "$QPID" 2>/dev/null || { tail -n 30 "$log" >&2; die "run $i: QEMU exited before HTTP 200"; }
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$port/health" || true)
    if [ "$code" = 200 ]; then elapsed=$(( $(now_ms) - t0 )); break; fi
    [ "$(now_ms)" -lt "$deadline" ] || { tail -n 30 "$log" >&2; die "run $i: no HTTP 200 within ${TIMEOUT_S}s"; }
    sleep 0.1
  done
  # the memory report comes a few seconds after the app started; wait up to 60 s for it
  deadline=$(( $(now_ms) + 60000 ))
  while [ "$(now_ms)" -lt "$deadline" ]; do
    line=$(grep -a -o 'INGOT-BENCH-MEM totalKiB=[0-9]* availableKiB=[0-9]*' "$log" | head -n1 || true)
    if [ -n "$line" ]; then
      mem=$(echo "$line" | sed -E 's/.*totalKiB=([0-9]+) availableKiB=([0-9]+)/\1 \2/' | awk '{ print $1 - $2 }')
      break
    fi
    sleep 0.5
  done
  cleanup
  RUN_MS=$elapsed RUN_MEM_KIB=$mem
}

BOOTS=()
MEMS=()
for i in $(seq "$RUNS"); do
  boot_once "$i" # not in a subshell: the EXIT trap must see QPID
  BOOTS+=("$RUN_MS")
  [ "$RUN_MEM_KIB" != null ] && MEMS+=("$RUN_MEM_KIB")
  echo "measure.sh: run $i: HTTP 200 after $RUN_MS ms, guest memory used $RUN_MEM_KIB KiB" >&2
done
BOOT_MS=null
[ "${#BOOTS[@]}" -gt 0 ] && BOOT_MS=$(printf '%s\n' "${BOOTS[@]}" | median)
MEM_MIB=null
if [ "${#MEMS[@]}" -gt 0 ]; then
  MEM_MIB=$(printf '%s\n' "${MEMS[@]}" | median | awk '{ printf "%.1f", $1 / 1024 }')
fi

printf '{"image":"traditional-debian-bookworm","xzBytes":%s,"treeTarXzBytes":%s,"qcow2Bytes":%s,"rawImageBytes":%s,"rawTreeBytes":%s,"fileCount":%s,"elfCount":%s,"bootToHttp200Ms":%s,"bootRunsMs":[%s],"memoryUsedMiB":%s,"runs":%s,"accel":"tcg"}\n' \
  "$XZ_BYTES" "$TAR_XZ_BYTES" "$QCOW2_BYTES" "$RAW_IMAGE_BYTES" "$RAW_TREE_BYTES" "$FILE_COUNT" \
  "$ELF_COUNT" "$BOOT_MS" "$(IFS=,; echo "${BOOTS[*]}")" "$MEM_MIB" "$RUNS"
