// Metrics as objects that define themselves on first use (a root context may create them at start-up,
// before the host allows calls). Envoy exposes them as `wasmcustom.<name>`; dimensions go into the name.

import { defineMetric, incrementMetric, recordMetric, getMetric, lastResult } from "./hostcalls";
import { MetricType, WasmResult } from "./types";

const UNDEFINED: u32 = u32.MAX_VALUE;

class Metric {
  private id: u32 = UNDEFINED;

  constructor(public readonly name: string, private readonly type: MetricType) {}

  /** The host's id for this metric, defining it on first call (UNDEFINED when the host refused). */
  protected metricId(): u32 {
    if (this.id == UNDEFINED) this.id = defineMetric(this.type, this.name);
    return this.id;
  }

  protected value(): u64 {
    const id = this.metricId();
    return id == UNDEFINED ? 0 : getMetric(id);
  }
}

export class Counter extends Metric {
  constructor(name: string) {
    super(name, MetricType.Counter);
  }

  /** Adds `delta`; Envoy refuses 0 (BadArgument), so does this without a host call. */
  increment(delta: u64 = 1): WasmResult {
    if (delta == 0 || delta > <u64>i64.MAX_VALUE) return WasmResult.BadArgument;
    const id = this.metricId();
    return id == UNDEFINED ? lastResult() : incrementMetric(id, <i64>delta);
  }

  get(): u64 {
    return this.value();
  }
}

export class Gauge extends Metric {
  constructor(name: string) {
    super(name, MetricType.Gauge);
  }

  set(value: u64): WasmResult {
    const id = this.metricId();
    return id == UNDEFINED ? lastResult() : recordMetric(id, value);
  }

  /** Adds a signed delta. */
  add(delta: i64): WasmResult {
    const id = this.metricId();
    return id == UNDEFINED ? lastResult() : incrementMetric(id, delta);
  }

  get(): u64 {
    return this.value();
  }
}

export class Histogram extends Metric {
  constructor(name: string) {
    super(name, MetricType.Histogram);
  }

  record(value: u64): WasmResult {
    const id = this.metricId();
    return id == UNDEFINED ? lastResult() : recordMetric(id, value);
  }
}
