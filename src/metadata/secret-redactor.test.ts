import { test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { instanceConfig } from "./instance-config.ts";
import { secretRedactor } from "./secret-redactor.ts";

const image = { name: "hello", version: "1.0.0", digest: "sha256:abc" };
const redactorOf = (secrets: [string, string][]): ((line: string) => string) =>
  secretRedactor(instanceConfig({ instanceId: "i-1", image, platform: "qemu", runtimeEnv: [["PUBLIC", "s3cr3t"]], secrets }));

test("secret values are redacted from output lines, longest first; very short values are not", () => {
  const redact = redactorOf([["TOKEN", "s3cr3t"], ["DSN", "user=u password=s3cr3t"], ["FLAG", "on"]]);
  assert.equal(redact("token s3cr3t, dsn user=u password=s3cr3t, flag on"), "token [secret:TOKEN], dsn [secret:DSN], flag on");
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

test("of a URL, only the password is secret: its host and user stay readable, also where the console prints the guest's own address", () => {
  const redact = redactorOf([["DATABASE_URL", "postgres://app:Zq8v%2Fk3LmN0pRw7x@10.0.2.102:5432/app"]]);
  assert.equal(redact("dhcp lease 10.0.2.15 from 10.0.2.2"), "dhcp lease 10.0.2.15 from 10.0.2.2");
  assert.equal(redact("connecting to postgres://app:Zq8v%2Fk3LmN0pRw7x@10.0.2.102:5432/app"), "connecting to postgres://app:[secret:DATABASE_URL]@10.0.2.102:5432/app");
  assert.equal(redact("password=Zq8v/k3LmN0pRw7x"), "password=[secret:DATABASE_URL]", "the decoded password");
});
