import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { InstanceRecords } from "./instances.ts";
import { tempState } from "./testing.ts";

const imageDigest = `sha256:${"b".repeat(64)}`;

describe("InstanceRecords", () => {
  const { state, remove } = tempState();
  after(remove);
  const instances = new InstanceRecords(state);

  it("records what a restarted server needs to adopt an instance", () => {
    instances.add({ id: "i-1", environment: "prod", imageDigest });
    instances.update("i-1", { pid: 4242, processStart: 991823, qmpSocket: "/run/i-1/qmp.sock", ports: { "8080": 41234 }, runDir: "/run/i-1" });
    const record = instances.get("i-1")!;
    assert.deepEqual({ ...record, startedMs: 0 }, {
      id: "i-1", environment: "prod", deployment: null, imageDigest, state: "booting", pid: 4242, processStart: 991823,
      qmpSocket: "/run/i-1/qmp.sock", ports: { "8080": 41234 }, runDir: "/run/i-1", startedMs: 0, stoppedMs: null,
    });
  });

  it("returns the state it replaces, stamps the stop, and keeps a stopped instance stopped", () => {
    instances.add({ id: "i-2", environment: "prod", imageDigest });
    assert.equal(instances.setState("i-1", "healthy"), "booting");
    assert.deepEqual(instances.live("prod").map((instance) => instance.id), ["i-1", "i-2"]);
    assert.equal(instances.setState("i-1", "draining"), "healthy");
    assert.equal(instances.setState("i-1", "stopped"), "draining");
    assert.ok(instances.get("i-1")!.stoppedMs! > 0);
    assert.throws(() => instances.setState("i-1", "healthy"), /stopped, so it cannot become healthy/);
    assert.deepEqual(instances.live().map((instance) => instance.id), ["i-2"]);
  });

  it("refuses a deployment or environment that does not exist", () => {
    assert.throws(() => instances.add({ id: "i-3", environment: "prod", deployment: 999, imageDigest }), /FOREIGN KEY/);
    assert.throws(() => instances.add({ id: "i-4", environment: "nowhere", imageDigest }), /FOREIGN KEY/);
  });
});
