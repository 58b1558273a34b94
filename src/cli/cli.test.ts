// End to end through bin/ingot: build a tiny ELF app into a fresh vault, then images, inspect and rm.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";

const BIN = fileURLToPath(new URL("../../bin/ingot", import.meta.url));
const run = promisify(execFile);

const EVIL_NAME = "evil\x1b]0;pwned\x07.bin";

interface Outcome { code: number; stdout: string; stderr: string }

describe("ingot CLI", () => {
  let root: string;
  let home: string;
  let digest: string;

  async function ingot(...args: string[]): Promise<Outcome> {
    try {
      const { stdout, stderr } = await run(BIN, args, { env: { ...process.env, INGOT_HOME: home }, maxBuffer: 16 * 1024 * 1024 });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code?: number; stdout?: string; stderr?: string };
      if (typeof failed.code !== "number") throw error;
      return { code: failed.code, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
    }
  }

  async function succeed(...args: string[]): Promise<string> {
    const outcome = await ingot(...args);
    assert.equal(outcome.code, 0, `ingot ${args.join(" ")} failed:\n${outcome.stderr}`);
    return outcome.stdout;
  }

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "ingot-cli-"));
    home = join(root, "home");
    const app = join(root, "tiny");
    await mkdir(app);
    // A dynamically linked C program: the image gets glibc and its loader, and nothing else.
    await writeFile(join(app, "hello.c"), "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n");
    await run("gcc", ["-O2", "-o", join(app, "hello"), join(app, "hello.c")]);
    // A name that would retitle the terminal, large enough to be among the largest files.
    await writeFile(join(app, EVIL_NAME), Buffer.alloc(4 * 1024 * 1024));
    await writeFile(join(app, "ingot.yaml"), "name: tiny\nversion: 1.2.3\nruntime: elf\ncommand: [./hello]\nports: {}\nhealthcheck: false\n");
    digest = (JSON.parse(await succeed("build", app, "--json")) as { digest: string }).digest;
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test("images --json lists the built image", async () => {
    const images = JSON.parse(await succeed("images", "--json")) as { name: string; version: string; digest: string; size: number; runtime: string }[];
    assert.equal(images.length, 1);
    assert.deepEqual([images[0]!.name, images[0]!.version, images[0]!.digest, images[0]!.runtime], ["tiny", "1.2.3", digest, "elf"]);
    assert.ok(images[0]!.size > 1_000_000, "kernel plus layers");
  });

  test("images prints a table with a relative age", async () => {
    const [header, row] = (await succeed("images")).trim().split("\n");
    assert.match(header!, /^NAME\s+VERSION\s+DIGEST\s+SIZE\s+RUNTIME\s+BUILT$/);
    assert.match(row!, new RegExp(`^tiny\\s+1\\.2\\.3\\s+${digest.slice(0, 19)}\\s+[\\d.]+ MiB\\s+elf\\s+(just now|\\d+ seconds? ago|1 minute ago)$`));
  });

  test("inspect --json shows a passing audit, no shells and glibc in the SBOM", async () => {
    const report = JSON.parse(await succeed("inspect", "tiny", "--json")) as {
      image: string; digest: string; layers: { name: string; fileCount: number }[]; largestFiles: { path: string; size: number }[];
      sbom: { bomFormat: string; components: { name: string; type: string; version: string; pedigree?: { ancestors: { purl: string }[] } }[] };
      audit: { ok: boolean; shells: string[]; appUser: { runsAsRoot: boolean } };
    };
    assert.equal(report.image, "tiny:1.2.3");
    assert.equal(report.digest, digest);
    assert.equal(report.audit.ok, true);
    assert.deepEqual(report.audit.shells, []);
    assert.equal(report.audit.appUser.runsAsRoot, false);
    assert.equal(report.sbom.bomFormat, "CycloneDX");
    assert.ok(report.sbom.components.some((component) => component.type === "library" && component.name === "libc.so.6"), "libc in the SBOM");
    const kernel = report.sbom.components.find((component) => component.type === "operating-system");
    assert.match(kernel?.version ?? "", /-ingot$/, "ingot's kernel is the default");
    assert.match(kernel?.pedigree?.ancestors[0]?.purl ?? "", /^pkg:deb\/debian\/linux-source-6\.1@[\w.+~%-]+\?arch=all$/, "built from Debian's kernel source");
    assert.ok(report.layers.some((layer) => layer.name === "app" && layer.fileCount >= 1));
    assert.ok(report.largestFiles.length > 0 && report.largestFiles.length <= 10);
    assert.ok(report.largestFiles.every((file, index, files) => index === 0 || files[index - 1]!.size >= file.size), "largest first");
  });

  test("inspect prints the audit and the SBOM's libraries for people", async () => {
    const text = await succeed("inspect", "tiny:1.2.3");
    assert.match(text, /^audit ✓/m);
    assert.match(text, /^\s+shells\s+none$/m);
    assert.match(text, /^\s+libc\.so\.6\s+\S+ \(libc6\)$/m);
    assert.ok(text.includes("/app/evil\\x1b]0;pwned\\x07.bin"), "a file name's control characters are escaped");
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(text, /[\x00-\x09\x0b-\x1f\x7f]/, "no control character but newlines reaches the terminal");
  });

  test("--json=false prints for people, not JSON", async () => {
    assert.match(await succeed("inspect", "tiny", "--json=false"), /^image\s+tiny:1\.2\.3$/m);
  });

  test("the build pinned its inputs: lock is up to date, --locked builds the same image, kernel ls and inspect show them", async () => {
    const app = join(root, "tiny");
    const lock = JSON.parse(await readFile(join(app, "ingot.lock"), "utf8")) as { kernel: { digest: string }; packages: { name: string }[]; node?: unknown };
    assert.deepEqual(lock.packages.map((item) => item.name), ["libc6"], "a C program needs glibc's package only");
    assert.equal(lock.node, undefined, "no runtime for an ELF app");
    assert.match(await succeed("lock", app), /ingot\.lock is up to date$/m);
    assert.equal((JSON.parse(await succeed("build", app, "--locked", "--json")) as { digest: string }).digest, digest);
    const kernels = JSON.parse(await succeed("kernel", "ls", "--json")) as { digest: string; release: string; source: string }[];
    assert.deepEqual(kernels.map((kernel) => kernel.digest), [lock.kernel.digest]);
    assert.match(await succeed("kernel", "ls"), /^RELEASE\s+DIGEST\s+SIZE\s+MODULES\s+BUILT FROM\n\S+-ingot\s+sha256:\w{12}\s+.*linux-source-6\.1 \S+$/m);
    const text = await succeed("inspect", "tiny");
    assert.match(text, /^built by\s+ingot \d+\.\d+\.\d+ \(no git commit\) at \d{4}-\d\d-\d\dT/m, "provenance comes from the attestation");
    assert.match(text, /^locked inputs \(ingot\.lock\)\n(\s+.*\n)*\s+libc6\s+\S+\s+sha256:[0-9a-f]{12}$/m);
  });

  test("inspect fails naming the blob when a layer blob is damaged", async () => {
    const report = JSON.parse(await succeed("inspect", digest, "--json")) as { layers: { name: string; digest: string }[] };
    const layer = report.layers.find((candidate) => candidate.name === "app")!;
    const blob = join(home, "blobs", "sha256", layer.digest.slice(7));
    const original = await readFile(blob);
    const damaged = Buffer.from(original);
    damaged[Math.floor(damaged.length / 2)]! ^= 0xff;
    await writeFile(blob, damaged);
    try {
      const outcome = await ingot("inspect", "tiny");
      assert.notEqual(outcome.code, 0);
      assert.ok(outcome.stderr.includes(layer.digest), outcome.stderr);
      assert.match(outcome.stderr, /^error: Cannot use blob .* as its content no longer matches its digest/m);
    } finally {
      await writeFile(blob, original);
    }
  });

  test("inspect of an unknown image fails with an error and a hint", async () => {
    const outcome = await ingot("inspect", "nope");
    assert.equal(outcome.code, 1);
    assert.match(outcome.stderr, /^error: Cannot find the image as .*: nope$/m);
    assert.match(outcome.stderr, /^hint: /m);
    const typo = await ingot("inspect", "tiny:1.2.4");
    assert.match(typo.stderr, /hint: tiny has versions 1\.2\.3/);
  });

  test("a damaged entry under tags/ is skipped with a warning saying how to remove it; other images still list and inspect", async () => {
    const report = JSON.parse(await succeed("inspect", digest, "--json")) as { layers: { name: string; digest: string }[] };
    const tags = join(home, "tags");
    await mkdir(join(tags, "folder", "1.0.0"), { recursive: true });
    await mkdir(join(tags, "garbage"));
    await writeFile(join(tags, "garbage", "1.0.0"), "not a digest\n");
    await mkdir(join(tags, "layer"));
    await writeFile(join(tags, "layer", "1.0.0"), `${report.layers[0]!.digest}\n`);
    try {
      const images = await ingot("images");
      assert.equal(images.code, 0, images.stderr);
      assert.match(images.stdout, /^tiny\s+1\.2\.3\s/m);
      assert.match(images.stdout, /^layer\s+1\.0\.0\s.*\bdamaged\b/m);
      assert.match(images.stderr, new RegExp(`^warning: skipped ${join(tags, "folder", "1.0.0")} as it is a folder where a tag file belongs; remove it with: rm -r`, "m"));
      assert.match(images.stderr, /^warning: skipped .*garbage\/1\.0\.0 as it does not hold an image digest/m);
      assert.match(images.stderr, /^warning: layer:1\.0\.0: Cannot use blob .* as an image as it is not an image manifest/m);
      await succeed("inspect", "tiny");
      const layer = await ingot("inspect", "layer:1.0.0");
      assert.equal(layer.code, 1);
      assert.match(layer.stderr, /^error: Cannot use blob .* as an image as it is not an image manifest/m);
    } finally {
      for (const name of ["folder", "garbage", "layer"]) await rm(join(tags, name), { recursive: true, force: true });
    }
  });

  test("run refuses bad --cpus, --memory and -e values before any work", async () => {
    for (const [args, message] of [
      [["--cpus", "0"], /Cannot boot with 0 CPUs as this machine allows 1 to \d+/],
      [["--cpus", "two"], /Cannot use --cpus two as it is not a whole number/],
      [["--memory", "100000G"], /Cannot boot with 102400000 MiB of memory as this machine allows 16 to/],
      [["-p", "99999:1"], /Cannot publish 99999:1 as the host port is not from 1 to 65535: 99999/],
      [["-p", "8080:9999"], /Cannot publish 8080:9999 as tiny does not declare guest port 9999/],
      [["--memory", "lots"], /Cannot use --memory lots as it is not a size/],
      [["-e", "NOT_SET_ANYWHERE_42"], /Cannot pass -e NOT_SET_ANYWHERE_42 as it is neither KEY=VALUE nor set/],
      [["-e", "INGOT_ENV=prod"], /INGOT_ENV as INGOT_ variables are set by ingot/],
    ] as const) {
      const outcome = await ingot("run", "tiny", ...args);
      assert.equal(outcome.code, 1, outcome.stderr);
      assert.match(outcome.stderr, message);
    }
  });

  test("an unknown verb is a usage error (exit 2)", async () => {
    const outcome = await ingot("frobnicate");
    assert.equal(outcome.code, 2);
    assert.match(outcome.stderr, /^error: Cannot run ingot frobnicate as it is not a command$/m);
  });

  test("rm removes the tag, after which images is empty", async () => {
    assert.match(await succeed("rm", "tiny:1.2.3"), new RegExp(`^Removed tiny:1\\.2\\.3 \\(${digest.slice(0, 19)}\\)$`, "m"));
    assert.deepEqual(JSON.parse(await succeed("images", "--json")), []);
    assert.match(await succeed("images"), /^No images yet: build one with ingot build DIR$/m);
    const again = await ingot("rm", "tiny:1.2.3");
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^error: Cannot find the image/m);
  });
});
