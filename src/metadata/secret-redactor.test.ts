import { test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { instanceConfig } from "./instance-config.ts";
import { secretRedactor } from "./secret-redactor.ts";

const image = { name: "hello", version: "1.0.0", digest: "sha256:abc" };
const redactorOf = (secrets: [string, string][]): ((line: string) => string) =>
  secretRedactor(instanceConfig({ instanceId: "i-1", image, platform: "qemu", runtimeEnv: [["PUBLIC", "s3cr3t"]], secrets }));

test("secret values are redacted from output lines, longest first; very short values are not", () => {
  const redact = redactorOf([["TOKEN", "s3cr3t"], ["URL", "postgres://u:s3cr3t@db"], ["FLAG", "on"]]);
  assert.equal(redact("token s3cr3t, url postgres://u:s3cr3t@db, flag on"), "token [secret:TOKEN], url [secret:URL], flag on");
  assert.equal(redact("s3cr3t"), "[secret:TOKEN]", "a marker is not redacted again");
  assert.equal(redactorOf([])("same"), "same");
});

test("every line of a PEM key printed by the app is redacted, and so is any piece of 8 characters or more", () => {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 1024, privateKeyEncoding: { type: "pkcs8", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });
  const redact = redactorOf([["TLS_KEY", privateKey]]);
  const keyLines = privateKey.trim().split("\n");
  const printed = keyLines.map((line) => redact(`app | ${line}`));
  assert.deepEqual(printed, keyLines.map(() => "app | [secret:TLS_KEY]"));

  const body = keyLines[1]!;
  assert.equal(redact(`loaded key ${body.slice(10, 30)}… (truncated)`), "loaded key [secret:TLS_KEY]… (truncated)");
  assert.equal(redact(`whole key: ${JSON.stringify(privateKey)}`).includes(body.slice(0, 8)), false, "a JSON-escaped key leaks no line");
  assert.equal(redact(`piece ${body.slice(0, 7)} stays`), `piece ${body.slice(0, 7)} stays`, "7 characters are not a secret's piece");
  assert.equal(redact("----------------"), "----------------", "a run of one character is no secret");
});

test("a short last line of a multi-line secret is redacted whole", () => {
  const redact = redactorOf([["CERT", "first-line-of-cert\nZw=="]]);
  assert.equal(redact("Zw=="), "[secret:CERT]");
  assert.equal(redact("tail Zw== ok"), "tail [secret:CERT] ok");
});
