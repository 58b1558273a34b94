import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tempDir } from "../../test/helpers.ts";
import type { IngotError } from "../errors.ts";
import { reservePort } from "./port-reservations.ts";

test("a reserved port is never handed out twice, is refused when asked for, and is free again once released", async (t) => {
  const folder = await tempDir("ingot-ports-");
  t.after(folder.remove);
  const reservations = await Promise.all(Array.from({ length: 20 }, () => reservePort(undefined, folder.path)));
  const ports = reservations.map((reservation) => reservation.port);
  assert.equal(new Set(ports).size, ports.length, "twenty instances booting at once get twenty ports");
  const held = reservations[0]!;
  await assert.rejects(reservePort(held.port, folder.path), (error: IngotError) => error.code === "port-reserved" && /another instance of ingot holds it/.test(error.message));
  await held.release();
  const again = await reservePort(held.port, folder.path);
  assert.equal(again.port, held.port);
  await Promise.all([again, ...reservations.slice(1)].map((reservation) => reservation.release()));
});

test("a reservation left by an ingot that is gone is taken over", async (t) => {
  const folder = await tempDir("ingot-ports-stale-");
  t.after(folder.remove);
  const { port, release } = await reservePort(undefined, folder.path);
  await release();
  await writeFile(join(folder.path, String(port)), JSON.stringify({ pid: process.pid, startTime: "1" }));
  const taken = await reservePort(port, folder.path);
  assert.equal(taken.port, port);
  await taken.release();
});
