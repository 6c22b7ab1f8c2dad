// Metrics with Envoy's rules, in the wasmcustom namespace of the stats store, and their Prometheus text.
import { afterEach, describe, expect, it } from "vitest";
import { renderPrometheus } from "../../src-host/stats/index.js";
import { type Loaded, loadFixture, openStream, reqHeaders } from "./helpers.js";

let loaded: Loaded | undefined;
afterEach(async () => {
  await loaded?.filter.close();
  loaded = undefined;
});

async function load(workers = 1) {
  return (loaded = await loadFixture("host-metrics", { workers }));
}

function op(l: Loaded, name: string, value = "0"): string {
  const { stream } = openStream(l.filter);
  stream.requestHeaders(
    reqHeaders([
      ["x-op", name],
      ["x-value", value],
    ]),
    true,
  );
  stream.complete();
  return l.messages().at(-1)!;
}

describe("metrics", () => {
  it("ids carry the type in the low two bits and advance by 4; an unknown type is BadArgument", async () => {
    const l = await load();
    expect(l.messages()).toEqual(["define 0 0 4", "define 1 0 5", "define 2 0 6", "define 0 0 8", "define 3 2 -"]);
  });

  it("counters: increment must be positive, record adds; get reads the value", async () => {
    const l = await load();
    expect(op(l, "inc", "3")).toBe("inc 0");
    expect(op(l, "inc", "0")).toBe("inc 2");
    expect(op(l, "inc", "-1")).toBe("inc 2");
    expect(op(l, "record", "4")).toBe("record 0");
    expect(op(l, "get")).toBe("get 0 7");
    expect(l.stats.counter("wasmcustom.route.r1.requests").value).toBe(7);
  });

  it("gauges are set by record and moved by increment, both ways", async () => {
    const l = await load();
    expect(op(l, "gauge-set", "10")).toBe("gauge-set 0");
    expect(op(l, "gauge-add", "-4")).toBe("gauge-add 0");
    expect(op(l, "get-gauge")).toBe("get-gauge 0 6");
  });

  it("histograms record; increment and get on a histogram are BadArgument; unknown ids NotFound", async () => {
    const l = await load();
    expect(op(l, "hist", "42")).toBe("hist 0");
    expect(op(l, "hist-inc", "1")).toBe("hist-inc 2");
    expect(op(l, "get-hist")).toBe("get-hist 2 -");
    expect(op(l, "unknown", "1")).toBe("unknown 1");
    const h = l.stats.histogram("wasmcustom.route.r1.latency_ms");
    expect([h.count, h.sum]).toEqual([1, 42]);
  });

  it("every worker VM defines the same stat: counters add up and gauges overwrite each other", async () => {
    const l = await load(2);
    op(l, "inc", "2"); // VM 0
    op(l, "inc", "5"); // VM 1
    op(l, "gauge-set", "3");
    op(l, "gauge-set", "9");
    expect(l.stats.counter("wasmcustom.route.r1.requests").value).toBe(7);
    expect(l.stats.gauge("wasmcustom.inflight").value).toBe(9);
  });

  it("renders in Prometheus text without the wasmcustom namespace, with stats_tags extraction", async () => {
    const l = await load();
    op(l, "inc", "2");
    op(l, "hist", "7");
    const text = renderPrometheus(l.stats, [{ tagName: "route", regex: "^wasmcustom\\.route\\.((.+?)\\.)" }]);
    // Tags are matched against the full stat name, namespace included.
    expect(text).toContain('# TYPE route_requests counter\nroute_requests{route="r1"} 2\n');
    expect(text).toContain('route_latency_ms_bucket{route="r1",le="10"} 1\n');
    expect(text).toContain('route_latency_ms_count{route="r1"} 1\n');
    expect(text).toContain("# TYPE inflight gauge\ninflight{} 0\n");
  });
});
