// examples/notes on the host against a real PostgreSQL: two instances of it started together on a
// fresh database (as blue and green, or a scaled-up environment, start), sharing one session key.
// What a deploy relies on: migrations applied once, state only in the database, a session cookie
// that any instance with the key opens, a health check that fails when the database is away.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { parseSyslog } from "../src/logs/syslog-message.ts";
import { matchesQuery } from "../src/logs/log-query.ts";
import { hasCommand, hasPostgres } from "./helpers.ts";
import { DemoApp } from "../src/demo/demo-app.ts";
import { installAndBuild, type LogRecord, NotesProcess } from "./notes-app.ts";
import { TestPostgres } from "./postgres.ts";

const missing = !hasPostgres() ? "PostgreSQL (apt-get install postgresql)" : !hasCommand("npm") ? "npm" : undefined;
// CI installs both: there a missing one fails the test instead of skipping it.
const skip = missing !== undefined && process.env.CI !== "true" && `missing: ${missing}`;

const MIGRATIONS = ["0001-create-note", "0002-index-note-created-at"];

describe("examples/notes, two instances on one PostgreSQL", { skip }, () => {
  const sessionKey = randomBytes(32).toString("hex");
  let postgres: TestPostgres;
  let app: { path: string; remove: () => Promise<void> };
  let blue: NotesProcess;
  let green: NotesProcess;
  const started: NotesProcess[] = [];
  const start = async (env: Record<string, string>): Promise<NotesProcess> => {
    const notes = await NotesProcess.start(app.path, env);
    started.push(notes);
    return notes;
  };

  before(async () => {
    // As the demo copies it: without what an install or a build left in the checkout.
    app = await DemoApp.copy();
    installAndBuild(app.path);
    postgres = await TestPostgres.start();
    postgres.createDatabase("notes");
  });

  after(async () => {
    for (const notes of started) await notes.stop();
    await postgres?.close();
    await app?.remove();
  });

  test("started together on a fresh database, the two apply each migration once, without an error", async () => {
    const env = { DATABASE_URL: postgres.url("notes"), SESSION_KEY: sessionKey };
    [blue, green] = await Promise.all([
      start({ ...env, INGOT_ENV: "dev", INGOT_INSTANCE_ID: "i-blue" }),
      start({ ...env, INGOT_ENV: "prod", INGOT_INSTANCE_ID: "i-green", INGOT_IMAGE: "notes:1.0.0@sha256:0123abcd" }),
    ]);
    await Promise.all([blue.waitUntilHealthy(), green.waitUntilHealthy()]);

    assert.deepEqual(postgres.psql("notes", "select name from kysely_migration order by name").split("\n"), MIGRATIONS);
    const applied = [...blue.lines, ...green.lines].filter((line) => /^migration .* applied$/.test(line.msg)).map((line) => line.migration);
    assert.deepEqual(applied.sort(), MIGRATIONS, `each migration applied by one of the two:\n${blue.output()}\n${green.output()}`);
    // The one that did not apply them waited for the lock, then found the schema up to date.
    const upToDate = [blue, green].filter((notes) => notes.lines.some((line) => line.msg === `database schema up to date (${MIGRATIONS.length} migrations)`));
    assert.equal(upToDate.length, 1, `${blue.output()}\n${green.output()}`);
    for (const notes of [blue, green]) {
      assert.deepEqual(notes.lines.filter((line) => line.level >= 40), [], notes.output());
      assert.deepEqual(notes.otherOutput, []);
    }
  });

  test("a note added through one instance is read through the other, its text escaped on the page", async () => {
    const posted = await fetch(`${blue.url}/api/notes`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ text: "buy milk" }) });
    assert.equal(posted.status, 201);
    const note = (await posted.json()) as { id: number; text: string; author: string | null };
    assert.equal(note.text, "buy milk");
    const listed = (await (await fetch(`${green.url}/api/notes`)).json()) as { notes: { id: number; text: string }[] };
    assert.ok(listed.notes.some((each) => each.id === note.id && each.text === "buy milk"), JSON.stringify(listed));

    // The HTML form, as a browser posts it, to the other instance; a reload of the redirect does not post again.
    const form = await fetch(`${green.url}/notes`, { method: "POST", body: new URLSearchParams({ text: `<script>alert("x")</script> & more` }), redirect: "manual" });
    assert.equal(form.status, 303);
    assert.equal(form.headers.get("location"), "/");
    const page = await (await fetch(`${blue.url}/`)).text();
    assert.ok(page.includes("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more"), page);
    assert.ok(!page.includes("<script>"), "a note's text never becomes markup");

    const empty = await fetch(`${blue.url}/api/notes`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ text: "   " }) });
    assert.equal(empty.status, 400);
  });

  test("signed in on one instance, the cookie signs in on the other; a cookie sealed with another key reads as signed out", async () => {
    const signIn = await fetch(`${blue.url}/sign-in`, { method: "POST", body: new URLSearchParams({ name: "Ada <admin>" }), redirect: "manual" });
    assert.equal(signIn.status, 303);
    const setCookie = signIn.headers.getSetCookie().find((header) => header.startsWith("notes_session="));
    assert.ok(setCookie, `a session cookie: ${signIn.headers.getSetCookie().join(", ")}`);
    assert.match(setCookie, /HttpOnly/i);
    assert.match(setCookie, /SameSite=Lax/i);
    const cookie = setCookie.split(";")[0]!;
    assert.ok(!cookie.includes("Ada"), "the cookie is sealed, not plain");

    const session = await fetch(`${green.url}/api/session`, { headers: { cookie } });
    assert.deepEqual(await session.json(), { user: "Ada <admin>" });
    const page = await (await fetch(`${green.url}/`, { headers: { cookie } })).text();
    assert.ok(page.includes(`Signed in as <strong id="user">Ada &lt;admin&gt;</strong>`), page);
    const note = await fetch(`${green.url}/api/notes`, { method: "POST", headers: { "content-type": "application/json", cookie }, body: JSON.stringify({ text: "signed" }) });
    assert.equal(((await note.json()) as { author: string }).author, "Ada <admin>");

    // Another key (base64 this time): the cookie does not open, the visitor is signed out, nothing fails.
    const other = await start({ DATABASE_URL: postgres.url("notes"), SESSION_KEY: randomBytes(32).toString("base64"), INGOT_ENV: "test" });
    await other.waitUntilHealthy();
    const stranger = await fetch(`${other.url}/api/session`, { headers: { cookie } });
    assert.equal(stranger.status, 200);
    assert.deepEqual(await stranger.json(), { user: null });
    const strangerPage = await fetch(`${other.url}/`, { headers: { cookie } });
    assert.equal(strangerPage.status, 200);
    assert.ok((await strangerPage.text()).includes(`action="/sign-in"`));
    assert.deepEqual(other.lines.filter((line) => line.level >= 40), [], other.output());

    const signOut = await fetch(`${green.url}/sign-out`, { method: "POST", headers: { cookie }, redirect: "manual" });
    assert.equal(signOut.status, 303);
    const cleared = signOut.headers.getSetCookie().find((header) => header.startsWith("notes_session="));
    assert.match(cleared ?? "", /Max-Age=0|Expires=Thu, 01 Jan 1970/i, "signing out clears the cookie");
  });

  test("INGOT_ENV sets the log level and the banner; every line is pino JSON that ingot's log store reads", async () => {
    const page = await (await fetch(`${green.url}/`)).text();
    assert.match(page, /environment <strong id="environment">prod<\/strong>/);
    assert.ok(page.includes("image <code>notes:1.0.0@sha256:0123abcd</code>"), page);
    assert.ok(page.includes(`instance <code id="instance">i-green</code>`), page);
    // dev logs at debug (the health checks), prod at info.
    const debug = (lines: LogRecord[]): LogRecord[] => lines.filter((line) => line.level === 20);
    assert.ok(debug(blue.lines).some((line) => line.msg.startsWith("GET /health 200")), blue.output());
    assert.deepEqual(debug(green.lines), []);
    // The request line names method, path and status in msg, the one field `ingot logs --grep` searches.
    assert.ok(green.lines.some((line) => line.level === 30 && /^POST \/notes 303 [\d.]+ms$/.test(line.msg)), green.output());

    // Each line as init ships it (RFC 5424, the JSON as the message), read by ingot's log store: pino's
    // level is the severity, msg the message, so `ingot logs --level` and `--grep` work on them.
    const severities: Record<number, number> = { 20: 7, 30: 6, 40: 4, 50: 3, 60: 2 };
    const stored = [...blue.lines, ...green.lines].map((record) => {
      const json = JSON.stringify(record);
      const line = parseSyslog(new TextEncoder().encode(`<14>1 2026-12-01T10:00:00.000Z vm notes - - [ingot@32473 instance="i-1" env="dev" stream="stdout"] ${json}`), Date.now());
      assert.equal(line.severity, severities[record.level], json);
      assert.equal(line.message, record.msg, json);
      return line;
    });
    const grep = (text: string, maxSeverity = 7): string[] => stored.filter((line) => matchesQuery(line, { grep: text, maxSeverity })).map((line) => line.message);
    assert.ok(grep("POST /notes 303").length >= 1);
    assert.deepEqual(grep("GET /health", 6), [], "--level info hides the health checks");
    assert.ok(grep("applied", 6).length === 2, "the migrations, at info");
  });

  test("a missing or malformed SESSION_KEY or DATABASE_URL stops the app at start, saying what to do and never echoing the value", async () => {
    const cases: { env: Record<string, string>; says: RegExp }[] = [
      { env: { DATABASE_URL: postgres.url("notes") }, says: /SESSION_KEY is not set: .*openssl rand -hex 32/ },
      { env: { DATABASE_URL: postgres.url("notes"), SESSION_KEY: "hunter2-hunter2" }, says: /SESSION_KEY must be 32 bytes as 64 hex digits or 44 base64 characters, got 15 characters/ },
      { env: { DATABASE_URL: postgres.url("notes"), SESSION_KEY: "ab".repeat(31) }, says: /SESSION_KEY must be 32 bytes/ },
      { env: { SESSION_KEY: sessionKey }, says: /DATABASE_URL is not set/ },
    ];
    for (const { env, says } of cases) {
      const notes = await start(env);
      assert.equal(await notes.exited, 78, notes.output());
      const fatal = notes.lines.find((line) => line.level === 60);
      assert.match(fatal?.msg ?? "", says, notes.output());
      assert.ok(!notes.output().includes("hunter2"), "the secret's value is not in the log");
    }
  });

  test("/health answers 503 while the database is stopped, and 200 again once it is back", async () => {
    await postgres.stopServer();
    const started = Date.now();
    const health = await fetch(`${blue.url}/health`);
    assert.equal(health.status, 503);
    const body = (await health.json()) as { status: string; reason: string };
    assert.equal(body.status, "unavailable");
    assert.match(body.reason, /^database unreachable: /);
    assert.ok(Date.now() - started < 2000, "answered within the health check's timeout");
    const page = await fetch(`${green.url}/`);
    assert.equal(page.status, 503);
    assert.match(await page.text(), /The notes cannot be shown: database unreachable/);

    await postgres.resume();
    await Promise.all([blue.waitUntilHealthy(5000), green.waitUntilHealthy(5000)]);
    const listed = (await (await fetch(`${green.url}/api/notes`)).json()) as { notes: { text: string }[] };
    assert.ok(listed.notes.some((note) => note.text === "buy milk"), "the notes are still there");
  });

  test("SIGTERM stops an instance gracefully: exit 0 after its last words", async () => {
    for (const notes of [blue, green]) {
      assert.equal(await notes.stop(), 0, notes.output());
      assert.equal(notes.lines.at(-1)?.msg, "stopped");
      assert.deepEqual(notes.lines.filter((line) => line.level >= 50), [], notes.output());
    }
  });
});
