// The Node proxy-wasm host (src-host/proxy-wasm) behind the scenario runner's Host interface: a data-plane
// sink that records what the filter forwards and runs local replies back through the response path.
import type { ClusterConfig, WasmFilterConfig } from "../../src-host/dataplane-api/bootstrap.js";
import type { HttpFilterSink, HttpFilterStream, ResolvedRoute, StreamInfo } from "../../src-host/dataplane-api/http-filter.js";
import { loadWasmFilter, type WasmFilter } from "../../src-host/proxy-wasm/index.js";
import { WasmStream } from "../../src-host/proxy-wasm/stream.js";
import { StatsStore } from "../../src-host/stats/index.js";
import { effect, type HeaderList, type Host, type Observation, type StreamRecord } from "./scenario.js";

const LOG_WARN = 3;
const CALLBACKS: Array<[string, string]> = [
  ["decodeHeaders", "on_request_headers"],
  ["decodeData", "on_request_body"],
  ["decodeTrailers", "on_request_trailers"],
  ["encodeHeaders", "on_response_headers"],
  ["encodeData", "on_response_body"],
  ["encodeTrailers", "on_response_trailers"],
];

class RecordingSink implements HttpFilterSink {
  readonly record: StreamRecord = { effects: [], returns: [], filterState: {} };
  stream!: HttpFilterStream;
  readonly info: StreamInfo;
  constructor(
    id: number,
    private readonly route?: ResolvedRoute,
  ) {
    this.info = {
      streamId: id,
      startTimeMs: Date.now(),
      startHr: process.hrtime.bigint(),
      protocol: "HTTP/1.1",
      downstreamRemote: { address: "127.0.0.1", port: 40000 },
      downstreamLocal: { address: "127.0.0.1", port: 1975 },
      requestBodyBytes: 0,
      responseBodyBytes: 0,
      filterState: new Map(),
    };
  }
  forwardRequestHeaders(h: HeaderList, eos: boolean): void {
    this.record.effects.push(effect.headers("req", h, eos));
  }
  forwardRequestData(d: Uint8Array, eos: boolean): void {
    this.record.effects.push(effect.data("req", d, eos));
  }
  forwardRequestTrailers(t: HeaderList): void {
    this.record.effects.push(effect.trailers("req", t));
  }
  forwardResponseHeaders(h: HeaderList, eos: boolean): void {
    this.record.effects.push(effect.headers("resp", h, eos));
  }
  forwardResponseData(d: Uint8Array, eos: boolean): void {
    this.record.effects.push(effect.data("resp", d, eos));
  }
  forwardResponseTrailers(t: HeaderList): void {
    this.record.effects.push(effect.trailers("resp", t));
  }
  localReply(status: number, headers: HeaderList, body: Uint8Array, details: string): void {
    this.record.effects.push(effect.localReply(status, headers, body, details));
    this.stream.responseHeaders([[":status", String(status)], ...headers, ["content-length", String(body.length)]], body.length === 0);
    if (body.length > 0) this.stream.responseData(body, true);
  }
  reset(details: string): void {
    this.record.effects.push(effect.reset(details));
  }
  clearRouteCache(): void {
    this.record.effects.push(effect.clearRouteCache());
  }
  resolveRoute(): ResolvedRoute | undefined {
    return this.route;
  }
}

export class NodeHost implements Host {
  private readonly sinks = new Map<number, RecordingSink>();
  private readonly records: StreamRecord[] = [];
  private readonly logs: string[] = [];
  private readonly stats = new StatsStore();
  private filter!: WasmFilter;

  /** `environment`: the VMs' environment variables (WASI environ_get). */
  static async start(config: WasmFilterConfig, clusters: ClusterConfig[], environment: Record<string, string> = {}): Promise<NodeHost> {
    const host = new NodeHost();
    host.filter = await loadWasmFilter({
      config,
      clusters,
      bufferLimitBytes: 51 << 20,
      stats: host.stats,
      environment,
      log: (level, message, vm) => {
        if (level >= LOG_WARN) host.logs.push(`vm${vm} ${level} ${message}`);
      },
    });
    return host;
  }

  async stream(id: number, vm: number, route?: { name: string; cluster: string }): Promise<void> {
    const sink = new RecordingSink(id, route);
    const stream = new WasmStream(this.filter.vms[vm]!, sink);
    // The converted return value of each filter callback, as Envoy's filter manager receives it.
    for (const [method, callback] of CALLBACKS) {
      const s = stream as unknown as Record<string, (...a: unknown[]) => number>;
      const original = s[method]!.bind(stream);
      s[method] = (...args: unknown[]) => {
        const status = original(...args);
        sink.record.returns.push(`${callback}=${status}`);
        return status;
      };
    }
    sink.stream = stream;
    this.sinks.set(id, sink);
    this.records[id - 1] = sink.record;
  }
  private s(id: number): RecordingSink {
    return this.sinks.get(id)!;
  }
  async requestHeaders(id: number, h: HeaderList, eos: boolean) {
    this.s(id).stream.requestHeaders(h, eos);
  }
  async requestData(id: number, d: Uint8Array, eos: boolean) {
    this.s(id).stream.requestData(d, eos);
  }
  async requestTrailers(id: number, t: HeaderList) {
    this.s(id).stream.requestTrailers(t);
  }
  async responseHeaders(id: number, h: HeaderList, eos: boolean) {
    this.s(id).stream.responseHeaders(h, eos);
  }
  async responseData(id: number, d: Uint8Array, eos: boolean) {
    this.s(id).stream.responseData(d, eos);
  }
  async responseTrailers(id: number, t: HeaderList) {
    this.s(id).stream.responseTrailers(t);
  }
  async end(id: number) {
    const sink = this.s(id);
    sink.stream.complete();
    for (const [k, v] of sink.info.filterState) sink.record.filterState[k] = Buffer.from(v).toString("utf8");
  }

  async observe(): Promise<Observation> {
    const metrics: Record<string, string> = {};
    for (const c of this.stats.counters()) if (c.name.startsWith("wasmcustom.")) metrics[c.name] = `counter ${c.value}`;
    for (const g of this.stats.gauges()) if (g.name.startsWith("wasmcustom.")) metrics[g.name] = `gauge ${g.value}`;
    for (const h of this.stats.histograms()) if (h.name.startsWith("wasmcustom.")) metrics[h.name] = `histogram count=${h.count}`;
    return { started: this.filter.vms.map((vm) => !vm.failed), streams: [...this.records], metrics, logs: [...this.logs] };
  }

  async close(): Promise<void> {
    await this.filter.close();
  }
}
