// One request as the entry point's access log tells it: which server slot answered, with which
// status, how fast. Read from the line's request@32473 structured data (haproxy-config.ts), or
// from HAProxy's httplog message for entry points an older ingot started, whose HAProxy (outliving
// ingot) keeps the config it was started with until it is started again.
import type { LogLine } from "../logs/log-line.ts";
import { ACCESS_SD_ID } from "./haproxy-config.ts";

export interface AccessRecord {
  /** The server slot that answered (`slot3`), or `<NOSRV>` when none did (no instance up, a request refused). */
  server: string;
  /** The HTTP status sent to the client; -1 when none was (the client went away first). */
  status: number;
  /** %Tr: ms from the request sent to the instance until its response headers came; -1 without a response. */
  responseMs: number;
  /** %Ta: ms the request was active, from its first byte to the last byte of the answer. */
  totalMs: number;
}

/**
 * httplog: `client:port [accept date] frontend backend/server TR/Tw/Tc/Tr/Ta status bytes …`; a
 * frontend with TLS is written `name~`, and Ta gets a `+` under `option logasap`.
 */
const HTTPLOG = /^\S+ \[[^\]]*\] \S+ [^/ ]+\/(\S+) -?\d+\/-?\d+\/-?\d+\/(-?\d+)\/\+?(-?\d+) (-?\d+) /;

/**
 * @example
 * accessRecord({ source: "entry", message: "…", fields: { sd: { "request@32473": { server: "slot1", status: "200", tr: "6", ta: "7" } } } });
 * // { server: "slot1", status: 200, responseMs: 6, totalMs: 7 }
 * accessRecord({ source: "entry", message: '127.0.0.1:45188 [01/Dec/2026:08:16:54.547] prod prod/slot1 0/0/1/6/7 200 102 - - ---- 1/1/0/0/0 0/0 "GET / HTTP/1.1"' });
 * // the same, from the message
 */
export function accessRecord(line: Pick<LogLine, "source" | "message" | "fields">): AccessRecord | undefined {
  if (line.source !== "entry") return undefined;
  const sd = (line.fields?.sd as Record<string, Record<string, string> | undefined> | undefined)?.[ACCESS_SD_ID];
  if (sd?.server !== undefined) {
    const [status, responseMs, totalMs] = [sd.status, sd.tr, sd.ta].map((value) => (value !== undefined && /^-?\d+$/.test(value) ? Number(value) : undefined));
    return status !== undefined && responseMs !== undefined && totalMs !== undefined ? { server: sd.server, status, responseMs, totalMs } : undefined;
  }
  const match = HTTPLOG.exec(line.message);
  if (!match) return undefined;
  return { server: match[1]!, status: Number(match[4]), responseMs: Number(match[2]), totalMs: Number(match[3]) };
}
