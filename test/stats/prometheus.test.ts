import { describe, expect, it } from "vitest";
import { StatsStore, renderPrometheus, renderText, TagExtractor, prometheusName } from "../../src-host/stats/index.js";
import { escapeLabelValue } from "../../src-host/stats/prometheus.js";

describe("tag extraction (Envoy stats_tags)", () => {
  it("removes the first capture group and takes the value from the second", () => {
    const x = new TagExtractor([{ tagName: "ai_route", regex: "^wasmcustom\\.(route\\.(.+?)\\.)" }], false);
    expect(x.extract("wasmcustom.route.r1.input_token")).toEqual({ name: "wasmcustom.input_token", tags: [["ai_route", "r1"]] });
  });

  it("with a single group, the group is both the value and the removed part", () => {
    const x = new TagExtractor([{ tagName: "model", regex: "\\.model\\.([a-z0-9-]+)" }], false);
    expect(x.extract("wasmcustom.tokens.model.llama3")).toEqual({ name: "wasmcustom.tokens.model.", tags: [["model", "llama3"]] });
  });

  it("matches every regex against the original name and removes all parts", () => {
    const x = new TagExtractor(
      [
        { tagName: "route", regex: "^wasmcustom\\.(route\\.(.+?)\\.)" },
        { tagName: "model", regex: "(model\\.(.+?)\\.)metric" },
      ],
      false,
    );
    expect(x.extract("wasmcustom.route.r1.model.m7.metric.total")).toEqual({
      name: "wasmcustom.metric.total",
      tags: [
        ["route", "r1"],
        ["model", "m7"],
      ],
    });
  });

  it("applies Envoy's default extractors unless disabled, and a custom tag replaces the default of that name", () => {
    const d = new TagExtractor([]);
    expect(d.extract("cluster.epp.upstream_rq_200")).toEqual({
      name: "cluster.upstream_rq",
      tags: [
        ["envoy.response_code", "200"],
        ["envoy.cluster_name", "epp"],
      ],
    });
    expect(d.extract("cluster.epp.upstream_rq_2xx").name).toBe("cluster.upstream_rq_xx");
    expect(new TagExtractor([], false).extract("cluster.epp.upstream_rq_200").tags).toEqual([]);
    const custom = new TagExtractor([{ tagName: "envoy.cluster_name", regex: "^cluster\\.((e.+?)\\.)" }]);
    expect(custom.extract("cluster.epp.x").tags).toEqual([["envoy.cluster_name", "epp"]]);
  });

  it("refuses an invalid regex with the tag name in the message", () => {
    expect(() => new TagExtractor([{ tagName: "bad", regex: "(" }])).toThrow(/stats tag "bad"/);
  });
});

describe("Prometheus rendering", () => {
  it("prefixes Envoy stats with envoy_ and strips the wasmcustom namespace without a prefix", () => {
    expect(prometheusName("cluster.upstream_rq_total")).toBe("envoy_cluster_upstream_rq_total");
    expect(prometheusName("wasmcustom.ai.tokens-in")).toBe("ai_tokens_in");
    expect(prometheusName("wasmcustom.9lives")).toBeUndefined();
  });

  it("renders counters, gauges and histograms with tags and TYPE lines, sorted", () => {
    const store = new StatsStore();
    store.counter("wasmcustom.route.r1.requests").inc(3);
    store.counter("wasmcustom.route.r2.requests").inc();
    store.gauge("wasmcustom.inflight").set(7);
    const h = store.histogram("wasmcustom.route.r1.latency_ms", [10, 100]);
    h.record(5);
    h.record(50);
    h.record(500);
    store.counter("cluster.epp.upstream_rq_total").inc(2);
    const text = renderPrometheus(store, [{ tagName: "ai_route", regex: "^wasmcustom\\.(route\\.(.+?)\\.)" }]);
    expect(text).toBe(
      [
        "# TYPE envoy_cluster_upstream_rq_total counter",
        'envoy_cluster_upstream_rq_total{envoy_cluster_name="epp"} 2',
        "# TYPE inflight gauge",
        "inflight{} 7",
        "# TYPE latency_ms histogram",
        'latency_ms_bucket{ai_route="r1",le="10"} 1',
        'latency_ms_bucket{ai_route="r1",le="100"} 2',
        'latency_ms_bucket{ai_route="r1",le="+Inf"} 3',
        'latency_ms_sum{ai_route="r1"} 555',
        'latency_ms_count{ai_route="r1"} 3',
        "# TYPE requests counter",
        'requests{ai_route="r1"} 3',
        'requests{ai_route="r2"} 1',
        "",
      ].join("\n"),
    );
  });

  it("uses Envoy's default histogram buckets and escapes label values", () => {
    const store = new StatsStore({ tags: [{ tagName: "who", regex: "^wasmcustom\\.x\\.((.+))$" }] });
    store.histogram("wasmcustom.h").record(3);
    store.counter('wasmcustom.x.a"b\\c').inc();
    const text = store.prometheus();
    expect(text).toContain('h_bucket{le="0.5"} 0\nh_bucket{le="1"} 0\nh_bucket{le="5"} 1\n');
    expect(text).toContain('h_bucket{le="3600000"} 1\nh_bucket{le="+Inf"} 1\n');
    expect(text).toContain('x_{who="a\\"b\\\\c"} 1');
  });

  it("counters never decrease; text output strips wasmcustom and sorts", () => {
    const store = new StatsStore();
    const c = store.counter("wasmcustom.b");
    c.inc(2);
    c.inc(-5);
    store.gauge("a.g").add(-3);
    expect(renderText(store)).toBe("a.g: -3\nb: 2\n");
  });
});

describe("escapeLabelValue (the one label escaper: Envoy's stats and the vLLM simulator's /metrics)", () => {
  it("escapes backslash, newline and double quote so that the exposition format's unescaping gives the value back", () => {
    expect(escapeLabelValue('a\\b\n"c"')).toBe('a\\\\b\\n\\"c\\"');
    const decodeLabel = (s: string) => s.replace(/\\(["\\n])/g, (_, c: string) => (c === "n" ? "\n" : c));
    const alphabet = ["\\", "\n", '"', "n", "a", "é", " ", "}"];
    for (let seed = 1; seed <= 500; seed++) {
      const value = Array.from({ length: seed % 13 }, (_, i) => alphabet[(seed * 7 + i * 13) % alphabet.length]).join("");
      const escaped = escapeLabelValue(value);
      expect(escaped, JSON.stringify(value)).not.toMatch(/\n|(^|[^\\])(\\\\)*"/);
      expect(decodeLabel(escaped)).toBe(value);
    }
  });
});
