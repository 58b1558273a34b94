// `ingot lock [DIR] [--update]`: pins every input of the app's image in DIR/ingot.lock without
// building it; --update re-resolves each to what this host and the registry have now.
import { loadAppConfig } from "../config/app-config.ts";
import { pinInputs } from "../image/build.ts";
import { LOCK_FILE } from "../lock/lock-file.ts";
import { Vault } from "../vault/vault.ts";
import { flag, type Parsed } from "./args.ts";

/**
 * @example
 * // $ ingot lock examples/hello --update
 * // lock: node 22.23.3 → 22.23.5
 * // examples/hello/ingot.lock: 1 change
 */
export const lockVerb = {
  async run(args: Parsed): Promise<number> {
    const dir = args.positionals[0] ?? ".";
    const config = await loadAppConfig(dir);
    const { gathered, changes } = await pinInputs(config, await Vault.open(), { updateLock: flag(args, "update") === "true" }, (line) => console.error(line));
    await gathered.cleanup();
    console.log(changes.length === 0 ? `${dir}/${LOCK_FILE} is up to date` : `${dir}/${LOCK_FILE}: ${changes.length} change${changes.length === 1 ? "" : "s"}`);
    return 0;
  },
};
