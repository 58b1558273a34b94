import { test } from "node:test";
import assert from "node:assert/strict";
import type { ImageManifest } from "../image/manifest.ts";
import type { Provider, RunningInstance } from "../providers/provider.ts";
import { freePort } from "../vm/free-port.ts";
import { VmConsole } from "../vm/vm-console.ts";
import { Instance } from "./instance.ts";

class TestConsole extends VmConsole {
  readonly exited = new Promise<number | null>(() => {});
  constructor() { super((line) => line); }
  say(...lines: string[]): void { for (const line of lines) this.acceptLine(line); }
}

const check = { type: "tcp" as const, port: "http", intervalMs: 50, timeoutMs: 200, healthyThreshold: 1, startTimeoutMs: 300 };

/** An instance on a console the test writes, whose provider records where its host ports were led. */
async function instanceOf(manifest: Partial<ImageManifest>, hostPort = 41234): Promise<{ instance: Instance; vm: TestConsole; led: [number, number][] }> {
  const vm = new TestConsole();
  const led: [number, number][] = [];
  const running: RunningInstance = {
    vm, location: { pid: 1, processStart: 1, qmpSocket: "", runDir: "", ports: { [String(Object.values(manifest.ports ?? {})[0] ?? 0)]: hostPort } },
    stop: async () => {},
    leadPort: async (host, guest) => { led.push([host, guest]); },
  };
  const provider: Provider = { platform: "test", boot: async () => running, adopt: async () => running };
  const instance = await Instance.boot(provider, { id: "i-1", environment: "dev", imageDigest: "sha256:x", manifest: { name: "x", healthcheck: check, ...manifest } as ImageManifest, config: {} as never, cpus: 1, memoryMiB: 256 }, { onChange: () => {} });
  return { instance, vm, led };
}

test("without a declared port the service port is led to where the app listens, and back when it listens on the expected one", async () => {
  const { instance, vm, led } = await instanceOf({ ports: { http: 8080 }, portSource: "ingot's default, PORT=8080" });
  vm.say("ingot-init: [7.412] app listens on tcp 127.0.0.1:9229");
  vm.say("ingot-init: [7.664] app listens on tcp 127.0.0.1:9229, 3000");
  vm.say("ingot-init: [7.900] app listens on tcp 127.0.0.1:9229, 3000, 4000");
  assert.equal(instance.servedGuestPort, 3000);
  vm.say("ingot-init: [8.100] app listens on tcp 127.0.0.1:9229, 3000, 4000, 8080");
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(led, [[41234, 3000], [41234, 8080]], "loopback is never followed; one move per change of the followed port");
  assert.equal(instance.servicePort, 41234, "the host port stays: health checks and entry points need not know");
});

test("a declared port is never moved", async () => {
  const { instance, vm, led } = await instanceOf({ ports: { http: 8080 } });
  vm.say("ingot-init: [7.664] app listens on tcp 3000");
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(led, []);
  assert.equal(instance.servedGuestPort, 8080);
});

test("a health timeout says what init saw: no TCP port, or another one", async () => {
  // Nothing listens on the host port, so every check is refused until the deadline.
  const refused = await freePort();
  const { instance, vm } = await instanceOf({ ports: { http: 8080 } }, refused);
  vm.say("ingot-init: [1.000] starting app: ./idle as 1000:1000", "ingot-init: [11.000] app listens on no tcp port");
  await assert.rejects(instance.waitHealthy(300, new AbortController().signal), (error: Error & { code?: string; hint?: string }) =>
    error.code === "health-timeout" && /did not pass within 0\.3 s: last answer connection refused \(the app listens on no TCP port\)$/.test(error.message) &&
    /Make the app listen on 8080 \(its PORT\) on every address/.test(error.hint ?? ""));
  assert.equal(instance.state, "failed");

  const other = await instanceOf({ ports: { http: 8080 } }, refused);
  other.vm.say("ingot-init: [1.000] starting app: ./server as 1000:1000", "ingot-init: [2.000] app listens on tcp 3000");
  await assert.rejects(other.instance.waitHealthy(300, new AbortController().signal), /\(the app listens on 3000, not on 8080\)$/);
});
