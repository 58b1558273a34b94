// Domain errors: every error a user can meet carries a stable code and a hint saying what to do.

/**
 * An error the CLI reports as `error: <message>` followed by its hint.
 *
 * @example
 * throw new IngotError("Cannot read ingot.yaml as it is not valid YAML: line 3", {
 *   code: "config-syntax",
 *   hint: "Fix the indentation on line 3",
 * });
 */
export class IngotError extends Error {
  override name = "IngotError";
  readonly code: string;
  readonly hint: string | undefined;
  /** The CLI's exit status for this error; 1 unless the error carries a more telling one. */
  readonly exitCode: number;

  constructor(message: string, options: { code: string; hint?: string; cause?: unknown; exitCode?: number }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
  }
}
