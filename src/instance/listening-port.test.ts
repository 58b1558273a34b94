import { test } from "node:test";
import assert from "node:assert/strict";
import type { ListeningSocket } from "../vm/init-lines.ts";
import { followedPort, listenAdvice, listeningHint, listeningProblem } from "./listening-port.ts";

const on = (port: number, address?: string): ListeningSocket => ({ port, ...(address ? { address } : {}), reachable: !address?.startsWith("127.") && address !== "[::1]" });

test("the service forward follows the first reachable port the app listens on, unless it listens where expected", () => {
  assert.equal(followedPort(8080, undefined), 8080, "nothing reported yet");
  assert.equal(followedPort(8080, []), 8080, "listens nowhere");
  assert.equal(followedPort(8080, [on(3000)]), 3000);
  assert.equal(followedPort(8080, [on(3000), on(8080)]), 8080, "a metrics port opened first does not win over the expected one");
  assert.equal(followedPort(8080, [on(9229, "127.0.0.1"), on(3000), on(4000)]), 3000, "loopback cannot be reached: skipped");
  assert.equal(followedPort(8080, [on(3000, "10.0.2.15")]), 3000, "the guest's own address is reachable");
  assert.equal(followedPort(8080, [on(8080, "127.0.0.1")]), 8080, "only loopback: nothing to follow");
});

test("the problem says where the app listens instead, or that it listens nowhere", () => {
  assert.equal(listeningProblem(8080, undefined), undefined);
  assert.equal(listeningProblem(8080, [on(8080)]), undefined);
  assert.equal(listeningProblem(8080, []), "the app listens on no TCP port");
  assert.equal(listeningProblem(8080, [on(3000), on(9229, "127.0.0.1")]), "the app listens on 3000, not on 8080");
  assert.equal(listeningProblem(8080, [on(8080, "127.0.0.1")]), "the app listens on 127.0.0.1:8080 only, which cannot be reached from outside the guest, not on 8080");
});

test("the hint says what to change: where the app listens, or ingot.yaml", () => {
  assert.match(listeningHint(8080, []), /^Make the app listen on 8080 \(its PORT\) on every address/);
  assert.match(listeningHint(8080, [on(3000)]), /^Make the app listen on 8080 \(its PORT\), or declare the port it listens on under ports: in ingot.yaml$/);
  assert.match(listeningHint(8080, [on(8080, "127.0.0.1")]), /^Make the app listen on every address \(0\.0\.0\.0 or ::\)/);
});

test("ingot run's advice names the port to publish, or the fix in ingot.yaml, and is silent when all is well", () => {
  const base = { expected: 8080, follows: true, published: [], hostPort: 41234 };
  assert.equal(listenAdvice({ ...base, listening: [on(3000)] }),
    "the app listens on 3000, not on 8080: use -p HOST:3000, or ports: in ingot.yaml (meanwhile http://127.0.0.1:41234 leads to 3000)");
  assert.equal(listenAdvice({ ...base, listening: [on(8080)] }), undefined);
  assert.equal(listenAdvice({ ...base, listening: undefined }), undefined);
  assert.equal(listenAdvice({ ...base, listening: [] }), undefined, "no port yet: the health check's timeout says so");
  assert.equal(listenAdvice({ ...base, published: [3000], listening: [on(3000)] }), undefined, "-p HOST:3000 given");
  assert.equal(listenAdvice({ ...base, follows: false, listening: [on(3000)] }),
    "the app listens on 3000, not on 8080: make it listen on 8080 (its PORT), or declare ports: {http: 3000} in ingot.yaml");
  assert.equal(listenAdvice({ ...base, listening: [on(8080, "127.0.0.1")] }),
    "the app listens on 127.0.0.1:8080 only, which cannot be reached from outside the guest: make it listen on every address (0.0.0.0 or ::)");
  assert.equal(listenAdvice({ expected: undefined, follows: false, published: [], hostPort: undefined, listening: [on(3000)] }),
    "the app listens on 3000, which ingot.yaml does not declare: add ports: {http: 3000} to ingot.yaml");
});
