// SDK test module: shared data with CAS, shared queues and metrics. The request header `x-op` picks:
//   incr      atomically increments shared key "sdk_counter" (get + set with CAS, retried on CasMismatch)
//             → x-counter (new value), x-cas-retries
//   cas       sets "sdk_cas" unconditionally, then twice with the CAS read before: → x-cas-results
//             "<first>,<second>" (Ok then CasMismatch), x-cas-missing (lastResult for an absent key)
//   enqueue   enqueues `x-item` on this VM's queue "sdk_queue" (registered by the root at start-up);
//             the root's onQueueReady dequeues it into shared key "sdk_dequeued" → x-enqueue-result
//   dequeued  → x-dequeued (value of "sdk_dequeued")
//   metrics   counter sdk_requests += 1, gauge sdk_gauge = x-gauge, histogram sdk_latency records 42,
//             counter increment by 0 → x-zero-increment (BadArgument), x-counter-value, x-gauge-value
export * from "../../assembly/proxy-wasm/exports";
import {
  RootContext, HttpContext, registerRootContext, FilterHeadersStatus, WasmResult, requestHeaders,
  getSharedData, setSharedData, registerSharedQueue, resolveSharedQueue, enqueueSharedQueue, dequeueSharedQueue,
  Counter, Gauge, Histogram, lastResult,
} from "../../assembly/proxy-wasm";

const requests = new Counter("sdk_requests");
const gauge = new Gauge("sdk_gauge");
const latency = new Histogram("sdk_latency");

function header(name: string): string {
  const v = requestHeaders.get(name);
  return v === null ? "" : v;
}

function increment(key: string): u64 {
  let retries = 0;
  while (true) {
    const cur = getSharedData(key);
    const value: u64 = cur === null ? 0 : U64.parseInt(String.UTF8.decode(cur.value));
    const cas: u32 = cur === null ? 0 : cur.cas;
    const next = value + 1;
    if (setSharedData(key, String.UTF8.encode(next.toString()), cas) == WasmResult.Ok) {
      requestHeaders.replace("x-cas-retries", retries.toString());
      return next;
    }
    retries++;
  }
}

class SharedStream extends HttpContext {
  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    const op = header("x-op");
    if (op == "incr") {
      requestHeaders.replace("x-counter", increment("sdk_counter").toString());
    } else if (op == "cas") {
      setSharedData("sdk_cas", String.UTF8.encode("a"));
      const cur = getSharedData("sdk_cas")!;
      const first = setSharedData("sdk_cas", String.UTF8.encode("b"), cur.cas);
      const second = setSharedData("sdk_cas", String.UTF8.encode("c"), cur.cas);
      requestHeaders.replace("x-cas-results", (<i32>first).toString() + "," + (<i32>second).toString());
      getSharedData("sdk_absent_key");
      requestHeaders.replace("x-cas-missing", (<i32>lastResult()).toString());
    } else if (op == "enqueue") {
      const token = resolveSharedQueue("", "sdk_queue");
      const r = token == 0 ? lastResult() : enqueueSharedQueue(token, String.UTF8.encode(header("x-item")));
      requestHeaders.replace("x-enqueue-result", (<i32>r).toString());
    } else if (op == "dequeued") {
      const v = getSharedData("sdk_dequeued");
      requestHeaders.replace("x-dequeued", v === null ? "<null>" : String.UTF8.decode(v.value));
    } else if (op == "metrics") {
      requests.increment();
      gauge.set(U64.parseInt(header("x-gauge")));
      latency.record(42);
      requestHeaders.replace("x-zero-increment", (<i32>requests.increment(0)).toString());
      requestHeaders.replace("x-counter-value", requests.get().toString());
      requestHeaders.replace("x-gauge-value", gauge.get().toString());
    }
    return FilterHeadersStatus.Continue;
  }
}

class SharedRoot extends RootContext {
  private queue: u32 = 0;

  onVmStart(size: u32): bool {
    this.queue = registerSharedQueue("sdk_queue");
    return this.queue != 0;
  }

  onQueueReady(queueId: u32): void {
    if (queueId != this.queue) return;
    let item = dequeueSharedQueue(queueId);
    while (item !== null) {
      setSharedData("sdk_dequeued", item);
      item = dequeueSharedQueue(queueId);
    }
  }

  createHttpContext(contextId: u32): HttpContext {
    return new SharedStream(contextId, this);
  }
}

registerRootContext("", (id: u32): RootContext => new SharedRoot(id));
