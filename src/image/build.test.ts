import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, readFile, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { sharedTestVault, tempDir } from "../../test/helpers.ts";
import { Vault } from "../vault/vault.ts";
import { buildImage } from "./build.ts";

test("a --tag outside the tag grammar fails before any work (a missing kernel would fail next)", async (t) => {
  const dir = await tempDir("ingot-build-");
  t.after(dir.remove);
  const vault = await Vault.open(dir.path);
  for (const [tag, message] of [
    ["a".repeat(300), /^Cannot tag the image as its name is longer than 128 characters: "a{59}…$/],
    ["hello:../../../tmp/x", /^Cannot tag the image as its version does not start with a letter, digit or '_'.*: "\.\.\/\.\.\/\.\.\/tmp\/x"$/],
    ["../x:1.0.0", /its name is not lowercase letters and digits/],
    [`hello:${"1".repeat(129)}`, /its version is longer than 128 characters/],
  ] as const) {
    await assert.rejects(buildImage("examples/hello", { tag, vault, kernel: "/nonexistent/vmlinuz" }), (error: Error & { code?: string }) =>
      error.code === "tag-invalid" && message.test(error.message), tag);
  }
  assert.deepEqual(await vault.tags(), []);
});

test("a cached layer whose blob was damaged is written again, not reported cached", async (t) => {
  const dir = await tempDir("ingot-build-");
  t.after(dir.remove);
  const vault = await sharedTestVault();
  const app = join(dir.path, "tiny");
  await mkdir(app);
  execFileSync("gcc", ["-O2", "-o", join(app, "hello"), "-x", "c", "-"], { input: "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n" });
  // Unique content, as the shared test vault remembers layers from earlier runs.
  await writeFile(join(app, "ingot.yaml"), `name: tiny\nversion: "${Date.now()}"\nruntime: elf\ncommand: [./hello]\nports: {}\nhealthcheck: false\n`);
  const first = await buildImage(app, { vault });
  const layer = first.layers.find((candidate) => candidate.name === "app")!;
  const blob = vault.blobPath(layer.digest);
  const damaged = await readFile(blob);
  damaged[Math.floor(damaged.length / 2)]! ^= 0xff;
  await writeFile(blob, damaged);
  const rebuilt = await buildImage(app, { vault });
  assert.deepEqual(rebuilt.layers.map((candidate) => [candidate.name, candidate.cached]), [["base", true], ["runtime", true], ["app", false]]);
  assert.equal(rebuilt.digest, first.digest);
  await vault.verifyBlob(layer.digest);
  await truncate(blob, 10);
  assert.equal((await buildImage(app, { vault })).layers.find((candidate) => candidate.name === "app")!.cached, false, "a truncated blob fails the size check");
  await vault.verifyBlob(layer.digest);
});
