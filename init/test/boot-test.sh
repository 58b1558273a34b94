#!/usr/bin/env bash
# Boots build/init with a tiny HTTP app in QEMU (software emulation) and checks DHCP, static
# network, graceful stop via Ctrl-Alt-Del, the stop timeout, the configuration fetch from a
# metadata service, and log shipping (both served through QEMU's guestfwd, no server needed).
# Usage: make -C init test; INIT_TEST_PORT=18081 picks the host port forwarded to the app (18080).
set -euo pipefail

init_dir=$(cd "$(dirname "$0")/.." && pwd)
# The newest installed Debian cloud kernel, as users' machines have it (never a release named here).
newest_cloud_kernel() {
	local newest
	newest=$(find /boot -maxdepth 1 -name 'vmlinuz-*-cloud-amd64' -printf '%f\n' | sed 's/^vmlinuz-//' | sort -V | tail -1)
	[ -n "$newest" ] || { echo "boot-test.sh: no Debian cloud kernel in /boot: apt-get install linux-image-cloud-amd64" >&2; exit 1; }
	echo "$newest"
}
kernel_version=${KERNEL_VERSION:-$(newest_cloud_kernel)}
kernel=${KERNEL:-/boot/vmlinuz-$kernel_version}
port=${INIT_TEST_PORT:-${PORT:-18080}}
work=$(mktemp -d /tmp/ingot-boot-test.XXXXXX)
qemu_pid=
log=
connector= # a command whose stdout answers each guest connection to 10.0.2.100:80
log_connector= # a command that reads each guest connection to 10.0.2.101:601 on its stdin
failures=0

cleanup() {
	if [ -n "$qemu_pid" ]; then kill "$qemu_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT

# The virtio drivers' module files in load order, dependencies first, as this kernel's modules.dep
# says (modprobe prints them; modules built into the kernel print no insmod line).
module_paths() {
	local module
	for module in virtio_pci virtio_net; do
		modprobe --set-version "$kernel_version" --show-depends "$module"
	done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }'
}

build_initramfs() {
	local root=$work/root
	mkdir -p "$root/etc/ingot" "$root/usr/local/bin" "$root/app"
	install -m 0755 "$init_dir/build/init" "$root/init"
	install -m 0755 "$init_dir/build/test-app" "$root/usr/local/bin/test-app"
	local paths
	paths=$(module_paths)
	[ -n "$paths" ] || { echo "boot-test.sh: modprobe found no virtio modules for $kernel_version" >&2; exit 1; }
	for path in $paths; do
		mkdir -p "$root$(dirname "$path")"
		cp "$path" "$root$path"
		echo "$path"
	done >"$root/etc/ingot/modules"
	# A bare argv[0] exercises the PATH lookup.
	printf 'test-app\0--flag\0' >"$root/etc/ingot/command"
	printf 'GREETING=hello world\0LAYERED=base\0' >"$root/etc/ingot/env"
	printf 'LAYERED=prod\0' >"$root/etc/ingot/env.prod"
	printf 'STUBBORN=1\0' >"$root/etc/ingot/env.stubborn"
	printf 'LOG_BURST=400\0LOG_LINGER=6\0' >"$root/etc/ingot/env.burst"
	printf 'FLOOD=%s\0' "${INIT_TEST_FLOOD_LINES:-12000}" >"$root/etc/ingot/env.flood"
	echo test-app >"$root/etc/ingot/app"
	echo 1000:1000 >"$root/etc/ingot/user"
	echo /app >"$root/etc/ingot/workdir"
	(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
		cpio -o -H newc --reproducible -R 0:0 --quiet) | gzip -n -9 >"$work/test.cpio.gz"
}

# The metadata service's answers. The secret values must never reach the console; the test app
# prints them as a length and hash, and secret_digest computes the same line from the JSON.
write_metadata_fixtures() {
	local body
	body='{"instance":"i-3f2a9c1e","meta":{"tags":["a",{"b":null}],"n":-1.5e3,"ok":true},'
	body+='"env":{"INGOT_INSTANCE_ID":"i-3f2a9c1e","LAYERED":"early",'
	body+='"DATABASE_URL":"postgres://app:pw-7Qx2Kd@db:5432/app","LAYERED":"metadata",'
	body+='"API_TOKEN":"tok-\u00e9\ud83d\ude00 \"q\" 9f8e7d"}}'
	printf '%s' "$body" >"$work/config.json"
	printf 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
		"${#body}" "$body" >"$work/ok.http"
	printf 'HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n%s' "$body" >"$work/nolength.http"
	printf 'HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\nConnection: close\r\n\r\nnot found\n' >"$work/404.http"
	# Answers without reading the request: QEMU then ends the connection with a reset, not EOF.
	printf 'cat "%s"; sleep 1\n' "$work/nolength.http" >"$work/answer-then-reset.sh"
	# Closes the first two connections at once, as a connector does while the service is not up.
	cat >"$work/flaky.sh" <<EOF
count=\$(cat "$work/flaky.count" 2>/dev/null || echo 0)
echo \$((count + 1)) >"$work/flaky.count"
[ "\$count" -lt 2 ] || exec cat "$work/ok.http"
EOF
}

secret_digest() { # key: the line test-app prints for that env value
	python3 - "$work/config.json" "$1" <<'PY'
import json, sys
value = json.load(open(sys.argv[1]))["env"][sys.argv[2]].encode()
digest = 2166136261
for byte in value:
    digest = ((digest ^ byte) * 16777619) & 0xFFFFFFFF
print(f"test-app: {sys.argv[2]} length {len(value)} fnv1a {digest:08x}")
PY
}

expect_no_secrets() {
	for secret in pw-7Qx2Kd 9f8e7d; do
		if grep -qaF -- "$secret" "$log"; then fail "the console shows a secret value ($secret)"; fi
	done
}

boot() { # name, extra kernel arguments, extra QEMU arguments...
	local name=$1 append=$2
	shift 2
	log=$work/$name.log
	echo "== $name: $append"
	qemu-system-x86_64 -M q35 -m 256 -nographic -no-reboot \
		-kernel "$kernel" -initrd "$work/test.cpio.gz" \
		-append "console=ttyS0 quiet panic=-1 $append" \
		-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:8080${connector:+,guestfwd=tcp:10.0.2.100:80-cmd:$connector}${log_connector:+,guestfwd=tcp:10.0.2.101:601-cmd:$log_connector}" \
		-device virtio-net-pci,netdev=n0 \
		"$@" </dev/null >"$log" 2>&1 &
	qemu_pid=$!
}

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

wait_for_line() { # fixed string, seconds
	local deadline=$((SECONDS + $2))
	until grep -qF -- "$1" "$log"; do
		if ! kill -0 "$qemu_pid" 2>/dev/null || ((SECONDS >= deadline)); then
			fail "no line '$1'"
			return 1
		fi
		sleep 0.2
	done
}

# 150 s: a starved host under software emulation can stall a guest for a minute (the cloud kernel
# then reports a soft lockup) before it powers off; a guest that never powers off still fails.
wait_for_power_off() {
	local deadline=$((SECONDS + 150))
	while kill -0 "$qemu_pid" 2>/dev/null; do
		if ((SECONDS >= deadline)); then
			fail "QEMU still running 150 s later"
			kill "$qemu_pid"
			break
		fi
		sleep 0.2
	done
	wait "$qemu_pid" 2>/dev/null || true
	qemu_pid=
}

expect() {
	for line in "$@"; do
		grep -qF -- "$line" "$log" || fail "no line '$line'"
	done
}

http_get() {
	local body
	body=$(curl -fsS --max-time 20 --retry 3 --retry-connrefused "http://127.0.0.1:$port/") || true
	[ "$body" = "hello from ingot" ] || fail "HTTP GET returned '$body'"
}

send_ctrl_alt_del() {
	python3 - "$work/qmp.sock" <<'PY'
import json, socket, sys
sock = socket.socket(socket.AF_UNIX)
sock.connect(sys.argv[1])
stream = sock.makefile("rw")
stream.readline()  # greeting
keys = [{"type": "qcode", "data": key} for key in ("ctrl", "alt", "delete")]
for command in ({"execute": "qmp_capabilities"},
                {"execute": "send-key", "arguments": {"keys": keys}}):
    stream.write(json.dumps(command) + "\n")
    stream.flush()
    while not any(k in json.loads(stream.readline()) for k in ("return", "error")):
        pass
PY
}

show() { # the lines of init and the app, less the log scenarios' thousands of generated ones
	grep -aE '^(ingot-init|test-app):' "$log" | grep -avE '^test-app: (flood [0-9]{6} |burst [0-9]{5} |long )' |
		tr -d '\r' | cut -c1-200 | sed 's/^/   /'
}

# INIT_TEST_ONLY="logs metadata" runs only those groups of scenarios (base, metadata, logs).
want() {
	[ -z "${INIT_TEST_ONLY:-}" ] || [[ " $INIT_TEST_ONLY " == *" $1 "* ]]
}

build_initramfs

static_net="ingot.ip=10.0.2.15/24 ingot.gw=10.0.2.2 ingot.dns=10.0.2.3"
metadata=ingot.metadata=10.0.2.100:80

base_scenarios() {
	boot dhcp "ingot.env=prod ingot.hostname=box"
	# The app listens until it has answered: init's report comes first (init/listen.c).
	wait_for_line "test-app: listening" 90 && wait_for_line "] app listens on tcp 8080" 30 && http_get
	wait_for_power_off
	expect "dhcp lease 10.0.2.15 from 10.0.2.2" "network eth0 10.0.2.15/24 gw 10.0.2.2" \
		"uid=1000 gid=1000 cwd=/app hostname=box" "INGOT_ENV=prod" "LAYERED=prod" \
		"GREETING=hello world" "nameserver 10.0.2.3" "localhost box" "served GET / HTTP/1.1" \
		"ingot-init: app exited with status 3"
	show

	boot static "$static_net"
	wait_for_line "test-app: listening" 90 && http_get
	wait_for_power_off
	expect "network eth0 10.0.2.15/24 gw 10.0.2.2" "INGOT_ENV=dev" "LAYERED=base" \
		"hostname=ingot" "ingot-init: app exited with status 3"
	grep -qF "dhcp lease" "$log" && fail "static boot ran DHCP"
	show

	boot ctrl-alt-del "$static_net" -qmp "unix:$work/qmp.sock,server,nowait"
	wait_for_line "test-app: listening" 90 && send_ctrl_alt_del
	wait_for_power_off
	expect "ingot-init: stopping app (SIGTERM, timeout 10s)" "test-app: got SIGTERM" \
		"ingot-init: app exited with status 0"
	show

	boot stop-timeout "$static_net ingot.env=stubborn ingot.stop_timeout=2" -qmp "unix:$work/qmp.sock,server,nowait"
	wait_for_line "test-app: listening" 90 && send_ctrl_alt_del
	wait_for_power_off
	expect "ingot-init: stopping app (SIGTERM, timeout 2s)" "ingot-init: app killed by signal 9 (SIGKILL)"
	show
}

metadata_scenarios() {
	write_metadata_fixtures

	# The first two connections fail (immediate EOF through guestfwd), the third is answered; the
	# fetched env wins over env and env.prod, and the later of two LAYERED members wins.
	connector="sh $work/flaky.sh" boot metadata "$static_net ingot.env=prod $metadata"
	wait_for_line "test-app: listening" 90 && http_get
	wait_for_power_off
	expect "configuration fetched: 5 variables in" "(attempt 3)" "LAYERED=metadata" "INGOT_ENV=prod" \
		"GREETING=hello world" "INGOT_INSTANCE_ID=i-3f2a9c1e" "$(secret_digest API_TOKEN)" \
		"$(secret_digest DATABASE_URL)" "ingot-init: app exited with status 3"
	expect_no_secrets
	show

	# Debug lines name the keys, never the values; no Content-Length, so the reset after the body ends
	# it (as EOF would); the port defaults to 80.
	connector="sh $work/answer-then-reset.sh" boot metadata-debug "$static_net ingot.debug=1 ingot.metadata=10.0.2.100"
	wait_for_line "test-app: listening" 90 && http_get
	wait_for_power_off
	expect "configuration fetched: 5 variables in" "(attempt 1)" "debug: configuration sets API_TOKEN" \
		"LAYERED=metadata" "INGOT_ENV=dev" "$(secret_digest API_TOKEN)" "ingot-init: app exited with status 3"
	expect_no_secrets
	show

	# A connector that always fails: retried until ingot.metadata_timeout, then power off, no app.
	connector=false boot metadata-down "$static_net $metadata ingot.metadata_timeout=3"
	wait_for_power_off
	# Whether the guest sees EOF or a reset depends on when the connector exits; both are retried.
	grep -qaE "boot failed \(status 69\): cannot fetch configuration from 10\.0\.2\.100:80 as connection (closed without a response|reset by peer) after [0-9]+ attempts in 3 s" "$log" ||
		fail "no 'boot failed (status 69)' line after 3 s of retries"
	expect "power off"
	grep -qF "starting app" "$log" && fail "the app started without its configuration"
	show

	# A 404 is final: no retry.
	connector="cat $work/404.http" boot metadata-404 "$static_net $metadata ingot.debug=1"
	wait_for_power_off
	expect "boot failed (status 69): cannot fetch configuration from 10.0.2.100:80 as HTTP 404 Not Found" "power off"
	grep -qF "configuration attempt" "$log" && fail "a 404 was retried"
	grep -qF "starting app" "$log" && fail "the app started without its configuration"
	show
}

# The log endpoint's connector runs test/syslog-receiver.py on each guest connection, which checks
# the framing and writes one JSON object per frame; while logs.up is missing it fails at once, as a
# connector does while the endpoint is down.
write_log_fixtures() {
	local body
	body='{"instance":"i-log\"]\\x","logs":{"address":"10.0.2.101:601","app":"shop"},"env":{"LOG_DEMO":"1"}}'
	printf 'HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' "${#body}" "$body" >"$work/logs-config.http"
	cat >"$work/logs-gated.sh" <<SH
[ -e "$work/logs.up" ] || exit 1
exec python3 "$init_dir/test/syslog-receiver.py" "\$1"
SH
}

# The receiver writes each frame as it arrives; its last ones may land just after QEMU exits.
wait_for_frames() { # file, fixed string in the last frame
	local deadline=$((SECONDS + 10))
	until grep -qF -- "$2" "$1" 2>/dev/null; do
		if ((SECONDS >= deadline)); then
			fail "no frame with '$2' in $1"
			return 1
		fi
		sleep 0.2
	done
}

check_frames() { # file; python3 checks over its frames (as `frames`) on stdin, which call problem()
	local file=$1 checks
	checks=$(cat)
	local problems
	problems=$(python3 - "$file" <<PY
import json, re, sys
frames = [json.loads(line) for line in open(sys.argv[1])]
problems = [f"receiver error: {f['error']}" for f in frames if "error" in f]
frames = [f for f in frames if "error" not in f]
def problem(text): problems.append(text)
$checks
print("\n".join(problems))
PY
) || problems="the checks failed to run"
	if [ -n "$problems" ]; then
		while IFS= read -r line; do fail "$line"; done <<<"$problems"
	fi
}

flood_rate() { # lines per second the app reported in $log
	grep -aoE 'test-app: flood [0-9]+ lines in [0-9]+ ms' "$log" | awk '{ printf "%d", $3 * 1000 / $6 }'
}

log_scenarios() {
	write_log_fixtures
	# (a) Configured by the metadata service: framing, severities, JSON levels, structured data with
	# escapes, a 70 KiB line in two marked pieces, and a last line without its newline.
	touch "$work/logs.up"
	connector="cat $work/logs-config.http" log_connector="sh $work/logs-gated.sh $work/logs-shipped.jsonl" \
		boot logs-shipped "$static_net ingot.env=prod $metadata"
	wait_for_power_off
	rm -f "$work/logs.up"
	expect "shipping logs to 10.0.2.101:601 as i-log\"]\\x/shop (buffer 1048576 bytes)" \
		"test-app: plain stderr line" "test-app: last words without a newline" "ingot-init: app exited with status 0"
	wait_for_frames "$work/logs-shipped.jsonl" "last words without a newline"
	check_frames "$work/logs-shipped.jsonl" <<'PY'
by_msg = {f["msg"]: f for f in frames}
expected = [  # message, PRI (facility user = 8 + severity), stream
    ("test-app: plain stdout line", 14, "stdout"), ("test-app: plain stderr line", 11, "stderr"),
    ("{\"level\":20,\"msg\":\"pino debug\"}", 15, "stdout"), ("{\"level\":40,\"msg\":\"pino warn\"}", 12, "stdout"),
    ("{\"level\":60,\"msg\":\"pino fatal\"}", 10, "stdout"),
    ("{\"level\":\"error\",\"msg\":\"named error on stdout\"}", 11, "stdout"),
    ("{\"level\":30,\"msg\":\"info on stderr\"}", 14, "stderr"),
    ("{\"level\":50,\"msg\":\"not JSON, no closing brace\"", 14, "stdout"),
    ("test-app: message with \"quotes\", \\ and ] kept as they are", 14, "stdout"),
    ("test-app: last words without a newline", 14, "stdout")]
for msg, pri, stream in expected:
    f = by_msg.get(msg)
    if not f:
        problem(f"no frame with the message {msg!r}")
    elif (f["pri"], f["msgid"], f["sd"]["ingot@32473"].get("stream")) != (pri, stream, stream):
        problem(f"{msg!r}: PRI {f['pri']} MSGID {f['msgid']} {f['sd']}, expected {pri} and {stream}")
procids = {f["procid"] for f in frames}
if len(procids) != 1 or not next(iter(procids)).isdigit():
    problem(f"PROCID is not one PID: {procids}")
import datetime
now = datetime.datetime.now(datetime.timezone.utc)
for f in frames:
    if (f["hostname"], f["app"]) != ("i-log\"]\\x", "shop"):
        problem(f"HOSTNAME {f['hostname']!r} APP-NAME {f['app']!r}")
    sd = f["sd"].get("ingot@32473", {})
    if (sd.get("instance"), sd.get("env")) != ("i-log\"]\\x", "prod") or "instance=\"i-log\\\"\\]\\\\x\"" not in f["sd_raw"]:
        problem(f"structured data {f['sd_raw']!r}")
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", f["timestamp"]) or abs(
            (datetime.datetime.fromisoformat(f["timestamp"][:-1] + "+00:00") - now).total_seconds()) > 600:
        problem(f"TIMESTAMP {f['timestamp']}")
long = [f for f in frames if "part" in f["sd"]["ingot@32473"]]
line = "test-app: long " + "".join(str(i % 10) for i in range(15, 70 * 1024))
marks = [(len(f["msg"]), f["sd"]["ingot@32473"].get("part"), f["sd"]["ingot@32473"].get("continued")) for f in long]
if marks != [(65536, "1", "true"), (70 * 1024 - 65536, "2", None)] or "".join(f["msg"] for f in long) != line:
    problem(f"the 70 KiB line arrived as {marks}")
if len(frames) != len(expected) + 2:
    problem(f"{len(frames)} frames, expected {len(expected) + 2}")
PY
	show

	# (b) The endpoint is down until the app has written 400 lines of 1000 bytes into a 128 KiB
	# buffer: the first lines arrive once it is up, then a notice counting the dropped ones, and
	# every line the app wrote either arrived or was counted.
	log_connector="sh $work/logs-gated.sh $work/logs-outage.jsonl" \
		boot logs-outage "$static_net ingot.env=burst ingot.logs=10.0.2.101:601 ingot.logs_buffer=131072"
	wait_for_line "test-app: burst done" 90 && touch "$work/logs.up"
	wait_for_power_off
	rm -f "$work/logs.up"
	expect "shipping logs to 10.0.2.101:601 as ingot/test-app (buffer 131072 bytes)" \
		"warning: cannot ship log lines as the buffer of 131072 bytes is full" "lines were dropped" \
		"test-app: after the outage" "ingot-init: app exited with status 0"
	wait_for_frames "$work/logs-outage.jsonl" "after the outage"
	check_frames "$work/logs-outage.jsonl" <<'PY'
notices = [i for i, f in enumerate(frames) if f["msgid"] == "dropped"]
last = frames[-1]["msg"] if frames else ""
written = re.fullmatch(r"test-app: after the outage \((\d+) lines before\)", last)
if len(notices) != 1 or not written:
    problem(f"{len(notices)} dropped notices, last frame {last!r}")
else:
    notice = frames[notices[0]]
    dropped = int(notice["sd"]["ingot@32473"]["dropped"])
    before = [f["msg"][:22] for f in frames[:notices[0]]]
    if len(before) < 50 or before != [f"test-app: burst {i:05d} " for i in range(1, len(before) + 1)]:
        problem(f"before the notice: {len(before)} lines, not burst 1, 2, … in order")
    if notice["pri"] != 12 or f"dropped {dropped} log lines" not in notice["msg"] or notice["app"] != "test-app":
        problem(f"the notice is {notice}")
    received = len(frames) - 2
    if received + dropped != int(written.group(1)):
        problem(f"{received} lines arrived and {dropped} were dropped, but the app wrote {written.group(1)}")
PY
	show

	# (c) An app writing as fast as it can: with the endpoint down (1 MiB buffer full, lines
	# dropped) it keeps at least half the rate it has with no log endpoint at all (stdout straight
	# on the console); both runs are bound by the console, which init mirrors to.
	boot flood-direct "$static_net ingot.env=flood"
	wait_for_power_off
	local direct_rate
	direct_rate=$(flood_rate)
	grep -qF "shipping logs" "$log" && fail "logs were shipped without an endpoint"
	show
	log_connector=false boot flood-logs-down "$static_net ingot.env=flood ingot.logs=10.0.2.101"
	wait_for_power_off
	local down_rate
	down_rate=$(flood_rate)
	expect "shipping logs to 10.0.2.101:601" "warning: cannot ship log lines as the buffer of 1048576 bytes is full"
	show
	# And with the endpoint up, every line shipped (the figures in docs/benchmarks.md, "Logs").
	touch "$work/logs.up"
	log_connector="sh $work/logs-gated.sh $work/logs-flood.jsonl" boot flood-logs-up "$static_net ingot.env=flood ingot.logs=10.0.2.101"
	wait_for_power_off
	local up_rate
	up_rate=$(flood_rate)
	wait_for_frames "$work/logs-flood.jsonl" "flood 012000 "
	echo "   flood: $direct_rate lines/s without a log endpoint, $down_rate lines/s with it down, $up_rate lines/s with it up"
	if [ -z "$direct_rate" ] || [ -z "$down_rate" ] || [ -z "$up_rate" ] || ((down_rate * 2 < direct_rate)) || ((up_rate * 2 < direct_rate)); then
		fail "the app wrote $down_rate lines/s with the log endpoint down, $up_rate with it up, $direct_rate without one"
	fi
	show
}

want base && base_scenarios
want metadata && metadata_scenarios
want logs && log_scenarios

if ((failures > 0)); then
	echo "$failures check(s) failed; console logs in $work"
	exit 1
fi
# Logs are kept only when something failed.
rm -rf "$work"
echo "all boot checks passed"
