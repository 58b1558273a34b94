import { test } from "node:test";
import assert from "node:assert/strict";
import { stat } from "node:fs/promises";
import { request } from "node:http";
import { join } from "node:path";
import { tempDir } from "../../test/helpers.ts";
import { instanceConfig } from "./instance-config.ts";
import { serveInstanceConfig } from "./metadata-server.ts";

function get(socketPath: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ socketPath, path, method: "GET" }, (response) => {
      let body = "";
      response.on("data", (chunk: Buffer) => { body += chunk.toString(); });
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
    }).on("error", reject).end();
  });
}

test("the instance's configuration is served as JSON on its own unix socket, readable by this user only", async (t) => {
  const dir = await tempDir("ingot-metadata-");
  t.after(dir.remove);
  const config = instanceConfig({
    instanceId: "i-7", image: { name: "hello", version: "1.0.0", digest: "sha256:abc" }, platform: "qemu",
    runtimeEnv: [["GREETING", "héllo \"world\""]], secrets: [["TOKEN", "s3cr3t"]],
  });
  const endpoint = await serveInstanceConfig(join(dir.path, "metadata.sock"), config);
  t.after(endpoint.close);
  assert.equal((await stat(endpoint.socketPath)).mode & 0o777, 0o600);
  const response = await get(endpoint.socketPath, "/v1/config");
  assert.equal(response.status, 200);
  assert.deepEqual(JSON.parse(response.body), { instance: "i-7", env: config.env });
  assert.equal(endpoint.served, 1);
  const missing = await get(endpoint.socketPath, "/v1/other");
  assert.equal(missing.status, 404);
  assert.equal(endpoint.served, 1);
});
