import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { installedBins } from "./node-bins.ts";

async function pkg(root: string, name: string, json: object, files: Record<string, string> = {}): Promise<void> {
  await mkdir(join(root, name), { recursive: true });
  await writeFile(join(root, name, "package.json"), JSON.stringify({ name, ...json }));
  for (const [file, text] of Object.entries(files)) {
    await mkdir(join(root, name, file, ".."), { recursive: true });
    await writeFile(join(root, name, file), text);
  }
}

test("bins are read from the top-level packages' bin, as npm links them into node_modules/.bin", async (t) => {
  const root = await mkdtemp(join(tmpdir(), "ingot-bins-"));
  t.after(() => rm(root, { recursive: true }));
  await pkg(root, "fastify-cli", { bin: { fastify: "cli.js" } }, { "cli.js": "#!/usr/bin/env node\n'use strict'\n" });
  await pkg(root, "@nestjs/cli", { bin: { nest: "./bin/nest.js" } }, { "bin/nest.js": "#!/usr/bin/env node\n" });
  await pkg(root, "@scope/tool", { bin: "./tool.mjs" }, { "tool.mjs": "export {}\n" });
  await pkg(root, "esbuild", { bin: { esbuild: "bin/esbuild" } }, { "bin/esbuild": "#!/bin/sh\n" });
  await pkg(root, "sneaky", { bin: { sneaky: "../fastify-cli/cli.js", "a/b": "x.js" } });
  await pkg(root, "zz-second", { bin: { fastify: "other.js" } });
  await mkdir(join(root, ".bin"));
  const bins = await installedBins(root);
  assert.deepEqual(Object.fromEntries(bins), {
    fastify: { path: "node_modules/fastify-cli/cli.js", shebang: "#!/usr/bin/env node" },
    nest: { path: "node_modules/@nestjs/cli/bin/nest.js", shebang: "#!/usr/bin/env node" },
    tool: { path: "node_modules/@scope/tool/tool.mjs" },
    esbuild: { path: "node_modules/esbuild/bin/esbuild", shebang: "#!/bin/sh" },
  });
  assert.deepEqual(await installedBins(undefined), new Map(), "an app without production dependencies has no bins");
});
