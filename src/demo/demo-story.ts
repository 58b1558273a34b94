// `ingot demo`: the seed's story end to end, on real parts, through the same control plane the
// verbs use. Build v1 of examples/notes → deploy it to dev → promote the same digest to test (two
// instances on an empty database) → v2 changes a page, only its app layer is rebuilt → blue/green
// to test under live load, a signed-in user's cookie taken before the switch and used after it →
// a broken v3 that never takes traffic → rollback → an excerpt of the logs → the summary table.
import { randomBytes } from "node:crypto";
import type { DeployReport, ProgressEvent } from "../deploy/deploy-engine.ts";
import type { EnvironmentRemoval } from "../deploy/environment-removal.ts";
import { removalSummary } from "../cli/env.ts";
import { lineFormatter } from "../cli/logs.ts";
import { deployProgress } from "../cli/deploy-progress.ts";
import { IngotError } from "../errors.ts";
import { buildImage, type BuildResult } from "../image/build.ts";
import { type LoadReport, startLoad } from "../load/live-load.ts";
import type { StoredLine } from "../logs/log-query.ts";
import { callServer, streamServer } from "../server/control-client.ts";
import type { EnvironmentStatus } from "../server/environment-status.ts";
import type { Vault } from "../vault/vault.ts";
import { BUG_MARK, DEMO_VERSIONS, DemoApp, type DemoVersion } from "./demo-app.ts";
import { type DemoBuild, type DemoDeploy, type DemoMigrations, type DemoSession, type DemoSummary, migrationsLine, shortImage } from "./demo-summary.ts";

/** The story's environments: the first gets each build, the second the promoted digest. */
const DEV = "dev";
const TEST = "test";
const USER = "demo";
/** What the load asks for: a page of notes read from PostgreSQL, as a user's browser would. */
const LOAD_PATH = "api/notes";
/**
 * Two clients, each pausing 100 ms between requests (about 15 a second): steady traffic that still
 * leaves cores to the instances booting beside the serving ones on a small host.
 */
const LOAD = { clients: 2, keepAlive: true, pauseMs: 100 };

/** The acts in order, as the progress numbers them. */
export const DEMO_ACTS = [
  "build v1",
  `deploy v1 to ${DEV}`,
  `promote ${DEV} → ${TEST}`,
  "change the app, build v2",
  `blue/green v2 to ${TEST} under load`,
  `broken v3 to ${TEST} under load`,
  `rollback ${TEST} under load`,
  "logs",
] as const;

export interface DemoOptions {
  vault: Vault;
  /** Progress lines, as they happen. */
  write: (line: string) => void;
  /** Remove the environments (instances, entry points, databases) at the end, also after a failure. */
  cleanup: boolean;
  /** The app to ship (examples/notes by default). */
  source?: string;
}

/**
 * @example
 * const summary = await runDemo({ vault, write: console.log, cleanup: false });
 * summary.deploys.every((deploy) => (deploy.load?.failed ?? 0) === 0); // true
 */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const { write } = options;
  const startedMs = Date.now();
  let act = 0;
  const next = (): void => write(`\n[${++act}/${DEMO_ACTS.length}] ${DEMO_ACTS[act - 1]}`);
  await refuseOtherApps([DEV, TEST]);
  const app = await DemoApp.copy(options.source);
  let done = false;
  try {
    const builds: DemoBuild[] = [];
    const deploys: DeployRun[] = [];
    const build = async (version: DemoVersion): Promise<BuildResult> => {
      await app.apply(version);
      write(`  ${version.tag}: ${version.story}`);
      const result = await buildImage(app.path, { vault: options.vault, tag: version.tag, log: (line) => write(`  │ ${line}`) });
      const rebuilt = result.layers.filter((layer) => !layer.cached).map((layer) => layer.name);
      builds.push({ ref: result.image, durationMs: result.durationMs, rebuilt });
      write(`  built ${result.image} (${result.digest.slice(0, 19)}) in ${(result.durationMs / 1000).toFixed(2)} s; layers ${result.layers.map((layer) => `${layer.name} ${layer.cached ? "from the vault" : "rebuilt"}`).join(", ")}`);
      return result;
    };

    next();
    const v1 = await build(DEMO_VERSIONS.v1);
    for (const environment of [DEV, TEST]) await ensureSessionKey(environment, write);

    next();
    deploys.push(await deploy(write, `v1 → ${DEV}`, "/v1/deploy", { environment: DEV, image: v1.digest }));

    next();
    const promoted = await deploy(write, `promote → ${TEST}`, "/v1/promote", { from: DEV, to: TEST, force: false });
    deploys.push(promoted);
    const { migrations, lines: migrationLines } = await migrationsOf(TEST, promoted.newInstances, promoted.startedMs);
    write(`  migrations in ${TEST}: ${migrationsLine(migrations)}`);
    const urls = { [DEV]: deploys[0]!.entryUrl, [TEST]: promoted.entryUrl };
    const cookie = await signIn(urls[TEST]!);
    const before = await pageOf(urls[TEST]!, cookie);
    write(`  ${USER} signed in at ${urls[TEST]} (a sealed cookie, served by ${before.image})`);

    next();
    const v2 = await build(DEMO_VERSIONS.v2);

    next();
    deploys.push(await deploy(write, `v2 → ${TEST} (blue/green)`, "/v1/deploy", { environment: TEST, image: v2.digest }, { loadUrl: urls[TEST] }));
    const after = await pageOf(urls[TEST]!, cookie);
    const session: DemoSession = { user: USER, signedInOn: before.image, readOn: after.image, valid: after.user === USER };
    write(`  the cookie taken before the switch, sent to ${after.image}: ${session.valid ? `still signed in as ${after.user}` : "signed out"}`);

    next();
    const v3 = await build(DEMO_VERSIONS.v3);
    const broken = await deploy(write, `v3 → ${TEST} (broken)`, "/v1/deploy", { environment: TEST, image: v3.digest }, { loadUrl: urls[TEST], mayFail: true });
    deploys.push(broken);
    const still = await pageOf(urls[TEST]!, cookie);
    write(`  ${TEST} still serves ${still.image}`);

    next();
    deploys.push(await deploy(write, `rollback ${TEST} → v1`, "/v1/rollback", { environment: TEST }, { loadUrl: urls[TEST] }));

    next();
    const logs = await logExcerpt(TEST, migrationLines, startedMs, write);
    done = true;
    return {
      image: imageOf(v1), builds, deploys: deploys.map(({ newInstances: _new, startedMs: _started, entryUrl: _url, ...rest }) => rest),
      session, migrations, urls, logs, cleanedUp: options.cleanup,
    };
  } finally {
    await app.remove();
    if (options.cleanup) await cleanUp([DEV, TEST], write, done);
  }
}

/** The demo deploys over whatever notes it left before, but never over another app. */
async function refuseOtherApps(environments: string[]): Promise<void> {
  for (const environment of environments) {
    const [status] = await callServer<EnvironmentStatus[]>("POST", "/v1/status", { environment });
    const serving = status?.serving?.imageRef;
    if (status?.running) {
      throw new IngotError(`Cannot run the demo as a deploy of ${status.running.imageRef} runs in ${environment}`, { code: "demo-busy", hint: `Wait for it (ingot status --env ${environment}), then run ingot demo again` });
    }
    if (serving !== undefined && !serving.startsWith("notes:")) {
      throw new IngotError(`Cannot run the demo in ${environment} as it serves ${serving}, which the demo would replace`, {
        code: "demo-occupied", hint: `Run it in a home of its own: INGOT_HOME=$(mktemp -d) ingot demo; or remove the environment first: ingot env rm ${environment}`,
      });
    }
  }
}

/** The session cookie's key, a secret of the environment: made once, kept across demos so users stay signed in. */
async function ensureSessionKey(environment: string, write: (line: string) => void): Promise<void> {
  const secrets = await callServer<{ name: string }[]>("POST", "/v1/secrets/list", { environment });
  if (secrets.some((secret) => secret.name === "SESSION_KEY")) return;
  await callServer("POST", "/v1/secrets/set", { environment, name: "SESSION_KEY", value: randomBytes(32).toString("hex") });
  write(`  secret SESSION_KEY of ${environment}: 32 random bytes (ingot secret ls --env ${environment})`);
}

interface DeployRun extends DemoDeploy {
  entryUrl: string;
  newInstances: string[];
  startedMs: number;
}

/** A deploy, rollback or promotion with its progress indented, under load when `loadUrl` serves already. */
async function deploy(write: (line: string) => void, act: string, path: string, body: Record<string, unknown>, options: { loadUrl?: string; mayFail?: boolean } = {}): Promise<DeployRun> {
  const startedMs = Date.now();
  const progress = deployProgress(false, (line) => write(`  ${line}`));
  const load = options.loadUrl ? startLoad(`${options.loadUrl}${LOAD_PATH}`, LOAD) : undefined;
  let newInstances: string[] = [];
  let bootToHealthyMs = 0;
  let report: DeployReport;
  let loadReport: LoadReport | undefined;
  try {
    report = await streamServer<DeployReport>(path, body, (raw) => {
      progress.event(raw);
      const event = raw as ProgressEvent;
      if (event.type === "deploy") newInstances = event.green;
      if (event.type === "step" && event.status === "done" && event.phase === "deploy" && (event.kind === "boot" || event.kind === "wait-healthy")) bootToHealthyMs += event.durationMs;
    });
  } finally {
    loadReport = await load?.stop();
  }
  const { deployment } = report;
  const outcome = deployment.state === "succeeded" ? "succeeded" : "failed";
  if (outcome === "failed" && !options.mayFail) {
    throw new IngotError(`Cannot go on with the demo as ${act} failed: ${deployment.reason ?? "no reason given"}`, { code: "demo-deploy-failed", hint: `ingot events --env ${deployment.environment} shows each step; ingot logs --env ${deployment.environment} the instances' lines` });
  }
  const served = loadReport ? `; clients sent ${loadReport.requests} requests, ${loadReport.failures.length} failed` : "";
  write(outcome === "succeeded"
    ? `  ${deployment.imageRef} serves ${deployment.environment} at ${report.entryUrl}${served}`
    : `  refused as expected: ${deployment.reason}; the previous version kept serving${served}`);
  for (const failure of loadReport?.failures.slice(0, 5) ?? []) write(`  failed request: ${failure}`);
  return {
    act, environment: deployment.environment, image: deployment.imageRef, outcome,
    ...(deployment.reason && outcome === "failed" ? { reason: deployment.reason } : {}),
    ...(outcome === "succeeded" ? { bootToHealthyMs } : {}),
    durationMs: Date.now() - startedMs,
    ...(loadReport ? { load: { requests: loadReport.requests, failed: loadReport.failures.length, failures: loadReport.failures.slice(0, 20) } } : {}),
    entryUrl: report.entryUrl, newInstances, startedMs,
  };
}

/** Signs in at the page's form, as a browser would; the sealed cookie it answers with. */
async function signIn(url: string): Promise<string> {
  const response = await fetch(`${url}sign-in`, { method: "POST", body: new URLSearchParams({ name: USER }), redirect: "manual", signal: AbortSignal.timeout(15_000) });
  const cookie = response.headers.getSetCookie().map((header) => header.split(";")[0]!).join("; ");
  if (response.status !== 303 || cookie === "") throw new IngotError(`Cannot sign in at ${url} as it answered ${response.status} without a session cookie`, { code: "demo-sign-in", hint: "The example's sign-in changed: see examples/notes/src/routes/pages.ts" });
  return cookie;
}

/** The image the page says served it, and the user it says is signed in. */
async function pageOf(url: string, cookie: string): Promise<{ image: string; user: string | undefined }> {
  const response = await fetch(url, { headers: { cookie }, signal: AbortSignal.timeout(15_000) });
  const page = await response.text();
  const image = /image <code>([^<]+)<\/code>/.exec(page)?.[1];
  if (response.status !== 200 || image === undefined) throw new IngotError(`Cannot read the page at ${url} as it answered ${response.status}${image ? "" : " without the image banner"}`, { code: "demo-page", hint: `ingot logs --env ${TEST} shows what the instances said` });
  return { image: shortImage(image), user: /Signed in as <strong id="user">([^<]+)<\/strong>/.exec(page)?.[1] };
}

/** Who applied which migration as the instances started together, from their own log lines (they arrive shortly after healthy). */
async function migrationsOf(environment: string, instances: string[], sinceMs: number): Promise<{ migrations: DemoMigrations; lines: StoredLine[] }> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { lines } = await callServer<{ lines: StoredLine[] }>("POST", "/v1/logs", { environment, grep: "migration", sinceMs, sources: ["app"], limit: 100 });
    const ours = lines.filter((line) => instances.includes(line.instance ?? ""));
    const applied: Record<string, string[]> = {};
    const upToDate: string[] = [];
    for (const line of ours) {
      const name = /^migration (\S+) applied/.exec(line.message)?.[1];
      if (name) (applied[name] ??= []).push(line.instance!);
      else if (line.message.startsWith("database schema up to date")) upToDate.push(line.instance!);
    }
    const reported = new Set([...Object.values(applied).flat(), ...upToDate]);
    if (instances.every((instance) => reported.has(instance)) || Date.now() > deadline) return { migrations: { environment, instances, applied, upToDate }, lines: ours };
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** What `ingot logs` shows of the story: the migrations as test started, and v3's crash, with the commands that show them. */
async function logExcerpt(environment: string, migrationLines: StoredLine[], sinceMs: number, write: (line: string) => void): Promise<string[]> {
  const excerpt: string[] = [];
  const print = lineFormatter(false, (text) => {
    excerpt.push(text);
    write(`  ${text}`);
  });
  write(`  $ ingot logs --env ${environment} --grep migration`);
  for (const line of migrationLines) print(line);
  write(`  $ ingot logs --env ${environment} --level error --grep ${BUG_MARK}`);
  const { lines } = await callServer<{ lines: StoredLine[] }>("POST", "/v1/logs", { environment, level: "error", grep: BUG_MARK, sinceMs, limit: 4 });
  for (const line of lines) print(line);
  return excerpt;
}

/** Removes what the demo runs: instances, entry points and the environments' databases with their data. */
async function cleanUp(environments: string[], write: (line: string) => void, succeeded: boolean): Promise<void> {
  write(`\ncleaning up${succeeded ? "" : " after the failure"}: ${environments.join(", ")}`);
  for (const environment of environments) {
    try {
      const removal = await streamServer<EnvironmentRemoval>("/v1/environments/remove", { environment, deleteData: true }, () => {});
      write(`  ${removalSummary(removal).split("\n")[0]}`);
    } catch (error) {
      write(`  ${environment}: ${(error as Error).message} (ingot env rm ${environment} --delete-data)`);
      if (succeeded) throw error;
    }
  }
}

function imageOf(build: BuildResult): DemoSummary["image"] {
  const { manifest } = build;
  const layers = manifest.layers.map(({ name, size, uncompressedSize }) => ({ name, size, uncompressedSize }));
  return { ref: build.image, digest: build.digest, kernelBytes: manifest.kernel.size, layers, totalBytes: manifest.kernel.size + layers.reduce((sum, layer) => sum + layer.size, 0) };
}
