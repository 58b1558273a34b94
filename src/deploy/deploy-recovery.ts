// What a starting control plane does with what the last one left: adopt the entry points and the
// instances that still run (a gone one is recorded as failed and taken out of its entry point), put
// serving instances back into an entry point that had to be started again, and finish or undo a
// deploy the last server did not end: finished when its new instances already served, else undone.
// The last server may have died at any moment (SIGKILL): between spawning a QEMU and recording it,
// between a runtime API command and saving the slots, between the switch and recording it done.
import type { DeployEngine } from "./deploy-engine.ts";
import { resumeDecision } from "./deploy-resume.ts";
import { deploySettings } from "./deploy-settings.ts";
import type { EntryPoint } from "../entry/entry-point.ts";
import { entryHealthcheck } from "../entry/entry-points.ts";
import type { Instance } from "../instance/instance.ts";
import type { Deployment } from "../state/deployments.ts";
import { isRunning } from "../process/process-identity.ts";
import { endUnrecordedQemu } from "../providers/qemu/unrecorded-qemu.ts";
import { type InstanceRecord, InstanceRecords } from "../state/instances.ts";
import { readManifest } from "../vault/image-ref.ts";

/**
 * @example
 * await recover(engine, (line) => console.error(line));
 * // adopted instance i-3f2a of prod (pid 4242)
 * // deploy 7 of prod: undone, interrupted by a restart of ingot server before its switch
 */
export async function recover(engine: DeployEngine, log: (line: string) => void): Promise<void> {
  const { live, entryPoints, vault, state } = engine.parts;
  const records = new InstanceRecords(state);
  for (const environment of await entryPoints.adoptAll()) log(`adopted the entry point of ${environment}`);
  for (const record of records.live()) {
    // Killed while it booted one: a QEMU that runs without a record would serve nobody and never end.
    if (record.pid === null) {
      const ended = await endUnrecordedQemu(record.id);
      if (ended.length > 0) log(`ended QEMU ${ended.join(", ")} of instance ${record.id}, started but never recorded by the last server`);
    }
    if (await stoppedWhileDown(engine, record)) {
      log(`instance ${record.id} of ${record.environment ?? "no environment"} stopped while ingot server was down; recorded as stopped`);
      continue;
    }
    const manifest = await readManifest(vault, record.imageDigest).catch(() => undefined);
    const instance = manifest ? await live.adopt(record, manifest) : undefined;
    if (!manifest) live.markGone(record, `its image ${record.imageDigest.slice(0, 19)} is no longer in the vault`);
    if (instance) {
      log(`adopted instance ${instance.id} of ${record.environment ?? "no environment"} (pid ${record.pid})`);
      continue;
    }
    log(`instance ${record.id} of ${record.environment ?? "no environment"} is gone; recorded as failed`);
    const entry = record.environment ? entryPoints.get(record.environment) : undefined;
    await entry?.remove(record.id, 0).catch(() => {});
  }
  for (const entry of entryPoints.all()) await freeUnheldSlots(entry, log);
  for (const environment of engine.environments.list()) {
    await restoreEntryPoint(engine, environment.name, log);
    const deployment = engine.deployments.running(environment.name);
    if (!deployment) {
      // Draining outside a deploy: the last server was stopping it (ingot stop, a replaced instance).
      await Promise.all(live.in(environment.name).filter((instance) => instance.state === "draining").map((instance) => retire(engine, instance)));
      continue;
    }
    const decision = resumeDecision(engine.events.list({ deployment: deployment.id, limit: 100_000 }), deployment);
    const instances = live.in(environment.name);
    const green = instances.filter((instance) => records.get(instance.id)?.deployment === deployment.id);
    const blue = instances.filter((instance) => !green.includes(instance));
    if (decision === "canary" && (await keepCanary(engine, deployment, green, blue, log))) continue;
    const entry = entryPoints.get(environment.name);
    // Killed after the last switch's runtime API batch but before it was recorded: green already took
    // requests, and undoing it now would send clients from the new version back to the old one.
    const unrecordedSwitch = decision === "undo" && entry !== undefined && green.length > 0 && (await switchedInEntry(entry, green));
    const finish = (decision === "finish" || unrecordedSwitch) && green.length > 0 && green.every((instance) => instance.state === "healthy");
    if (finish && unrecordedSwitch && entry) {
      // Once more, so that what the entry point records of its slots matches what HAProxy does.
      const held = new Set((await entry.servers()).map((server) => server.name));
      await entry.switchTraffic(green.map((instance) => instance.id), blue.filter((instance) => held.has(instance.id)).map((instance) => instance.id));
      log(`deploy ${deployment.id} of ${environment.name}: its switch was done in the entry point, not yet recorded`);
    }
    await Promise.all((finish ? blue : green).map((instance) => retire(engine, instance)));
    // After a canary's split the old instances had its weights; alone again, they take the same share.
    if (!finish && deployment.canary) await engine.parts.entryPoints.get(environment.name)?.setWeights(Object.fromEntries(blue.map((instance) => [instance.id, 1]))).catch(() => {});
    if (finish) {
      engine.deployments.finish(deployment.id, "succeeded", "finished by ingot server after a restart: the new instances already served");
      log(`deploy ${deployment.id} of ${environment.name}: finished after the restart`);
    } else {
      engine.deployments.finish(deployment.id, "failed", "interrupted by a restart of ingot server before its new instances served; undone, the previous version serves");
      log(`deploy ${deployment.id} of ${environment.name}: undone, interrupted before its switch`);
    }
  }
}

/**
 * A canary that split its traffic before the restart goes on waiting for its promotion or abort (or
 * its judge): instances of the deploy that are not canaries (a promotion's, cut short) are retired,
 * and the canaries are put back at their weights should the entry point have been started again.
 * False when a canary was lost meanwhile: the canary is undone instead.
 */
async function keepCanary(engine: DeployEngine, deployment: Deployment, green: Instance[], blue: Instance[], log: (line: string) => void): Promise<boolean> {
  const canary = deployment.canary!;
  const entry = engine.parts.entryPoints.get(deployment.environment);
  const canaries = green.filter((instance) => canary.instances.includes(instance.id) && instance.state === "healthy");
  if (!entry || canaries.length !== canary.instances.length) return false;
  await Promise.all(green.filter((instance) => !canaries.includes(instance)).map((instance) => retire(engine, instance)));
  for (const instance of canaries.filter((candidate) => !entry.holds(candidate.id))) await entry.add({ name: instance.id, address: "127.0.0.1", port: instance.servicePort, weight: canary.weights.canary });
  await entry.setWeights(Object.fromEntries([...canaries.map((instance) => [instance.id, canary.weights.canary]), ...blue.filter((instance) => entry.holds(instance.id)).map((instance) => [instance.id, canary.weights.old])]));
  log(`deploy ${deployment.id} of ${deployment.environment}: its canary goes on taking ${canary.percent}% of the requests`);
  return true;
}

/**
 * An instance that was draining (a deploy or ingot stop was stopping it) and whose QEMU has ended
 * since: its stop went through, so it is recorded as stopped, not as failed, and leaves its entry point.
 */
async function stoppedWhileDown(engine: DeployEngine, record: InstanceRecord): Promise<boolean> {
  if (record.state !== "draining" || record.pid === null || record.processStart === null) return false;
  if (await isRunning({ pid: record.pid, startTime: String(record.processStart) })) return false;
  const was = new InstanceRecords(engine.parts.state).setState(record.id, "stopped");
  engine.events.append({
    kind: "instance-state", environment: record.environment ?? undefined, instance: record.id, ...(record.deployment === null ? {} : { deployment: record.deployment }),
    data: { msg: "instance state", instance: record.id, state: "stopped", was, reason: "it was being stopped and ended while ingot server was down" },
  });
  const entry = record.environment ? engine.parts.entryPoints.get(record.environment) : undefined;
  if (entry && (await entry.servers()).some((server) => server.name === record.id)) await entry.remove(record.id, 0).catch(() => {});
  return true;
}

/**
 * True when the last switch's batch ran in HAProxy: every new instance takes requests and every old
 * one it still holds is draining. (A canary's split gives new instances requests too, but leaves
 * the old ones ready; a rolling deploy's earlier batches leave later old ones ready.)
 */
async function switchedInEntry(entry: EntryPoint, green: Instance[]): Promise<boolean> {
  const servers = await entry.servers().catch(() => []);
  const greens = new Set(green.map((instance) => instance.id));
  return green.every((instance) => servers.some((server) => server.name === instance.id && server.weight > 0))
    && servers.every((server) => greens.has(server.name) || server.state === "DRAIN");
}

/**
 * Puts into maintenance every slot that HAProxy has in service but no instance holds in the slot
 * table: one the last server set up for a new instance and was killed before it saved the table.
 */
async function freeUnheldSlots(entry: EntryPoint, log: (line: string) => void): Promise<void> {
  const held = new Set((await entry.servers().catch(() => [])).map((server) => `${server.address}:${server.port}`));
  const all = await entry.api.servers(entry.backend).catch(() => []);
  for (const slot of all.filter((server) => server.state !== "MAINT" && !held.has(`${server.address}:${server.port}`))) {
    await entry.api.setServerState(entry.backend, slot.name, "maint").catch(() => {});
    log(`freed slot ${slot.name} of the entry point of ${entry.backend}: set up for ${slot.address}:${slot.port}, which no instance holds`);
  }
}

/** Drains an instance out of its entry point and stops it, with its image's timeouts. */
async function retire(engine: DeployEngine, instance: Instance): Promise<void> {
  const { timeouts } = deploySettings(instance.manifest, instance.environment ?? "");
  const entry = instance.environment ? engine.parts.entryPoints.get(instance.environment) : undefined;
  if (entry) await engine.drain(entry, instance.id, timeouts.drainMs).catch(() => {});
  await engine.parts.live.stop(instance.id, timeouts.stopMs);
}

/**
 * An environment whose entry point is gone (the host restarted HAProxy's folder away, or it was
 * killed) while its instances still serve gets it back on its recorded port, with every healthy
 * instance in it; one that runs but lost a healthy instance from its list gets it added again.
 */
async function restoreEntryPoint(engine: DeployEngine, name: string, log: (line: string) => void): Promise<void> {
  // A running deploy's new instances are not serving yet: the deploy is finished or undone next.
  const running = engine.deployments.running(name);
  const records = new InstanceRecords(engine.parts.state);
  const healthy = engine.parts.live.in(name).filter((instance) => instance.state === "healthy" && (!running || records.get(instance.id)?.deployment !== running.id));
  const environment = engine.environments.get(name);
  if (healthy.length === 0 || environment.entryPort === null) return;
  let entry = engine.parts.entryPoints.get(name);
  if (!entry) {
    const { timeouts } = deploySettings(healthy[0]!.manifest, name);
    entry = await engine.parts.entryPoints.ensure({ environment: name, bind: { address: environment.bindAddress, port: environment.entryPort }, healthcheck: entryHealthcheck(healthy[0]!.manifest.healthcheck), drainTimeoutMs: timeouts.drainMs });
    log(`started the entry point of ${name} again on ${environment.bindAddress}:${environment.entryPort}`);
  }
  const present = new Set((await entry.servers()).map((server) => server.name));
  for (const instance of healthy.filter((candidate) => !present.has(candidate.id))) {
    await entry.add({ name: instance.id, address: "127.0.0.1", port: instance.servicePort });
    log(`put instance ${instance.id} back into the entry point of ${name}`);
  }
}
