import { test } from "node:test";
import assert from "node:assert/strict";
import { detectAccelerator, qemuArgs, qemuCommand, type VmSpec } from "./qemu-args.ts";

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
  assert.equal(value("-netdev"), "user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:41000-:8080,hostfwd=tcp:127.0.0.1:41001-:9090");
  assert.equal(value("-qmp"), "unix:/run/x.qmp,server=on,wait=off");
  assert.ok(args.includes("-no-reboot") && args.includes("-nodefaults"));
  assert.ok(!args.includes("-drive"), "ingot images need no disk");
});

test("the metadata and log endpoints are guestfwds to the instance's own unix sockets", () => {
  const args = qemuArgs({
    kernel: "/k", initrd: "/i", cmdline: "", cpus: 1, memoryMiB: 256, accelerator: "tcg",
    forwards: [{ hostPort: 41000, guestPort: 8080 }],
    guestEndpoints: [{ guestHost: "10.0.2.100", guestPort: 80, socket: "/tmp/ingot-i-1/metadata.sock" }, { guestHost: "10.0.2.101", guestPort: 601, socket: "/tmp/ingot-i-1/logs.sock" }],
  });
  assert.equal(args[args.indexOf("-netdev") + 1],
    "user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:41000-:8080,guestfwd=tcp:10.0.2.100:80-cmd:socat - UNIX-CONNECT:/tmp/ingot-i-1/metadata.sock"
    + ",guestfwd=tcp:10.0.2.101:601-cmd:socat - UNIX-CONNECT:/tmp/ingot-i-1/logs.sock");
});

const spec: VmSpec = { kernel: "/vault/k", initrd: "/vault/i", cmdline: "", cpus: 1, memoryMiB: 256, accelerator: "tcg", forwards: [] };

test("the guest's network reaches only the explicit forwards, and QEMU runs under its seccomp sandbox", () => {
  const args = qemuArgs(spec);
  assert.match(args[args.indexOf("-netdev") + 1]!, /^user,id=net0,restrict=on(,|$)/);
  // elevateprivileges stays allowed: libslirp's guestfwd spawn calls setsid() (qemu-args.ts).
  assert.equal(args[args.indexOf("-sandbox") + 1], "on,obsolete=deny,resourcecontrol=deny");
});

test("outbound internet lifts the restriction only for a QEMU with a uid of its own, which the firewall filters", () => {
  const user = { uid: 2113929300, gid: 2113929300, groups: [] };
  const args = qemuArgs({ ...spec, user, outbound: "internet", forwards: [{ hostPort: 41000, guestPort: 8080 }] });
  assert.equal(args[args.indexOf("-netdev") + 1], "user,id=net0,restrict=off,hostfwd=tcp:127.0.0.1:41000-:8080");
  assert.match(qemuArgs({ ...spec, user, outbound: "none" })[qemuArgs(spec).indexOf("-netdev") + 1]!, /restrict=on/);
  assert.throws(() => qemuArgs({ ...spec, outbound: "internet" }), { code: "outbound-needs-root" });
});

test("QEMU drops to its own user through setpriv, which sets the parent-death signal after the drop", () => {
  const user = { uid: 2113929300, gid: 2113929300, groups: [] };
  const command = qemuCommand({ ...spec, user }, "qemu-system-x86_64");
  assert.deepEqual(command.slice(0, command.indexOf("qemu-system-x86_64")),
    ["setpriv", "--reuid", "2113929300", "--regid", "2113929300", "--clear-groups", "--no-new-privs", "--pdeathsig", "KILL", "--"]);
  assert.ok(!command.includes("-runas"), "-runas would clear the parent-death signal");
  const args = qemuArgs({ ...spec, user });
  assert.equal(args[args.indexOf("-kernel") + 1], "/proc/self/fd/3", "the vault may be where QEMU's user cannot enter");
  assert.equal(args[args.indexOf("-initrd") + 1], "/proc/self/fd/4");
  assert.deepEqual(qemuCommand({ ...spec, user: { ...user, groups: [108] } }, "q").slice(5, 7), ["--groups", "108"], "the kvm group, for /dev/kvm");
  assert.deepEqual(qemuCommand(spec, "q").slice(0, 6), ["setpriv", "--no-new-privs", "--pdeathsig", "KILL", "--", "q"], "a non-root ingot runs QEMU as itself");
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

test("a disk-form image's layers are read-only virtio disks in layer order, and no initrd", () => {
  const disks: VmSpec = { kernel: "/vault/k", layerDisks: ["/vault/base.img", "/vault/run,time.img"], cmdline: "", cpus: 1, memoryMiB: 128, accelerator: "tcg", forwards: [] };
  const drives = (args: string[]): string[] => args.flatMap((arg, index) => (args[index - 1] === "-drive" || args[index - 1] === "-device") && /layer/.test(arg) ? [arg] : []);
  const args = qemuArgs(disks);
  assert.ok(!args.includes("-initrd"));
  assert.deepEqual(drives(args), [
    "if=none,id=layer0,file=/vault/base.img,format=raw,readonly=on", "virtio-blk-pci,drive=layer0",
    "if=none,id=layer1,file=/vault/run,,time.img,format=raw,readonly=on", "virtio-blk-pci,drive=layer1",
  ]);
  assert.deepEqual(drives(qemuArgs({ ...disks, user: { uid: 2113929300, gid: 2113929300, groups: [] } })).filter((_, index) => index % 2 === 0),
    ["if=none,id=layer0,file=/proc/self/fd/4,format=raw,readonly=on", "if=none,id=layer1,file=/proc/self/fd/5,format=raw,readonly=on"], "inherited after the kernel");
});
