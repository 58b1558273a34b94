// Test fixture for the state modules: a fresh state database in a temp folder, removed afterwards.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StateDatabase } from "./database.ts";

/**
 * Opens a new state database in its own temp folder; `remove()` closes it and deletes the folder.
 *
 * @example
 * const { state, remove } = tempState();
 * after(remove);
 */
export function tempState(): { state: StateDatabase; folder: string; remove: () => void } {
  const folder = join(mkdtempSync(join(tmpdir(), "ingot-state-")), "state");
  const state = StateDatabase.open({ folder });
  return {
    state,
    folder,
    remove: () => {
      if (state.sqlite.open) state.close();
      rmSync(join(folder, ".."), { recursive: true, force: true });
    },
  };
}
