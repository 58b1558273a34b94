// End to end: the Node apps people have, each laid out as its framework makes it and resolved from the
// npm registry here (test/framework-apps.ts), built with no ingot.yaml and booted to HTTP 200. Each
// image holds the production dependencies and the build's output, never the dev tooling: a NestJS or
// TypeScript app has no typescript in it, a Next.js app ships only its standalone output.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { buildImage } from "../../src/image/build.ts";
import type { FileIndexEntry } from "../../src/image/build.ts";
import { FRAMEWORK_APPS } from "../framework-apps.ts";
import { bootImage, hasCommand, sharedTestVault, tempDir, waitForHttp } from "../helpers.ts";

const missing = ["qemu-system-x86_64", "npm"].find((command) => !hasCommand(command));
// CI has both: there a missing one fails the test instead of skipping it.
const skip = missing && process.env.CI !== "true" ? `missing: ${missing}` : false;
// next build would otherwise try to send telemetry, which a test has no business doing.
process.env.NEXT_TELEMETRY_DISABLED = "1";

for (const app of FRAMEWORK_APPS) {
  test(`${app.name}: built with no ingot.yaml, it starts as ${app.commandSource} and answers HTTP 200`, { skip }, async (t) => {
    const vault = await sharedTestVault();
    const folder = await tempDir(`ingot-${app.name}-`);
    t.after(folder.remove);
    const dir = join(folder.path, "app");
    await app.make(dir);

    const built = await buildImage(dir, { vault });
    assert.deepEqual(built.manifest.command, app.command);
    assert.equal(built.manifest.commandSource, app.commandSource);
    const files = (await Promise.all(built.manifest.layers.map((layer) => vault.readJson<FileIndexEntry[]>(layer.files)))).flat().map((file) => file.path);
    assert.ok(!files.some((path) => path.startsWith("/app/node_modules/typescript/")), "devDependencies stay out of the image");
    assert.deepEqual(files.filter((path) => path.startsWith(vault.root) || path.startsWith(folder.path)), [], "no file lands at a build host's path");
    if (app.name === "nextjs-standalone") {
      assert.deepEqual(built.manifest.env, { HOSTNAME: "0.0.0.0" }, "server.js listens where HOSTNAME says");
      // From verified disks its 309 MiB install is read on demand: the default fits (it needed 384 from an initrd).
      assert.equal(built.manifest.resources.memoryMiB, 256, "the default memory: its layers stay on disk");
      for (const path of ["/app/server.js", "/app/.next/BUILD_ID", "/app/public/robots.txt", "/app/node_modules/next/package.json"]) assert.ok(files.includes(path), `${path} is in the image`);
      assert.ok(files.some((path) => path.startsWith("/app/.next/static/")), "the client's static files are beside server.js");
      assert.ok(!files.some((path) => path.startsWith("/app/app/") || path.startsWith("/app/.next/cache/") || path.includes("/@next/swc-")), "sources, the build cache and SWC's compilers stay out");
    }

    const booted = await bootImage(vault, built.digest);
    t.after(booted.close);
    const answer = await waitForHttp(`${booted.url(8080)}/`, 240_000, booted.vm);
    assert.match(answer, app.answer);
  });
}
