// `ingot accessory add|ls|logs|psql|rm`: the services the control plane runs beside an environment's
// instances (a PostgreSQL for dev, docs/accessories.md). psql is the host's, run here by the CLI
// against the accessory's socket, with the password the server hands over its owner-only socket.
import { spawn } from "node:child_process";
import type { AccessoryView } from "../accessory/accessories.ts";
import { ACCESSORY_KINDS } from "../accessory/accessory-kind.ts";
import { IngotError } from "../errors.ts";
import { callServer } from "../server/control-client.ts";
import { flag, lineCount, type Parsed } from "./args.ts";
import { requiredEnvironment } from "./config.ts";
import { table } from "./format.ts";

/**
 * @example
 * // $ ingot accessory add postgres --env dev
 * // dev: accessory db (postgres) running; the app gets DATABASE_URL=postgres://app:[secret]@10.0.2.102:5432/app on its next deploy
 */
export const accessoryVerb = {
  async run(args: Parsed): Promise<number> {
    const [action, subject, ...rest] = args.positionals;
    const json = flag(args, "json") === "true";
    if (action === "ls" && subject === undefined) {
      const environment = flag(args, "env");
      const accessories = await callServer<AccessoryView[]>("POST", "/v1/accessories/list", environment ? { environment } : {});
      if (json) console.log(JSON.stringify(accessories, null, 2));
      else if (accessories.length === 0) console.log(`${environment ?? "no environment"} has no accessories; add one: ingot accessory add postgres --env ${environment ?? "dev"}`);
      else console.log(table([["ENV", "NAME", "KIND", "STATE", "VARIABLE", "GUEST ADDRESS", "DATA"], ...accessories.map((accessory) => [accessory.environment, accessory.name, accessory.kind, accessory.pid ? `${accessory.state} (pid ${accessory.pid})` : accessory.state, accessory.variable, accessory.guestAddress, accessory.dataDir])]));
      return 0;
    }
    if (action === "add" && subject !== undefined && rest.length === 0) {
      const environment = requiredEnvironment(args, "accessory add");
      const accessory = await callServer<AccessoryView>("POST", "/v1/accessories/add", { environment, kind: subject, ...nameOption(args) });
      if (json) console.log(JSON.stringify(accessory, null, 2));
      else console.log(`${environment}: accessory ${accessory.name} (${accessory.kind}) ${accessory.state}; instances get ${accessory.variable}=postgres://app:[secret]@${accessory.guestAddress}/app from their next deploy (data: ${accessory.dataDir})`);
      return 0;
    }
    if (action === "rm" && subject !== undefined && rest.length === 0) {
      const environment = requiredEnvironment(args, "accessory rm");
      const deleteData = flag(args, "delete-data") === "true";
      const accessory = await callServer<AccessoryView>("POST", "/v1/accessories/rm", { environment, name: subject, deleteData });
      if (json) console.log(JSON.stringify({ ...accessory, deletedData: deleteData }, null, 2));
      else console.log(`${environment}: accessory ${accessory.name} stopped and removed, ${accessory.variable} with it; ${deleteData ? "its data is deleted" : `its data is kept in ${accessory.dataDir} (add it again to serve it)`}`);
      return 0;
    }
    if (action === "logs" && subject !== undefined && rest.length === 0) {
      const environment = requiredEnvironment(args, "accessory logs");
      const lines = await callServer<string[]>("POST", "/v1/accessories/logs", { environment, name: subject, lines: lineCount(args, 100) });
      console.log(json ? JSON.stringify(lines) : lines.join("\n"));
      return 0;
    }
    if (action === "psql" && subject !== undefined) {
      const environment = requiredEnvironment(args, "accessory psql");
      const { argv, password } = await callServer<{ argv: string[]; password: string }>("POST", "/v1/accessories/psql", { environment, name: subject, args: rest });
      return runPsql(argv, password);
    }
    throw new IngotError(`Cannot run ingot accessory ${args.positionals.join(" ")} as it is not an accessory command`, {
      code: "cli-unknown-command",
      hint: `Write ingot accessory add ${ACCESSORY_KINDS.join("|")} --env E [--name N], ls [--env E], logs NAME --env E, psql NAME --env E [-- ARGS], or rm NAME --env E [--delete-data]`,
    });
  },
};

function nameOption(args: Parsed): { name?: string } {
  const name = flag(args, "name");
  return name === undefined ? {} : { name };
}

/** psql on this terminal; its password in its environment (PGPASSWORD), never on its command line. */
function runPsql(argv: string[], password: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: "inherit", env: { ...process.env, PGPASSWORD: password } });
    child.once("error", (error) => reject(new IngotError(`Cannot run ${argv[0]} as ${error.message}`, { code: "accessory-psql-missing", hint: "Install it: apt-get install postgresql-client" })));
    child.once("close", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}
