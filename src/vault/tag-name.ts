// The grammar of image names and versions, modelled on OCI's tag grammar. A tag is stored as the
// file tags/NAME/VERSION, so this grammar is also what keeps every tag path one folder deep inside
// the vault: neither part can be empty, start with a dot or hold a slash.

/** Longer names buy nothing and would push tag paths towards the file system's name limit. */
export const MAX_IMAGE_NAME_LENGTH = 128;
export const MAX_IMAGE_VERSION_LENGTH = 128;

const IMAGE_NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const IMAGE_VERSION = /^[A-Za-z0-9_][A-Za-z0-9._+-]*$/;

/**
 * Why `name` cannot name an image (the end of a sentence about it), or undefined when it can.
 *
 * @example
 * imageNameProblem("hello-world"); // undefined
 * imageNameProblem("..");          // "is not lowercase letters and digits joined by …"
 */
export function imageNameProblem(name: unknown): string | undefined {
  if (typeof name !== "string") return "is not a string";
  if (name.length > MAX_IMAGE_NAME_LENGTH) return `is longer than ${MAX_IMAGE_NAME_LENGTH} characters`;
  if (!IMAGE_NAME.test(name)) return "is not lowercase letters and digits joined by single '.', '_' or '-'";
  return undefined;
}

/**
 * Why `version` cannot be an image's version, or undefined when it can.
 *
 * @example
 * imageVersionProblem("1.0.0-rc.1+build.5"); // undefined
 * imageVersionProblem("../../x");            // "does not start with a letter, digit or '_' …"
 */
export function imageVersionProblem(version: unknown): string | undefined {
  if (typeof version !== "string") return "is not a string";
  if (version.length > MAX_IMAGE_VERSION_LENGTH) return `is longer than ${MAX_IMAGE_VERSION_LENGTH} characters`;
  if (!IMAGE_VERSION.test(version)) return "does not start with a letter, digit or '_' followed by letters, digits, '.', '_', '+' or '-'";
  return undefined;
}

/**
 * Why NAME:VERSION cannot be a tag, as the end of a "Cannot … as" message, or undefined when it can.
 *
 * @example
 * tagProblem("hello", "../x"); // "its version does not start with …: \"../x\""
 */
export function tagProblem(name: unknown, version: unknown): string | undefined {
  const nameProblem = imageNameProblem(name);
  if (nameProblem) return `its name ${nameProblem}: ${shortened(name)}`;
  const versionProblem = imageVersionProblem(version);
  if (versionProblem) return `its version ${versionProblem}: ${shortened(version)}`;
  return undefined;
}

/** A value as messages show it: quoted, and cut, as a 300-character tag is recognizable by its first 60. */
export function shortened(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 64 ? `${text.slice(0, 60)}…` : text;
}
