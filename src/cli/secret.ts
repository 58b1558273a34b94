// `ingot secret set|rm|ls --env E NAME`: secrets of an environment, encrypted at rest by the control
// plane. A value is read from standard input or a file, never from the command line, where other
// users (ps) and the shell's history would see it; it is never shown again.
import { readFile } from "node:fs/promises";
import { IngotError } from "../errors.ts";
import { callServer } from "../server/control-client.ts";
import type { SecretListing } from "../state/secret-store.ts";
import { flag, type Parsed } from "./args.ts";
import { requiredEnvironment } from "./config.ts";
import { table } from "./format.ts";

/**
 * @example
 * // $ printf %s "$TOKEN" | ingot secret set --env prod API_TOKEN
 * // prod: API_TOKEN set (config v4)
 */
export const secretVerb = {
  async run(args: Parsed): Promise<number> {
    const [action, name, ...extra] = args.positionals;
    const environment = requiredEnvironment(args, "secret");
    if (action === "ls" && name === undefined) {
      const secrets = await callServer<SecretListing[]>("POST", "/v1/secrets/list", { environment });
      if (flag(args, "json") === "true") console.log(JSON.stringify(secrets, null, 2));
      else console.log(secrets.length === 0 ? `${environment} has no secrets` : table([["NAME", "VALUE", "SET IN"], ...secrets.map((secret) => [secret.name, "[secret]", `v${secret.version}`])]));
      return 0;
    }
    if ((action === "set" || action === "rm") && name !== undefined && extra.length === 0) {
      if (name.includes("=")) {
        throw new IngotError(`Cannot take the secret ${name.slice(0, name.indexOf("="))} from the command line, where ps and the shell's history would keep it`, {
          code: "secret-on-command-line", hint: `Pipe it in: printf %s "$VALUE" | ingot secret set --env ${environment} ${name.slice(0, name.indexOf("="))} (or --from-file PATH)`,
        });
      }
      if (action === "rm") {
        console.log(`${environment}: ${name} removed (config v${(await callServer<{ version: number }>("POST", "/v1/secrets/rm", { environment, name })).version})`);
        return 0;
      }
      const value = await secretValue(flag(args, "from-file"));
      console.log(`${environment}: ${name} set (config v${(await callServer<{ version: number }>("POST", "/v1/secrets/set", { environment, name, value })).version})`);
      return 0;
    }
    throw new IngotError(`Cannot run ingot secret ${args.positionals.join(" ")} as it is not a secret command`, {
      code: "cli-unknown-command", hint: "Write ingot secret set --env E NAME (value on stdin or --from-file PATH), ingot secret rm --env E NAME, or ingot secret ls --env E",
    });
  },
};

/** The value from a file or standard input, without the one final newline an editor or echo adds. */
async function secretValue(file: string | undefined): Promise<string> {
  if (file === undefined && process.stdin.isTTY) {
    throw new IngotError("Cannot read the secret's value as standard input is a terminal", { code: "secret-no-value", hint: "Pipe the value in, or pass --from-file PATH" });
  }
  const raw = file === undefined ? await readStdin() : await readFile(file, "utf8").catch((error: unknown) => {
    throw new IngotError(`Cannot read the secret's value from ${file} as ${(error as Error).message}`, { code: "secret-file-unreadable", hint: "Check the path and its permissions" });
  });
  const value = raw.replace(/\r?\n$/, "");
  if (value === "") throw new IngotError("Cannot set an empty secret", { code: "secret-empty", hint: "Give the value on standard input or in the file" });
  return value;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
