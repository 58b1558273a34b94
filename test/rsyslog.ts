// An rsyslogd of a test's or bench's own: its configuration, written here once for all of them, and
// the process, started with its own config, work folder and pid file and ended by its own PID only.
import { spawn, spawnSync } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** True when rsyslogd runs here; a CI machine without it must fail the tests that need it (scripts/setup.sh installs it). */
export const hasRsyslog = spawnSync("rsyslogd", ["-v"]).status === 0;

/** An rsyslog configuration: imtcp on a port it picks (written to portFile), everything forwarded to ingot. */
export function rsyslogForwardConfig(options: { workDir: string; portFile: string; ingotPort: number }): string {
  return [
    `global(workDirectory="${options.workDir}")`,
    'module(load="imtcp")',
    `input(type="imtcp" address="127.0.0.1" port="0" listenPortFileName="${options.portFile}")`,
    `action(type="omfwd" target="127.0.0.1" port="${options.ingotPort}" protocol="tcp" TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")`,
    "",
  ].join("\n");
}

/**
 * An rsyslog configuration that receives syslog over TCP (imtcp, on a port it picks) and writes each
 * message to outFile as `HOSTNAME APP-NAME MSGID SD MSG`; with tls, through the gtls driver
 * (package rsyslog-gnutls) with the given server certificate, clients not authenticated.
 */
export function rsyslogReceiverConfig(options: { workDir: string; portFile: string; outFile: string; tls?: { caFile: string; certFile: string; keyFile: string } }): string {
  const { tls } = options;
  return [
    tls
      ? `global(workDirectory="${options.workDir}" defaultNetstreamDriver="gtls" defaultNetstreamDriverCAFile="${tls.caFile}" defaultNetstreamDriverCertFile="${tls.certFile}" defaultNetstreamDriverKeyFile="${tls.keyFile}")`
      : `global(workDirectory="${options.workDir}")`,
    tls ? 'module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")' : 'module(load="imtcp")',
    `input(type="imtcp" address="127.0.0.1" port="0" listenPortFileName="${options.portFile}")`,
    'template(name="fields" type="string" string="%hostname% %app-name% %msgid% %structured-data% %msg%\\n")',
    `action(type="omfile" file="${options.outFile}" template="fields")`,
    "",
  ].join("\n");
}

export interface StartedRsyslog {
  /** The port imtcp listens on. */
  port: number;
  /** What rsyslogd wrote to stderr, for assertion messages. */
  errors: () => string;
  stop: () => Promise<void>;
}

/** Starts rsyslogd in the foreground with `config` in `dir` and waits until it listens. */
export async function startRsyslog(dir: string, config: string, portFile: string): Promise<StartedRsyslog> {
  const configFile = join(dir, "rsyslog.conf");
  await writeFile(configFile, config);
  const rsyslog = spawn("rsyslogd", ["-n", "-f", configFile, "-i", join(dir, "rsyslog.pid")], { stdio: ["ignore", "ignore", "pipe"] });
  let errors = "";
  rsyslog.stderr.on("data", (chunk: Buffer) => { errors += chunk.toString(); });
  const exited = new Promise<void>((resolve) => rsyslog.once("exit", () => resolve()));
  const stop = async (): Promise<void> => {
    if (rsyslog.exitCode === null && rsyslog.signalCode === null) rsyslog.kill("SIGTERM");
    await exited;
  };
  try {
    const port = Number(await waitForFile(portFile, 10_000));
    return { port, errors: () => errors, stop };
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}; rsyslogd said: ${errors}`, { cause: error });
  }
}

/** The file's text once it has any, trimmed. */
export async function waitForFile(path: string, timeoutMs: number, check: (text: string) => boolean = (text) => text.trim() !== ""): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await readFile(path, "utf8").catch(() => "");
    if (check(text)) return text.trim();
    if (Date.now() > deadline) throw new Error(`${path} did not have what was waited for within ${timeoutMs} ms (it holds ${JSON.stringify(text.slice(0, 500))})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
