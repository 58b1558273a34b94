import { test } from "node:test";
import assert from "node:assert/strict";
import type { ImageManifest } from "../image/manifest.ts";
import { assertDeclared, publishedPorts } from "./publish.ts";

const failsWith = (code: string, message: RegExp) => (error: Error & { code?: string; hint?: string }) => error.code === code && message.test(error.message);

test("-p HOST:GUEST gives the host port by guest port", () => {
  assert.deepEqual(publishedPorts(["8080:8080", "9000:9090"]), new Map([[8080, 8080], [9090, 9000]]));
  assert.deepEqual(publishedPorts([]), new Map());
});

test("-p refuses ports out of range, host port 0 with a hint, and anything but HOST:GUEST", () => {
  assert.throws(() => publishedPorts(["0:8080"]), (error: Error & { code?: string; hint?: string }) =>
    error.code === "port-out-of-range" && /host port is not from 1 to 65535: 0/.test(error.message) && /Leave out -p/.test(error.hint ?? ""));
  assert.throws(() => publishedPorts(["99999:1"]), failsWith("port-out-of-range", /host port is not from 1 to 65535: 99999/));
  assert.throws(() => publishedPorts(["8080:70000"]), failsWith("port-out-of-range", /guest port is not from 1 to 65535: 70000/));
  assert.throws(() => publishedPorts(["8080"]), failsWith("cli-bad-value", /not HOST:GUEST/));
  assert.throws(() => publishedPorts(["123456789012:1"]), failsWith("cli-bad-value", /not HOST:GUEST/));
});

test("-p refuses a host port or a guest port given twice", () => {
  assert.throws(() => publishedPorts(["8080:8080", "8080:9090"]), failsWith("port-repeated", /host port 8080 is already published to guest port 8080/));
  assert.throws(() => publishedPorts(["8080:8080", "8081:8080"]), failsWith("port-repeated", /guest port 8080 is already published on host port 8080/));
});

test("-p to a guest port the image does not declare is refused, listing the declared ones", () => {
  const manifest = { name: "hello", ports: { http: 8080, admin: 9090 } } as unknown as ImageManifest;
  assertDeclared(new Map([[8080, 41000]]), manifest);
  assert.throws(() => assertDeclared(new Map([[3000, 41000]]), manifest), (error: Error & { code?: string; hint?: string }) =>
    error.code === "port-undeclared" && /hello does not declare guest port 3000/.test(error.message) && error.hint === "Declared ports: 8080 (http), 9090 (admin); for example -p 41000:8080");
  assert.throws(() => assertDeclared(new Map([[3000, 41000]]), { name: "quiet", ports: {} } as unknown as ImageManifest), (error: Error & { hint?: string }) => /declares no ports/.test(error.hint ?? ""));
});

test("-p to any guest port is taken when ingot.yaml declares no port: the app may listen anywhere", () => {
  const manifest = { name: "zero", ports: { http: 8080 }, portSource: "ingot's default, PORT=8080" } as unknown as ImageManifest;
  assertDeclared(new Map([[3000, 41000], [8080, 41001]]), manifest);
});
