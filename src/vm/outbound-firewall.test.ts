import { test } from "node:test";
import assert from "node:assert/strict";
import { IngotError } from "../errors.ts";
import { allowOutbound, firewallRuleset, loopbackResolvers, QEMU_UIDS } from "./outbound-firewall.ts";
import { QEMU_ID_BASE, QEMU_ID_COUNT } from "./qemu-user.ts";

test("the firewall filters every uid qemuUser() hands out, and only connections QEMU starts", () => {
  assert.deepEqual(QEMU_UIDS, { first: QEMU_ID_BASE, last: QEMU_ID_BASE + QEMU_ID_COUNT - 1 });
  const ruleset = firewallRuleset({ uids: QEMU_UIDS, loopbackResolvers: [] });
  assert.match(ruleset, /meta skuid 2113929216-2130706431 jump qemu/);
  const qemuChain = ruleset.slice(ruleset.indexOf("chain qemu"), ruleset.indexOf("chain refuse"));
  const rules = qemuChain.split("\n").map((line) => line.trim()).filter((line) => line && !line.startsWith("chain") && line !== "}");
  // Replies of the published ports (QEMU → 127.0.0.1) come first, or they would be refused.
  assert.equal(rules[0], "ct state established,related accept");
  assert.deepEqual(rules.slice(1), [
    "fib daddr type { local, broadcast, anycast, multicast } goto refuse",
    "ip daddr { 127.0.0.0/8, 169.254.0.0/16, 224.0.0.0/4 } goto refuse",
    "ip6 daddr { ::1, fe80::/10, ff00::/8 } goto refuse",
  ]);
});

test("the ruleset replaces ingot's table in one transaction, so installing it twice changes nothing", () => {
  const lines = firewallRuleset({ uids: QEMU_UIDS, loopbackResolvers: [] }).split("\n");
  assert.deepEqual(lines.slice(0, 3), ["table inet ingot", "delete table inet ingot", "table inet ingot {"]);
  assert.equal(lines.filter((line) => line.includes("policy")).join(), "    type filter hook output priority filter; policy accept;", "nothing but QEMU's traffic is touched");
});

test("a resolver on the host's loopback stays reachable on port 53 only, before the refusals", () => {
  const ruleset = firewallRuleset({ uids: QEMU_UIDS, loopbackResolvers: ["127.0.0.53", "::1"] });
  const v4 = ruleset.indexOf("ip daddr { 127.0.0.53 } meta l4proto { tcp, udp } th dport 53 accept");
  assert.ok(v4 > 0 && v4 < ruleset.indexOf("goto refuse"), ruleset);
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
