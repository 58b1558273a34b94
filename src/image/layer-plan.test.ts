import { test } from "node:test";
import assert from "node:assert/strict";
import type { AppConfig } from "../config/app-config.ts";
import type { Entry } from "./cpio.ts";
import { type ImageInputs, imageLayers } from "./layer-plan.ts";

function inputs(command: string[], appPaths: string[]): ImageInputs {
  const config = { name: "app", version: "1", runtime: { kind: "node", version: undefined }, command, ports: {}, env: {}, environments: {} } as unknown as AppConfig;
  const appEntries = appPaths.map((path): Entry => ({ type: "file", path, mode: 0o644, source: { kind: "bytes", data: Buffer.from("") } }));
  return {
    config, init: { path: "/init", realPath: "/bin/true", size: 1 }, kernelVersion: "6.1", modules: [],
    runtimeFiles: [], runtimeLibraries: [], dependencyEntries: [], dependencyLibraries: [], appEntries,
  };
}

test("a node command whose script is not in the image is refused at build time, not at boot", () => {
  assert.throws(() => imageLayers(inputs(["node", "missing.js"], ["/app/server.js"])), (error: Error & { code?: string }) =>
    error.code === "entry-missing" && error.message === "Cannot start the app as its entry file is not in the image: /app/missing.js");
  assert.throws(() => imageLayers(inputs(["node", "--enable-source-maps", "dist/main.js"], ["/app/src/main.ts"])), /not in the image: \/app\/dist\/main\.js/, "node's options are skipped to find the script");
  for (const [command, paths] of [
    [["node", "server.js"], ["/app/server.js"]],
    [["node", "./dist/server"], ["/app/dist/server.mjs"]],
    [["node", "lib"], ["/app/lib/index.js"]],
    [["node", "--enable-source-maps", "-r", "dotenv/config", "server.js"], ["/app/server.js"]],
    [["node", "-e", "require('http').createServer().listen(8080)"], []],
    [["node", "node_modules/fastify-cli/cli.js", "start", "app.js"], ["/app/node_modules/fastify-cli/cli.js"]],
  ] as const) {
    assert.doesNotThrow(() => imageLayers(inputs([...command], [...paths])), command.join(" "));
  }
});

test("a disk-form base has no device node and sends the resolver's files to the writable /run", () => {
  const [disk] = imageLayers(inputs(["node", "server.js"], ["/app/server.js"]), "disk");
  const [initrd] = imageLayers(inputs(["node", "server.js"], ["/app/server.js"]), "initrd");
  assert.equal(disk?.filesystem?.kind, "erofs");
  assert.equal(initrd?.filesystem, undefined);
  assert.ok(!disk!.entries.some((entry) => entry.type === "device"), "the kernel mounts devtmpfs before init runs");
  assert.ok(initrd!.entries.some((entry) => entry.path === "/dev/console" && entry.type === "device"));
  assert.deepEqual(disk!.entries.filter((entry) => entry.type === "symlink"), [
    { type: "symlink", path: "/etc/hosts", target: "/run/hosts" },
    { type: "symlink", path: "/etc/resolv.conf", target: "/run/resolv.conf" },
  ]);
});
