// The filter's CPU per request through the Node proxy-wasm host, without a network: a loop of streams
// (request headers, body, JSON response with usage, on_log/on_done/on_delete) driven straight into the
// filter, in alternating rounds so drift hits every case alike. Beside it, in the same run: the stream API
// with the JS pass-through filter, and a wasm module that continues everything (the host's own floor).
// The production module's share is what it costs above that floor.
// The last case runs the same streams inside proxy-wasm-cpp-host on WAMR (test/cpp-host), beside its own floor.
import { cpus, loadavg } from "node:os";
import { expect, it } from "vitest";
import { PLUGIN_CONFIG_VERSION, type PluginConfig } from "../../src-host/config/plugin-config.js";
import type { HeaderList, HttpFilterFactory, HttpFilterSink } from "../../src-host/dataplane-api/http-filter.js";
import { passThroughFilter } from "../../src-host/gateway/pass-through.js";
import { loadWasmFilter, type WasmFilter } from "../../src-host/proxy-wasm/index.js";
import { StatsStore } from "../../src-host/stats/index.js";
import { fixture, wasmConfig } from "../assembly/gateway/filter/helpers.js";
import { CppHost, cppHostMissing } from "../cpp-host/cpp-host.js";

const ROUNDS = 5;
const STREAMS = 4000;

function plugin(costs: boolean): PluginConfig {
  return {
    version: PLUGIN_CONFIG_VERSION,
    rules: [
      {
        route: "bench/route",
        index: 0,
        matches: [{ headers: [{ name: "x-ai-eg-model", type: "Exact", value: "llama-3" }] }],
        backends: [{ name: "bench/upstream", kind: "AIServiceBackend", weight: 1, modelNameOverride: "" }],
      },
    ],
    models: [{ id: "llama-3", ownedBy: "", created: 0 }],
    pools: [],
    maxRequestBodyBytes: 50 << 20,
    costs: costs
      ? [
          { route: "", metadataKey: "in", type: "InputToken", cel: "" },
          { route: "", metadataKey: "out", type: "OutputToken", cel: "" },
          { route: "", metadataKey: "weighted", type: "CEL", cel: "input_tokens + output_tokens * uint(4)" },
        ]
      : [],
    rateLimits: [],
  };
}

function load(module: string, config: PluginConfig): Promise<WasmFilter> {
  return loadWasmFilter({
    config: wasmConfig({ modulePath: module, configuration: JSON.stringify(config), workers: 1 }),
    clusters: [],
    bufferLimitBytes: 51 << 20,
    stats: new StatsStore(),
  });
}

function chat(bytes: number, modelFirst: boolean): Uint8Array {
  const pad = "x".repeat(Math.max(bytes - 80, 0));
  const text = modelFirst
    ? JSON.stringify({ model: "llama-3", messages: [{ role: "user", content: pad }] })
    : JSON.stringify({ messages: [{ role: "user", content: pad }], model: "llama-3" });
  return new TextEncoder().encode(text);
}

const RESPONSE = new TextEncoder().encode(
  JSON.stringify({
    id: "c1",
    object: "chat.completion",
    model: "llama-3",
    choices: [{ index: 0, message: { role: "assistant", content: "hello" }, finish_reason: "stop" }],
    usage: { prompt_tokens: 250, completion_tokens: 2, total_tokens: 252 },
  }),
);

/** A sink that only counts what reaches the upstream and the client. */
class CountingSink implements HttpFilterSink {
  static upstreamBodies = 0;
  static clientBodies = 0;
  readonly info = {
    streamId: 1,
    startTimeMs: Date.now(),
    startHr: process.hrtime.bigint(),
    protocol: "HTTP/1.1",
    downstreamRemote: { address: "127.0.0.1", port: 40000 },
    downstreamLocal: { address: "127.0.0.1", port: 8080 },
    requestBodyBytes: 0,
    responseBodyBytes: 0,
    filterState: new Map<string, Uint8Array>(),
    route: { name: "route", cluster: "cluster" },
  };
  forwardRequestHeaders(): void {}
  forwardRequestData(_d: Uint8Array, eos: boolean): void {
    if (eos) CountingSink.upstreamBodies++;
  }
  forwardRequestTrailers(): void {}
  forwardResponseHeaders(): void {}
  forwardResponseData(_d: Uint8Array, eos: boolean): void {
    if (eos) CountingSink.clientBodies++;
  }
  forwardResponseTrailers(): void {}
  localReply(status: number): void {
    throw new Error(`unexpected local reply ${status}`);
  }
  reset(details: string): void {
    throw new Error(`unexpected reset ${details}`);
  }
  clearRouteCache(): void {}
  resolveRoute() {
    return this.info.route;
  }
}

function stream(filter: HttpFilterFactory, body: Uint8Array): void {
  const s = filter.createStream(new CountingSink());
  const headers: HeaderList = [
    [":method", "POST"],
    [":path", "/v1/chat/completions"],
    [":authority", "gw"],
    [":scheme", "http"],
    ["content-type", "application/json"],
    ["content-length", String(body.length)],
  ];
  s.requestHeaders(headers, false);
  s.requestData(body, true);
  s.responseHeaders(
    [
      [":status", "200"],
      ["content-type", "application/json"],
      ["content-length", String(RESPONSE.length)],
    ],
    false,
  );
  s.responseData(RESPONSE, true);
  s.complete();
}

/** CPU µs per stream (user + system of this process) over `n` streams. */
function cpuPerStream(filter: HttpFilterFactory, body: Uint8Array, n: number): number {
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) stream(filter, body);
  const c = process.cpuUsage(t0);
  return (c.user + c.system) / n;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

it("filter CPU per request through the host: ai-gateway.wasm beside a no-op module and the JS pass-through", async () => {
  const noop = await load(fixture("host-noop"), plugin(false));
  const routing = await load("build/ai-gateway.wasm", plugin(false));
  const counting = await load("build/ai-gateway.wasm", plugin(true));
  const cases: Array<{ label: string; filter: HttpFilterFactory; body: Uint8Array; samples: number[] }> = [];
  for (const [size, label] of [
    [1024, "1 KiB"],
    [128 * 1024, "128 KiB"],
  ] as const) {
    const first = chat(size, true);
    const last = chat(size, false);
    cases.push(
      { label: `${label}  JS pass-through`, filter: passThroughFilter, body: last, samples: [] },
      { label: `${label}  host-noop.wasm (host floor)`, filter: noop, body: last, samples: [] },
      { label: `${label}  ai-gateway.wasm, model first`, filter: routing, body: first, samples: [] },
      { label: `${label}  ai-gateway.wasm, model last`, filter: routing, body: last, samples: [] },
      { label: `${label}  ai-gateway.wasm, model last, costs`, filter: counting, body: last, samples: [] },
    );
  }
  const streams = (c: (typeof cases)[number]) => (c.body.length > 64 * 1024 ? STREAMS / 8 : STREAMS);
  for (const c of cases) cpuPerStream(c.filter, c.body, streams(c) / 4); // warm-up: JIT, pools
  CountingSink.upstreamBodies = CountingSink.clientBodies = 0;
  let expected = 0;
  for (let r = 0; r < ROUNDS; r++) {
    for (const c of cases) {
      c.samples.push(cpuPerStream(c.filter, c.body, streams(c)));
      expected += streams(c);
    }
  }
  for (const f of [noop, routing, counting]) await f.close();
  // Every stream reached the upstream and the client whole: no local reply, no reset, nothing held back.
  expect(CountingSink.upstreamBodies).toBe(expected);
  expect(CountingSink.clientBodies).toBe(expected);

  const floor = new Map<string, number>();
  const lines = cases.map((c) => {
    const size = c.label.split("  ")[0]!;
    const us = median(c.samples);
    if (c.label.includes("host-noop")) floor.set(size, us);
    const above = floor.has(size) && c.label.includes("ai-gateway") ? `${(us - floor.get(size)!).toFixed(1).padStart(8)}` : "".padStart(8);
    return `${c.label.padEnd(44)} ${us.toFixed(1).padStart(8)} ${above}`;
  });
  console.log(
    `\nOne stream = request headers + body, JSON response with usage, on_log; CPU µs per stream, median of ${ROUNDS} rounds ` +
      `(${cpus().length} CPUs, load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")})\n` +
      `${"case".padEnd(44)} ${"µs".padStart(8)} ${"− floor".padStart(8)}\n${lines.join("\n")}\n`,
  );
});

it("SIMD against scalar module per request (the scalar one is for WAMR as Envoy builds it), 1 KiB–1 MiB", async () => {
  const simd = await load("build/ai-gateway.wasm", plugin(false));
  const scalar = await load("build/ai-gateway-scalar.wasm", plugin(false));
  const sizes = [
    [1024, "1 KiB"],
    [32 * 1024, "32 KiB"],
    [256 * 1024, "256 KiB"],
    [1024 * 1024, "1 MiB"],
  ] as const;
  const cases = sizes.flatMap(([size, label]) =>
    [true, false].map((first) => ({
      label: `${label.padEnd(8)} model ${first ? "first" : "last "}`,
      body: chat(size, first),
      // ~32 MiB of bodies per sample, at least 40 streams.
      n: Math.max(40, Math.min(STREAMS, Math.round((32 << 20) / size))),
      simd: [] as number[],
      scalar: [] as number[],
    })),
  );
  for (const c of cases) for (const f of [simd, scalar]) cpuPerStream(f, c.body, c.n / 4);
  CountingSink.upstreamBodies = CountingSink.clientBodies = 0;
  let expected = 0;
  for (let r = 0; r < ROUNDS; r++) {
    for (const c of cases) {
      c.simd.push(cpuPerStream(simd, c.body, c.n));
      c.scalar.push(cpuPerStream(scalar, c.body, c.n));
      expected += 2 * c.n;
    }
  }
  await simd.close();
  await scalar.close();
  expect(CountingSink.upstreamBodies).toBe(expected);
  expect(CountingSink.clientBodies).toBe(expected);
  const lines = cases.map((c) => {
    const s = median(c.simd);
    const x = median(c.scalar);
    return `${c.label.padEnd(22)} ${s.toFixed(1).padStart(10)} ${x.toFixed(1).padStart(10)} ${(x / s).toFixed(2).padStart(8)}×`;
  });
  console.log(
    `\nSIMD vs scalar module through the Node host: CPU µs per stream (as above), median of ${ROUNDS} rounds, alternating\n` +
      `${"body".padEnd(22)} ${"SIMD".padStart(10)} ${"scalar".padStart(10)} ${"scalar/SIMD".padStart(9)}\n${lines.join("\n")}\n`,
  );
});

it("filter CPU per request in proxy-wasm-cpp-host on WAMR beside the Node host, each above its no-op module", async (ctx) => {
  const missing = cppHostMissing();
  if (missing) {
    console.warn(`cpp-host bench skipped: ${missing}`);
    ctx.skip();
  }
  const configuration = JSON.stringify(plugin(false));
  const cpp = async (flavour: "scalar" | "simd", module: string) =>
    CppHost.start(flavour, module, configuration, `bench-${flavour}-${module.length}`, "ai-gateway", 1);
  const hosts = {
    nodeNoop: await load(fixture("host-noop"), plugin(false)),
    node: await load("build/ai-gateway.wasm", plugin(false)),
    simdNoop: await cpp("simd", fixture("host-noop")),
    simd: await cpp("simd", "build/ai-gateway.wasm"),
    scalarNoop: await cpp("scalar", fixture("host-noop")),
    scalar: await cpp("scalar", "build/ai-gateway-scalar.wasm"),
  };
  const rows: string[] = [];
  for (const [size, label] of [
    [1024, "1 KiB"],
    [128 * 1024, "128 KiB"],
  ] as const) {
    const body = chat(size, false);
    const n = size > 64 * 1024 ? 100 : 1000;
    const samples: Record<keyof typeof hosts, number[]> = { nodeNoop: [], node: [], simdNoop: [], simd: [], scalarNoop: [], scalar: [] };
    for (let r = 0; r <= ROUNDS; r++) {
      // round 0 warms up
      const take = (k: keyof typeof hosts, us: number) => r > 0 && samples[k].push(us);
      take("nodeNoop", cpuPerStream(hosts.nodeNoop, body, n));
      take("node", cpuPerStream(hosts.node, body, n));
      for (const k of ["simdNoop", "simd", "scalarNoop", "scalar"] as const) take(k, await hosts[k].bench(n, "/v1/chat/completions", body, RESPONSE));
    }
    const m = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)])) as Record<keyof typeof hosts, number>;
    const row = (name: string, us: number, floor: number) =>
      `${label.padEnd(8)} ${name.padEnd(52)} ${us.toFixed(1).padStart(9)} ${floor.toFixed(1).padStart(9)} ${(us - floor).toFixed(1).padStart(9)}`;
    rows.push(
      row("Node host (V8), ai-gateway.wasm", m.node, m.nodeNoop),
      row("cpp-host, WAMR fast interp + SIMD, ai-gateway.wasm", m.simd, m.simdNoop),
      row("cpp-host, WAMR as Envoy builds it, scalar module", m.scalar, m.scalarNoop),
    );
  }
  await hosts.nodeNoop.close();
  await hosts.node.close();
  for (const k of ["simdNoop", "simd", "scalarNoop", "scalar"] as const) await hosts[k].close();
  console.log(
    `\nFilter CPU per stream (as above, model last), median of ${ROUNDS} rounds; floor = host-noop.wasm in the same host\n` +
      `${"body".padEnd(8)} ${"host".padEnd(52)} ${"µs".padStart(9)} ${"floor".padStart(9)} ${"− floor".padStart(9)}\n${rows.join("\n")}\n`,
  );
});
