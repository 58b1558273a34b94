// Which instance holds which server slot of an entry point (haproxy-config.ts, ENTRY_SLOTS), kept
// in slots.json beside the config so that a later ingot process that adopts the HAProxy knows it.
// A freed slot is taken again last: its idle connections to a stopped instance have long gone.
// Each held slot also records what was set on it (address, port, weight, ready or draining), so
// that a HAProxy started again after a death gets the same servers back (EntryPoint.restart).
import { readFile, rename, writeFile } from "node:fs/promises";
import { IngotError } from "../errors.ts";
import { ENTRY_SLOTS } from "./haproxy-config.ts";

/** What the runtime API last set on a held slot: `drain` takes only the sessions it has. */
export interface SlotTarget { address: string; port: number; weight: number; state: "ready" | "drain" }

/** A held slot, as restored after HAProxy started again. */
export interface HeldSlot extends SlotTarget { name: string; slot: string }

interface SlotsFile {
  /** Instance name → slot name. */
  held: Record<string, string>;
  /** Slot name → when it was last freed (ms); never used slots are absent. */
  freed: Record<string, number>;
  /** Instance name → what was set on its slot; absent in files written before it was recorded. */
  targets?: Record<string, SlotTarget>;
}

/**
 * @example
 * const slots = await ServerSlots.load("/run/ingot/prod/slots.json");
 * const slot = slots.take("i-3f2a", { address: "127.0.0.1", port: 41234, weight: 0, state: "ready" }); // "slot1", recorded at once so a parallel take gets another
 * slots.update("i-3f2a", { weight: 1 });
 * await slots.save();
 * slots.release("i-3f2a");
 */
export class ServerSlots {
  #saving: Promise<void> = Promise.resolve();

  private constructor(private readonly file: string, private readonly data: SlotsFile) {}

  /** The recorded slots, or none held when the file does not exist yet. */
  static async load(file: string): Promise<ServerSlots> {
    const text = await readFile(file, "utf8").catch(() => undefined);
    return new ServerSlots(file, text === undefined ? { held: {}, freed: {} } : (JSON.parse(text) as SlotsFile));
  }

  /** Gives `name` the free slot freed longest ago (one never used first); synchronous, so parallel adds never share one. */
  take(name: string, target: SlotTarget): string {
    if (this.data.held[name]) {
      throw new IngotError(`Cannot add ${name} to the entry point as it is in it already`, { code: "entry-server-exists", hint: "Use another instance name, or remove the old one first" });
    }
    const held = new Set(Object.values(this.data.held));
    const free = Array.from({ length: ENTRY_SLOTS }, (_, index) => `slot${index + 1}`).filter((slot) => !held.has(slot));
    const slot = free.sort((a, b) => (this.data.freed[a] ?? 0) - (this.data.freed[b] ?? 0))[0];
    if (!slot) {
      throw new IngotError(`Cannot add ${name} to the entry point as all ${ENTRY_SLOTS} of its server slots are taken`, { code: "entry-full", hint: "Stop instances that no longer serve (ingot ps), or lower the capacity" });
    }
    this.data.held[name] = slot;
    this.#targets()[name] = { ...target };
    return slot;
  }

  /** Held slots with nothing recorded of what was set on them (slots.json of an older ingot). */
  unrecorded(): { name: string; slot: string }[] {
    return Object.entries(this.data.held).filter(([name]) => !this.data.targets?.[name]).map(([name, slot]) => ({ name, slot }));
  }

  /** Records what is set on a held slot, as HAProxy reports it; a name without a slot is ignored. */
  record(name: string, target: SlotTarget): void {
    if (this.data.held[name]) this.#targets()[name] = { ...target };
  }

  /** Records a change of weight or state made through the runtime API; a name without a slot is ignored. */
  update(name: string, change: Partial<Pick<SlotTarget, "weight" | "state">>): void {
    const target = this.data.targets?.[name];
    if (target) this.#targets()[name] = { ...target, ...change };
  }

  release(name: string): void {
    const slot = this.data.held[name];
    if (!slot) return;
    delete this.data.held[name];
    delete this.data.targets?.[name];
    this.data.freed[slot] = Date.now();
  }

  slotOf(name: string): string | undefined {
    return this.data.held[name];
  }

  /** Slot name → instance name, for the slots that are held. */
  holders(): Map<string, string> {
    return new Map(Object.entries(this.data.held).map(([name, slot]) => [slot, name]));
  }

  /** The held slots with what was set on them; a slot recorded before targets were is left out (its address is unknown). */
  held(): HeldSlot[] {
    return Object.entries(this.data.held).flatMap(([name, slot]) => {
      const target = this.data.targets?.[name];
      return target ? [{ name, slot, ...target }] : [];
    });
  }

  #targets(): Record<string, SlotTarget> {
    return (this.data.targets ??= {});
  }

  /** Writes the current table; saves run one after the other, each writing what is current then. */
  save(): Promise<void> {
    this.#saving = this.#saving.catch(() => {}).then(async () => {
      await writeFile(`${this.file}.tmp`, JSON.stringify(this.data, null, 2));
      await rename(`${this.file}.tmp`, this.file);
    });
    return this.#saving;
  }
}
