import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { EventLog } from "./events.ts";
import { tempState } from "./testing.ts";

describe("EventLog", () => {
  const { state, remove } = tempState();
  after(remove);
  const events = new EventLog(state);

  it("appends typed records and lists them by environment, deployment and after an id", () => {
    const first = events.append({ kind: "deploy-step", environment: "prod", deployment: 1, data: { step: "boot", ms: 812 } });
    events.append({ kind: "instance-state", environment: "test", instance: "i-9", data: { state: "healthy", was: "booting" } });
    const third = events.append({ kind: "deploy-step", environment: "prod", deployment: 1, data: { step: "switch" } });
    assert.deepEqual(events.list({ deployment: 1 }).map((event) => event.data.step), ["boot", "switch"]);
    assert.deepEqual(events.list({ environment: "test" }).map((event) => [event.kind, event.instance, event.data]), [["instance-state", "i-9", { state: "healthy", was: "booting" }]]);
    assert.deepEqual(events.list({ afterId: first, environment: "prod" }).map((event) => event.id), [third]);
  });

  it("lists the newest events oldest first, and by kind and time", () => {
    const ids = [1, 2, 3].map((index) => events.append({ kind: index === 2 ? "capacity-replace" : "instance-state", environment: "dev", timeMs: index * 1000 }));
    assert.deepEqual(events.latest({ environment: "dev" }, 2).map((event) => event.id), ids.slice(1));
    assert.deepEqual(events.list({ environment: "dev", kind: "instance-state", sinceMs: 1500 }).map((event) => event.id), [ids[2]]);
  });
});
