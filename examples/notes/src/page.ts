// The one HTML page: the environment banner, who is signed in, the form to add a note and the
// notes. Server-rendered, no script: it works with any browser and with curl.
import type { Environment } from "./environment.js";
import { html, type Html } from "./html.js";
import { NOTE_MAX_LENGTH, type Note } from "./notes.js";

export interface PageContent {
  environment: Environment;
  /** The name of the signed-in user, from the session cookie. */
  user: string | undefined;
  /** undefined while the database cannot answer (the page then says why). */
  notes: Note[] | undefined;
  /** Why the database cannot answer, or a form's mistake. */
  problem?: string;
}

const BANNER_COLOURS: Record<string, string> = { dev: "#2e7d32", test: "#b26a00", prod: "#b71c1c" };

export function renderPage(content: PageContent): string {
  const { environment, user, notes, problem } = content;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Notes (${environment.name})</title>
<style>
  body { font: 16px/1.4 system-ui, sans-serif; max-width: 40rem; margin: 0 auto; padding: 0 1rem 2rem; }
  .banner { color: #fff; padding: .5rem 1rem; margin: 0 -1rem 1rem; font-size: .9rem; }
  .banner code { color: inherit; }
  .problem { background: #fdecea; border: 1px solid #e57373; padding: .5rem 1rem; }
  textarea { width: 100%; box-sizing: border-box; }
  li { margin: .5rem 0; white-space: pre-wrap; }
  small { color: #666; }
</style>
</head>
<body>
<div class="banner" style="background: ${BANNER_COLOURS[environment.name] ?? "#455a64"}">
  environment <strong id="environment">${environment.name}</strong>
  ${environment.image ? html` · image <code>${environment.image}</code>` : ""}
  ${environment.instance ? html` · instance <code id="instance">${environment.instance}</code>` : ""}
</div>
<h1>Notes</h1>
${problem ? html`<p class="problem" role="alert">${problem}</p>` : ""}
${signInForm(user)}
${notes ? noteList(notes) : html`<p>The notes are kept in PostgreSQL; they will be back once the database answers.</p>`}
</body>
</html>
`.text;
}

function signInForm(user: string | undefined): Html {
  if (user) {
    return html`<form method="post" action="/sign-out"><p>Signed in as <strong id="user">${user}</strong> <button>Sign out</button></p></form>`;
  }
  return html`<form method="post" action="/sign-in"><p><label>Name <input name="name" required maxlength="40"></label> <button>Sign in</button></p></form>`;
}

function noteList(notes: Note[]): Html {
  return html`<form method="post" action="/notes">
<p><textarea name="text" rows="3" required maxlength="${NOTE_MAX_LENGTH}" placeholder="Write a note"></textarea></p>
<p><button>Add note</button></p>
</form>
${notes.length === 0 ? html`<p>No notes yet.</p>` : html`<ul>${notes.map((note) => html`<li>${note.text}<br><small>${note.author ?? "anonymous"} · <time datetime="${note.createdAt}">${note.createdAt.replace("T", " ").slice(0, 16)} UTC</time></small></li>`)}</ul>`}`;
}
