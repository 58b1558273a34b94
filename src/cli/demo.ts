// `ingot demo [--cleanup] [--json]`: the whole story on this machine (src/demo/demo-story.ts), its
// progress as it happens and the summary table at the end; with --json the progress goes to
// standard error and the summary, as JSON, to standard output.
import { runDemo } from "../demo/demo-story.ts";
import { summaryTable } from "../demo/demo-summary.ts";
import { Vault } from "../vault/vault.ts";
import { flag, type Parsed } from "./args.ts";

export const demoVerb = {
  async run(args: Parsed): Promise<number> {
    const json = flag(args, "json") === "true";
    const write = json ? (line: string) => console.error(line) : (line: string) => console.log(line);
    const summary = await runDemo({ vault: await Vault.open(), write, cleanup: flag(args, "cleanup") === "true" });
    if (json) {
      console.log(JSON.stringify(summary, null, 2));
      return 0;
    }
    console.log("\nsummary");
    for (const line of summaryTable(summary)) console.log(`  ${line}`);
    if (!summary.cleanedUp) console.log(`\nThe environments keep running: ingot status; ingot logs -f; ingot demo --cleanup removes them.`);
    return 0;
  },
};
