// A package.json script split into words as sh would split it, for the scripts that are one plain
// command; anything that only a shell can carry out is refused (see start-script.ts).
import { IngotError } from "../errors.ts";

export interface StartWord {
  text: string;
  /** Whether any part of it was quoted: a quoted `env` is a program name, not a keyword. */
  quoted: boolean;
  /** `NAME=value` written with the name unquoted, which sh takes as a variable for the command. */
  assignment?: { name: string; value: string };
}

/** What a character means to sh outside quotes, when it means anything but itself. */
function shellMeaning(char: string, next: string | undefined): string | undefined {
  if ("&;\n\r".includes(char) || (char === "|" && next === "|")) return "it runs more than one command (&&, ||, ;, & or a new line)";
  if (char === "|") return "it pipes one command into another (|)";
  if ("<>".includes(char)) return "it redirects input or output (< or >)";
  if ("$`".includes(char)) return "it expands variables or commands ($VAR, $(…) or `…`)";
  if ("*?[]".includes(char)) return "it expands a glob (*, ? or [])";
  if ("(){}".includes(char)) return "it groups commands or expands braces ((…) or {…})";
  if (char === "\\") return "it escapes characters with \\";
  return undefined;
}

/**
 * @example
 * scriptWords(`NODE_ENV=production node 'dist/index.js'`, "scripts.start");
 * // [{ text: "NODE_ENV=production", quoted: false, assignment: { name: "NODE_ENV", value: "production" } },
 * //  { text: "node", quoted: false }, { text: "dist/index.js", quoted: true }]
 */
export function scriptWords(script: string, where: string): StartWord[] {
  // init reads the argv and env as NUL-separated lists: a NUL would split one word in two.
  if (script.includes("\0")) refuse(where, script, "it contains a NUL byte");
  const words: StartWord[] = [];
  let current: { raw: string; text: string; quoted: boolean } | undefined;
  const finish = (): void => {
    if (!current) return;
    // sh takes NAME=value as an assignment only when the name and "=" are unquoted.
    const assignment = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(current.raw);
    words.push({ text: current.text, quoted: current.quoted, ...(assignment ? { assignment: { name: assignment[1]!, value: current.text.slice(assignment[0].length) } } : {}) });
    current = undefined;
  };
  for (let index = 0; index < script.length; index++) {
    const char = script[index]!;
    if (char === " " || char === "\t") {
      finish();
      continue;
    }
    current ??= { raw: "", text: "", quoted: false };
    if (char === "'" || char === '"') {
      const close = script.indexOf(char, index + 1);
      if (close < 0) refuse(where, script, `it has an unclosed ${char} quote`);
      const inside = script.slice(index + 1, close);
      // Inside double quotes sh still expands $, ` and \: only plain text is read as it is.
      if (char === '"' && /[$`\\]/.test(inside)) refuse(where, script, `it expands variables or escapes inside double quotes`);
      current.text += inside;
      current.raw += `${char}${inside}${char}`;
      current.quoted = true;
      index = close;
      continue;
    }
    if ((char === "#" || char === "~") && current.raw === "") refuse(where, script, char === "#" ? "it has a comment (#)" : "it expands ~ to a home folder");
    const meaning = shellMeaning(char, script[index + 1]);
    if (meaning) refuse(where, script, meaning);
    current.text += char;
    current.raw += char;
  }
  finish();
  return words;
}

/**
 * The one refusal of a script the image cannot run, with the script quoted. The hint's command is
 * the script's last plain command where it has one (`npm run build && node dist/index.js`).
 */
export function refuse(where: string, text: string, reason: string, hint?: string): never {
  const last = text.split(/&&|\|\||;|\n/).at(-1)!.trim();
  let suggestion = "[node, dist/index.js]";
  try {
    const all = scriptWords(last, where);
    const words = all.filter((word) => !word.assignment).map((word) => word.text);
    const env = all.flatMap((word) => (word.assignment ? [`${word.assignment.name}: ${JSON.stringify(word.assignment.value)}`] : []));
    if (words[0] === "node" && words.length > 1) suggestion = `[${words.join(", ")}]${env.length > 0 ? ` and env: {${env.join(", ")}}` : ""}`;
  } catch {
    // The last part needs a shell too: the generic example stands.
  }
  throw new IngotError(`Cannot start the app from ${where} as ${reason}: ${JSON.stringify(text)}`, {
    code: "start-script-shell",
    hint: hint ?? `The image has no shell and no npm: move the build part to "build" in scripts (ingot runs it at build time) and give command: ${suggestion} in ingot.yaml`,
  });
}
