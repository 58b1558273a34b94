// RFC 5424 §6.3 structured data: `[id name="value" ...][id2 ...]` or `-`, with `\"`, `\\` and `\]`
// escaped inside values. A parser that never throws: a broken element ends the structured data.

export type StructuredData = Record<string, Record<string, string>>;

/**
 * Parses the structured data starting at `start`; returns it and the index just past it.
 *
 * @example
 * parseStructuredData('[ingot@32473 instance="i-1"] hi', 0); // { data: { "ingot@32473": { instance: "i-1" } }, end: 28 }
 */
export function parseStructuredData(text: string, start: number): { data: StructuredData; end: number } {
  const data: StructuredData = {};
  if (text[start] === "-") return { data, end: start + 1 };
  let index = start;
  while (text[index] === "[") {
    const element = parseElement(text, index + 1);
    if (!element) return { data, end: index };
    data[element.id] = element.params;
    index = element.end;
  }
  return { data, end: index };
}

function parseElement(text: string, start: number): { id: string; params: Record<string, string>; end: number } | undefined {
  let index = start;
  while (index < text.length && !isNameEnd(text.charCodeAt(index))) index++;
  const id = text.slice(start, index);
  if (id === "") return undefined;
  const params: Record<string, string> = {};
  for (;;) {
    if (text[index] === "]") return { id, params, end: index + 1 };
    if (text[index] !== " ") return undefined;
    const nameStart = ++index;
    while (index < text.length && !isNameEnd(text.charCodeAt(index))) index++;
    const name = text.slice(nameStart, index);
    if (name === "" || text[index] !== "=" || text[index + 1] !== "\"") return undefined;
    index += 2;
    const close = text.indexOf("\"", index);
    const plain = text.slice(index, close);
    if (close >= 0 && !plain.includes("\\")) {
      // The common case, a value without escapes, in one slice.
      params[name] = plain;
      index = close + 1;
      continue;
    }
    let value = "";
    while (index < text.length && text[index] !== "\"") {
      // §6.3.3: only ", \ and ] are escaped; a backslash before anything else is kept.
      if (text[index] === "\\" && "\"\\]".includes(text[index + 1] ?? "")) index++;
      value += text[index++];
    }
    if (index >= text.length) return undefined;
    params[name] = value;
    index++;
  }
}

/**
 * Structured data as RFC 5424 writes it, the inverse of parseStructuredData: `-` when empty.
 * Parameters with an empty value are left out; names are cut to the SD-NAME grammar (§6.3.3).
 *
 * @example
 * formatStructuredData({ "ingot@32473": { instance: "i-1", env: "a]b" } }); // '[ingot@32473 instance="i-1" env="a\\]b"]'
 */
export function formatStructuredData(data: StructuredData): string {
  let text = "";
  for (const [id, params] of Object.entries(data)) {
    text += `[${sdName(id)}`;
    for (const [name, value] of Object.entries(params)) {
      if (value !== "") text += ` ${sdName(name)}="${escapeSdValue(value)}"`;
    }
    text += "]";
  }
  return text || "-";
}

/** §6.3.3: inside a PARAM-VALUE, `"`, `\` and `]` are escaped with a backslash. */
export function escapeSdValue(value: string): string {
  // Most values need no escape: a test is cheaper than a replace on every line forwarded.
  return NEEDS_ESCAPE.test(value) ? value.replace(/["\\\]]/g, "\\$&") : value;
}

const NEEDS_ESCAPE = /["\\\]]/;
const SD_NAME = /^[\x21-\x3c\x3e-\x5c\x5e-\x7e]{1,32}$/;

/** SD-NAME: 1 to 32 printable US-ASCII characters other than `=`, space, `]` and `"`. */
function sdName(name: string): string {
  if (SD_NAME.test(name) && !name.includes('"')) return name;
  return name.replace(/[^\x21-\x7e]|[=\]"]/g, "_").slice(0, 32) || "_";
}

/** SD-NAME ends at a space, `]`, `=` or `"` (§6.3.2: these are not allowed in it). */
function isNameEnd(code: number): boolean {
  return code === 0x20 || code === 0x5d || code === 0x3d || code === 0x22;
}
