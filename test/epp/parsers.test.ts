// Prometheus text parsing, model-server metric extraction, and Go-compatible JSON.
import { describe, expect, it } from "vitest";
import { marshalGo, unmarshalObject, type GoJson } from "../../src-host/epp/go-json.js";
import { extractMetrics, metricMapping, parseMetricSpec } from "../../src-host/epp/model-server-metrics.js";
import { parsePrometheusText } from "../../src-host/epp/prom-text.js";
import { emptyMetrics } from "../../src-host/epp/scheduling/types.js";

describe("Prometheus text", () => {
  it("parses comments, labels with escapes, special values and timestamps", () => {
    const text = [
      "# HELP x_total A counter with \\\\ in help",
      "# TYPE x_total counter",
      'x_total{path="/a\\"b",note="line\\nbreak\\\\x",} 3 1700000000000',
      "vllm:num_requests_waiting 2.5e0",
      'nan_metric{a="1"} NaN',
      "inf_metric +Inf",
      "",
      "neg -Inf\r",
    ].join("\n");
    const s = parsePrometheusText(text);
    expect(s.get("x_total")).toEqual([{ name: "x_total", labels: { path: '/a"b', note: "line\nbreak\\x" }, value: 3, timestampMs: 1700000000000 }]);
    expect(s.get("vllm:num_requests_waiting")![0].value).toBe(2.5);
    expect(s.get("nan_metric")![0].value).toBeNaN();
    expect(s.get("inf_metric")![0].value).toBe(Infinity);
    expect(s.get("neg")![0].value).toBe(-Infinity);
  });

  it("rejects malformed lines", () => {
    for (const line of ['m{a="1} 1', "m{a=1} 1", "m 1 2 3", "m abc", "1m 2", 'm{a="\\q"} 1', 'm{a="1",a="2"} 1']) {
      expect(() => parsePrometheusText(line), line).toThrow(/metrics text line 1/);
    }
  });
});

describe("model-server metrics", () => {
  const mapping = metricMapping("vllm:num_requests_waiting", "vllm:num_requests_running", "vllm:gpu_cache_usage_perc", "vllm:lora_requests_info");

  it("reads the vLLM metrics, the latest sample winning, and LoRA adapters from labels", () => {
    const text = `vllm:num_requests_waiting{model_name="a"} 4 1000
vllm:num_requests_waiting{model_name="b"} 7 2000
vllm:num_requests_running{model_name="a"} 3
vllm:gpu_cache_usage_perc{model_name="a"} 0.42
vllm:lora_requests_info{max_lora="2",running_lora_adapters="sql,chat",waiting_lora_adapters=""} 1700000001
vllm:lora_requests_info{max_lora="2",running_lora_adapters="old",waiting_lora_adapters=""} 1600000000
vllm:lora_requests_info{max_lora="2",running_lora_adapters="",waiting_lora_adapters=""} 1800000000
`;
    const { metrics, errors } = extractMetrics(text, emptyMetrics(), mapping, 123);
    expect(errors).toEqual([]);
    expect(metrics.waitingQueueSize).toBe(7);
    expect(metrics.runningQueueSize).toBe(3);
    expect(metrics.kvCacheUsagePercent).toBe(0.42);
    expect([...metrics.activeModels]).toEqual(["sql", "chat"]);
    expect(metrics.waitingModels.size).toBe(0);
    expect(metrics.maxActiveModels).toBe(2);
    expect(metrics.updateTime).toBe(123);
  });

  it("accepts vllm:kv_cache_usage_perc and keeps earlier values for missing metrics", () => {
    const prev = { ...emptyMetrics(), waitingQueueSize: 9, kvCacheUsagePercent: 0.1 };
    const { metrics, errors } = extractMetrics("vllm:kv_cache_usage_perc 0.7\n", prev, mapping, 5);
    expect(metrics.kvCacheUsagePercent).toBe(0.7);
    expect(metrics.waitingQueueSize).toBe(9);
    expect(errors).toEqual([
      'metric family "vllm:num_requests_waiting" not found',
      'metric family "vllm:num_requests_running" not found',
      'metric family "vllm:lora_requests_info" not found',
    ]);
  });

  it("filters samples by the labels of a metric spec", () => {
    const m = metricMapping('nv_trt_llm_request_metrics{request_type="waiting"}', "r", "nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type=fraction}", "");
    const text = `nv_trt_llm_request_metrics{request_type="waiting"} 6
nv_trt_llm_request_metrics{request_type="context"} 1
nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="fraction"} 0.3
nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="used"} 300
`;
    const { metrics } = extractMetrics(text, emptyMetrics(), m, 1);
    expect(metrics.waitingQueueSize).toBe(6);
    expect(metrics.kvCacheUsagePercent).toBe(0.3);
    expect(() => parseMetricSpec("bad name")).toThrow(/invalid metric spec/);
    expect(() => parseMetricSpec("m{a=1")).toThrow(/missing '}'/);
  });
});

describe("Go JSON", () => {
  const roundTrip = (s: string) => {
    const r = unmarshalObject(Buffer.from(s));
    if (!r.ok) throw new Error(r.error);
    return marshalGo(r.value);
  };

  it("marshals like encoding/json: sorted keys, compact, HTML-safe escapes", () => {
    expect(roundTrip('{ "b": 1, "a": {"z": [1, 2.50, true, null], "y": "q"} }')).toBe('{"a":{"y":"q","z":[1,2.5,true,null]},"b":1}');
    expect(roundTrip('{"s": "<a href=\\"x\\">&amp;</a>\\u2028\\u2029\\t\\n\\r\\b\\f\\u0001\\u001f/é😀"}')).toBe(
      '{"s":"\\u003ca href=\\"x\\"\\u003e\\u0026amp;\\u003c/a\\u003e\\u2028\\u2029\\t\\n\\r\\b\\f\\u0001\\u001f/é😀"}',
    );
    expect(roundTrip('{"n": [1e21, 1e20, 1e-7, 0.000001, -0, 12345678901234567890, 1.0]}')).toBe(
      '{"n":[1e+21,100000000000000000000,1e-7,0.000001,-0,12345678901234567000,1]}',
    );
    // Keys sort by UTF-8 bytes: U+FF5E (EF BD 9E) before U+1F600 (F0 9F 98 80), unlike UTF-16 order.
    expect(marshalGo({ "😀": 1, "～": 2, a: 3 } as GoJson)).toBe('{"a":3,"～":2,"😀":1}');
    expect(roundTrip('{"x": "\\ud800"}')).toBe('{"x":"\ufffd"}');
  });

  it("unmarshals only objects (null as empty), and refuses numbers beyond float64", () => {
    expect(unmarshalObject(Buffer.from("null"))).toEqual({ ok: true, value: {} });
    expect(unmarshalObject(Buffer.from("[1]")).ok).toBe(false);
    expect(unmarshalObject(Buffer.from('"s"')).ok).toBe(false);
    expect(unmarshalObject(Buffer.from('{"a": 1e400}')).ok).toBe(false);
    expect(unmarshalObject(Buffer.from("{")).ok).toBe(false);
  });
});
