import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DISK_FORMATS } from "./disk-formats.ts";
import { stabilizeIds, vhdChecksum } from "./stable-ids.ts";

const qemuImgSkip = spawnSync("qemu-img", ["--version"]).status !== 0 && process.env.CI !== "true" && "qemu-img is not installed (apt-get install qemu-utils)";
const SEED = Buffer.from("0123456789abcdef0123456789abcdef", "hex");

test("a VHD footer's checksum is computed as qemu-img computes it", { skip: qemuImgSkip }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "ingot-ids-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, "disk.raw"), "");
  await truncate(join(dir, "disk.raw"), 4 * 1024 * 1024);
  execFileSync("qemu-img", ["convert", "-q", "-f", "raw", ...DISK_FORMATS.vhd.convert!, join(dir, "disk.raw"), join(dir, "disk.vhd")]);
  const vhd = await readFile(join(dir, "disk.vhd"));
  const footer = vhd.subarray(vhd.length - 512);
  assert.equal(footer.toString("latin1", 0, 8), "conectix");
  assert.equal(vhdChecksum(footer), footer.readUInt32BE(64));
});

for (const format of ["vhd", "vmdk"] as const) {
  test(`two ${format} conversions of the same disk are the same bytes once their ids are derived, and qemu-img still reads them`, { skip: qemuImgSkip }, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "ingot-ids-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const raw = join(dir, "disk.raw");
    await writeFile(raw, Buffer.alloc(1024 * 1024, 7));
    await truncate(raw, 4 * 1024 * 1024);
    const outputs = [];
    for (const folder of ["a", "b"]) {
      execFileSync("mkdir", [join(dir, folder)]);
      const output = join(dir, folder, `disk.${format}`);
      execFileSync("qemu-img", ["convert", "-q", "-f", "raw", ...DISK_FORMATS[format].convert!, raw, output]);
      // qemu-img writes the CID without leading zeros: one conversion in 16 has fewer than 8 digits.
      if (format === "vmdk" && folder === "b") await shortenCid(output);
      await stabilizeIds(format, output, SEED);
      outputs.push(output);
      // Seconds apart would not matter either: the stamp is gone.
      execFileSync("qemu-img", ["compare", "-q", "-f", "raw", raw, output]);
    }
    assert.deepEqual(await readFile(outputs[0]!), await readFile(outputs[1]!));
  });
}

/** Makes the descriptor's CID 3 digits long, as qemu-img writes a CID below 0x1000, keeping the text NUL-padded in place. */
async function shortenCid(path: string): Promise<void> {
  const bytes = await readFile(path);
  const at = bytes.indexOf("\nCID=");
  const end = bytes.indexOf(0, at);
  const text = bytes.toString("latin1", at, end).replace(/^\nCID=[0-9a-f]+\n/, "\nCID=abc\n");
  bytes.fill(0, at, end);
  bytes.write(text, at, "latin1");
  await writeFile(path, bytes);
}
