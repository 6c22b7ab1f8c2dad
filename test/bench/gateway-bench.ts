// Gateway throughput harness: POST /v1/chat/completions from a closed-loop keep-alive client through the
// embedded data plane (with a given filter, or none) or straight to the upstream, for a bounded time.
// The client and the upstream run in a worker thread; the data plane runs on this thread, so this
// thread's CPU time over the measured window is the data plane's cost per request. (Event-loop busy
// time would also count the time the thread waits for a core on a shared machine.)
import { readFileSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { startGateway } from "../../src-host/gateway/gateway.js";
import type { DataPlaneConfig } from "../../src-host/dataplane-api/bootstrap.js";
import type { HttpFilterFactory } from "../../src-host/dataplane-api/http-filter.js";

export interface BenchOptions {
  /** Request body size in bytes. */
  bodyBytes: number;
  /** Measured time, after the warm-up. Default 3000 ms. */
  durationMs?: number;
  warmupMs?: number;
  /** Requests in flight (closed loop, one keep-alive connection each). Default 16. */
  concurrency?: number;
  path?: string;
  /** Row label; default derived from the filter. */
  label?: string;
}

export interface BenchResult {
  label: string;
  bodyBytes: number;
  requests: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** CPU time of the data plane's thread per request in µs (undefined for the direct baseline). */
  gatewayCpuUs?: number;
}

interface LoadResult {
  requests: number;
  elapsedMs: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  firstError?: string;
}

/** Starts the worker (upstream + load generator) and waits for its upstream port. */
async function startWorker(): Promise<{ worker: Worker; upstreamPort: number }> {
  const worker = new Worker(new URL("./gateway-load-worker.mjs", import.meta.url));
  const upstreamPort = await new Promise<number>((resolve, reject) => {
    worker.once("error", reject);
    worker.once("message", (m: { upstreamPort: number }) => resolve(m.upstreamPort));
  });
  return { worker, upstreamPort };
}

function load(worker: Worker, port: number, o: Required<Omit<BenchOptions, "label">>): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    worker.once("error", reject);
    worker.once("message", (m: { result: LoadResult }) => resolve(m.result));
    worker.postMessage({ cmd: "run", port, ...o });
  });
}

function defaults(o: BenchOptions): Required<Omit<BenchOptions, "label">> {
  return {
    bodyBytes: o.bodyBytes,
    durationMs: o.durationMs ?? 3000,
    warmupMs: o.warmupMs ?? 500,
    concurrency: o.concurrency ?? 16,
    path: o.path ?? "/v1/chat/completions",
  };
}

/** One catch-all route to one upstream; `accessLog` turns on the access log (lines go to startGateway's sink). */
export function benchConfig(upstreamPort: number, opts: { accessLog?: boolean } = {}): DataPlaneConfig {
  return {
    ...(opts.accessLog ? { accessLog: { path: "-" } } : {}),
    listener: { name: "bench", address: { address: "127.0.0.1", port: 0 }, bufferLimitBytes: 50 << 20, requestTimeoutMs: 60_000 },
    admin: { address: "127.0.0.1", port: 0 },
    routes: {
      name: "bench",
      virtualHosts: [{ name: "bench", domains: ["*"], routes: [{ name: "chat", match: { prefix: "/" }, action: { cluster: "model" } }] }],
    },
    clusters: [{ name: "model", type: "STATIC", endpoints: [{ address: "127.0.0.1", port: upstreamPort }], connectTimeoutMs: 5000 }],
    statsTags: [],
  };
}

/** CPU time (user + system) of this thread in ms, from /proc (Linux; 10 ms resolution): the main thread's
 * task id is the process id. */
function threadCpuMs(): number {
  const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime in USER_HZ (100) ticks
}

function result(label: string, bodyBytes: number, r: LoadResult, cpuMs?: number): BenchResult {
  if (r.errors > 0) throw new Error(`${label}: ${r.errors} failed requests (first: ${r.firstError})`);
  return {
    label,
    bodyBytes,
    requests: r.requests,
    rps: (r.requests / r.elapsedMs) * 1000,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    errors: r.errors,
    gatewayCpuUs: cpuMs === undefined ? undefined : (cpuMs * 1000) / r.requests,
  };
}

/** Through the data plane with `filter` in its chain (undefined: the router alone). */
export async function runGatewayBench(filter: HttpFilterFactory | undefined, options: BenchOptions): Promise<BenchResult> {
  const o = defaults(options);
  const { worker, upstreamPort } = await startWorker();
  const gw = await startGateway(benchConfig(upstreamPort), { filter, log: () => {} });
  try {
    // CPU time of this thread over the measured window only (the warm-up is excluded).
    let cpu0 = threadCpuMs();
    const warm = setTimeout(() => (cpu0 = threadCpuMs()), o.warmupMs);
    const r = await load(worker, gw.listenerAddress.port, o);
    clearTimeout(warm);
    const cpuMs = threadCpuMs() - cpu0;
    return result(options.label ?? (filter ? "gateway + filter" : "gateway, no filter"), o.bodyBytes, r, cpuMs);
  } finally {
    await gw.close();
    await worker.terminate();
  }
}

/** The baseline: the same client straight to the upstream. */
export async function runDirectBench(options: BenchOptions): Promise<BenchResult> {
  const o = defaults(options);
  const { worker, upstreamPort } = await startWorker();
  try {
    return result(options.label ?? "direct", o.bodyBytes, await load(worker, upstreamPort, o));
  } finally {
    await worker.terminate();
  }
}

export function formatTable(rows: BenchResult[]): string {
  const header = ["case", "body", "req/s", "p50 ms", "p99 ms", "gw CPU µs/rq", "requests"];
  const cells = rows.map((r) => [
    r.label,
    r.bodyBytes >= 1024 ? `${r.bodyBytes / 1024} KiB` : `${r.bodyBytes} B`,
    r.rps.toFixed(0),
    r.p50Ms.toFixed(2),
    r.p99Ms.toFixed(2),
    r.gatewayCpuUs === undefined ? "-" : r.gatewayCpuUs.toFixed(0),
    String(r.requests),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...cells.map(line)].join("\n");
}
