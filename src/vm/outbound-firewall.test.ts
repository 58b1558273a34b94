import { test } from "node:test";
import assert from "node:assert/strict";
import { IngotError } from "../errors.ts";
import { allowOutbound, firewallRuleset, LOOPBACK_OWN_MARK, LOOPBACK_PENDING_MARK, loopbackResolvers, QEMU_UIDS } from "./outbound-firewall.ts";
import { QEMU_ID_BASE, QEMU_ID_COUNT } from "./qemu-user.ts";

test("the firewall filters every uid qemuUser() hands out, and only connections QEMU starts", () => {
  assert.deepEqual(QEMU_UIDS, { first: QEMU_ID_BASE, last: QEMU_ID_BASE + QEMU_ID_COUNT - 1 });
  const ruleset = firewallRuleset({ uids: QEMU_UIDS, loopbackResolvers: [] });
  assert.match(ruleset, /meta skuid 2113929216-2130706431 jump qemu/);
  const rules = chain(ruleset, "qemu");
  // Replies of the published ports (QEMU → 127.0.0.1) come first, or they would be refused.
  assert.equal(rules[0], "ct state established,related accept");
  assert.deepEqual(rules.slice(2), [
    "fib daddr type { local, broadcast, anycast, multicast } goto refuse",
    "ip daddr { 127.0.0.0/8, 169.254.0.0/16, 224.0.0.0/4 } goto refuse",
    "ip6 daddr { ::1, fe80::/10, ff00::/8 } goto refuse",
  ]);
});

test("a TCP connection from QEMU to 127.0.0.0/8 completes only when a socket of the same uid answers (the guestfwd connector's socket pair)", () => {
  const ruleset = firewallRuleset({ uids: QEMU_UIDS, loopbackResolvers: [] });
  const pending = `0x${LOOPBACK_PENDING_MARK.toString(16)}`;
  const own = `0x${LOOPBACK_OWN_MARK.toString(16)}`;
  assert.equal(chain(ruleset, "qemu")[1], `ip daddr 127.0.0.0/8 tcp flags & (syn | ack) == syn update @own { ip saddr . tcp sport . meta skuid } ct mark set ${pending} accept`);
  assert.deepEqual(chain(ruleset, "output"), [`ct mark ${own} accept`, `ct mark ${pending} jump loopback`, "meta skuid 2113929216-2130706431 jump qemu"]);
  // The answer (SYN-ACK) goes to QEMU's source address and port, from the answering socket's uid.
  assert.deepEqual(chain(ruleset, "loopback"), [
    "ct direction original accept",
    `ip daddr . tcp dport . meta skuid @own ct mark set ${own} accept`,
    "meta l4proto tcp reject with tcp reset",
    "drop",
  ]);
});

test("the ruleset replaces ingot's table in one transaction, and names its version so that an identical table is left alone", () => {
  const plan = { uids: QEMU_UIDS, loopbackResolvers: [] };
  const lines = firewallRuleset(plan).split("\n");
  assert.deepEqual(lines.slice(0, 3), ["table inet ingot", "delete table inet ingot", "table inet ingot {"]);
  assert.match(lines[3]!, /^ {2}comment "ingot outbound firewall [0-9a-f]{16}"$/);
  assert.equal(firewallRuleset(plan), firewallRuleset(plan));
  assert.notEqual(firewallRuleset(plan).split("\n")[3], firewallRuleset({ ...plan, loopbackResolvers: ["127.0.0.53"] }).split("\n")[3]);
  assert.equal(lines.filter((line) => line.includes("policy")).join(), "    type filter hook output priority filter; policy accept;", "nothing but QEMU's traffic is touched");
});

/** The rules of one chain, trimmed, without its hook line. */
function chain(ruleset: string, name: string): string[] {
  const body = ruleset.slice(ruleset.indexOf(`chain ${name} {`) + `chain ${name} {`.length);
  return body.slice(0, body.indexOf("\n  }")).split("\n").map((line) => line.trim()).filter(Boolean).filter((line) => !line.startsWith("type filter"));
}

test("a resolver on the host's loopback stays reachable on port 53 only, before the refusals", () => {
  const ruleset = firewallRuleset({ uids: QEMU_UIDS, loopbackResolvers: ["127.0.0.53", "::1"] });
  const v4 = ruleset.indexOf("ip daddr { 127.0.0.53 } meta l4proto { tcp, udp } th dport 53 accept");
  assert.ok(v4 > 0 && v4 < ruleset.indexOf("update @own") && v4 < ruleset.indexOf("goto refuse"), ruleset);
  assert.ok(ruleset.includes("ip6 daddr { ::1 } meta l4proto { tcp, udp } th dport 53 accept"), ruleset);
});

test("only loopback nameservers of resolv.conf are let through", () => {
  assert.deepEqual(loopbackResolvers("# systemd-resolved\nnameserver 127.0.0.53\noptions edns0\nnameserver 10.0.0.1\n nameserver ::1\nnameserver 127.0.0.53\n"), ["127.0.0.53", "::1"]);
  assert.deepEqual(loopbackResolvers("nameserver 10.255.255.53\n"), []);
  assert.deepEqual(loopbackResolvers(""), []);
});

test("outbound internet is refused without a QEMU uid of its own, and without nft", async () => {
  await assert.rejects(allowOutbound(undefined, "i-test"), (error: unknown) =>
    error instanceof IngotError && error.code === "outbound-needs-root" && /^Cannot give instance i-test outbound internet as /.test(error.message));
  await assert.rejects(allowOutbound({ uid: QEMU_ID_BASE, gid: QEMU_ID_BASE, groups: [] }, "i-test", "/nonexistent/nft"), (error: unknown) =>
    error instanceof IngotError && error.code === "outbound-no-nft" && error.hint === "apt-get install nftables");
});
