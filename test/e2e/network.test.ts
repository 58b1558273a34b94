// End to end: what a guest can reach. Through QEMU's user network 10.0.2.2 is the host's loopback,
// so without restriction a guest reaches every service bound to 127.0.0.1 (other instances, a
// local database). A guest must reach its metadata endpoint and nothing on the host.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { join } from "node:path";
import { buildImage } from "../../src/image/build.ts";
import { instanceConfig } from "../../src/metadata/instance-config.ts";
import { bootImage } from "../../src/vm/boot-image.ts";
import { sharedTestVault, tempDir, waitForHttp } from "../helpers.ts";

test("a guest cannot reach a service on the host's 127.0.0.1, while its metadata endpoint works, whatever $TMPDIR is", async (t) => {
  let hostRequests = 0;
  const hostService = createServer((_request, response) => { hostRequests++; response.end("host loopback service\n"); });
  await new Promise<void>((resolve) => hostService.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => { hostService.closeAllConnections(); hostService.close(() => resolve()); }));
  const hostPort = (hostService.address() as { port: number }).port;

  const app = await tempDir("ingot-reach-");
  t.after(app.remove);
  execFileSync("gcc", ["-O2", "-o", join(app.path, "probe"), "test/fixtures/reach-probe.c"]);
  await writeFile(join(app.path, "ingot.yaml"), "name: reach-test\nversion: 1.0.0\nruntime: elf\ncommand: [./probe]\nports:\n  http: 8080\nresources:\n  memory: 128M\n");
  const vault = await sharedTestVault();
  const built = await buildImage(app.path, { vault });
  // With a configuration, init fetches it from 10.0.2.100:80 before it starts the app: a guest
  // that serves at all has used its metadata endpoint.
  const config = instanceConfig({ instanceId: "i-reach", image: { name: "reach-test", version: "1.0.0", digest: built.digest }, platform: "qemu", runtimeEnv: [["PROBE", "1"]], secrets: [] });
  // An awkward $TMPDIR (a space, a path past the unix socket limit) must not reach the sockets.
  const awkwardTmp = join(app.path, `a folder with spaces ${"x".repeat(80)}`);
  await mkdir(awkwardTmp);
  const savedTmp = process.env.TMPDIR;
  process.env.TMPDIR = awkwardTmp;
  const instance = await bootImage(vault, built.digest, built.manifest, { config, cpus: 1 }).finally(() => {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
  });
  const { vm } = instance;
  t.after(async () => { vm.kill(); await vm.exited.catch(() => {}); await instance.dispose(); });
  const url = `http://127.0.0.1:${instance.forwards[0]!.hostPort}`;

  assert.equal(await waitForHttp(`${url}/`, 120_000, vm), "probe ok");
  assert.ok(vm.console.some((line) => /configuration fetched: \d+ variables/.test(line)), vm.console.join("\n"));
  assert.match(await waitForHttp(`${url}/reach/10.0.2.100/80`, 20_000, vm), /^reached: HTTP\/1\.1 404/, "the metadata endpoint answers the guest");
  const outcome = await waitForHttp(`${url}/reach/10.0.2.2/${hostPort}`, 20_000, vm);
  assert.match(outcome, /^unreachable: /);
  assert.equal(hostRequests, 0, "the host's loopback service saw no request from the guest");
});
