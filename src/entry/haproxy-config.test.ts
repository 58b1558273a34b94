import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { IngotError } from "../errors.ts";
import { haproxySkip } from "./entry-fixtures.ts";
import { haproxyBinary } from "./haproxy-process.ts";
import { haproxyConfig, serverOptions, unavailablePage, type EntrySpec } from "./haproxy-config.ts";

const spec: EntrySpec = {
  environment: "prod", bind: { address: "127.0.0.1", port: 8080 }, runDir: "/run/ingot/prod", drainTimeoutMs: 30_000,
  healthcheck: { type: "http", path: "/healthz", intervalMs: 1000, timeoutMs: 2000, healthyThreshold: 2 },
};

/** The config's lines by section header, indentation removed, comments dropped. */
function sections(config: string): Map<string, string[]> {
  const result = new Map<string, string[]>();
  let current = "";
  for (const line of config.split("\n")) {
    if (line.trim() === "" || line.trim().startsWith("#")) continue;
    if (!line.startsWith(" ")) result.set((current = line), []);
    else result.get(current)!.push(line.trim());
  }
  return result;
}

test("the config has the admin socket, forwarding headers, a frontend on the bind address and a backend without servers", () => {
  const config = sections(haproxyConfig(spec));
  assert.deepEqual([...config.keys()], ["global", "defaults", "frontend prod", "backend prod"]);
  assert.ok(config.get("global")!.includes("stats socket /run/ingot/prod/admin.sock mode 600 level admin expose-fd listeners"));
  assert.ok(config.get("global")!.includes("pidfile /run/ingot/prod/haproxy.pid"));
  assert.ok(config.get("global")!.includes("hard-stop-after 30000ms"));
  for (const line of ["mode http", "retries 10", "timeout connect 250ms", "option redispatch 1", "option forwardfor", "http-reuse safe", "timeout tunnel 1h", "timeout check 2000ms"]) {
    assert.ok(config.get("defaults")!.includes(line), line);
  }
  assert.deepEqual(config.get("frontend prod"), ["bind 127.0.0.1:8080", "http-request set-header X-Forwarded-Proto http", "default_backend prod"]);
  const backend = config.get("backend prod")!;
  assert.deepEqual(backend.filter((line) => /^(server|default-server) /.test(line)), []);
  assert.ok(backend.includes("balance roundrobin"));
  assert.ok(backend.includes("http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host prod"));
  assert.ok(backend.includes("http-check expect status 200-299"));
  assert.ok(backend.includes("errorfile 503 /run/ingot/prod/503.http"));
});

test("a TCP health check has no HTTP check lines, and no health check no check timeout", () => {
  const tcp = haproxyConfig({ ...spec, healthcheck: { type: "tcp", intervalMs: 500, timeoutMs: 700, healthyThreshold: 1 } });
  assert.doesNotMatch(tcp, /httpchk|http-check/);
  assert.match(tcp, /timeout check 700ms/);
  assert.doesNotMatch(haproxyConfig({ ...spec, healthcheck: false }), /timeout check|httpchk/);
});

test("servers are added with the check settings of the image and weight 0", () => {
  assert.deepEqual(serverOptions(spec.healthcheck), ["check", "inter", "1000", "downinter", "200", "rise", "2", "fall", "3", "weight", "0"]);
  assert.deepEqual(serverOptions(false), ["weight", "0"]);
});

test("the 503 page is a whole HTTP response naming the environment", () => {
  const page = unavailablePage("staging");
  const [head, body] = page.split("\r\n\r\n") as [string, string];
  assert.match(head, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
  assert.match(body, /staging/);
  assert.match(head, new RegExp(`Content-Length: ${Buffer.byteLength(body)}\r\n`));
});

test("with the log store's port, each request is logged to it through a ring, as the entry's lines of the environment", () => {
  const config = sections(haproxyConfig({ ...spec, accessLog: { host: "127.0.0.1", port: 5140 } }));
  assert.deepEqual([...config.keys()], ["global", "ring access", "defaults", "frontend prod", "backend prod"]);
  assert.ok(config.get("ring access")!.includes("server store 127.0.0.1:5140"));
  assert.ok(config.get("ring access")!.includes("format rfc5424"));
  const frontend = config.get("frontend prod")!;
  assert.ok(frontend.includes("log ring@access local0 info") && frontend.includes("option httplog") && frontend.includes("option log-separate-errors"));
  // The request's figures in an element of their own: the store keeps it in the line's fields.
  assert.ok(frontend.includes('log-format-sd [ingot@32473\\ env=\\"prod\\"\\ source=\\"entry\\"][request@32473\\ server=\\"%s\\"\\ status=\\"%ST\\"\\ tr=\\"%Tr\\"\\ ta=\\"%Ta\\"]'));
});

test("an environment name HAProxy would misread is refused", () => {
  assert.throws(() => haproxyConfig({ ...spec, environment: "prod env" }), (error: IngotError) => error.code === "entry-name-invalid");
});

test("HAProxy itself accepts the config", { skip: haproxySkip }, async () => {
  const runDir = await mkdtemp(join(tmpdir(), "ingot-entry-config-"));
  try {
    await writeFile(join(runDir, "503.http"), unavailablePage("prod"));
    for (const accessLog of [undefined, { host: "127.0.0.1", port: 5140 }]) {
      await writeFile(join(runDir, "haproxy.cfg"), haproxyConfig({ ...spec, runDir, ...(accessLog ? { accessLog } : {}) }));
      const check = spawnSync(haproxyBinary(), ["-c", "-f", join(runDir, "haproxy.cfg")], { encoding: "utf8" });
      assert.equal(check.status, 0, check.stderr);
      assert.doesNotMatch(check.stderr, /WARNING|ALERT/);
    }
  } finally {
    await rm(runDir, { recursive: true, force: true });
  }
});
