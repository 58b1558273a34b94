// The signed-in user lives in the session cookie, sealed (encrypted with AES-256-CBC and signed with
// HMAC-SHA256, the iron format) by iron-session with SESSION_KEY: no session store, so any instance
// that has the key reads it, and a user stays signed in across a blue/green deploy. A cookie sealed
// with another key does not open and reads as signed out.
import type { FastifyInstance, FastifyRequest } from "fastify";
import { getIronSession, type IronSession, type SessionOptions } from "iron-session";

export interface SessionData {
  name?: string;
}

declare module "fastify" {
  interface FastifyRequest {
    session: IronSession<SessionData>;
  }
}

export const SESSION_COOKIE = "notes_session";
const WEEK_SECONDS = 7 * 24 * 3600;
export const NAME_MAX_LENGTH = 40;

/** Opens the session cookie of every request as request.session; `save()` seals it into the reply. */
export function registerSessions(app: FastifyInstance, key: Buffer): void {
  const options: SessionOptions = {
    cookieName: SESSION_COOKIE,
    // iron derives its encryption and signing keys from a password of at least 32 characters.
    password: key.toString("hex"),
    ttl: WEEK_SECONDS,
    // Lax: a form on another site cannot post as the user. Not Secure: ingot's entry points speak
    // plain HTTP, and a browser would drop a Secure cookie from an http:// address.
    cookieOptions: { httpOnly: true, sameSite: "lax", secure: false, path: "/" },
  };
  app.decorateRequest("session", null as unknown as IronSession<SessionData>);
  app.addHook("onRequest", async (request, reply) => {
    // On Node's own request and response: iron-session reads the Cookie header and sets Set-Cookie,
    // which Fastify's reply keeps when it writes its headers.
    request.session = await getIronSession<SessionData>(request.raw, reply.raw, options);
  });
}

export function signedInUser(request: FastifyRequest): string | undefined {
  return request.session.name || undefined;
}

/** The name to sign in as, trimmed, or the reason it cannot be one. */
export function parseName(value: unknown): { name: string } | { problem: string } {
  const name = typeof value === "string" ? value.trim() : "";
  if (name === "") return { problem: "Signing in needs a name" };
  if (name.length > NAME_MAX_LENGTH) return { problem: `A name has at most ${NAME_MAX_LENGTH} characters` };
  return { name };
}
