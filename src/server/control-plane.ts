// The parts of `ingot server`, put together once: state, vault, secrets, the QEMU provider, the live
// instances, the entry points and the deploy engine, and the API routes over them. Starting it
// adopts what the last server left running before the API answers.
import { join } from "node:path";
import { Accessories } from "../accessory/accessories.ts";
import { CanaryWatch } from "../deploy/canary-watch.ts";
import { DeployEngine } from "../deploy/deploy-engine.ts";
import { CapacityKeeper } from "../deploy/capacity-keeper.ts";
import { HealthWatch } from "../deploy/health-watch.ts";
import { recover } from "../deploy/deploy-recovery.ts";
import { EntryPoints } from "../entry/entry-points.ts";
import { EntrySupervisor } from "../entry/entry-supervisor.ts";
import { LiveInstances } from "../instance/live-instances.ts";
import { QemuProvider } from "../providers/qemu/qemu-provider.ts";
import { StateDatabase } from "../state/database.ts";
import { EventLog } from "../state/events.ts";
import { InstanceRecords } from "../state/instances.ts";
import { type LogService, openLogService } from "../logs/log-service.ts";
import { InstanceLogs } from "../logs/instance-logs.ts";
import { forwardingFor } from "../logs/forward/log-forwarding.ts";
import { logForwardTargets } from "../image/manifest.ts";
import { SecretStore } from "../state/secret-store.ts";
import { Vault } from "../vault/vault.ts";
import { accessoryRoutes } from "./accessory-routes.ts";
import type { Route } from "./control-server.ts";
import { deployRoutes } from "./deploy-routes.ts";
import { environmentRoutes } from "./environment-routes.ts";
import { eventRoutes } from "./event-routes.ts";
import { logRoutes } from "./log-routes.ts";
import { scaleRoutes } from "./scale-routes.ts";
import { serverPaths } from "./server-paths.ts";

export interface ControlPlane {
  engine: DeployEngine;
  /** Undefined when the log store could not open: deploys go on, `ingot logs` says why. */
  logs: LogService | undefined;
  routes: Route[];
  close: () => void;
}

/**
 * @example
 * const plane = await openControlPlane(home, (line) => console.error(line));
 * await ControlServer.start({ home, routes: plane.routes });
 */
export async function openControlPlane(home: string, log: (line: string) => void): Promise<ControlPlane> {
  const state = StateDatabase.open({ folder: join(home, "state") });
  let logService: LogService | undefined;
  try {
    const vault = await Vault.open(home);
    const secrets = new SecretStore(state);
    // Each environment forwards as its newest instance's image says (logs.forward in ingot.yaml).
    // The instances exist only after the log service (below); lines before that forward nowhere.
    const running: { live?: LiveInstances } = {};
    const forwarding = forwardingFor((environment) => {
      const newest = running.live?.in(environment).at(-1);
      return newest ? logForwardTargets(newest.manifest, environment) : [];
    });
    // Before instances are adopted, so that their logs are taken in again. A damaged log store or a
    // taken port must not keep instances from being adopted and served: they run without it.
    const logs = await openLogService(home, serverPaths(home).dir, log, { forwarding }).catch((error: unknown) => error as Error);
    if (logs instanceof Error) log(`logs: unavailable: ${logs.message}`);
    else log(`logs: syslog (RFC 5424, TCP octet-counted or UDP) on 127.0.0.1:${logs.listener.port}`);
    logService = logs instanceof Error ? undefined : logs;
    const entryPoints = new EntryPoints(join(serverPaths(home).dir, "entry"), logService ? { accessLog: { host: "127.0.0.1", port: logService.listener.port } } : {});
    const provider = new QemuProvider(vault, { outlivesIngot: true, ...(logService ? { logs: new InstanceLogs(logService.store, logService.listener) } : {}) });
    const live = new LiveInstances({ provider, records: new InstanceRecords(state), events: new EventLog(state), entryPoints });
    running.live = live;
    // A deploy or a replacement may bring an image that forwards elsewhere.
    live.subscribe(() => forwarding.refresh());
    const accessories = new Accessories(state, secrets, home, log);
    const engine = new DeployEngine({ state, vault, secrets, entryPoints, live, accessories });
    const keeper = new CapacityKeeper(engine, log);
    const canaries = new CanaryWatch(engine, logService?.store, log);
    const healthWatch = new HealthWatch(live, (environment) => entryPoints.get(environment), (environment) => engine.deployments.running(environment) !== undefined, log);
    // Recovery may drain and stop what an interrupted deploy left (a drain timeout or more), so the
    // server listens at once and its routes answer once it is done: a client waits for an answer
    // about the settled state, not for a server that seems not to start.
    let closed = false;
    let stopWatchingAccessories = (): void => {};
    // Accessories first: the instances a recovery adopts or boots find their database up. One that
    // cannot start is logged and left (its deploys say why); the rest of the server goes on.
    const recovered = accessories.startAll().then(() => recover(engine, log)).then(() => {
      if (closed) return;
      stopWatchingAccessories = accessories.watch();
      keeper.watch();
      engine.onSettled((environment) => void keeper.replenish(environment));
      healthWatch.start();
      canaries.start();
      // Instances that were gone at the restart are replaced in the background; the API answers meanwhile.
      for (const environment of engine.environments.list()) void keeper.replenish(environment.name);
    });
    recovered.catch((error: unknown) => log(`cannot recover what the last server left: ${(error as Error).message}`));
    // At once, not after recovery: each entry point is watched from its adoption on (a recovery
    // that restores a gone one and a look that finds it gone share one start again).
    const supervisor = superviseEntryPoints(engine, log);
    return {
      engine, logs: logService, routes: afterRecovery([...environmentRoutes(state), ...deployRoutes(engine, canaries), ...scaleRoutes(engine, keeper), ...eventRoutes(engine.events, engine.environments), ...logRoutes(logs), ...accessoryRoutes(state, accessories, live)], recovered),
      close: () => { closed = true; stopWatchingAccessories(); supervisor.close(); healthWatch.close(); canaries.close(); keeper.close(); void logService?.close(); state.close(); },
    };
  } catch (error) {
    await logService?.close();
    state.close();
    throw error;
  }
}

/** Routes that answer once `recovered` settles; a failed recovery is every route's answer. */
function afterRecovery(routes: Route[], recovered: Promise<void>): Route[] {
  return routes.map((route) => ({ ...route, handle: async (...args) => { await recovered; return route.handle(...args); } }));
}

/**
 * A HAProxy that dies is started again, unless its environment was stopped (`ingot stop`) and has no
 * instance left: the stop keeps it up for its 503 page, and the next deploy starts it again.
 */
function superviseEntryPoints(engine: DeployEngine, log: (line: string) => void): EntrySupervisor {
  const supervisor = new EntrySupervisor({
    entryPoints: engine.parts.entryPoints,
    shouldServe: (entry) => engine.parts.live.in(entry.backend).length > 0
      || engine.environments.list().find((environment) => environment.name === entry.backend)?.stoppedMs === null,
    record: (event) => engine.events.append(event),
    log,
  });
  supervisor.watch();
  return supervisor;
}
