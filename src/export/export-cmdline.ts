// The kernel command line an exported disk boots with, baked into its unified kernel image: the
// image's own arguments, the verity tables on the disk's partitions, the environment chosen at
// export, and no metadata endpoint (there is no ingot beside the disk: init does not ask for one).
import { IngotError } from "../errors.ts";
import type { ImageManifest } from "../image/manifest.ts";
import { layerCmdline } from "../vm/layer-disks.ts";

/** x86's COMMAND_LINE_SIZE, its terminating NUL included: the kernel cuts a longer line. */
export const MAX_CMDLINE_BYTES = 2047;

/**
 * Layers are named by PARTUUID, which the kernel resolves (name_to_dev_t, as dm_get_device falls
 * back to it before any /dev exists) whatever the disk's name is: vda under QEMU, or behind
 * another disk.
 *
 * @example
 * exportCmdline(manifest, ["…", "…", "…"], "prod");
 * // 'console=ttyS0 … root=/dev/dm-0 dm-mod.create="base,,,ro,0 160 verity 1 PARTUUID=… PARTUUID=… 4096 4096 20 20 sha256 … -;…" ingot.layers=runtime,app ingot.env=prod ingot.hostname=hello'
 */
export function exportCmdline(manifest: Pick<ImageManifest, "layers" | "kernel" | "name">, layerPartUuids: string[], environment: string): string {
  const line = [
    manifest.kernel.cmdline,
    layerCmdline(manifest, (index) => `PARTUUID=${layerPartUuids[index]!}`),
    `ingot.env=${environment}`,
    `ingot.hostname=${manifest.name}`,
  ].join(" ");
  if (Buffer.byteLength(line) > MAX_CMDLINE_BYTES) {
    throw new IngotError(`Cannot export ${manifest.name} as its kernel command line is ${Buffer.byteLength(line)} bytes, over the kernel's ${MAX_CMDLINE_BYTES}`, {
      code: "export-cmdline-long", hint: "An image with fewer layers fits; report this with `ingot inspect` of the image",
    });
  }
  return line;
}
