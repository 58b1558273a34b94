import { test } from "node:test";
import assert from "node:assert/strict";
import { pickPackageManagerVersion } from "./package-manager-tool.ts";

const dist = { integrity: "sha512-AAAA", tarball: "https://registry.npmjs.org/x/-/x.tgz" };

test("a package manager's release is the newest of the spec that the app's runtime can run", () => {
  const versions = {
    "10.9.2": { engines: { node: "^18.17.0 || >=20.5.0" }, dist },
    "11.6.2": { engines: { node: "^20.17.0 || >=22.9.0" }, dist },
    "12.0.0": { engines: { node: ">=24" }, dist },
    "11.7.0-pre.1": { dist },
  };
  assert.equal(pickPackageManagerVersion(versions, "10 || 11", "22.12.0"), "11.6.2");
  assert.equal(pickPackageManagerVersion(versions, "10 || 11", "18.20.4"), "10.9.2", "an older runtime gets a release that supports it");
  assert.equal(pickPackageManagerVersion(versions, "12.0.0", "22.12.0"), undefined, "an exact version the runtime cannot run is none");
  assert.equal(pickPackageManagerVersion(versions, "13", "24.0.0"), undefined);
});
