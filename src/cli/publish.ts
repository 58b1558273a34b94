// `-p HOST:GUEST`: which host port on 127.0.0.1 forwards to which port the image declares. Checked
// before anything boots, so a typo is an error that says what would work, not a raw QEMU message
// or an instance that never becomes healthy.
import { IngotError } from "../errors.ts";
import type { ImageManifest } from "../image/manifest.ts";

const MAX_PORT = 65535;

/**
 * Host port by guest port. Syntax, range and repeats are checked here, before a build; whether the
 * image declares the guest ports, once the image is known (assertDeclared).
 *
 * @example
 * publishedPorts(["8080:8080", "9000:9090"]); // Map { 8080 => 8080, 9090 => 9000 }
 */
export function publishedPorts(values: string[]): Map<number, number> {
  const hostPorts = new Map<number, number>();
  const published = new Map<number, number>();
  for (const value of values) {
    const match = /^(\d{1,5}):(\d{1,5})$/.exec(value);
    if (!match) throw new IngotError(`Cannot publish ${value} as it is not HOST:GUEST`, { code: "cli-bad-value", hint: "For example -p 8080:8080" });
    const [hostPort, guestPort] = [Number(match[1]), Number(match[2])];
    for (const [side, port] of [["host", hostPort], ["guest", guestPort]] as const) {
      if (port < 1 || port > MAX_PORT) {
        throw new IngotError(`Cannot publish ${value} as the ${side} port is not from 1 to ${MAX_PORT}: ${port}`, {
          code: "port-out-of-range", hint: side === "host" && port === 0 ? "Leave out -p and ingot picks a free host port, printed once healthy" : `For example -p 8080:8080`,
        });
      }
    }
    const earlierGuest = hostPorts.get(hostPort);
    if (earlierGuest !== undefined) {
      throw new IngotError(`Cannot publish ${value} as host port ${hostPort} is already published to guest port ${earlierGuest}`, { code: "port-repeated", hint: "Give each -p its own host port" });
    }
    const earlierHost = published.get(guestPort);
    if (earlierHost !== undefined) {
      throw new IngotError(`Cannot publish ${value} as guest port ${guestPort} is already published on host port ${earlierHost}`, { code: "port-repeated", hint: "Publish each guest port once" });
    }
    hostPorts.set(hostPort, guestPort);
    published.set(guestPort, hostPort);
  }
  return published;
}

/**
 * Fails, listing the image's ports, when a published guest port is not one the image declares. An
 * image whose ingot.yaml declares no port (portSource) publishes any: its app may listen anywhere.
 */
export function assertDeclared(published: Map<number, number>, manifest: ImageManifest): void {
  if (manifest.portSource !== undefined) return;
  const declared = Object.values(manifest.ports);
  for (const [guestPort, hostPort] of published) {
    if (declared.includes(guestPort)) continue;
    const ports = Object.entries(manifest.ports).map(([name, port]) => `${port} (${name})`).join(", ");
    throw new IngotError(`Cannot publish ${hostPort}:${guestPort} as ${manifest.name} does not declare guest port ${guestPort}`, {
      code: "port-undeclared", hint: ports ? `Declared ports: ${ports}; for example -p ${hostPort}:${declared[0]}` : `${manifest.name} declares no ports; add them under ports: in ingot.yaml`,
    });
  }
}
