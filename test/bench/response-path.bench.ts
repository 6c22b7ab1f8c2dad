// The whole response path's added latency per event (issue #6): a streamed chat answer of 100 and 1,000 SSE
// events (one write each, ~260 B, a usage chunk and [DONE] at the end) through the embedded data plane with
// the production filter build/ai-gateway.wasm (costs configured, so every chunk goes through the usage
// scanner) beside the same data plane with no filter and the client straight to the upstream, in the same run.
// - spaced: one event per ~1 ms timer, so each event crosses the path alone: latency = client receipt −
//   upstream write of that event, p50/p99 over every event;
// - back-to-back: every event written in one synchronous loop: wall time from the first write to the last
//   receipt per event (the path's throughput cost; per-event latency there is mostly queueing).
// Upstream and client run in one worker thread (one clock for write and receipt times); the data plane runs
// on this thread, whose CPU time (schedstat, ns) around each stream is its cost.
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { Worker } from "node:worker_threads";
import { expect, it } from "vitest";
import { PLUGIN_CONFIG_VERSION, type PluginConfig } from "../../src-host/config/plugin-config.js";
import { benchConfig } from "./gateway-bench.js";
import { startGateway, type Gateway } from "../../src-host/gateway/gateway.js";
import { loadWasmFilter } from "../../src-host/proxy-wasm/index.js";
import { StatsStore } from "../../src-host/stats/index.js";
import { chatStreamEvents } from "../assembly/gateway/response/sse-fixtures.js";

const SIZES = [100, 1000] as const;
type Mode = "spaced" | "back-to-back";
/** Streams measured per case (after one warm-up stream), kept small enough for the whole file to take < 60 s. */
const STREAMS: Record<Mode, Record<(typeof SIZES)[number], number>> = {
  spaced: { 100: 16, 1000: 4 },
  "back-to-back": { 100: 80, 1000: 16 },
};
const PROMPT_TOKENS = 25;

// The worker: an SSE upstream answering every POST with the stream of `x-bench-events` events, and the
// client that reads it through a given port. Plain JavaScript (an eval'd worker is not transformed).
const WORKER_SOURCE = `
const http = require("node:http");
const { parentPort, workerData } = require("node:worker_threads");
const streams = new Map(Object.entries(workerData.streams).map(([n, events]) => [Number(n), events.map((e) => Buffer.from(e))]));
let writes = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const upstream = http.createServer((req, res) => {
  req.resume();
  req.on("end", async () => {
    const events = streams.get(Number(req.headers["x-bench-events"]));
    const interval = Number(req.headers["x-bench-interval-ms"]);
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    writes = [];
    for (const e of events) {
      if (interval > 0) await sleep(interval);
      writes.push(performance.now());
      res.write(e);
    }
    res.end();
  });
});
upstream.keepAliveTimeout = 60000;
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const body = Buffer.from(JSON.stringify({ model: "llama-3", stream: true, messages: [{ role: "user", content: "Tell me a story." }] }));

function stream({ port, events, intervalMs }) {
  return new Promise((resolve, reject) => {
    const receipts = [];
    let bytes = 0, prev = 0;
    const req = http.request({ host: "127.0.0.1", port, path: "/v1/chat/completions", method: "POST", agent,
      headers: { "content-type": "application/json", "content-length": body.length,
        "x-bench-events": events, "x-bench-interval-ms": intervalMs } }, (res) => {
      res.on("data", (chunk) => {
        const now = performance.now();
        bytes += chunk.length;
        // An event ends at its blank line; the bytes pass unchanged, so the n-th one is the n-th write.
        for (let i = 0; i < chunk.length; i++) {
          const b = chunk[i];
          if (b === 10 && prev === 10) { receipts.push(now); prev = 0; } else prev = b;
        }
      });
      res.on("end", () => resolve({ status: res.statusCode, bytes, writes, receipts }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

upstream.listen(0, "127.0.0.1", () => parentPort.postMessage({ upstreamPort: upstream.address().port }));
parentPort.on("message", (m) => stream(m).then((r) => parentPort.postMessage(r), (e) => parentPort.postMessage({ error: String(e) })));
`;

interface StreamResult {
  status: number;
  bytes: number;
  writes: number[];
  receipts: number[];
  error?: string;
}

class BenchWorker {
  private constructor(
    private worker: Worker,
    readonly upstreamPort: number,
  ) {}

  static async start(streams: Record<number, string[]>): Promise<BenchWorker> {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { streams } });
    const port = await new Promise<number>((resolve, reject) => {
      worker.once("error", reject);
      worker.once("message", (m: { upstreamPort: number }) => resolve(m.upstreamPort));
    });
    return new BenchWorker(worker, port);
  }

  stream(port: number, events: number, intervalMs: number): Promise<StreamResult> {
    return new Promise((resolve, reject) => {
      this.worker.once("error", reject);
      this.worker.once("message", (m: StreamResult) => {
        this.worker.off("error", reject);
        if (m.error) reject(new Error(m.error));
        else resolve(m);
      });
      this.worker.postMessage({ port, events, intervalMs });
    });
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

/** ns this thread has run on a CPU (/proc schedstat; the main thread's task id is the process id). */
function threadCpuNs(): number {
  return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").split(" ")[0]);
}

/** The production module with one route for the benchmark's model and token costs (so usage is scanned). */
function pluginConfig(): PluginConfig {
  return {
    version: PLUGIN_CONFIG_VERSION,
    rules: [{ route: "bench/chat", index: 0, matches: [], backends: [{ name: "bench/upstream", kind: "AIServiceBackend", weight: 1, modelNameOverride: "" }] }],
    models: [],
    pools: [],
    maxRequestBodyBytes: 1 << 20,
    costs: [
      { route: "", metadataKey: "in", type: "InputToken", cel: "" },
      { route: "", metadataKey: "out", type: "OutputToken", cel: "" },
    ],
    rateLimits: [],
  };
}

interface Case {
  label: string;
  port: number;
  /** CPU of the data plane is measured (not for the direct baseline). */
  dataPlane: boolean;
}

interface Row {
  mode: Mode;
  events: number;
  label: string;
  p50Us: number;
  p99Us: number;
  wallUsPerEvent: number;
  cpuUsPerEvent?: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

it("response path: SSE events through the data plane with ai-gateway.wasm vs without a filter", async () => {
  const streams = Object.fromEntries(SIZES.map((n) => [n, chatStreamEvents({ tokens: n - 4, promptTokens: PROMPT_TOKENS })]));
  for (const n of SIZES) expect(streams[n]).toHaveLength(n);
  const worker = await BenchWorker.start(streams);
  const stats = new StatsStore();
  const filter = await loadWasmFilter({
    config: {
      name: "ai-gateway",
      rootId: "ai-gateway",
      vmId: "ai-gateway",
      modulePath: "build/ai-gateway.wasm",
      configuration: JSON.stringify(pluginConfig()),
      allowOnHeadersStopIteration: true,
      failOpen: false,
      workers: 1,
    },
    clusters: [],
    bufferLimitBytes: 1 << 20,
    stats,
  });
  const wasmLog: string[] = [];
  const gateways: Gateway[] = [];
  const rows: Row[] = [];
  try {
    const config = benchConfig(worker.upstreamPort, { accessLog: true });
    gateways.push(await startGateway(config, { log: () => {}, accessLog: () => {} }));
    gateways.push(await startGateway(config, { filter, stats, log: () => {}, accessLog: (l) => wasmLog.push(l) }));
    const cases: Case[] = [
      { label: "direct", port: worker.upstreamPort, dataPlane: false },
      { label: "gateway, no filter", port: gateways[0].listenerAddress.port, dataPlane: true },
      { label: "gateway + ai-gateway.wasm", port: gateways[1].listenerAddress.port, dataPlane: true },
    ];
    let wasmStreams = 0;
    for (const mode of Object.keys(STREAMS) as Mode[]) {
      const intervalMs = mode === "spaced" ? 1 : 0;
      for (const events of SIZES) {
        const expectedBytes = streams[events].reduce((s, e) => s + Buffer.byteLength(e), 0);
        const acc = cases.map(() => ({ latencies: [] as number[], wallMs: 0, cpuNs: 0, events: 0 }));
        // The cases take turns, so drift in the machine's load spreads over all of them.
        for (let round = 0; round <= STREAMS[mode][events]; round++) {
          for (const [i, c] of cases.entries()) {
            const cpu0 = threadCpuNs();
            const r = await worker.stream(c.port, events, intervalMs);
            const cpuNs = threadCpuNs() - cpu0;
            expect(r.status, c.label).toBe(200);
            expect(r.bytes, c.label).toBe(expectedBytes);
            expect(r.receipts, c.label).toHaveLength(events);
            if (c.label.includes("wasm")) wasmStreams++;
            if (round === 0) continue; // warm-up
            const a = acc[i];
            for (let e = 0; e < events; e++) a.latencies.push(r.receipts[e] - r.writes[e]);
            a.wallMs += r.receipts[events - 1] - r.writes[0];
            a.cpuNs += cpuNs;
            a.events += events;
          }
        }
        for (const [i, c] of cases.entries()) {
          const a = acc[i];
          const sorted = a.latencies.sort((x, y) => x - y);
          rows.push({
            mode,
            events,
            label: c.label,
            p50Us: percentile(sorted, 0.5) * 1000,
            p99Us: percentile(sorted, 0.99) * 1000,
            wallUsPerEvent: (a.wallMs * 1000) / a.events,
            cpuUsPerEvent: c.dataPlane ? a.cpuNs / 1000 / a.events : undefined,
          });
        }
      }
    }
    // Every filtered stream was counted: the usage chunk's completion tokens reached the access log.
    await new Promise((r) => setTimeout(r, 50));
    for (const n of SIZES) {
      const counted = wasmLog.filter((l) => l.includes(` wasm.out=${n - 4} `) && l.includes(` wasm.in=${PROMPT_TOKENS} `)).length;
      const expected = (Object.keys(STREAMS) as Mode[]).reduce((s, m) => s + STREAMS[m][n] + 1, 0);
      expect(counted, `streams of ${n} events counted in\n${wasmLog.slice(0, 3).join("\n")}`).toBe(expected);
    }
    expect(wasmLog).toHaveLength(wasmStreams);
  } finally {
    for (const g of gateways) await g.close();
    await filter.close();
    await worker.terminate();
  }
  console.log(
    `\n${formatRows(rows)}\n(${cpus().length} CPUs, load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")})\n`,
  );
  for (const r of rows) {
    expect(r.p50Us).toBeGreaterThan(0);
    if (r.cpuUsPerEvent !== undefined) expect(r.cpuUsPerEvent).toBeGreaterThan(0);
  }
});

/**
 * A markdown table. Spaced rows show per-event latency, back-to-back rows wall time per event (their
 * latency is queueing); the wasm rows add what the filter adds over the no-filter row of the same case.
 */
function formatRows(rows: Row[]): string {
  const lines = [
    "| mode | events | case | latency p50 µs | latency p99 µs | wall µs/event | data plane CPU µs/event | wasm − no filter | wasm ÷ no filter |",
    "|---|---:|---|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of rows) {
    const spaced = r.mode === "spaced";
    const base = rows.find((b) => b.mode === r.mode && b.events === r.events && b.label === "gateway, no filter")!;
    const time = (x: Row) => (spaced ? x.p50Us : x.wallUsPerEvent);
    const what = spaced ? "p50" : "wall";
    const added = r.label.includes("wasm")
      ? [`${what} ${(time(r) - time(base)).toFixed(1)} µs`, `CPU ${(r.cpuUsPerEvent! - base.cpuUsPerEvent!).toFixed(1)} µs`]
      : ["", ""];
    const ratio = r.label.includes("wasm") ? `${what} ${(time(r) / time(base)).toFixed(2)}×, CPU ${(r.cpuUsPerEvent! / base.cpuUsPerEvent!).toFixed(2)}×` : "";
    const cells = [
      r.mode,
      String(r.events),
      r.label,
      spaced ? r.p50Us.toFixed(0) : "-",
      spaced ? r.p99Us.toFixed(0) : "-",
      spaced ? "-" : r.wallUsPerEvent.toFixed(1),
      r.cpuUsPerEvent === undefined ? "-" : r.cpuUsPerEvent.toFixed(1),
      added.filter((x) => x).join(", "),
      ratio,
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  lines.push("", "CPU per event includes each stream's request and headers, so it falls with the stream's length.");
  return lines.join("\n");
}
