// QMP, QEMU's control socket: the graceful stop (Ctrl-Alt-Del) and the host forwards of the user
// network, which can lead elsewhere while the guest runs (HMP's hostfwd_add and hostfwd_remove).
import { createConnection } from "node:net";
import { IngotError } from "../errors.ts";
import { NETDEV_ID, type PortForward } from "./qemu-args.ts";

interface QmpCommand {
  execute: string;
  arguments?: Record<string, unknown>;
}

/**
 * Runs commands in order on a fresh connection and resolves with their "return" values; a QMP
 * "error" rejects.
 *
 * @example
 * await qmpExecute(socket, [{ execute: "human-monitor-command", arguments: { "command-line": "info usernet" } }]); // ["Hub -1 (net0): …"]
 */
export function qmpExecute(socket: string, commands: QmpCommand[]): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const connection = createConnection(socket);
    const results: unknown[] = [];
    let buffer = "";
    let greeted = false;
    connection.on("error", reject);
    connection.on("close", () => reject(new Error(`QMP closed after ${results.length} of ${commands.length} commands`)));
    // The greeting first; then each command answers with one line, events may come in between.
    const send = (): void => {
      const next = results.length === 0 ? { execute: "qmp_capabilities" } : commands[results.length - 1]!;
      connection.write(JSON.stringify(next) + "\n");
    };
    connection.on("data", (chunk) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const reply = JSON.parse(buffer.slice(0, newline)) as { QMP?: unknown; return?: unknown; error?: { desc: string } };
        buffer = buffer.slice(newline + 1);
        if (reply.QMP !== undefined && !greeted) {
          greeted = true;
          send();
        } else if (reply.error) {
          connection.destroy();
          reject(new Error(`QMP ${results.length === 0 ? "qmp_capabilities" : commands[results.length - 1]!.execute}: ${reply.error.desc}`));
        } else if ("return" in reply) {
          results.push(reply.return);
          if (results.length > commands.length) {
            connection.removeAllListeners("close");
            connection.end();
            resolve(results.slice(1));
            return;
          }
          send();
        }
      }
    });
  });
}

/** Asks the guest to stop gracefully (ctrl-alt-del over QMP: init takes it as SIGINT). */
export async function sendCtrlAltDel(socket: string): Promise<void> {
  const keys = ["ctrl", "alt", "delete"].map((data) => ({ type: "qcode", data }));
  await qmpExecute(socket, [{ execute: "send-key", arguments: { keys } }]);
}

/**
 * The host forwards in HMP's `info usernet` table.
 *
 * @example
 * hostForwards("  TCP[HOST_FORWARD]   8       127.0.0.1 47111       10.0.2.15  8080     0     0"); // [{ hostPort: 47111, guestPort: 8080 }]
 */
export function hostForwards(infoUsernet: string): PortForward[] {
  return [...infoUsernet.matchAll(/^\s*TCP\[HOST_FORWARD\]\s+\d+\s+\S+\s+(\d+)\s+\S+\s+(\d+)/gm)]
    .map((match) => ({ hostPort: Number(match[1]), guestPort: Number(match[2]) }));
}

/**
 * The HMP commands that make host port `wanted.hostPort` lead to `wanted.guestPort`: none when it
 * does already, so asking twice (an adopted instance) never drops a connection.
 *
 * @example
 * forwardCommands([{ hostPort: 41234, guestPort: 8080 }], { hostPort: 41234, guestPort: 3000 });
 * // ["hostfwd_remove net0 tcp:127.0.0.1:41234", "hostfwd_add net0 tcp:127.0.0.1:41234-:3000"]
 */
export function forwardCommands(current: PortForward[], wanted: PortForward): string[] {
  const existing = current.find((forward) => forward.hostPort === wanted.hostPort);
  if (existing?.guestPort === wanted.guestPort) return [];
  const rule = `tcp:127.0.0.1:${wanted.hostPort}`;
  return [...(existing ? [`hostfwd_remove ${NETDEV_ID} ${rule}`] : []), `hostfwd_add ${NETDEV_ID} ${rule}-:${wanted.guestPort}`];
}

/**
 * Makes a host port of a running instance lead to another guest port. Between the two commands
 * the host port is closed for a moment; it stays reserved to the instance (port-reservations.ts).
 */
export async function leadForward(socket: string, wanted: PortForward): Promise<void> {
  const hmp = (line: string): QmpCommand => ({ execute: "human-monitor-command", arguments: { "command-line": line } });
  const [table] = await qmpExecute(socket, [hmp("info usernet")]);
  const commands = forwardCommands(hostForwards(String(table)), wanted);
  if (commands.length === 0) return;
  const answers = await qmpExecute(socket, commands.map(hmp));
  // hostfwd_remove answers "… removed"; hostfwd_add answers nothing when it worked.
  const failure = String(answers.at(-1)).trim();
  if (failure) {
    throw new IngotError(`Cannot forward host port ${wanted.hostPort} to guest port ${wanted.guestPort} as QEMU says: ${failure}`, {
      code: "forward-failed", hint: `Declare the port under ports: in ingot.yaml (e.g. http: ${wanted.guestPort}) so that it is forwarded from the start`,
    });
  }
}
