// The proxy-wasm side of the logic's ports: token budgets in shared data, metrics as proxy-wasm metrics,
// costs as filter state, the rate limit service as gRPC calls. Glue, like filter.ts: the logic modules
// (tokens/, telemetry/) only know the ports.

import {
  Context, Counter, GrpcCallHandler, GrpcStatus, Histogram, Pair, RootContext, WasmResult, getCurrentTimeNanoseconds,
  getSharedData, logWarn, setPropertyString, setSharedData,
} from "../proxy-wasm";
import { CounterMetric, GatewayMetrics, HistogramMetric, MetricSink, RlsCall, microsBetween } from "./telemetry/metrics";
import { CostExport } from "./tokens/costs";
import { RLS_METHOD, RLS_SERVICE, RateLimitService } from "./tokens/global-limit";
import { LimitHeaders } from "./tokens/limit-headers";
import { BudgetEntry, BudgetStore, BudgetWrite } from "./tokens/local-budget";

/** Token budgets in proxy-wasm shared data, shared by every worker VM of the plugin: one u64 LE per key. */
class SharedDataBudgets extends BudgetStore {
  private readonly scratch: ArrayBuffer = new ArrayBuffer(8);

  read(key: string, out: BudgetEntry): bool {
    const data = getSharedData(key);
    if (data == null) return false;
    const value = data.value;
    out.tokens = value.byteLength >= 8 ? load<u64>(changetype<usize>(value)) : 0;
    out.cas = data.cas;
    return true;
  }

  write(key: string, tokens: u64, cas: u32): BudgetWrite {
    store<u64>(changetype<usize>(this.scratch), tokens);
    const r = setSharedData(key, this.scratch, cas);
    return r == WasmResult.Ok ? BudgetWrite.Written : r == WasmResult.CasMismatch ? BudgetWrite.CasMismatch : BudgetWrite.Failed;
  }
}
export const BUDGETS: BudgetStore = new SharedDataBudgets();

class HostCounter extends CounterMetric {
  constructor(private readonly metric: Counter) {
    super();
  }

  increment(delta: u64): void {
    this.metric.increment(delta);
  }
}

class HostHistogram extends HistogramMetric {
  constructor(private readonly metric: Histogram) {
    super();
  }

  record(value: u64): void {
    this.metric.record(value);
  }
}

/** proxy-wasm metrics, each defined on its first use. */
class HostMetricSink extends MetricSink {
  counter(name: string): CounterMetric {
    return new HostCounter(new Counter(name));
  }

  histogram(name: string): HistogramMetric {
    return new HostHistogram(new Histogram(name));
  }
}
export const METRICS = new GatewayMetrics(new HostMetricSink());

/** Microseconds from `startNs` to now. */
export function microsSince(startNs: u64): u64 {
  return microsBetween(startNs, getCurrentTimeNanoseconds());
}

/** Costs as filter state wasm.<key>; a cost that fails is logged. */
class FilterStateCosts extends CostExport {
  write(key: string, value: string): void {
    setPropertyString([key], value);
  }

  failed(key: string, error: string): void {
    logWarn("llmRequestCost " + key + " failed: " + error);
  }
}
export const COST_EXPORT: CostExport = new FilterStateCosts();

/** x-ratelimit-* headers of a budget's figures (none when there are none). */
export function limitHeaderPairs(h: LimitHeaders | null): Array<Pair> {
  if (h == null) return [];
  return [
    new Pair("x-ratelimit-limit", h.limit.toString()),
    new Pair("x-ratelimit-remaining", h.remaining.toString()),
    new Pair("x-ratelimit-reset", h.resetSec.toString()),
  ];
}

/** The charge's answer is not awaited; a failure is only logged (and counted). */
class ChargeOutcome implements GrpcCallHandler {
  /** Call token → when it was sent (ns). */
  private readonly sent: Map<u32, u64> = new Map();

  /** A charge went out as call `token` (0: it could not be started). */
  started(token: u32): void {
    if (token == 0) METRICS.recordRlsCall(RlsCall.CHARGE, RlsCall.UNAVAILABLE, -1);
    else this.sent.set(token, getCurrentTimeNanoseconds());
  }

  onGrpcCallResponse(token: u32, status: GrpcStatus, size: u32): void {
    let us: i64 = -1;
    if (this.sent.has(token)) {
      us = <i64>microsSince(this.sent.get(token));
      this.sent.delete(token);
    }
    METRICS.recordRlsCall(RlsCall.CHARGE, status == GrpcStatus.Ok ? RlsCall.OK : RlsCall.ERROR, us);
    if (status != GrpcStatus.Ok) logWarn("charging the rate limit service failed: grpc-status " + (<i32>status).toString());
  }
}
const CHARGE_OUTCOME = new ChargeOutcome();

/**
 * The rate limit service for one request: its check is a call of the request's context (cancelled with it,
 * answered to `handler`), its charge one of the root context, so that the stream's end does not cancel it.
 */
export class GrpcRateLimitService extends RateLimitService {
  constructor(
    private readonly stream: Context,
    private readonly root: RootContext,
    private readonly handler: GrpcCallHandler,
  ) {
    super();
  }

  check(cluster: string, request: ArrayBuffer, timeoutMs: u32): bool {
    return this.stream.grpcCall(cluster, RLS_SERVICE, RLS_METHOD, null, request, timeoutMs, this.handler) != 0;
  }

  charge(cluster: string, request: ArrayBuffer, timeoutMs: u32): void {
    CHARGE_OUTCOME.started(this.root.grpcCall(cluster, RLS_SERVICE, RLS_METHOD, null, request, timeoutMs, CHARGE_OUTCOME));
  }
}
