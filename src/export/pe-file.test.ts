import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { EFI_STUB } from "./efi-image.ts";
import { checksumOffset, peChecksum, withoutTimestamp } from "./pe-file.ts";

const stubSkip = !existsSync(EFI_STUB) && process.env.CI !== "true" && `${EFI_STUB} is missing (apt-get install systemd-boot-efi)`;

test("the PE checksum comes out as the one systemd's build wrote into its stub", { skip: stubSkip }, () => {
  const stub = readFileSync(EFI_STUB);
  assert.notEqual(stub.readUInt32LE(checksumOffset(stub)), 0);
  assert.equal(peChecksum(stub), stub.readUInt32LE(checksumOffset(stub)));
});

test("without its time stamp a PE file differs only in the stamp and a checksum that still holds", { skip: stubSkip }, () => {
  const stub = readFileSync(EFI_STUB);
  const stamped = Buffer.from(stub);
  const stampAt = stub.readUInt32LE(0x3c) + 8;
  stamped.writeUInt32LE(1_764_547_200, stampAt);
  stamped.writeUInt32LE(peChecksum(stamped), checksumOffset(stamped));
  const clean = withoutTimestamp(stamped);
  assert.equal(clean.readUInt32LE(stampAt), 0);
  assert.equal(clean.readUInt32LE(checksumOffset(clean)), peChecksum(clean));
  assert.deepEqual(withoutTimestamp(clean), clean);
});

test("a file that is not PE is refused", () => {
  assert.throws(() => withoutTimestamp(Buffer.from("\x7fELF not a PE file at all, but long enough for a header............")), /not a PE file/);
});
