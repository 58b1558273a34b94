import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { assertPortFree, freePort } from "./free-port.ts";

test("a host port in use is refused, naming it and suggesting a free one", async (t) => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const busy = (server.address() as { port: number }).port;
  await assert.rejects(assertPortFree(busy), (error: Error & { hint?: string }) =>
    error.message === `Cannot forward host port ${busy} as it is already in use on 127.0.0.1` && /-p \d+:GUEST/.test(error.hint ?? ""));
  await assertPortFree(await freePort());
});
