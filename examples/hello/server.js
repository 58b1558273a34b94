// ingot's example app: answers on PORT (8080 by default) with a greeting and a health endpoint.
import { createServer } from "node:http";

const port = Number(process.env.PORT ?? 8080);
const startedAt = Date.now();

const server = createServer((request, response) => {
  if (request.url === "/health") {
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ status: "ok", uptimeMs: Date.now() - startedAt }));
    return;
  }
  response.writeHead(200, { "content-type": "text/plain" });
  response.end(`Hello from ${process.env.INGOT_APP ?? "hello"} (${process.env.INGOT_ENV ?? "local"})\n`);
});

server.listen(port, () => console.log(`hello: listening on port ${port}`));

// A graceful stop: finish in-flight requests, then exit 0.
process.on("SIGTERM", () => {
  console.log("hello: SIGTERM received, closing");
  server.close(() => process.exit(0));
});
