// The two fields of a PE file that objcopy fills from the clock: binutils 2.40 stamps the time of
// the run into the COFF header (it has no option against it) and sums the file with it. Zeroing the
// stamp and summing again makes the unified kernel image the same bytes on every run.

/**
 * A copy of the PE image with TimeDateStamp 0 and its CheckSum recomputed.
 *
 * @example
 * const uki = withoutTimestamp(await readFile("uki.efi")); // peChecksum(uki) === uki.readUInt32LE(checksumOffset(uki))
 */
export function withoutTimestamp(image: Buffer): Buffer {
  const copy = Buffer.from(image);
  copy.writeUInt32LE(0, peHeaderOffset(copy) + 8);
  copy.writeUInt32LE(peChecksum(copy), checksumOffset(copy));
  return copy;
}

/** Where CheckSum lies: in the optional header, 64 bytes in (the same for PE32 and PE32+). */
export function checksumOffset(image: Buffer): number {
  return peHeaderOffset(image) + 24 + 64;
}

/**
 * The PE checksum (what Windows' CheckSumMappedFile computes): 16-bit one's-complement-style sum of
 * the file with the CheckSum field read as zero, folded to 16 bits, plus the file's length.
 */
export function peChecksum(image: Buffer): number {
  const skip = checksumOffset(image);
  let sum = 0;
  for (let at = 0; at < image.length; at += 2) {
    if (at === skip || at === skip + 2) continue;
    sum += at + 1 < image.length ? image.readUInt16LE(at) : image[at]!;
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  sum = (sum & 0xffff) + (sum >>> 16);
  return (sum + image.length) >>> 0;
}

function peHeaderOffset(image: Buffer): number {
  if (image.length < 0x40 || image.toString("latin1", 0, 2) !== "MZ") throw new Error("Cannot read the EFI image as it is not a PE file (no MZ header)");
  const offset = image.readUInt32LE(0x3c);
  if (offset + 24 + 68 > image.length || image.toString("latin1", offset, offset + 4) !== "PE\0\0") throw new Error("Cannot read the EFI image as its PE header is missing");
  return offset;
}
