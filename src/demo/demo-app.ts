// The app `ingot demo` ships: a copy of examples/notes in a temporary folder (the example itself is
// never touched), and the changes that make its later versions, as data. Each change is a plain
// text edit a developer would make; the same edit gives the same image, so a second demo reuses it.
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { IngotError } from "../errors.ts";

/** examples/notes beside this checkout of ingot. */
export const NOTES_EXAMPLE = fileURLToPath(new URL("../../examples/notes", import.meta.url));

export interface AppEdit {
  file: string;
  /** Text that must occur in the file once; replaced by `to`. */
  from: string;
  to: string;
}

export interface DemoVersion {
  tag: string;
  /** What the version changes, as the demo says it. */
  story: string;
  edits: AppEdit[];
}

/** The setting v3 wants: what its crash says, and what the demo's log excerpt looks for. */
export const BUG_MARK = "NOTES_FEATURES";

/** v1 is the example as it is; v2 changes a page; v3 needs a setting no environment has, and crashes at start. */
export const DEMO_VERSIONS = {
  v1: { tag: "notes:1.0.0", story: "examples/notes as it is", edits: [] },
  v2: {
    tag: "notes:1.1.0", story: "a new heading on the page (src/page.ts)",
    edits: [{ file: "src/page.ts", from: "<h1>Notes</h1>", to: "<h1>Notes <small>(v1.1, shipped by ingot demo)</small></h1>" }],
  },
  v3: {
    tag: "notes:1.2.0", story: `a bug: it requires ${BUG_MARK}, which no environment sets, and exits at start (src/server.ts)`,
    edits: [{
      file: "src/server.ts",
      from: "const db = openDatabase(config.databaseUrl, log);",
      to: `if (!process.env.${BUG_MARK}) throw new Error("${BUG_MARK} is not set");\nconst db = openDatabase(config.databaseUrl, log);`,
    }],
  },
} satisfies Record<string, DemoVersion>;

/**
 * @example
 * const app = await DemoApp.copy();        // /tmp/ingot-demo-XXXX/notes
 * await app.apply(DEMO_VERSIONS.v2);        // edits src/page.ts
 * await app.remove();
 */
export class DemoApp {
  private constructor(readonly path: string, private readonly root: string) {}

  /** A copy of `source` without what a build makes (node_modules, dist). */
  static async copy(source = NOTES_EXAMPLE): Promise<DemoApp> {
    const root = await mkdtemp(join(tmpdir(), "ingot-demo-"));
    const path = join(root, basename(source));
    await cp(source, path, { recursive: true, filter: (file) => !["node_modules", "dist"].includes(basename(file)) }).catch(async (error: NodeJS.ErrnoException) => {
      await rm(root, { recursive: true, force: true });
      throw new IngotError(`Cannot copy the example app ${source} as ${error.code === "ENOENT" ? "it is missing" : error.message}`, {
        code: "demo-app-missing", hint: "Run ingot demo from a checkout of ingot, which has examples/notes (git clone, then bash scripts/setup.sh)",
      });
    });
    return new DemoApp(path, root);
  }

  async apply(version: DemoVersion): Promise<void> {
    for (const edit of version.edits) {
      const file = join(this.path, edit.file);
      const text = await readFile(file, "utf8");
      const at = text.indexOf(edit.from);
      if (at < 0 || text.indexOf(edit.from, at + 1) >= 0) {
        throw new IngotError(`Cannot make ${version.tag} of the demo as ${edit.file} of the example no longer has ${JSON.stringify(edit.from)} once`, {
          code: "demo-edit", hint: "examples/notes changed: update DEMO_VERSIONS in src/demo/demo-app.ts to match it",
        });
      }
      await writeFile(file, text.slice(0, at) + edit.to + text.slice(at + edit.from.length));
    }
  }

  /** Bound, so that it can be handed on as a cleanup (t.after(app.remove)). */
  readonly remove = async (): Promise<void> => {
    await rm(this.root, { recursive: true, force: true });
  };
}
