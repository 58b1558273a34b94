// The signed-in user lives in the session cookie, sealed (encrypted and authenticated) by
// @fastify/secure-session with SESSION_KEY: no session store, so any instance that has the key
// reads it. A cookie sealed with another key does not open and reads as signed out.
import secureSession from "@fastify/secure-session";
import type { FastifyInstance, FastifyRequest } from "fastify";

declare module "@fastify/secure-session" {
  interface SessionData {
    name: string;
  }
}

export const SESSION_COOKIE = "notes_session";
const WEEK_SECONDS = 7 * 24 * 3600;
export const NAME_MAX_LENGTH = 40;

export async function registerSessions(app: FastifyInstance, key: Buffer): Promise<void> {
  await app.register(secureSession, {
    key,
    cookieName: SESSION_COOKIE,
    expiry: WEEK_SECONDS,
    // Lax: a form on another site cannot post as the user; no Secure flag, as ingot's entry points speak HTTP.
    cookie: { path: "/", httpOnly: true, sameSite: "lax", maxAge: WEEK_SECONDS },
  });
}

export function signedInUser(request: FastifyRequest): string | undefined {
  return request.session.get("name") ?? undefined;
}

/** The name to sign in as, trimmed, or the reason it cannot be one. */
export function parseName(value: unknown): { name: string } | { problem: string } {
  const name = typeof value === "string" ? value.trim() : "";
  if (name === "") return { problem: "Signing in needs a name" };
  if (name.length > NAME_MAX_LENGTH) return { problem: `A name has at most ${NAME_MAX_LENGTH} characters` };
  return { name };
}
