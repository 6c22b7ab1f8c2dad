// proxy_define/increment/record/get_metric with Envoy's rules (context.cc): metrics are stats named
// `wasmcustom.<name>`; ids carry the type in their low two bits and advance by 4 per definition.
import { MetricType, WasmResult } from "./abi.js";
import type { Counter, Gauge, Histogram } from "../stats/stat.js";
import type { StatsStore } from "../stats/store.js";

const TYPE_MASK = 3;
const ID_INCREMENT = 4;
export const CUSTOM_STAT_NAMESPACE = "wasmcustom";

export class VmMetrics {
  private nextId = [MetricType.Counter, MetricType.Gauge, MetricType.Histogram];
  private readonly counters = new Map<number, Counter>();
  private readonly gauges = new Map<number, Gauge>();
  private readonly histograms = new Map<number, Histogram>();

  constructor(private readonly stats: StatsStore) {}

  define(type: number, name: string): { result: WasmResult; id?: number } {
    if (type > MetricType.Histogram) return { result: WasmResult.BadArgument };
    const id = (this.nextId[type]! += ID_INCREMENT);
    const full = `${CUSTOM_STAT_NAMESPACE}.${name}`;
    if (type === MetricType.Counter) this.counters.set(id, this.stats.counter(full));
    else if (type === MetricType.Gauge) this.gauges.set(id, this.stats.gauge(full));
    else this.histograms.set(id, this.stats.histogram(full));
    return { result: WasmResult.Ok, id };
  }

  increment(id: number, delta: bigint): WasmResult {
    const type = id & TYPE_MASK;
    if (type === MetricType.Counter) {
      const c = this.counters.get(id);
      if (!c) return WasmResult.NotFound;
      if (delta <= 0n) return WasmResult.BadArgument;
      c.inc(Number(delta));
      return WasmResult.Ok;
    }
    if (type === MetricType.Gauge) {
      const g = this.gauges.get(id);
      if (!g) return WasmResult.NotFound;
      g.add(Number(delta));
      return WasmResult.Ok;
    }
    return WasmResult.BadArgument;
  }

  /** value is the u64 the module passed. */
  record(id: number, value: bigint): WasmResult {
    const type = id & TYPE_MASK;
    const v = Number(BigInt.asUintN(64, value));
    if (type === MetricType.Counter) {
      const c = this.counters.get(id);
      if (!c) return WasmResult.NotFound;
      c.inc(v);
      return WasmResult.Ok;
    }
    if (type === MetricType.Gauge) {
      const g = this.gauges.get(id);
      if (!g) return WasmResult.NotFound;
      g.set(v);
      return WasmResult.Ok;
    }
    if (type === MetricType.Histogram) {
      const h = this.histograms.get(id);
      if (!h) return WasmResult.NotFound;
      h.record(v);
      return WasmResult.Ok;
    }
    return WasmResult.NotFound;
  }

  get(id: number): { result: WasmResult; value?: bigint } {
    const type = id & TYPE_MASK;
    if (type === MetricType.Counter || type === MetricType.Gauge) {
      const m = type === MetricType.Counter ? this.counters.get(id) : this.gauges.get(id);
      if (!m) return { result: WasmResult.NotFound };
      return { result: WasmResult.Ok, value: BigInt.asUintN(64, BigInt(Math.trunc(m.value))) };
    }
    return { result: WasmResult.BadArgument };
  }
}
