// Thin wrappers over assembly/gateway/telemetry/metrics for test/assembly/gateway/telemetry/metrics.test.ts: the metrics
// go to a memory MetricSink that logs every definition and every value.
import { TokenUsage, USAGE_INPUT, USAGE_OUTPUT } from "../../assembly/gateway/response/usage";
import {
  CounterMetric, EppOutcome, GatewayMetrics, GenAiLabels, HistogramMetric, MetricSink, RlsCall,
} from "../../assembly/gateway/telemetry/metrics";
import { setOut, str } from "./logic-common/io";
export { alloc, free, outPtr, outLen } from "./logic-common/io";

let log = "";

class MemoryCounter extends CounterMetric {
  constructor(private readonly name: string) {
    super();
  }

  increment(delta: u64): void {
    log += this.name + " +" + delta.toString() + "\n";
  }
}

class MemoryHistogram extends HistogramMetric {
  constructor(private readonly name: string) {
    super();
  }

  record(value: u64): void {
    log += this.name + " " + value.toString() + "\n";
  }
}

class MemorySink extends MetricSink {
  counter(name: string): CounterMetric {
    log += "define counter " + name + "\n";
    return new MemoryCounter(name);
  }

  histogram(name: string): HistogramMetric {
    log += "define histogram " + name + "\n";
    return new MemoryHistogram(name);
  }
}

const metrics = new GatewayMetrics(new MemorySink());

/** "op\nprovider\noriginal\nrequest\nresponse": records usage (10 in, 2 out) and a duration for those labels. */
export function genAi(ptr: usize, len: i32, failed: bool): void {
  const f = str(ptr, len).split("\n");
  const l = new GenAiLabels();
  l.op = f[0];
  l.provider = f[1];
  l.originalModel = f[2];
  l.requestModel = f[3];
  l.responseModel = f[4];
  const usage = new TokenUsage();
  usage.set(USAGE_INPUT, 10);
  usage.set(USAGE_OUTPUT, 2);
  metrics.recordUsage(l, usage);
  metrics.recordDuration(l, 1500, failed);
  metrics.recordTimeToFirstToken(l, 300);
}

/** "backend\nendpoint": one backend request of 700 µs. */
export function backend(ptr: usize, len: i32, failed: bool): void {
  const f = str(ptr, len).split("\n");
  metrics.recordBackendRequest(f[0], f[1], 700, failed);
}

export function callouts(): void {
  metrics.recordEppCallout("default/pool", EppOutcome.PICKED, 40);
  metrics.recordRlsCall(RlsCall.CHARGE, RlsCall.UNAVAILABLE, -1);
  metrics.recordRlsCall(RlsCall.CHECK, RlsCall.OK, 90);
}

/** What the sink saw since the last call (output buffer). */
export function takeLog(): void {
  setOut(log);
  log = "";
}
