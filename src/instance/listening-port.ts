// Where the app listens, against where ingot expects it: which guest port an instance's service
// forward leads to when ingot.yaml declares no port, and what to tell the user when the two differ.
// Plain functions of init's reports (src/vm/init-lines.ts), so the policy is tested as data.
import { describeSocket, type ListeningSocket } from "../vm/init-lines.ts";

/**
 * The guest port the service forward should lead to: the expected one while the app listens there
 * or nowhere yet, else the first port the app listens on that the host can reach.
 *
 * @example
 * followedPort(8080, [{ port: 3000, reachable: true }]); // 3000
 * followedPort(8080, [{ port: 9229, address: "127.0.0.1", reachable: false }]); // 8080
 */
export function followedPort(expected: number, listening: ListeningSocket[] | undefined): number {
  const reachable = (listening ?? []).filter((socket) => socket.reachable);
  if (reachable.length === 0 || reachable.some((socket) => socket.port === expected)) return expected;
  return reachable[0]!.port;
}

/**
 * Why nothing answers on the expected port, from what init reported; undefined while the app
 * listens there, or before init said anything.
 *
 * @example
 * listeningProblem(8080, []); // "the app listens on no TCP port"
 * listeningProblem(8080, [{ port: 3000, reachable: true }]); // "the app listens on 3000, not on 8080"
 */
export function listeningProblem(expected: number, listening: ListeningSocket[] | undefined): string | undefined {
  if (listening === undefined) return undefined;
  if (listening.length === 0) return "the app listens on no TCP port";
  const reachable = listening.filter((socket) => socket.reachable);
  if (reachable.some((socket) => socket.port === expected)) return undefined;
  if (reachable.length > 0) return `the app listens on ${reachable.map(describeSocket).join(", ")}, not on ${expected}`;
  return `the app listens on ${listening.map(describeSocket).join(", ")} only, which cannot be reached from outside the guest, not on ${expected}`;
}

/**
 * What to do about listeningProblem's problem, as an error's hint.
 *
 * @example
 * listeningHint(8080, []); // "Make the app listen on 8080 (its PORT) on every address; …"
 */
export function listeningHint(expected: number, listening: ListeningSocket[] | undefined): string {
  if (!listening || listening.length === 0) return `Make the app listen on ${expected} (its PORT) on every address; the console lines above show what it did instead`;
  if (listening.some((socket) => socket.reachable)) return `Make the app listen on ${expected} (its PORT), or declare the port it listens on under ports: in ingot.yaml`;
  return "Make the app listen on every address (0.0.0.0 or ::): the host reaches the guest's own address, never its loopback";
}

export interface ListenAdviceInput {
  /** The guest port the image expects the app on (its PORT); undefined when it declares none. */
  expected: number | undefined;
  /** True when ingot.yaml declares no port, so the instance follows the app (ImageManifest.portSource). */
  follows: boolean;
  /** Guest ports with a host forward of their own (ingot run -p). */
  published: number[];
  /** The host port of the expected port's forward, which leads to the followed port. */
  hostPort: number | undefined;
  listening: ListeningSocket[] | undefined;
}

/**
 * What `ingot run` says when the app listens elsewhere than expected; undefined when all is well
 * or init has not said where the app listens.
 *
 * @example
 * listenAdvice({ expected: 8080, follows: true, published: [], hostPort: 41234, listening: [{ port: 3000, reachable: true }] });
 * // "the app listens on 3000, not on 8080: use -p HOST:3000, or ports: in ingot.yaml (meanwhile http://127.0.0.1:41234 leads to 3000)"
 */
export function listenAdvice({ expected, follows, published, hostPort, listening }: ListenAdviceInput): string | undefined {
  if (!listening || listening.length === 0) return undefined;
  const reachable = listening.filter((socket) => socket.reachable);
  if (reachable.some((socket) => published.includes(socket.port))) return undefined;
  if (reachable.length === 0) {
    return `the app listens on ${listening.map(describeSocket).join(", ")} only, which cannot be reached from outside the guest: make it listen on every address (0.0.0.0 or ::)`;
  }
  const first = reachable[0]!.port;
  if (expected === undefined) return `the app listens on ${reachable.map(describeSocket).join(", ")}, which ingot.yaml does not declare: add ports: {http: ${first}} to ingot.yaml`;
  const problem = listeningProblem(expected, listening);
  if (!problem) return undefined;
  if (follows) return `${problem}: use -p HOST:${first}, or ports: in ingot.yaml${hostPort === undefined ? "" : ` (meanwhile http://127.0.0.1:${hostPort} leads to ${first})`}`;
  return `${problem}: make it listen on ${expected} (its PORT), or declare ports: {http: ${first}} in ingot.yaml`;
}
