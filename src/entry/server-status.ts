// The servers of a backend as HAProxy's `show stat` reports them: CSV read by header names, because
// the column order is only promised per version ("show stat" in HAProxy's management guide, §9.1).

/** A server's state for load balancing; HAProxy's words without the "1/3"-style transition counters. */
export type ServerState = "UP" | "DOWN" | "MAINT" | "DRAIN" | "NOLB";

export interface ServerStatus {
  name: string;
  address: string;
  port: number;
  state: ServerState;
  /** HAProxy's status as it wrote it, e.g. "UP 1/3" (up, one failed check towards down) or "no check". */
  statusText: string;
  /** Sessions on the server now (`scur`): a drained server is done when this reaches 0. */
  currentSessions: number;
  /** The user weight (`uweight`): 0 takes no new requests from the balancer. */
  weight: number;
  /** The last health check: `check_status` (L7OK, L7STS, L4CON, …), `check_code`, `check_desc`, `last_chk`. */
  check: { status: string; code: string; description: string; detail: string };
}

/**
 * @example
 * serverStatuses(await api.command("show stat"), "prod")
 * // [{ name: "web-1", address: "127.0.0.1", port: 41234, state: "UP", currentSessions: 0, weight: 1, … }]
 */
export function serverStatuses(csv: string, backend: string): ServerStatus[] {
  return serverRows(csv, backend).map((column) => {
    const addr = column("addr");
    const portAt = addr.lastIndexOf(":");
    const statusText = column("status");
    return {
      name: column("svname"),
      address: addr.slice(0, portAt).replace(/^\[|\]$/g, ""),
      port: Number(addr.slice(portAt + 1)),
      state: serverState(statusText),
      statusText,
      currentSessions: Number(column("scur")),
      weight: Number(column("uweight") || column("weight")),
      check: {
        // A check in progress is reported as "* L7OK": the last known result.
        status: column("check_status").replace(/^\* /, ""),
        code: column("check_code"),
        description: column("check_desc"),
        detail: column("last_chk"),
      },
    };
  });
}

/**
 * The rows of a backend's servers in `show stat`'s CSV, each as a reader of its columns by name
 * ("" for a column HAProxy did not write).
 *
 * @example
 * serverRows(await api.command("show stat"), "prod").map((column) => column("svname")); // ["slot1", "slot2", …]
 */
export function serverRows(csv: string, backend: string): ((name: string) => string)[] {
  const [headerLine, ...lines] = csv.split("\n").filter((line) => line.trim() !== "");
  if (!headerLine?.startsWith("# ")) return [];
  const header = headerLine.slice(2).split(",");
  return lines
    .map((line) => {
      const fields = line.split(",");
      return (name: string): string => fields[header.indexOf(name)] ?? "";
    })
    .filter((column) => column("pxname") === backend && column("type") === "2");
}

function serverState(statusText: string): ServerState {
  // "no check": HAProxy balances to a server without health checks as if it were up.
  if (statusText === "no check") return "UP";
  const word = /^[A-Z]+/.exec(statusText)?.[0];
  return word === "UP" || word === "DOWN" || word === "MAINT" || word === "DRAIN" || word === "NOLB" ? word : "DOWN";
}
