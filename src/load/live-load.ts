// Continuous requests against a URL while something changes what serves it (a test's deploy, the
// demo's): over one kept-alive connection per client, or a fresh connection per request. It records
// every answer in order, so a caller can show that none failed and that versions switched once and
// never went back.
import { Agent, request } from "node:http";

export interface LoadReport {
  requests: number;
  /** "HTTP 503: …" or "ECONNRESET", with the time it happened. */
  failures: string[];
  /** Each client's answers in the order they came. */
  answers: string[][];
}

/**
 * @example
 * const load = startLoad("http://127.0.0.1:8080/env/VERSION", { clients: 2, keepAlive: true });
 * await deploy();
 * const report = await load.stop(); // { requests: 812, failures: [], answers: [["1", …, "2"], …] }
 */
export function startLoad(url: string, options: { clients: number; keepAlive: boolean; pauseMs?: number; headers?: Record<string, string> }): { stop: () => Promise<LoadReport> } {
  let stopped = false;
  const report: LoadReport = { requests: 0, failures: [], answers: [] };
  const agent = options.keepAlive ? new Agent({ keepAlive: true, maxSockets: options.clients }) : undefined;
  const client = async (answers: string[]): Promise<void> => {
    while (!stopped) {
      report.requests++;
      try {
        const { status, body } = await getOnce(url, agent, options.headers);
        if (status === 200) answers.push(body.trim());
        else report.failures.push(`${new Date().toISOString()} HTTP ${status}: ${body.slice(0, 200)}`);
      } catch (error) {
        report.failures.push(`${new Date().toISOString()} ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // A pause leaves the host's cores to the instances that boot meanwhile (the demo's load).
      if (options.pauseMs) await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
    }
  };
  const clients = Array.from({ length: options.clients }, () => {
    const answers: string[] = [];
    report.answers.push(answers);
    return client(answers);
  });
  return {
    async stop() {
      stopped = true;
      await Promise.all(clients);
      agent?.destroy();
      return report;
    },
  };
}

export function getOnce(url: string, agent: Agent | undefined, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const call = request(url, { agent: agent ?? false, headers: agent ? headers : { ...headers, connection: "close" }, timeout: 30_000 }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk)).on("end", () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") })).on("error", reject);
    });
    // The local port names the request in the entry point's access log (client address 127.0.0.1:PORT).
    call.on("timeout", () => call.destroy(new Error(`no answer within 30 s (from port ${call.socket?.localPort ?? "?"})`))).on("error", reject);
    call.end();
  });
}

