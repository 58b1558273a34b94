import assert from "node:assert/strict";
import { test } from "node:test";
import { serverStatuses } from "./server-status.ts";

test("show stat is read by column names, only the backend's servers, with HAProxy's status words normalized", () => {
  // Columns deliberately out of HAProxy's order: only the names may be relied on.
  const csv = [
    "# svname,pxname,type,addr,status,scur,uweight,check_status,check_code,check_desc,last_chk,",
    "FRONTEND,prod,0,,OPEN,3,,,,,,",
    "BACKEND,prod,1,,UP,3,2,,,,,",
    "web-1,prod,2,127.0.0.1:4001,UP 1/3,2,1,* L7OK,200,Layer7 check passed,,",
    "web-2,prod,2,127.0.0.1:4002,DOWN,0,1,L7STS,500,Layer7 wrong status,Internal Server Error,",
    "web-3,prod,2,[::1]:4003,MAINT,0,1,,,,,",
    "web-4,prod,2,127.0.0.1:4004,no check,1,0,,,,,",
    "web-1,test,2,127.0.0.1:5001,DRAIN,0,1,,,,,",
    "",
  ].join("\n");
  const servers = serverStatuses(csv, "prod");
  assert.deepEqual(servers.map((server) => [server.name, server.address, server.port, server.state, server.currentSessions, server.weight]), [
    ["web-1", "127.0.0.1", 4001, "UP", 2, 1],
    ["web-2", "127.0.0.1", 4002, "DOWN", 0, 1],
    ["web-3", "::1", 4003, "MAINT", 0, 1],
    ["web-4", "127.0.0.1", 4004, "UP", 1, 0],
  ]);
  assert.deepEqual(servers[0]!.check, { status: "L7OK", code: "200", description: "Layer7 check passed", detail: "" });
  assert.equal(servers[1]!.check.detail, "Internal Server Error");
  assert.equal(serverStatuses(csv, "test")[0]!.state, "DRAIN");
});
