// A small data plane for driving the wasm host: records what the filter forwards, and runs local
// replies back through the stream's response side as the real data plane (and Envoy) does.
// Under `make memcheck` (MEMCHECK=1) every filter loaded here is the module's test build under the memory
// checker (../../memcheck.ts), and a test fails when it reported anything.
import { resolve } from "node:path";
import { afterEach } from "vitest";
import type { ClusterConfig, WasmFilterConfig } from "../../../../src-host/dataplane-api/bootstrap.js";
import type { HeaderList, HttpFilterSink, HttpFilterStream, ResolvedRoute, StreamInfo } from "../../../../src-host/dataplane-api/http-filter.js";
import { PLUGIN_CONFIG_VERSION, type PluginConfig } from "../../../../src-host/config/plugin-config.js";
import { StatsStore } from "../../../../src-host/stats/index.js";
import { LogLevel, loadWasmFilter, type WasmFilter } from "../../../../src-host/proxy-wasm/index.js";
import { Memcheck } from "../../memcheck.js";

export const ROOT = resolve(import.meta.dirname, "../../../..");
export const PRODUCTION = resolve(ROOT, "build/ai-gateway.wasm");
export const memcheck = process.env.MEMCHECK === "1" ? new Memcheck() : undefined;
if (memcheck) {
  afterEach(() => {
    const reports = memcheck.take();
    if (reports.length > 0) throw new Error(`the memory checker reported:\n${reports.join("\n\n")}`);
  });
}
export const fixture = (name: string): string => resolve(ROOT, "test/.build", `${name}.wasm`);

export function pluginConfig(over: Partial<PluginConfig> = {}): PluginConfig {
  return {
    version: PLUGIN_CONFIG_VERSION,
    rules: [
      {
        route: "default/r",
        index: 0,
        matches: [{ headers: [{ name: "x-ai-eg-model", type: "Exact", value: "m1" }] }],
        backends: [{ name: "default/b1", kind: "AIServiceBackend", weight: 1, modelNameOverride: "" }],
      },
    ],
    models: [{ id: "m1", ownedBy: "", created: 1 }],
    pools: [],
    maxRequestBodyBytes: 1048576,
    costs: [],
    rateLimits: [],
    ...over,
  };
}

export function wasmConfig(over: Partial<WasmFilterConfig> = {}): WasmFilterConfig {
  return {
    name: "ai-gateway",
    rootId: "ai-gateway",
    vmId: `vm-${Math.random().toString(36).slice(2)}`,
    modulePath: memcheck ? resolve(ROOT, "build/ai-gateway.memcheck.wasm") : PRODUCTION,
    configuration: JSON.stringify(pluginConfig()),
    allowOnHeadersStopIteration: true,
    failOpen: false,
    workers: 2,
    ...over,
  };
}

export interface LogLine {
  level: number;
  message: string;
}

/** Starts a filter (one VM per worker); `logs` receives every line, from the start on. */
export async function load(
  config: Partial<WasmFilterConfig> = {},
  extra: { clusters?: ClusterConfig[]; bufferLimitBytes?: number; module?: Uint8Array; clock?: () => bigint } = {},
  logs: LogLine[] = [],
): Promise<{ filter: WasmFilter; logs: LogLine[]; stats: StatsStore }> {
  const stats = new StatsStore();
  const filter = await loadWasmFilter({
    config: wasmConfig(config),
    module: extra.module,
    clusters: extra.clusters ?? [],
    bufferLimitBytes: extra.bufferLimitBytes ?? 1 << 20,
    stats,
    logLevel: 0,
    log: (level, message) => logs.push({ level, message }),
    clock: extra.clock,
    instrumentation: memcheck?.instrumentation,
  });
  return { filter, logs, stats };
}

/**
 * Starts a filter with `configuration` that may refuse to start: whether it started (then it is closed
 * again), the error when not, and the lines it logged at info and above, as Envoy's default level keeps.
 */
export async function attemptLoad(configuration: string): Promise<{ loaded: boolean; error?: Error; logs: string }> {
  const lines: LogLine[] = [];
  const logs = () =>
    lines
      .filter((l) => l.level >= LogLevel.Info)
      .map((l) => l.message)
      .join("\n");
  try {
    const { filter } = await load({ configuration }, {}, lines);
    await filter.close();
    return { loaded: true, logs: logs() };
  } catch (err) {
    return { loaded: false, error: err as Error, logs: logs() };
  }
}

const text = new TextDecoder();

/** Records every sink call; local replies go back through the stream like the data plane does it. */
export class TestSink implements HttpFilterSink {
  readonly events: string[] = [];
  requestHeaders?: HeaderList;
  requestHeadersEos?: boolean;
  requestBody: Uint8Array[] = [];
  requestEnded = false;
  responseHeaders?: HeaderList;
  responseBody: Uint8Array[] = [];
  responseEnded = false;
  localReplies: Array<{ status: number; headers: HeaderList; body: string; details: string }> = [];
  resets: string[] = [];
  routeCacheCleared = 0;
  stream!: HttpFilterStream;
  readonly info: StreamInfo = {
    streamId: 1,
    startTimeMs: Date.now(),
    startHr: process.hrtime.bigint(),
    protocol: "HTTP/1.1",
    downstreamRemote: { address: "127.0.0.1", port: 40000 },
    downstreamLocal: { address: "127.0.0.1", port: 8080 },
    requestBodyBytes: 0,
    responseBodyBytes: 0,
    filterState: new Map(),
  };
  route: ResolvedRoute | undefined = { name: "route-a", cluster: "cluster-a" };

  attach(filter: WasmFilter): this {
    this.stream = filter.createStream(this);
    return this;
  }

  forwardRequestHeaders(headers: HeaderList, endOfStream: boolean): void {
    this.events.push(`req-headers eos=${endOfStream}`);
    this.requestHeaders = headers;
    this.requestHeadersEos = endOfStream;
    if (endOfStream) this.requestEnded = true;
  }
  forwardRequestData(data: Uint8Array, endOfStream: boolean): void {
    this.events.push(`req-data ${data.length} eos=${endOfStream}`);
    this.requestBody.push(data.slice());
    if (endOfStream) this.requestEnded = true;
  }
  forwardRequestTrailers(trailers: HeaderList): void {
    this.events.push(`req-trailers ${trailers.length}`);
    this.requestEnded = true;
  }
  forwardResponseHeaders(headers: HeaderList, endOfStream: boolean): void {
    this.events.push(`resp-headers eos=${endOfStream}`);
    this.responseHeaders = headers;
    if (endOfStream) this.responseEnded = true;
  }
  forwardResponseData(data: Uint8Array, endOfStream: boolean): void {
    this.events.push(`resp-data ${data.length} eos=${endOfStream}`);
    this.responseBody.push(data.slice());
    if (endOfStream) this.responseEnded = true;
  }
  forwardResponseTrailers(trailers: HeaderList): void {
    this.events.push(`resp-trailers ${trailers.length}`);
    this.responseEnded = true;
  }
  localReply(status: number, headers: HeaderList, body: Uint8Array, details: string): void {
    this.events.push(`local-reply ${status} ${details}`);
    this.localReplies.push({ status, headers, body: text.decode(body), details });
    this.info.responseCode = status;
    this.info.responseCodeDetails = details;
    this.stream.responseHeaders([[":status", String(status)], ...headers, ["content-length", String(body.length)]], body.length === 0);
    if (body.length > 0) this.stream.responseData(body, true);
  }
  reset(details: string): void {
    this.events.push(`reset ${details}`);
    this.resets.push(details);
  }
  clearRouteCache(): void {
    this.events.push("clear-route-cache");
    this.routeCacheCleared++;
  }
  resolveRoute(): ResolvedRoute | undefined {
    return this.route;
  }

  header(name: string): string | undefined {
    return this.requestHeaders?.find(([k]) => k === name)?.[1];
  }
  responseHeader(name: string): string | undefined {
    return this.responseHeaders?.find(([k]) => k === name)?.[1];
  }
  requestText(): string {
    return text.decode(Buffer.concat(this.requestBody));
  }
  responseText(): string {
    return text.decode(Buffer.concat(this.responseBody));
  }
}

export function request(method: string, path: string, extra: HeaderList = []): HeaderList {
  return [[":method", method], [":path", path], [":authority", "gw"], [":scheme", "http"], ...extra];
}

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Waits until `cond` holds (bounded). */
export async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 5));
  }
}
