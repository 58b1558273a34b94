// Host ports held for instances from the moment one is chosen until the instance is gone, so two
// instances booting at once never pick the same port: between choosing a free port and QEMU
// binding it there is a window in which the kernel would hand the same port to another ingot.
import { mkdir, open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IngotError } from "../errors.ts";
import { isRunning, ownIdentity, type ProcessIdentity, readOwner } from "../process/process-identity.ts";
import { assertPortFree, freePort } from "./free-port.ts";

export interface PortReservation {
  port: number;
  release: () => Promise<void>;
  /** Names another holder: a detached QEMU holds its own ports, so they stay held after ingot exits. */
  setOwner: (owner: ProcessIdentity) => Promise<void>;
}

/** One folder per user: a reservation is a file named after the port, naming the ingot that holds it. */
export function reservationFolder(): string {
  return process.env.INGOT_PORT_RESERVATIONS ?? join(tmpdir(), `ingot-ports-${process.getuid?.() ?? 0}`);
}

const ATTEMPTS = 20;

/**
 * Reserves `port`, or a free port when none is given. A port held by another live ingot, or one
 * something listens on, is refused (a chosen one) or skipped (a free one). A reservation whose
 * ingot is gone is taken over.
 *
 * @example
 * const { port, release } = await reservePort(); // 41234, held until release()
 */
export async function reservePort(port?: number, folder = reservationFolder()): Promise<PortReservation> {
  await mkdir(folder, { recursive: true, mode: 0o700 });
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const candidate = port ?? (await freePort());
    if (port !== undefined) await assertPortFree(port);
    const reservation = await claim(folder, candidate);
    if (reservation) return reservation;
    if (port !== undefined) {
      throw new IngotError(`Cannot forward host port ${port} as another instance of ingot holds it`, {
        code: "port-reserved", hint: `Pick another port, e.g. -p ${await freePort()}:GUEST, or stop that instance`,
      });
    }
  }
  throw new IngotError(`Cannot find a free host port as ${ATTEMPTS} free ports in a row were held by other instances`, { code: "port-exhausted", hint: "Stop some instances and try again" });
}

/** Frees a port held by a reservation; also for an adopted instance, whose reservation object is gone. */
export function releasePort(port: number, folder = reservationFolder()): Promise<void> {
  return rm(join(folder, String(port)), { force: true });
}

async function claim(folder: string, port: number): Promise<PortReservation | undefined> {
  const file = join(folder, String(port));
  for (let tries = 0; tries < 2; tries++) {
    try {
      const handle = await open(file, "wx", 0o600);
      await handle.writeFile(JSON.stringify(await ownIdentity()));
      await handle.close();
      return { port, release: () => releasePort(port, folder), setOwner: (owner) => writeFile(file, JSON.stringify(owner), { mode: 0o600 }) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const owner = await readOwner(file);
      // A half-written file is a reservation being made right now: treat it as held.
      if (!owner || (await isRunning(owner))) return undefined;
      await rm(file, { force: true });
    }
  }
  return undefined;
}
