// Hides secret values in the console lines ingot keeps or prints. A secret can reach the console
// whole, one line of it at a time (a PEM key printed by the app), or in part (a token cut by a
// log formatter), so every line of a value and every long enough piece of one is redacted.
import type { InstanceConfig } from "./instance-config.ts";

/** A piece of a secret this long or longer is redacted wherever it shows up in a line. */
export const SECRET_FRAGMENT_CHARS = 8;
/** Shorter whole values (and lines of values) are left alone: redacting "1" or "on" hides nothing. */
export const SECRET_MIN_CHARS = 4;

interface Secret { name: string; value: string }

/**
 * What of a value is secret: a URL's password only (postgres://app:PASSWORD@10.0.2.102/app), as
 * its host, port and user are not, and redacting their pieces would hide addresses the console
 * prints for other reasons ("dhcp lease 10.0.2.15"); the whole value otherwise.
 */
function secretText(value: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return value;
  try {
    const password = new URL(value).password;
    // As written in the URL and as the app may print it once decoded.
    return password === "" ? value : [...new Set([password, decodeURIComponent(password)])].join("\n");
  } catch {
    return value;
  }
}

/**
 * Replaces each secret, each line of a multi-line secret and each piece of at least
 * SECRET_FRAGMENT_CHARS characters of one with `[secret:NAME]`, longest match first, in one pass
 * over the line (a marker is never redacted again).
 *
 * @example
 * const redact = secretRedactor(config); // TOKEN=s3cr3t-token-value
 * redact("token s3cr3t-token-value"); // "token [secret:TOKEN]"
 * redact("prefix s3cr3t-token"); // "prefix [secret:TOKEN]"
 */
export function secretRedactor(config: InstanceConfig): (line: string) => string {
  const secrets: Secret[] = config.secretNames.map((name) => ({ name, value: config.env[name] ?? "" }));
  const valueLines = secrets.flatMap((secret) => secretText(secret.value).split(/\r?\n/).map((value) => ({ name: secret.name, value })));
  // Short lines are matched whole; longer ones through their pieces, which include the whole line.
  const shortLines = valueLines.filter((line) => line.value.length >= SECRET_MIN_CHARS && line.value.length < SECRET_FRAGMENT_CHARS);
  const longLines = valueLines.filter((line) => line.value.length >= SECRET_FRAGMENT_CHARS);
  const starts = new Map<string, Secret[]>();
  for (const line of longLines) {
    for (let at = 0; at + SECRET_FRAGMENT_CHARS <= line.value.length; at++) {
      const piece = line.value.slice(at, at + SECRET_FRAGMENT_CHARS);
      // A run of one character ("--------" in a PEM header) is no secret, and common in output.
      if (/^(.)\1*$/s.test(piece)) continue;
      starts.set(piece, [...(starts.get(piece) ?? []), line]);
    }
  }
  if (shortLines.length === 0 && starts.size === 0) return (line) => line;

  /** The longest secret text starting at `at`: a short line whole, or a piece grown while it stays inside a secret line. */
  const matchAt = (text: string, at: number): { name: string; length: number } | undefined => {
    let best: { name: string; length: number } | undefined;
    for (const secret of starts.get(text.slice(at, at + SECRET_FRAGMENT_CHARS)) ?? []) {
      let end = at + SECRET_FRAGMENT_CHARS;
      while (end < text.length && secret.value.includes(text.slice(at, end + 1))) end++;
      if (!best || end - at > best.length) best = { name: secret.name, length: end - at };
    }
    for (const secret of shortLines) {
      if (text.startsWith(secret.value, at) && (!best || secret.value.length > best.length)) best = { name: secret.name, length: secret.value.length };
    }
    return best;
  };
  return (line) => {
    let redacted = "";
    for (let at = 0; at < line.length;) {
      const match = matchAt(line, at);
      if (match) {
        redacted += `[secret:${match.name}]`;
        at += match.length;
      } else {
        redacted += line[at];
        at++;
      }
    }
    return redacted;
  };
}
