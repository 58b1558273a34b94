// The key of the session cookie, from the SESSION_KEY secret. Every instance of an environment gets
// the same secret, so a cookie one instance sealed opens on any other: a signed-in user stays signed
// in across a blue/green deploy. The value itself is never logged or echoed in an error.

/** 256 bits, as many as the cookie's AES-256 and HMAC-SHA256 use. */
export const SESSION_KEY_BYTES = 32;

/**
 * SESSION_KEY as 32 bytes: 64 hex digits (`openssl rand -hex 32`) or base64 / base64url
 * (`openssl rand -base64 32`). Throws a message that says how to make one.
 *
 * @example
 * parseSessionKey("9f".repeat(32)).length; // 32
 */
export function parseSessionKey(value: string | undefined): Buffer {
  if (value === undefined || value.trim() === "") {
    throw new Error("SESSION_KEY is not set: the session cookie needs a key shared by every instance (make one with `openssl rand -hex 32`, then `ingot secret set --env ENV SESSION_KEY`)");
  }
  const text = value.trim();
  if (/^[0-9a-fA-F]+$/.test(text) && text.length === SESSION_KEY_BYTES * 2) return Buffer.from(text, "hex");
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) {
    const key = Buffer.from(text, "base64");
    if (key.length === SESSION_KEY_BYTES) return key;
  }
  throw new Error(`SESSION_KEY must be ${SESSION_KEY_BYTES} bytes as 64 hex digits or 44 base64 characters, got ${text.length} characters that are neither (make one with \`openssl rand -hex 32\`)`);
}
