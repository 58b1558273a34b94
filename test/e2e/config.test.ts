// End to end: configuration at boot. Baked variables come from the image, the rest from the
// instance's metadata endpoint; secrets stay off the kernel command line, the image and ingot's output.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chown, rm, writeFile } from "node:fs/promises";
import { createServer, type Socket } from "node:net";
import { join } from "node:path";
import { buildImage } from "../../src/image/build.ts";
import { instanceConfig } from "../../src/metadata/instance-config.ts";
import { bootImage } from "../../src/vm/boot-image.ts";
import { freePort } from "../../src/vm/free-port.ts";
import { sharedTestVault, tempDir, waitForHttp } from "../helpers.ts";

async function envTestApp(): Promise<{ path: string; remove: () => Promise<void> }> {
  const app = await tempDir("ingot-env-");
  execFileSync("gcc", ["-O2", "-o", join(app.path, "server"), "test/fixtures/http-server.c"]);
  await writeFile(join(app.path, "ingot.yaml"), [
    "name: env-test", "version: 1.0.0", "runtime: elf", "command: [./server]", "ports:", "  http: 8080", "resources:", "  memory: 128M",
    "env:", "  ALL: all", "  ENVIRONMENT: all", "  RUNTIME: all", "  SECRET: all", "  SECRET_NAME: SECRET", "  PRINT_ENV: SECRET",
    "environments:", "  prod:", "    env:", "      ENVIRONMENT: prod", "      RUNTIME: prod", "      SECRET: prod", "",
  ].join("\n"));
  return app;
}

test("precedence is baked for all < baked for the environment < -e < secrets; the secret stays off /proc/cmdline and ingot's output", async (t) => {
  const app = await envTestApp();
  t.after(app.remove);
  const vault = await sharedTestVault();
  const secret = `s3cr3t "quoted" é ${process.pid}${Date.now()}`;
  const env = { ...process.env, INGOT_HOME: vault.root, SECRET: secret };

  const unknown = spawnSync("bin/ingot", ["run", app.path, "--env", "staging"], { env, encoding: "utf8" });
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /error: Cannot run in environment staging as env-test's ingot.yaml does not define it\nhint: Environments: dev, prod/);
  const onCommandLine = spawnSync("bin/ingot", ["run", "env-test", "--secret", `SECRET=${secret}`], { env, encoding: "utf8" });
  assert.equal(onCommandLine.status, 1);
  assert.match(onCommandLine.stderr, /Cannot take the secret SECRET from the command line/);
  assert.equal(onCommandLine.stderr.includes(secret), false);

  const hostPort = await freePort();
  const child = spawn("bin/ingot", ["run", "env-test", "--env", "prod", "-p", `${hostPort}:8080`, "-e", "RUNTIME=runtime", "-e", "SECRET=runtime", "--secret", "SECRET"],
    { env, stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => { if (child.exitCode === null) child.kill("SIGKILL"); });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));

  const url = `http://127.0.0.1:${hostPort}`;
  assert.equal(await waitForHttp(`${url}/env/ALL`, 120_000), "all\n");
  const value = (name: string): Promise<string> => waitForHttp(`${url}/env/${name}`, 5_000).then((body) => body.slice(0, -1));
  assert.equal(await value("ENVIRONMENT"), "prod");
  assert.equal(await value("RUNTIME"), "runtime");
  assert.equal(await value("SECRET"), secret);
  assert.equal(await value("INGOT_ENV"), "prod");
  assert.equal(await value("INGOT_APP"), "env-test");
  assert.equal(await value("INGOT_PLATFORM"), "qemu");
  assert.equal(await value("PORT"), "8080");
  const instanceId = await value("INGOT_INSTANCE_ID");
  assert.match(instanceId, /^i-[0-9a-f]{8}$/);
  assert.match(output, new RegExp(`instance ${instanceId} of env-test:1.0.0`));
  assert.match(await value("INGOT_IMAGE"), /^env-test:1\.0\.0@sha256:[0-9a-f]{64}$/);

  const cmdline = await waitForHttp(`${url}/cmdline`, 5_000);
  assert.match(cmdline, /^secret absent\n/, "the app did not find its secret in /proc/cmdline");
  assert.match(cmdline, /ingot\.metadata=10\.0\.2\.100:80/);
  assert.equal(cmdline.includes(secret), false);

  // A crash: the app exits 3 and ingot run exits with the same status.
  await fetch(`${url}/exit/3`).catch(() => {});
  assert.equal(await exited, 3, output);
  assert.match(output, /elf-server: SECRET=\[secret:SECRET\]/, "the app printed its secret; ingot shows it redacted");
  assert.match(output, /config .*SECRET=\[secret\]/);
  assert.equal(output.includes(secret), false, "the secret value never reaches ingot's output");
});

test("an instance whose metadata endpoint never answers stops before its app with status 69", async (t) => {
  const app = await envTestApp();
  t.after(app.remove);
  const vault = await sharedTestVault();
  const built = await buildImage(app.path, { vault });
  const config = instanceConfig({ instanceId: "i-silent", image: { name: "env-test", version: "1.0.0", digest: built.digest }, platform: "qemu", runtimeEnv: [], secrets: [] });
  const instance = await bootImage(vault, built.digest, built.manifest, { config, metadataTimeoutS: 4, cpus: 1 });
  const { vm } = instance;
  t.after(async () => { vm.kill(); await vm.exited.catch(() => {}); await instance.dispose(); });
  // Swap the endpoint for one that accepts connections and never says a word.
  const socket = vm.spec.guestEndpoints!.find((endpoint) => endpoint.guestPort === 80)!.socket;
  await rm(socket);
  const held: Socket[] = [];
  const silent = createServer((connection) => { held.push(connection); });
  await new Promise<void>((resolve) => silent.listen(socket, resolve));
  // QEMU's own user (under a root ingot) must be able to open it, as the endpoint it replaces.
  if (vm.spec.user) await chown(socket, vm.spec.user.uid, vm.spec.user.gid);
  t.after(() => { for (const connection of held) connection.destroy(); silent.close(); });

  await vm.waitForLine(/boot failed \(status 69\)/, 120_000);
  await vm.exited;
  assert.deepEqual(vm.bootFailure?.status, 69);
  assert.match(vm.bootFailure!.reason, /cannot fetch configuration from 10\.0\.2\.100:80/);
  assert.equal(vm.console.some((line) => /starting app/.test(line)), false, vm.console.join("\n"));
  assert.equal(vm.appStatus, undefined);
  assert.ok(held.length > 0, "init did connect");
});
