// Host conformance with a raw-ABI module (test/assembly/wh-raw.ts): one Envoy behaviour per test.
import { afterEach, describe, expect, it } from "vitest";
import { TestSink, bytes, load, moduleBytes, request, until, type LogLine } from "./helpers.js";
import type { WasmFilter } from "../../src-host/wasm-host/index.js";
import type { StatsStore } from "../../src-host/stats/index.js";

const RAW = moduleBytes("wh-raw");

const filters: WasmFilter[] = [];
afterEach(async () => {
  while (filters.length) await filters.pop()!.close();
});

async function raw(opts: { allow?: boolean; failOpen?: boolean; workers?: number; vmId?: string; configuration?: string } = {}) {
  const r = await load(
    {
      rootId: "", configuration: opts.configuration ?? "cfg", allowOnHeadersStopIteration: opts.allow ?? false,
      failOpen: opts.failOpen ?? false, workers: opts.workers ?? 1, ...(opts.vmId ? { vmId: opts.vmId } : {}),
    },
    { module: RAW },
  );
  filters.push(r.filter);
  return r;
}

/** The module's "key=value" log lines since `from`. */
function values(logs: LogLine[], from = 0): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of logs.slice(from)) {
    const i = l.message.indexOf("=");
    if (i > 0) m.set(l.message.slice(0, i), l.message.slice(i + 1));
  }
  return m;
}

const callbacks = (logs: LogLine[]) => logs.filter((l) => l.message.startsWith("cb=")).map((l) => l.message.slice(3));

describe("start-up", () => {
  it("delivers the plugin configuration to on_configure; false refuses to start", async () => {
    const { logs } = await raw({ configuration: "hello config" });
    expect(values(logs).get("config")).toBe("hello config");
    await expect(raw({ configuration: "reject" })).rejects.toThrow(/Failed to configure base Wasm plugin/);
  });
});

describe("stream order", () => {
  it("creates the context lazily and ends with on_log → on_done → on_delete", async () => {
    const { filter, logs } = await raw();
    const sink = new TestSink().attach(filter);
    expect(callbacks(logs)).toEqual([]);
    sink.stream.requestHeaders(request("POST", "/order"), false);
    sink.stream.requestData(bytes("abc"), true);
    sink.stream.responseHeaders([[":status", "200"]], false);
    sink.stream.responseData(bytes("xy"), true);
    sink.stream.complete();
    expect(callbacks(logs)).toEqual([
      "context_create 2", "request_headers n=4 eos=0", "request_body size=3 eos=1", "response_headers",
      "response_body size=2", "log path=/order", "done", "delete",
    ]);
  });
});

describe("header maps and pairs", () => {
  it("encodes pairs as Envoy does and round-trips them through set_header_map_pairs", async () => {
    const { filter, logs } = await raw();
    const sink = new TestSink().attach(filter);
    const headers = request("GET", "/p", [["x-op", "pairs"]]);
    sink.stream.requestHeaders(headers, true);
    // count, (key len, value len)×N, then NUL-terminated keys and values (proxy-wasm.md §2.1).
    const parts: number[] = [];
    const u32 = (n: number) => parts.push(n & 255, (n >> 8) & 255, (n >> 16) & 255, n >>> 24);
    u32(headers.length);
    for (const [k, v] of headers) u32(k.length), u32(v.length);
    for (const [k, v] of headers) parts.push(...Buffer.from(k), 0, ...Buffer.from(v), 0);
    expect(values(logs).get("pairs")).toBe(Buffer.from(parts).toString("hex"));
    expect(values(logs).get("set")).toBe("0");
    expect(sink.requestHeaders).toEqual([...headers, ["x-seen-size", String(parts.length)]]);
  });

  it("treats malformed pairs as an empty list", async () => {
    const { filter, logs } = await raw();
    const sink = new TestSink().attach(filter);
    sink.stream.requestHeaders(request("GET", "/p", [["x-op", "malformed"]]), true);
    expect(values(logs).get("set")).toBe("0");
    expect(sink.requestHeaders).toEqual([]);
  });

  it("answers BadArgument for request headers after they were continued", async () => {
    const { filter, logs } = await raw();
    const sink = new TestSink().attach(filter);
    sink.stream.requestHeaders(request("POST", "/p", [["x-op", "after-continue"]]), false);
    expect(sink.events).toEqual(["req-headers eos=false"]);
    sink.stream.requestData(bytes("b"), true);
    expect(values(logs).get("header_after_continue")).toBe("2");
    expect(sink.events).toEqual(["req-headers eos=false", "req-data 1 eos=true"]);
  });
});

describe("bodies", () => {
  it("StopIterationAndBuffer: cumulative size, whole body visible, Envoy's set_buffer_bytes rules", async () => {
    const { filter, logs } = await raw({ allow: true });
    const sink = new TestSink().attach(filter);
    sink.stream.requestHeaders(request("POST", "/b", [["x-op", "body"], ["content-length", "5"]]), false);
    sink.stream.requestData(bytes("hel"), false);
    sink.stream.requestData(bytes("lo"), true);
    expect(callbacks(logs).filter((c) => c.startsWith("request_body"))).toEqual(["request_body size=3 eos=0", "request_body size=5 eos=1"]);
    expect(values(logs).get("seen")).toBe("hello");
    // prepend "<" ok; append ">" ok; start inside the body → BadArgument; drain 1 + prepend "[" ok
    expect(sink.header("x-results")).toBe("0,0,2,0");
    expect(sink.requestText()).toBe("[hello>");
    expect(sink.events).toEqual(["req-headers eos=false", "req-data 7 eos=true"]);
  });

  it("StopIteration becomes StopAll: no body callback until continue_stream, then the buffered body is replayed", async () => {
    const { filter, logs } = await raw();
    const sink = new TestSink().attach(filter);
    sink.stream.requestHeaders(request("POST", "/later", [["x-op", "later"]]), false);
    sink.stream.requestData(bytes("abc"), false);
    sink.stream.requestData(bytes("de"), true);
    expect(callbacks(logs).some((c) => c.startsWith("request_body"))).toBe(false);
    expect(sink.events).toEqual([]);
    // on_tick (root) makes the stream effective and continues it.
    await until(() => sink.requestEnded);
    const v = values(logs);
    expect(v.get("tick effective")).toBe("0");
    expect(v.get("tick continue")).toBe("0");
    expect(callbacks(logs)).toContain("request_body size=5 eos=1");
    expect(v.get("header_after_continue")).toBe("2");
    expect(sink.events).toEqual(["req-headers eos=false", "req-data 5 eos=true"]);
  });

  it("with allow_on_headers_stop_iteration the body reaches the filter while headers are held", async () => {
    const { filter, logs } = await raw({ allow: true });
    const sink = new TestSink().attach(filter);
    sink.stream.requestHeaders(request("POST", "/s", [["x-op", "stop"]]), false);
    sink.stream.requestData(bytes("abc"), true);
    expect(callbacks(logs)).toContain("request_body size=3 eos=1");
    expect(sink.events).toEqual(["req-headers eos=false", "req-data 3 eos=true"]);
  });

  it("a held body over the buffer limit gets 413 request_payload_too_large", async () => {
    const r = await load({ rootId: "", configuration: "", workers: 1, allowOnHeadersStopIteration: false }, { module: RAW, bufferLimitBytes: 4 });
    filters.push(r.filter);
    const sink = new TestSink().attach(r.filter);
    sink.stream.requestHeaders(request("POST", "/big", [["x-op", "stop"]]), false);
    sink.stream.requestData(bytes("12345"), false);
    expect(sink.localReplies.map((l) => [l.status, l.details, l.body])).toEqual([[413, "request_payload_too_large", "Payload Too Large"]]);
    sink.stream.requestData(bytes("6"), true);
    expect(sink.requestHeaders).toBeUndefined();
  });
});

describe("deferred actions and failures", () => {
  it("send_local_response is deferred, turns the callback into stop, and the reply runs through the response side", async () => {
    const { filter, logs } = await raw();
    const sink = new TestSink().attach(filter);
    sink.stream.requestHeaders(request("GET", "/l", [["x-op", "local"]]), true);
    expect(values(logs).get("local")).toBe("0");
    expect(sink.localReplies).toEqual([{ status: 418, headers: [["content-type", "text/plain"]], body: "short and stout", details: "teapot_time" }]);
    expect(sink.requestHeaders).toBeUndefined();
    expect(callbacks(logs)).toContain("response_headers");
    expect(sink.responseText()).toBe("short and stout");
  });

  it("a trap fails the VM: 503 wasm_fail_stream for this and later streams", async () => {
    const { filter, logs } = await raw();
    const first = new TestSink().attach(filter);
    first.stream.requestHeaders(request("GET", "/t", [["x-op", "trap"]]), true);
    expect(first.localReplies.map((l) => [l.status, l.details])).toEqual([[503, "wasm_fail_stream"]]);
    expect(first.responseHeader(":status")).toBe("503");
    expect(logs.some((l) => l.level === 5 && l.message.includes("proxy_on_request_headers failed"))).toBe(true);
    const later = new TestSink().attach(filter);
    later.stream.requestHeaders(request("GET", "/fine"), true);
    expect(later.localReplies.map((l) => l.status)).toEqual([503]);
    expect(later.requestHeaders).toBeUndefined();
  });

  it("fail_open: after a trap streams pass through unchanged", async () => {
    const { filter } = await raw({ failOpen: true });
    const first = new TestSink().attach(filter);
    first.stream.requestHeaders(request("GET", "/t", [["x-op", "trap"]]), true);
    expect(first.localReplies).toEqual([]);
    expect(first.requestHeadersEos).toBe(true);
    const later = new TestSink().attach(filter);
    later.stream.requestHeaders(request("POST", "/fine", [["x-op", "stop"]]), false);
    later.stream.requestData(bytes("x"), true);
    expect(later.events).toEqual(["req-headers eos=false", "req-data 1 eos=true"]);
  });
});

describe("properties, foreign functions, metrics, shared data", () => {
  it("reads plugin and request attributes; clear_route_cache reaches the data plane; unknown names are NotFound", async () => {
    const { filter, logs } = await raw({ vmId: "vm-props" });
    const sink = new TestSink().attach(filter);
    sink.stream.requestHeaders(request("GET", "/props?x=1", [["x-op", "props"]]), true);
    const v = values(logs);
    expect(v.get("plugin_root_id")).toBe("");
    expect(v.get("plugin_vm_id")).toBe("vm-props");
    expect(v.get("request.path")).toBe("/props?x=1");
    expect(v.get("xds.route_name")).toBe("route-a");
    expect(v.get("unknown")).toBe("#1");
    // set_property writes filter state wasm.<path>, which get_property falls back to.
    expect(v.get("set_property")).toBe("0");
    expect(v.get("wh_state")).toBe("remembered");
    expect(new TextDecoder().decode(sink.info.filterState.get("wasm.wh_state"))).toBe("remembered");
    expect(v.get("foreign")).toBe("0");
    expect(v.get("foreign_unknown")).toBe("1");
    expect(sink.routeCacheCleared).toBe(1);
  });

  it("metrics live under wasmcustom. with Envoy's rules", async () => {
    const { filter, logs, stats } = await raw();
    new TestSink().attach(filter).stream.requestHeaders(request("GET", "/m", [["x-op", "metrics"]]), true);
    const v = values(logs);
    expect([v.get("counter_inc0"), v.get("counter_inc5"), v.get("counter_record3"), v.get("counter")]).toEqual(["2", "0", "0", "8"]);
    expect([v.get("gauge_record7"), v.get("gauge_inc-2"), v.get("gauge")]).toEqual(["0", "0", "5"]);
    expect([v.get("histogram_record42"), v.get("histogram_inc"), v.get("histogram_get")]).toEqual(["0", "2", "#2"]);
    expect(v.get("bad_type")).toBe("2");
    const s = stats as StatsStore;
    expect(s.counter("wasmcustom.wh.requests").value).toBe(8);
    expect(s.gauge("wasmcustom.wh.level").value).toBe(5);
    expect(s.histogram("wasmcustom.wh.latency").count).toBe(1);
  });

  it("shared data is shared by vm_id across VMs, with compare-and-swap", async () => {
    const vmId = `vm-shared-${process.pid}-${Date.now()}`;
    const { filter, logs } = await raw({ workers: 2, vmId });
    new TestSink().attach(filter).stream.requestHeaders(request("GET", "/s", [["x-op", "shared-set"]]), true);
    const from = logs.length;
    // Round robin: this stream runs on the other VM.
    new TestSink().attach(filter).stream.requestHeaders(request("GET", "/s", [["x-op", "shared-cas"]]), true);
    const v = values(logs, from);
    expect(values(logs).get("shared_set")).toBe("0");
    expect(v.get("shared_get")).toBe("0 value=v1");
    expect(v.get("shared_stale")).toBe("8");
    expect(v.get("shared_cas")).toBe("0");
    expect(v.get("shared_missing")).toBe("1");
  });
});
