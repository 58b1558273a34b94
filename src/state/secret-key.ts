// The key secrets are encrypted under: 32 random bytes in $INGOT_HOME/state/secret.key, owner-only.
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { IngotError } from "../errors.ts";

const KEY_BYTES = 32;

/**
 * Reads the secret key, creating it on first use. A key file that group or others can read is
 * refused, not repaired: it may already have leaked, and the user should know.
 *
 * @example
 * const key = loadSecretKey("/home/me/.local/share/ingot/state/secret.key"); // 32 bytes
 */
export function loadSecretKey(path: string): Buffer {
  if (!exists(path)) createKey(path);
  const info = statSync(path);
  if ((info.mode & 0o077) !== 0) {
    throw new IngotError(`Cannot use the secret key as group or others may read it (mode ${(info.mode & 0o777).toString(8)}): ${path}`, {
      code: "secret-key-permissions",
      hint: `Run chmod 600 ${path}; if others could read it, set your secrets again after rotating their values`,
    });
  }
  if (info.uid !== process.getuid?.()) {
    throw new IngotError(`Cannot use the secret key as another user owns it (uid ${info.uid}): ${path}`, {
      code: "secret-key-owner",
      hint: "Run ingot as the user that owns INGOT_HOME",
    });
  }
  const key = readFileSync(path);
  if (key.length !== KEY_BYTES) {
    throw new IngotError(`Cannot use the secret key as it is ${key.length} bytes, not ${KEY_BYTES}: ${path}`, {
      code: "secret-key-invalid",
      hint: "Restore secret.key from a backup; without it the stored secrets cannot be read and must be set again",
    });
  }
  return key;
}

/**
 * Writes a new key to a temporary file first and links it into place: the key appears whole or
 * not at all, and of two processes creating it at once, one wins and both use its key.
 */
function createKey(path: string): void {
  const temp = `${path}.${process.pid}.tmp`;
  rmSync(temp, { force: true }); // a leftover of a crash of a process that had our pid
  const file = openSync(temp, "wx", 0o600);
  try {
    writeSync(file, randomBytes(KEY_BYTES));
    fsyncSync(file);
  } finally {
    closeSync(file);
  }
  try {
    linkSync(temp, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  } finally {
    rmSync(temp, { force: true });
  }
}

function exists(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false }) !== undefined;
}
