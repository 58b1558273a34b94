// The host firewall that lets a guest reach the outside world but not the host. An instance with
// outbound internet runs QEMU's user network unrestricted, where 10.0.2.2 is the host's loopback
// and every host address is reachable, as is a cloud's metadata at 169.254.169.254: the guest's
// connections are QEMU's own sockets, so they are filtered by QEMU's uid (qemu-user.ts).
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { IngotError } from "../errors.ts";
import type { QemuUser } from "./qemu-args.ts";
import { QEMU_ID_BASE, QEMU_ID_COUNT } from "./qemu-user.ts";

/** ingot's one nftables table: global, shared by every instance, replaced as a whole. */
export const FIREWALL_TABLE = "inet ingot";

export interface FirewallPlan {
  /** The uids whose sockets are filtered: every QEMU ingot starts, restricted or not. */
  uids: { first: number; last: number };
  /**
   * The host's resolvers on loopback (127.0.0.53 of systemd-resolved, a local dnsmasq): QEMU's
   * DNS proxy (10.0.2.3) forwards to /etc/resolv.conf's servers, so these stay reachable on port 53.
   */
  loopbackResolvers: string[];
}

/** ct marks of QEMU's connections to the host's loopback: pending until answered, then its own. */
export const LOOPBACK_PENDING_MARK = 0x696e6700;
export const LOOPBACK_OWN_MARK = 0x696e6701;

/**
 * The ruleset as `nft -f` text. It deletes and recreates the table in one transaction (the leading
 * `table` makes the delete succeed on a first install), so installing it never leaves a moment
 * without rules; the table's comment names its version, and an identical table is left alone, as
 * a replacement would forget the handshakes under way. Only connections QEMU starts are refused:
 * packets of established flows pass, as the published ports' replies go from QEMU to 127.0.0.1.
 *
 * One exception needs care: libslirp's guestfwd connector (the metadata endpoint) talks to QEMU
 * through a TCP socket pair on 127.0.0.1 (slirp_socketpair_with_oob), indistinguishable by address
 * from a guest's connection to 10.0.2.2. So a TCP connection from QEMU to 127.0.0.0/8 may start,
 * remembered as (source address, source port, QEMU's uid) and marked pending, and is decided by
 * who answers: a socket of the same uid (QEMU's own listener) makes it QEMU's own; any other (a
 * host service, another instance's published port) gets a reset, and the handshake never completes.
 *
 * @example
 * firewallRuleset({ uids: { first: 2113929216, last: 2130706431 }, loopbackResolvers: [] });
 * // "table inet ingot\ndelete table inet ingot\ntable inet ingot {\n  set own { …"
 */
export function firewallRuleset(plan: FirewallPlan): string {
  const rules = tableRules(plan);
  // The digest names this very ruleset, so an installed table that carries it need not be replaced.
  const version = createHash("sha256").update(rules.join("\n")).digest("hex").slice(0, 16);
  return [`table ${FIREWALL_TABLE}`, `delete table ${FIREWALL_TABLE}`, `table ${FIREWALL_TABLE} {`, `  comment "${firewallVersion(version)}"`, ...rules, "}", ""].join("\n");
}

/** The table's comment: what allowOutbound() looks for before it replaces the table. */
function firewallVersion(digest: string): string {
  return `ingot outbound firewall ${digest}`;
}

function tableRules(plan: FirewallPlan): string[] {
  const v4 = plan.loopbackResolvers.filter((address) => !address.includes(":"));
  const v6 = plan.loopbackResolvers.filter((address) => address.includes(":"));
  const dns = (family: "ip" | "ip6", addresses: string[]): string[] =>
    addresses.length === 0 ? [] : [`    ${family} daddr { ${addresses.join(", ")} } meta l4proto { tcp, udp } th dport 53 accept`];
  const pending = `0x${LOOPBACK_PENDING_MARK.toString(16)}`;
  const own = `0x${LOOPBACK_OWN_MARK.toString(16)}`;
  return [
    // Only for the handshake: once answered, the connection's mark says what it is.
    "  set own {",
    "    typeof ip saddr . tcp sport . meta skuid",
    "    size 65536",
    "    flags dynamic,timeout",
    "    timeout 30s",
    "  }",
    "  chain output {",
    "    type filter hook output priority filter; policy accept;",
    `    ct mark ${own} accept`,
    `    ct mark ${pending} jump loopback`,
    // A packet without a socket (a kernel RST) has no uid and matches no skuid: it is not QEMU's.
    `    meta skuid ${plan.uids.first}-${plan.uids.last} jump qemu`,
    "  }",
    "  chain qemu {",
    "    ct state established,related accept",
    ...dns("ip", v4),
    ...dns("ip6", v6),
    `    ip daddr 127.0.0.0/8 tcp flags & (syn | ack) == syn update @own { ip saddr . tcp sport . meta skuid } ct mark set ${pending} accept`,
    // Any address of the host (its loopback through 10.0.2.2, a veth or LAN address), its broadcasts.
    "    fib daddr type { local, broadcast, anycast, multicast } goto refuse",
    // Link-local: cloud metadata (169.254.169.254) and neighbours that are not the outside world.
    "    ip daddr { 127.0.0.0/8, 169.254.0.0/16, 224.0.0.0/4 } goto refuse",
    "    ip6 daddr { ::1, fe80::/10, ff00::/8 } goto refuse",
    "  }",
    "  chain loopback {",
    "    ct direction original accept",
    `    ip daddr . tcp dport . meta skuid @own ct mark set ${own} accept`,
    "    meta l4proto tcp reject with tcp reset",
    "    drop",
    "  }",
    "  chain refuse {",
    // A refusal, not a drop: the guest's connect fails at once instead of after its timeout.
    "    meta l4proto tcp reject with tcp reset",
    "    reject",
    "  }",
  ];
}

/**
 * The nameservers of resolv.conf text that are on loopback.
 *
 * @example
 * loopbackResolvers("nameserver 127.0.0.53\nnameserver 1.1.1.1\n"); // ["127.0.0.53"]
 */
export function loopbackResolvers(resolvConf: string): string[] {
  const servers = [...resolvConf.matchAll(/^\s*nameserver\s+(\S+)/gm)].map((match) => match[1]!);
  return [...new Set(servers.filter((server) => /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(server) || server === "::1"))];
}

/** Every uid qemuUser() hands out. */
export const QEMU_UIDS = { first: QEMU_ID_BASE, last: QEMU_ID_BASE + QEMU_ID_COUNT - 1 };

/**
 * Lets the instance whose QEMU runs as `user` reach the outside world and nothing on the host, or
 * refuses: without a QEMU user of its own (a non-root ingot) there is no uid to filter, and an
 * unrestricted guest would reach the host's loopback.
 *
 * @example
 * await allowOutbound(qemuUser(accelerator), "i-1a2b3c4d");
 */
export async function allowOutbound(user: QemuUser | undefined, instance: string, nft = "nft"): Promise<void> {
  if (!user) {
    throw new IngotError(`Cannot give instance ${instance} outbound internet as ingot runs as uid ${process.getuid?.()}, not root, so QEMU has no uid of its own for the firewall to filter`, {
      code: "outbound-needs-root",
      hint: "Run ingot as root, or set outbound: none for this environment in ingot.yaml",
    });
  }
  const resolvConf = await readFile("/etc/resolv.conf", "utf8").catch(() => "");
  const ruleset = firewallRuleset({ uids: QEMU_UIDS, loopbackResolvers: loopbackResolvers(resolvConf) });
  const version = /comment "([^"]+)"/.exec(ruleset)![1]!;
  if ((await installedTable(nft)).includes(`comment "${version}"`)) return;
  await applyRuleset(nft, ruleset).catch((error: unknown) => { throw firewallError(error, instance); });
}

/** The installed table as `nft list` prints it; empty when there is none (or no nft: applying says so). */
function installedTable(nft: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(nft, ["list", "table", ...FIREWALL_TABLE.split(" ")], { timeout: 10_000 }, (error, stdout) => resolve(error ? "" : stdout));
  });
}

/** `nft -f -` with the ruleset on stdin: one transaction, all of it or nothing. */
function applyRuleset(nft: string, ruleset: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(nft, ["-f", "-"], { stdio: ["pipe", "ignore", "pipe"], timeout: 10_000 });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => { stderr += chunk.toString(); });
    // A missing nft closes stdin before the ruleset is written; the spawn error says why.
    child.stdin.on("error", () => {});
    child.on("error", reject);
    child.on("close", (status) => (status === 0 ? resolve() : reject(Object.assign(new Error(`nft exited with ${status}`), { stderr }))));
    child.stdin.end(ruleset);
  });
}

function firewallError(error: unknown, instance: string): IngotError {
  const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
  return new IngotError(`Cannot give instance ${instance} outbound internet as ${missing ? "nft (nftables) is not installed" : `nft refused ingot's firewall: ${String((error as { stderr?: string }).stderr ?? error).trim()}`}`, {
    code: missing ? "outbound-no-nft" : "outbound-firewall-failed",
    hint: missing ? "apt-get install nftables" : "ingot needs nf_tables with fib, ct and reject support in the host kernel",
    cause: error,
  });
}
