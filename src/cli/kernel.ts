// `ingot kernel ls [--json]`: the kernels the vault holds, by digest, with what each was built from.
import { storedKernels } from "../image/kernel-store.ts";
import { IngotError } from "../errors.ts";
import { Vault } from "../vault/vault.ts";
import { flag, type Parsed } from "./args.ts";
import { formatBytes, table } from "./format.ts";

/**
 * @example
 * // $ ingot kernel ls
 * // RELEASE        DIGEST               SIZE      BUILT FROM
 * // 6.1.192-ingot  sha256:4c1f0e2a9b7d  1.9 MiB   linux-source-6.1 6.1.192-3
 */
export const kernelVerb = {
  async run(args: Parsed): Promise<number> {
    const [action = "ls"] = args.positionals;
    if (action !== "ls") {
      throw new IngotError(`Cannot run ingot kernel ${args.positionals.join(" ")} as it is not a kernel command`, { code: "cli-unknown-command", hint: "Write ingot kernel ls" });
    }
    const kernels = await storedKernels(await Vault.open());
    if (flag(args, "json") === "true") {
      console.log(JSON.stringify(kernels, null, 2));
      return 0;
    }
    if (kernels.length === 0) {
      console.log("No kernels in the vault yet; ingot build stores the one it uses");
      return 0;
    }
    console.log(table([
      ["RELEASE", "DIGEST", "SIZE", "MODULES", "BUILT FROM"],
      ...kernels.map((kernel) => [kernel.release, kernel.digest.slice(0, 19), formatBytes(kernel.size), kernel.modular ? "yes" : "none", kernel.source]),
    ]));
    return 0;
  },
};
