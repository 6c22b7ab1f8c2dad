// Test scaffolding: load a fixture module into the host and drive streams with a recording sink that
// behaves like the data plane where it matters (local replies run through the stream's response path).
import { readFileSync } from "node:fs";
import type { ClusterConfig, WasmFilterConfig } from "../../src-host/dataplane-api/bootstrap.js";
import type { HeaderList, HttpFilterSink, HttpFilterStream, ResolvedRoute, StreamInfo } from "../../src-host/dataplane-api/http-filter.js";
import { type WasmFilter, loadWasmFilter } from "../../src-host/proxy-wasm/index.js";
import { StatsStore } from "../../src-host/stats/index.js";

export interface LogLine {
  level: number;
  message: string;
  vm: number;
}

export type SinkEvent =
  | { kind: "requestHeaders"; headers: HeaderList; eos: boolean }
  | { kind: "requestData"; data: string; eos: boolean }
  | { kind: "requestTrailers"; trailers: HeaderList }
  | { kind: "responseHeaders"; headers: HeaderList; eos: boolean }
  | { kind: "responseData"; data: string; eos: boolean }
  | { kind: "responseTrailers"; trailers: HeaderList }
  | { kind: "localReply"; status: number; headers: HeaderList; body: string; details: string }
  | { kind: "reset"; details: string }
  | { kind: "clearRouteCache" }
  | { kind: "log"; message: string };

let nextVmId = 0;
export const uniqueVmId = () => `test-vm-${process.pid}-${nextVmId++}`;

export interface Loaded {
  filter: WasmFilter;
  logs: LogLine[];
  stats: StatsStore;
  /** Messages logged so far (optionally only from one VM). */
  messages(vm?: number): string[];
}

export async function loadFixture(
  name: string,
  config: Partial<WasmFilterConfig> = {},
  extra: { clusters?: ClusterConfig[]; bufferLimitBytes?: number; environment?: Record<string, string>; stats?: StatsStore; onLog?: (l: LogLine) => void } = {},
): Promise<Loaded> {
  const logs: LogLine[] = [];
  const stats = extra.stats ?? new StatsStore();
  const filter = await loadWasmFilter({
    config: {
      name: "test-plugin",
      rootId: "test-root",
      vmId: uniqueVmId(),
      modulePath: `test/.build/${name}.wasm`,
      configuration: "",
      allowOnHeadersStopIteration: false,
      failOpen: false,
      workers: 1,
      ...config,
    },
    clusters: extra.clusters ?? [],
    bufferLimitBytes: extra.bufferLimitBytes ?? 1024 * 1024,
    stats,
    environment: extra.environment,
    log: (level, message, vm) => {
      const line = { level, message, vm };
      logs.push(line);
      extra.onLog?.(line);
    },
  });
  return { filter, logs, stats, messages: (vm) => logs.filter((l) => vm === undefined || l.vm === vm).map((l) => l.message) };
}

export const fixtureBytes = (name: string) => new Uint8Array(readFileSync(`test/.build/${name}.wasm`));

const text = (d: Uint8Array) => Buffer.from(d).toString("latin1");

/** A data-plane stand-in: records what the filter forwards; local replies go back through the filter. */
export class TestSink implements HttpFilterSink {
  readonly events: SinkEvent[] = [];
  readonly info: StreamInfo;
  stream!: HttpFilterStream;
  private cachedRoute: ResolvedRoute | undefined;
  routeResolutions = 0;

  constructor(
    private readonly route: ResolvedRoute | undefined = { name: "test-route", cluster: "backend" },
    info: Partial<StreamInfo> = {},
  ) {
    this.info = {
      streamId: 1,
      startTimeMs: Date.now(),
      startHr: process.hrtime.bigint(),
      protocol: "HTTP/1.1",
      downstreamRemote: { address: "127.0.0.7", port: 40000 },
      downstreamLocal: { address: "127.0.0.1", port: 10000 },
      requestBodyBytes: 0,
      responseBodyBytes: 0,
      filterState: new Map(),
      ...info,
    };
  }

  forwardRequestHeaders(headers: HeaderList, eos: boolean) {
    this.events.push({ kind: "requestHeaders", headers: headers.map(([k, v]) => [k, v]), eos });
  }
  forwardRequestData(data: Uint8Array, eos: boolean) {
    this.events.push({ kind: "requestData", data: text(data), eos });
  }
  forwardRequestTrailers(trailers: HeaderList) {
    this.events.push({ kind: "requestTrailers", trailers: trailers.map(([k, v]) => [k, v]) });
  }
  forwardResponseHeaders(headers: HeaderList, eos: boolean) {
    this.events.push({ kind: "responseHeaders", headers: headers.map(([k, v]) => [k, v]), eos });
  }
  forwardResponseData(data: Uint8Array, eos: boolean) {
    this.events.push({ kind: "responseData", data: text(data), eos });
  }
  forwardResponseTrailers(trailers: HeaderList) {
    this.events.push({ kind: "responseTrailers", trailers: trailers.map(([k, v]) => [k, v]) });
  }
  localReply(status: number, headers: HeaderList, body: Uint8Array, details: string) {
    this.events.push({ kind: "localReply", status, headers: headers.map(([k, v]) => [k, v]), body: text(body), details });
    this.info.responseCode = status;
    this.info.responseCodeDetails = details;
    const h: HeaderList = [[":status", String(status)], ...headers];
    if (body.length) h.push(["content-length", String(body.length)], ["content-type", "text/plain"]);
    this.stream.responseHeaders(h, body.length === 0);
    if (body.length) this.stream.responseData(body, true);
  }
  reset(details: string) {
    this.events.push({ kind: "reset", details });
    this.info.responseCodeDetails ??= details;
  }
  clearRouteCache() {
    this.events.push({ kind: "clearRouteCache" });
    this.cachedRoute = undefined;
  }
  resolveRoute(): ResolvedRoute | undefined {
    if (!this.cachedRoute) {
      this.routeResolutions++;
      this.cachedRoute = this.route;
    }
    return this.cachedRoute;
  }

  of<K extends SinkEvent["kind"]>(kind: K): Array<Extract<SinkEvent, { kind: K }>> {
    return this.events.filter((e): e is Extract<SinkEvent, { kind: K }> => e.kind === kind);
  }
  kinds(): string[] {
    return this.events.map((e) => e.kind);
  }
}

export function openStream(filter: WasmFilter, sink = new TestSink()): { stream: HttpFilterStream; sink: TestSink } {
  const stream = filter.createStream(sink);
  sink.stream = stream;
  return { stream, sink };
}

export const reqHeaders = (extra: HeaderList = [], path = "/v1/chat"): HeaderList => [
  [":method", "POST"],
  [":path", path],
  [":authority", "gw.local"],
  [":scheme", "http"],
  ...extra,
];

export const bytes = (s: string) => new Uint8Array(Buffer.from(s, "latin1"));

export async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
