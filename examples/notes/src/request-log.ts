// One log line per request, its method, path and status in the message: ingot's `logs --grep`
// searches the message, not the fields, and Fastify's own pair ("incoming request", "request
// completed") keeps them in fields. Health checks, every second from ingot, go at debug.
import { LogController, type FastifyReply, type FastifyRequest } from "fastify";

export class RequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const ms = Math.round(reply.elapsedTime * 10) / 10;
    const fields = { method: request.method, url: request.url, statusCode: reply.statusCode, responseTimeMs: ms, err: error ?? undefined };
    const message = `${request.method} ${request.url} ${reply.statusCode} ${ms}ms`;
    if (error) reply.log.error(fields, message);
    // The health route says itself why it failed, once the app was ready (routes/health.ts).
    else if (request.url === "/health") reply.log.debug(fields, message);
    // A 503 was chosen by a handler that logged why.
    else if (reply.statusCode >= 500) reply.log.warn(fields, message);
    else reply.log.info(fields, message);
  }
}
