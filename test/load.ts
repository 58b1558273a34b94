// Continuous requests against a URL while a test changes what serves it: over one kept-alive
// connection per client, or a fresh connection per request. It records every answer in order, so a
// test can assert that none failed and that versions switched once and never went back.
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
export function startLoad(url: string, options: { clients: number; keepAlive: boolean }): { stop: () => Promise<LoadReport> } {
  let stopped = false;
  const report: LoadReport = { requests: 0, failures: [], answers: [] };
  const agent = options.keepAlive ? new Agent({ keepAlive: true, maxSockets: options.clients }) : undefined;
  const client = async (answers: string[]): Promise<void> => {
    while (!stopped) {
      report.requests++;
      try {
        const { status, body } = await get(url, agent);
        if (status === 200) answers.push(body.trim());
        else report.failures.push(`${new Date().toISOString()} HTTP ${status}: ${body.slice(0, 200)}`);
      } catch (error) {
        report.failures.push(`${new Date().toISOString()} ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
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

function get(url: string, agent: Agent | undefined): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const call = request(url, { agent: agent ?? false, headers: agent ? {} : { connection: "close" }, timeout: 30_000 }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk)).on("end", () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") })).on("error", reject);
    });
    // The local port names the request in the entry point's access log (client address 127.0.0.1:PORT).
    call.on("timeout", () => call.destroy(new Error(`no answer within 30 s (from port ${call.socket?.localPort ?? "?"})`))).on("error", reject);
    call.end();
  });
}

/** The distinct answers in the order they first came: ["1", "2"] for a switch that never went back. */
export function switches(answers: string[]): string[] {
  return answers.filter((answer, index) => index === 0 || answer !== answers[index - 1]);
}

/**
 * Sends `count` requests, `concurrency` at a time over fresh connections, and returns every answer
 * (the body of a 200, or "HTTP 500: …" / an error code), in the order they came.
 *
 * @example
 * const answers = await sampleAnswers("http://127.0.0.1:8080/env/VERSION", 2000, 4);
 * answers.filter((answer) => answer === "2").length / answers.length; // the canary's share
 */
export async function sampleAnswers(url: string, count: number, concurrency: number): Promise<string[]> {
  const answers: string[] = [];
  let sent = 0;
  const worker = async (): Promise<void> => {
    while (sent < count) {
      sent++;
      const answer = await get(url, undefined).then(
        ({ status, body }) => (status === 200 ? body.trim() : `HTTP ${status}: ${body.trim().slice(0, 200)}`),
        (error: NodeJS.ErrnoException) => error.code ?? error.message,
      );
      answers.push(answer);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return answers;
}
