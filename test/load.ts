// What a test reads from the answers of load (src/load/live-load.ts): the versions in the order they
// served, and a sample of answers for a canary's share.
import { getOnce } from "../src/load/live-load.ts";

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
      const answer = await getOnce(url, undefined).then(
        ({ status, body }) => (status === 200 ? body.trim() : `HTTP ${status}: ${body.trim().slice(0, 200)}`),
        (error: NodeJS.ErrnoException) => error.code ?? error.message,
      );
      answers.push(answer);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return answers;
}
