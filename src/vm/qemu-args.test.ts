import { test } from "node:test";
import assert from "node:assert/strict";
import { detectAccelerator, qemuArgs } from "./qemu-args.ts";

test("QEMU's arguments are computed as data: machine, resources, direct boot, forwards, QMP", () => {
  const args = qemuArgs({
    kernel: "/k", initrd: "/i", cmdline: "console=ttyS0 quiet", cpus: 2, memoryMiB: 384, accelerator: "tcg",
    forwards: [{ hostPort: 41000, guestPort: 8080 }, { hostPort: 41001, guestPort: 9090 }], qmpSocket: "/run/x.qmp",
  });
  const value = (flag: string): string | undefined => args[args.indexOf(flag) + 1];
  assert.equal(value("-machine"), "q35,sata=off,smbus=off,accel=tcg");
  assert.equal(value("-cpu"), "max");
  assert.equal(value("-smp"), "2");
  assert.equal(value("-m"), "384");
  assert.equal(value("-kernel"), "/k");
  assert.equal(value("-initrd"), "/i");
  assert.equal(value("-append"), "console=ttyS0 quiet");
  assert.equal(value("-netdev"), "user,id=net0,hostfwd=tcp:127.0.0.1:41000-:8080,hostfwd=tcp:127.0.0.1:41001-:9090");
  assert.equal(value("-qmp"), "unix:/run/x.qmp,server=on,wait=off");
  assert.ok(args.includes("-no-reboot") && args.includes("-nodefaults"));
  assert.ok(!args.includes("-drive"), "ingot images need no disk");
});

test("the metadata endpoint is a guestfwd to the instance's own unix socket", () => {
  const args = qemuArgs({
    kernel: "/k", initrd: "/i", cmdline: "", cpus: 1, memoryMiB: 256, accelerator: "tcg",
    forwards: [{ hostPort: 41000, guestPort: 8080 }], metadata: { guestHost: "10.0.2.100", guestPort: 80, socket: "/tmp/ingot-i-1/metadata.sock" },
  });
  assert.equal(args[args.indexOf("-netdev") + 1],
    "user,id=net0,hostfwd=tcp:127.0.0.1:41000-:8080,guestfwd=tcp:10.0.2.100:80-cmd:socat - UNIX-CONNECT:/tmp/ingot-i-1/metadata.sock");
});

test("KVM only with hardware virtualization in the CPU flags; INGOT_ACCEL overrides", () => {
  const saved = process.env.INGOT_ACCEL;
  try {
    delete process.env.INGOT_ACCEL;
    assert.equal(detectAccelerator("flags\t\t: fpu vme sse2 hypervisor"), "tcg");
    process.env.INGOT_ACCEL = "tcg";
    assert.equal(detectAccelerator("flags\t\t: fpu vmx"), "tcg");
  } finally {
    if (saved === undefined) delete process.env.INGOT_ACCEL;
    else process.env.INGOT_ACCEL = saved;
  }
});

test("a missing QEMU is an error that says how to install it", async () => {
  const { QemuVm } = await import("./qemu-vm.ts");
  assert.throws(() => QemuVm.start({ kernel: "/k", initrd: "/i", cmdline: "", cpus: 1, memoryMiB: 64, forwards: [], accelerator: "tcg" }, { binary: "qemu-system-nonexistent" }),
    (error: Error & { hint?: string }) => /is not installed/.test(error.message) && /apt-get install qemu-system-x86/.test(error.hint ?? ""));
});
