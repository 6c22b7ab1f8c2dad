// Loading as Envoy links a module: hand-built minimal modules, each missing or adding one thing.
import { describe, expect, it } from "vitest";
import { StatsStore } from "../../src-host/stats/index.js";
import { checkModule, loadWasmFilter } from "../../src-host/wasm-host/index.js";
import { PRODUCTION, TestSink, load, moduleBytes, request, wasmConfig } from "./helpers.js";
import { readFileSync } from "node:fs";

const I32 = 0x7f;
const I64 = 0x7e;

interface Fn {
  params: number[];
  results: number[];
}
interface Spec {
  imports?: Array<Fn & { module: string; field: string }>;
  /** Exported functions; a body is raw instructions (without the final `end`), default: return 0 or nothing. */
  exports?: Array<Fn & { name: string; body?: number[] }>;
  memory?: boolean;
}

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}
const name = (s: string) => [...leb(Buffer.byteLength(s)), ...Buffer.from(s)];
const vec = (items: number[][]) => [...leb(items.length), ...items.flat()];
const section = (id: number, body: number[]) => [id, ...leb(body.length), ...body];
const functype = (f: Fn) => [0x60, ...vec(f.params.map((p) => [p])), ...vec(f.results.map((r) => [r]))];

/** A minimal wasm binary: one type per function, imports first, then the exported functions. */
function wasm(spec: Spec): Uint8Array {
  const imports = spec.imports ?? [];
  const exports = spec.exports ?? [];
  const types = [...imports, ...exports].map(functype);
  const bytes = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  bytes.push(...section(1, vec(types)));
  if (imports.length) bytes.push(...section(2, vec(imports.map((im, i) => [...name(im.module), ...name(im.field), 0x00, ...leb(i)]))));
  bytes.push(...section(3, vec(exports.map((_, i) => leb(imports.length + i)))));
  if (spec.memory !== false) bytes.push(...section(5, vec([[0x00, 0x01]])));
  const exportEntries = exports.map((e, i) => [...name(e.name), 0x00, ...leb(imports.length + i)]);
  if (spec.memory !== false) exportEntries.push([...name("memory"), 0x02, 0x00]);
  bytes.push(...section(7, vec(exportEntries)));
  const bodies = exports.map((e) => {
    const code = [0x00, ...(e.body ?? (e.results.length ? [0x41, 0x00] : [])), 0x0b];
    return [...leb(code.length), ...code];
  });
  bytes.push(...section(10, vec(bodies)));
  return new Uint8Array(bytes);
}

const MARKER = { name: "proxy_abi_version_0_2_1", params: [], results: [] };
const MALLOC = { name: "malloc", params: [I32], results: [I32] };
const LOG = { module: "env", field: "proxy_log", params: [I32, I32, I32], results: [I32] };

async function loadBytes(module: Uint8Array) {
  const filter = await loadWasmFilter({ config: wasmConfig({ workers: 1 }), module, clusters: [], bufferLimitBytes: 1024, stats: new StatsStore(), log: () => {} });
  await filter.close();
}

describe("loading", () => {
  it("accepts a minimal 0.2.1 module, and the production and test modules", async () => {
    await expect(loadBytes(wasm({ imports: [LOG], exports: [MARKER, MALLOC] }))).resolves.toBeUndefined();
    expect(checkModule(new Uint8Array(readFileSync(PRODUCTION))).allocator).toBe("malloc");
    expect(checkModule(moduleBytes("wh-raw")).allocator).toBe("malloc");
  });

  it("refuses a module without the ABI marker", async () => {
    await expect(loadBytes(wasm({ exports: [MALLOC] }))).rejects.toThrow("Missing or unknown Proxy-Wasm ABI version");
  });

  it("refuses imports Envoy does not register for 0.2.1, or registers with another signature", async () => {
    const clear = { module: "env", field: "proxy_clear_route_cache", params: [], results: [I32] };
    await expect(loadBytes(wasm({ imports: [clear], exports: [MARKER, MALLOC] }))).rejects.toThrow("missing import: env.proxy_clear_route_cache");
    const abort = { module: "env", field: "abort", params: [I32, I32, I32, I32], results: [] };
    await expect(loadBytes(wasm({ imports: [abort], exports: [MARKER, MALLOC] }))).rejects.toThrow("missing import: env.abort");
    const wrong = { ...LOG, params: [I32, I32] };
    await expect(loadBytes(wasm({ imports: [wrong], exports: [MARKER, MALLOC] }))).rejects.toThrow("import type mismatch for env.proxy_log");
    const metric = { module: "env", field: "proxy_increment_metric", params: [I32, I32], results: [I32] };
    await expect(loadBytes(wasm({ imports: [metric], exports: [MARKER, MALLOC] }))).rejects.toThrow("import type mismatch");
    const wasi = { module: "wasi_unstable", field: "fd_write", params: [I32, I32, I32, I32], results: [I32] };
    const okMetric = { ...metric, params: [I32, I64] };
    await expect(loadBytes(wasm({ imports: [wasi, okMetric], exports: [MARKER, MALLOC] }))).resolves.toBeUndefined();
  });

  it("looks up malloc, then proxy_on_memory_allocate", async () => {
    await expect(loadBytes(wasm({ exports: [MARKER] }))).rejects.toThrow("Wasm module is missing malloc function");
    const alt = { ...MALLOC, name: "proxy_on_memory_allocate" };
    expect(checkModule(wasm({ exports: [MARKER, alt] })).allocator).toBe("proxy_on_memory_allocate");
    expect(checkModule(wasm({ exports: [MARKER, alt, MALLOC] })).allocator).toBe("malloc");
  });

  it("refuses callbacks exported with the wrong signature", async () => {
    const bad = { name: "proxy_on_request_headers", params: [I32, I32], results: [I32] };
    await expect(loadBytes(wasm({ exports: [MARKER, MALLOC, bad] }))).rejects.toThrow("Bad function signature for: proxy_on_request_headers");
  });

  it("runs _start with the restricted host-call set", async () => {
    const tick = { module: "env", field: "proxy_set_tick_period_milliseconds", params: [I32], results: [I32] };
    // _start: i32.const 10; call 0; drop
    const start = { name: "_start", params: [], results: [], body: [0x41, 0x0a, 0x10, 0x00, 0x1a] };
    await expect(loadBytes(wasm({ imports: [tick], exports: [MARKER, MALLOC, start] }))).rejects.toThrow(/restricted_callback/);
    const logStart = { name: "_start", params: [], results: [], body: [0x41, 0x02, 0x41, 0x00, 0x41, 0x00, 0x10, 0x00, 0x1a] };
    await expect(loadBytes(wasm({ imports: [LOG], exports: [MARKER, MALLOC, logStart] }))).resolves.toBeUndefined();
  });

  it("an HTTP callback the module does not export counts as Continue", async () => {
    const { filter } = await load({ workers: 1 }, { module: wasm({ imports: [LOG], exports: [MARKER, MALLOC] }) });
    try {
      const sink = new TestSink().attach(filter);
      sink.stream.requestHeaders(request("GET", "/"), true);
      expect(sink.events).toEqual(["req-headers eos=true"]);
      sink.stream.complete();
    } finally {
      await filter.close();
    }
  });

  it("rejects bytes that are not wasm and bad options", async () => {
    await expect(loadBytes(new Uint8Array([1, 2, 3]))).rejects.toThrow(/not a WebAssembly module/);
    await expect(
      loadWasmFilter({ config: wasmConfig({ workers: -1 }), clusters: [], bufferLimitBytes: 1, stats: new StatsStore() }),
    ).rejects.toThrow(/workers must be a positive integer/);
  });
});
