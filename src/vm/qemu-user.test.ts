import { test } from "node:test";
import assert from "node:assert/strict";
import { QEMU_ID_BASE, QEMU_ID_COUNT, qemuUser } from "./qemu-user.ts";

test("a root ingot gives each QEMU its own unprivileged uid and gid; a non-root ingot none", () => {
  const users = [qemuUser("tcg", true), qemuUser("tcg", true)];
  for (const user of users) {
    assert.ok(user && user.uid >= QEMU_ID_BASE && user.uid < QEMU_ID_BASE + QEMU_ID_COUNT && user.gid === user.uid);
    assert.deepEqual(user.groups, []);
  }
  assert.notEqual(users[0]!.uid, users[1]!.uid);
  assert.equal(qemuUser("tcg", false), undefined);
});
