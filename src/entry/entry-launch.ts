// Starting an entry point's HAProxy from its spec, and the record (entry.json) that lets a later
// ingot process, or the supervisor after a death, find it again: the same steps for a first start
// and for a start again, so both run the very same configuration.
import { chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { IngotError } from "../errors.ts";
import { processStartTime } from "../process/process-identity.ts";
import { entryPaths, haproxyConfig, unavailablePage, type EntrySpec } from "./haproxy-config.ts";
import { assertBindable, startHaproxy } from "./haproxy-process.ts";

/** What entry.json in the run folder records: which process is the entry point's HAProxy, and the spec it runs. */
export interface EntryRecord { pid: number; startTime: string; spec: EntrySpec }

/**
 * Writes the config and 503 page into spec.runDir, starts HAProxy detached from this process and
 * records it. Server slots (slots.json) are left as they are: the caller decides whether they start
 * empty or are restored.
 *
 * @example
 * const { pid } = await launchEntry(spec); // then reachable at entryPaths(spec.runDir).socket
 */
export async function launchEntry(spec: EntrySpec): Promise<EntryRecord> {
  const paths = entryPaths(spec.runDir);
  const config = haproxyConfig(spec);
  // sun_path holds 108 bytes with its terminating NUL.
  if (Buffer.byteLength(paths.socket) > 107) {
    throw new IngotError(`Cannot start the entry point of ${spec.environment} as its socket path is too long for a unix socket: ${paths.socket}`, {
      code: "entry-run-dir-too-long", hint: "Use a shorter run folder (INGOT_HOME)",
    });
  }
  await assertBindable(spec.environment, spec.bind.address, spec.bind.port);
  await mkdir(spec.runDir, { recursive: true, mode: 0o700 });
  await chmod(spec.runDir, 0o700);
  await writeFile(paths.config, config);
  await writeFile(paths.unavailablePage, unavailablePage(spec.environment));
  await rm(paths.pidFile, { force: true });
  await startHaproxy(paths.config, spec.environment);
  const pid = Number((await readFile(paths.pidFile, "utf8")).trim());
  const startTime = await processStartTime(pid);
  if (!startTime) {
    throw new IngotError(`Cannot start the entry point of ${spec.environment} as HAProxy exited right after starting: pid ${pid}`, {
      code: "entry-start-failed", hint: `Run haproxy -d -f ${paths.config} to see why`,
    });
  }
  const record: EntryRecord = { pid, startTime, spec };
  await writeFile(paths.record, JSON.stringify(record, null, 2));
  return record;
}

/** The record a previous start left in runDir. */
export async function readEntryRecord(runDir: string): Promise<EntryRecord> {
  const paths = entryPaths(runDir);
  return JSON.parse(await readFile(paths.record, "utf8").catch((cause: unknown) => {
    throw new IngotError(`Cannot adopt the entry point in ${runDir} as it has no record: ${paths.record}`, {
      code: "entry-not-running", hint: "Start it again", cause,
    });
  })) as EntryRecord;
}
