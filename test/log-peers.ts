// Peers a forwarder talks to in tests, all on 127.0.0.1: a minimal OTLP/HTTP logs receiver, and a
// wait for a condition with a deadline that says what it waited for.
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type RequestListener, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { join } from "node:path";
import { promisify } from "node:util";

/** What an OTLP/JSON ExportLogsServiceRequest holds, as far as the tests read it (opentelemetry-proto logs/v1). */
export interface OtlpRequest {
  resourceLogs: {
    resource: { attributes: { key: string; value: Record<string, unknown> }[] };
    scopeLogs: { scope?: { name?: string }; logRecords: OtlpLogRecord[] }[];
  }[];
}

export interface OtlpLogRecord {
  timeUnixNano: string;
  severityNumber: number;
  severityText: string;
  body: { stringValue: string };
  attributes: { key: string; value: Record<string, unknown> }[];
}

export interface OtlpReceiver {
  port: number;
  requests: { path: string; contentType: string; body: OtlpRequest }[];
  /** The status the next requests are answered with (200 by default). */
  answer: { status: number; body: string };
  /** Every record with its resource's attributes as a plain { key: value } map. */
  records: () => (OtlpLogRecord & { resource: Record<string, unknown> })[];
  close: () => Promise<void>;
}

/** An OTLP/HTTP receiver that keeps every request it is sent; with tls, OTLP/HTTPS with that key and certificate. */
export async function otlpReceiver(port = 0, tls?: { key: Buffer; cert: Buffer }): Promise<OtlpReceiver> {
  const receiver: OtlpReceiver = {
    port: 0, requests: [], answer: { status: 200, body: "{}" },
    records: () => receiver.requests.flatMap((request) => request.body.resourceLogs.flatMap((group) => {
      const resource = Object.fromEntries(group.resource.attributes.map(({ key, value }) => [key, Object.values(value)[0]]));
      return group.scopeLogs.flatMap((scope) => scope.logRecords.map((record) => ({ ...record, resource })));
    })),
    close: async () => { server.closeAllConnections(); await new Promise((resolve) => server.close(resolve)); },
  };
  const handle: RequestListener = (request, response) => {
    void readBody(request).then((text) => {
      const { status, body } = receiver.answer;
      if (status === 200) receiver.requests.push({ path: request.url ?? "", contentType: request.headers["content-type"] ?? "", body: JSON.parse(text) as OtlpRequest });
      response.writeHead(status, { "content-type": "application/json" }).end(body);
    });
  };
  const server: Server = tls ? createHttpsServer(tls, handle) : createServer(handle);
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(port, "127.0.0.1", resolve));
  receiver.port = (server.address() as { port: number }).port;
  return receiver;
}

async function readBody(request: IncomingMessage): Promise<string> {
  let text = "";
  for await (const chunk of request) text += String(chunk);
  return text;
}

/** Polls until check() holds; throws naming what it waited for. */
export async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A CA, and a server certificate it signs for the names given (127.0.0.1 and localhost by default), as PEM files in dir; needs openssl. */
export async function makeCertificates(dir: string, subjectAltName = "IP:127.0.0.1,DNS:localhost"): Promise<{ caFile: string; certFile: string; keyFile: string }> {
  const run = (args: string[]) => promisify(execFile)("openssl", args, { cwd: dir });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await run(["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=ingot test CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
  await run(["req", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"]);
  await writeFile(join(dir, "server.ext"), `subjectAltName=${subjectAltName}\nextendedKeyUsage=serverAuth\n`);
  await run(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "1", "-extfile", "server.ext"]);
  return { caFile: join(dir, "ca.pem"), certFile: join(dir, "server.pem"), keyFile: join(dir, "server.key") };
}
