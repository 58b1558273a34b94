// What differs between the lock on disk and the inputs a build would pin: the lines `ingot build`
// prints when it updates ingot.lock, and the reasons `ingot build --locked` refuses.
import type { LockFile } from "./lock-file.ts";

/**
 * @example
 * lockChanges(old, next); // ["node: 22.23.3 → 22.23.5", "package libc6: added 2.36-9+deb12u14 (amd64)"]
 */
export function lockChanges(previous: LockFile | undefined, next: LockFile): string[] {
  if (!previous) return ["no ingot.lock yet"];
  const changes: string[] = [];
  const short = (digest: string): string => digest.slice(0, 19);
  if (previous.node?.digest !== next.node?.digest || previous.node?.version !== next.node?.version) {
    changes.push(`node: ${previous.node ? previous.node.version : "none"} → ${next.node ? next.node.version : "none"}${previous.node && next.node && previous.node.version === next.node.version ? " (other bytes)" : ""}`);
  }
  const manager = (lock: LockFile): string => (lock.packageManager ? `${lock.packageManager.name} ${lock.packageManager.version}` : "none");
  if (previous.packageManager?.digest !== next.packageManager?.digest || manager(previous) !== manager(next)) {
    changes.push(`package manager: ${manager(previous)} → ${manager(next)}${manager(previous) === manager(next) ? " (other bytes)" : ""}`);
  }
  if (previous.kernel.digest !== next.kernel.digest) {
    changes.push(`kernel: ${previous.kernel.release} ${short(previous.kernel.digest)} → ${next.kernel.release} ${short(next.kernel.digest)} (built from ${next.kernel.source})`);
  }
  if (previous.init.digest !== next.init.digest) changes.push(`init: ${short(previous.init.digest)} → ${short(next.init.digest)}`);
  const describe = (item: { version: string; architecture: string }): string => `${item.version} (${item.architecture})`;
  changes.push(...listChanges("package", previous.packages, next.packages, { key: (item) => `${item.name}:${item.architecture}`, label: (item) => item.name }, (a, b) => a.sha256 === b.sha256, describe));
  changes.push(...listChanges("host file", previous.hostFiles, next.hostFiles, { key: (item) => item.path, label: (item) => item.path }, (a, b) => a.digest === b.digest, (item) => short(item.digest)));
  return changes;
}

/** Entries matched by `key` (a package per architecture), named by `label` in the lines. */
function listChanges<T>(kind: string, before: T[], after: T[], names: { key: (item: T) => string; label: (item: T) => string }, same: (a: T, b: T) => boolean, describe: (item: T) => string): string[] {
  const old = new Map(before.map((item) => [names.key(item), item]));
  const fresh = new Map(after.map((item) => [names.key(item), item]));
  const lines: string[] = [];
  for (const [key, item] of fresh) {
    const was = old.get(key);
    if (!was) lines.push(`${kind} ${names.label(item)}: added ${describe(item)}`);
    else if (!same(was, item)) lines.push(`${kind} ${names.label(item)}: ${describe(was)} → ${describe(item)}`);
  }
  for (const [key, item] of old) if (!fresh.has(key)) lines.push(`${kind} ${names.label(item)}: removed ${describe(item)}`);
  return lines;
}
