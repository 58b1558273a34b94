// Splits a syslog TCP stream into messages (RFC 6587): octet-counting (`LEN SP MSG`, §3.4.1) when a
// frame starts with a digit, else non-transparent framing (up to LF, §3.4.2). Memory is bounded
// whatever arrives: a message longer than the limit is cut and marked, an absurd length prefix
// (2 GB) is refused and the reader resyncs at the next LF instead of allocating or waiting for it.

export interface SyslogFrame {
  /** A view of the pushed chunk when the message lies whole in it (no copy): copy it to keep it past the chunk's bytes. */
  bytes: Buffer;
  /** The sender's message was longer than the limit; `bytes` is its beginning. */
  truncated: boolean;
}

export interface FrameLimits {
  /** Longest message kept, in bytes (64 KiB: init splits longer lines at the same size). */
  maxMessageBytes: number;
  /** A length prefix above this cannot be a message: the stream is broken, resync at LF. */
  maxPlausibleBytes: number;
}

export const DEFAULT_FRAME_LIMITS: FrameLimits = { maxMessageBytes: 64 * 1024, maxPlausibleBytes: 1024 * 1024 };

const LF = 0x0a;
const SPACE = 0x20;
// 1 MiB has 7 digits; a longer prefix is refused before it is read to the end.
const MAX_LENGTH_DIGITS = 8;

type State =
  | { kind: "start" }
  | { kind: "length"; digits: number; value: number }
  | { kind: "counted"; remaining: number; kept: Buffer[]; keptBytes: number; truncated: boolean }
  | { kind: "line"; kept: Buffer[]; keptBytes: number; truncated: boolean }
  /** Skipping to the next LF after a broken frame. */
  | { kind: "resync" };

/**
 * @example
 * const reader = new SyslogFrameReader();
 * for (const frame of reader.push(chunk)) store(parseSyslog(frame.bytes, Date.now(), frame));
 */
export class SyslogFrameReader {
  /** Frames refused as broken (a bad length prefix); their bytes up to the next LF are dropped. */
  brokenFrames = 0;
  #state: State = { kind: "start" };

  constructor(private readonly limits: FrameLimits = DEFAULT_FRAME_LIMITS) {}

  /** The messages that `chunk` completes, in order; the rest is kept (bounded) for the next chunk. */
  push(chunk: Buffer): SyslogFrame[] {
    const frames: SyslogFrame[] = [];
    let index = 0;
    while (index < chunk.length) {
      const state = this.#state;
      switch (state.kind) {
        case "start": {
          const byte = chunk[index]!;
          if (byte === LF || byte === 0x0d || byte === 0) { index++; break; }
          if (byte >= 0x31 && byte <= 0x39) this.#state = { kind: "length", digits: 0, value: 0 };
          else this.#state = { kind: "line", kept: [], keptBytes: 0, truncated: false };
          break;
        }
        case "length": {
          const byte = chunk[index++]!;
          if (byte === SPACE && state.digits > 0) {
            if (state.value > this.limits.maxPlausibleBytes) this.#broken();
            else this.#state = { kind: "counted", remaining: state.value, kept: [], keptBytes: 0, truncated: false };
          } else if (byte >= 0x30 && byte <= 0x39 && state.digits < MAX_LENGTH_DIGITS) {
            state.value = state.value * 10 + (byte - 0x30);
            state.digits++;
          } else {
            this.#broken();
            if (byte === LF) this.#state = { kind: "start" };
          }
          break;
        }
        case "counted": {
          if (state.keptBytes === 0 && state.remaining <= chunk.length - index && state.remaining <= this.limits.maxMessageBytes) {
            // The common case, a whole message in this chunk: handed over as a view, no copy.
            frames.push({ bytes: chunk.subarray(index, index + state.remaining), truncated: false });
            index += state.remaining;
            this.#state = { kind: "start" };
            break;
          }
          const take = Math.min(state.remaining, chunk.length - index);
          this.#keep(state, chunk.subarray(index, index + take));
          index += take;
          state.remaining -= take;
          if (state.remaining === 0) {
            frames.push(this.#frame(state));
            this.#state = { kind: "start" };
          }
          break;
        }
        case "line": {
          const end = chunk.indexOf(LF, index);
          if (state.keptBytes === 0 && end >= 0 && end - index <= this.limits.maxMessageBytes) {
            frames.push({ bytes: chunk.subarray(index, end), truncated: false });
            index = end + 1;
            this.#state = { kind: "start" };
            break;
          }
          const stop = end < 0 ? chunk.length : end;
          this.#keep(state, chunk.subarray(index, stop));
          index = stop;
          if (end >= 0) {
            index++;
            frames.push(this.#frame(state));
            this.#state = { kind: "start" };
          }
          break;
        }
        case "resync": {
          const end = chunk.indexOf(LF, index);
          if (end < 0) return frames;
          index = end + 1;
          this.#state = { kind: "start" };
          break;
        }
      }
    }
    return frames;
  }

  /** At the end of the stream: a partial line is a message (a sender that closes without LF). */
  end(): SyslogFrame[] {
    const state = this.#state;
    this.#state = { kind: "start" };
    if (state.kind === "line" && state.keptBytes > 0) return [this.#frame(state)];
    if (state.kind === "counted" && state.keptBytes > 0) return [{ ...this.#frame(state), truncated: true }];
    return [];
  }

  /** Bytes held for an incomplete message: never more than maxMessageBytes. */
  get bufferedBytes(): number {
    const state = this.#state;
    return state.kind === "counted" || state.kind === "line" ? state.keptBytes : 0;
  }

  #keep(state: { kept: Buffer[]; keptBytes: number; truncated: boolean }, bytes: Buffer): void {
    const room = this.limits.maxMessageBytes - state.keptBytes;
    if (bytes.length > room) state.truncated = true;
    const kept = bytes.length > room ? bytes.subarray(0, room) : bytes;
    if (kept.length === 0) return;
    // A copy: the message continues in the next chunk, and this one's bytes may be reused by then.
    state.kept.push(Buffer.from(kept));
    state.keptBytes += kept.length;
  }

  #frame(state: { kept: Buffer[]; keptBytes: number; truncated: boolean }): SyslogFrame {
    const bytes = state.kept.length === 1 ? state.kept[0]! : Buffer.concat(state.kept, state.keptBytes);
    return { bytes, truncated: state.truncated };
  }

  #broken(): void {
    this.brokenFrames++;
    this.#state = { kind: "resync" };
  }
}
