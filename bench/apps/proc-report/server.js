// Benchmark app: reports what runs inside its VM — every process from /proc (kernel threads apart)
// and the guest's memory use — so bench/instances.ts can count processes without a shell.
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import process from "node:process";

function processes() {
  return readdirSync("/proc").filter((name) => /^\d+$/.test(name)).map((pid) => {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ppid = Number(fields[1]);
    const threads = Number(fields[17]);
    // Kernel threads are kthreadd (pid 2) and its children; they have no user memory.
    const kernelThread = pid === "2" || ppid === 2;
    return { pid: Number(pid), ppid, comm, threads, kernelThread };
  });
}

function memoryKiB() {
  const info = Object.fromEntries(readFileSync("/proc/meminfo", "utf8").trim().split("\n").map((line) => {
    const [key, value] = line.split(":");
    return [key, Number.parseInt(value, 10)];
  }));
  return { total: info.MemTotal, available: info.MemAvailable, used: info.MemTotal - info.MemAvailable };
}

createServer((request, response) => {
  response.writeHead(200, { "content-type": "application/json" });
  response.end(JSON.stringify(request.url === "/health" ? { status: "ok" } : { processes: processes(), memoryKiB: memoryKiB() }));
}).listen(Number(process.env.PORT ?? 8080));
