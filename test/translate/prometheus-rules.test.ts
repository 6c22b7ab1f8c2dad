// The shipped recording rules: generated from the metric definitions, accepted by promtool, and — run by
// promtool's own rule evaluator over our series — producing Envoy AI Gateway's series with its `le` spellings.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { GENAI_HISTOGRAMS, ourBucket } from "../../src-host/config/build/genai-metrics.js";
import { RULES_FILE, goFloat, renderRecordingRules } from "../../src-host/translate/prometheus-rules.js";
import { prometheusTools } from "../stats/prometheus-tools.js";

const tools = prometheusTools();
const dir = mkdtempSync(join(tmpdir(), "aigw-rules-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("recording rules", () => {
  it("the shipped file is the generated one (make envoy-config)", () => {
    expect(readFileSync(RULES_FILE, "utf8")).toBe(renderRecordingRules());
  });

  it("le values are spelled as Go's client_golang writes them", () => {
    expect([0.001, 0.01, 0.075, 1, 2.5, 60, 81.92, 262144, 1048576, 67108864].map(goFloat)).toEqual([
      "0.001",
      "0.01",
      "0.075",
      "1",
      "2.5",
      "60",
      "81.92",
      "262144",
      "1.048576e+06",
      "6.7108864e+07",
    ]);
    expect(goFloat(0.00001)).toBe("1e-05");
  });

  it.skipIf(typeof tools === "string")(`promtool check rules accepts the file${typeof tools === "string" ? ` — SKIPPED: ${tools}` : ""}`, () => {
    const r = spawnSync((tools as { promtool: string }).promtool, ["check", "rules", RULES_FILE], { encoding: "utf8" });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it.skipIf(typeof tools === "string")(
    `promtool test rules: every boundary, sum and count of every duration${typeof tools === "string" ? ` — SKIPPED: ${tools}` : ""}`,
    () => {
      const labels = 'gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_original_model="m",gen_ai_request_model="m",gen_ai_response_model="m"';
      const input: Array<{ series: string; values: string }> = [];
      const expected: Array<{ expr: string; eval_time: string; exp_samples: Array<{ labels: string; value: number }> }> = [];
      for (const h of GENAI_HISTOGRAMS.filter((x) => x.scale !== 1)) {
        const ours = h.name.replace(/\./g, "_");
        const bounds = [...h.upstreamBuckets.map((b, i) => [String(ourBucket(h, b)), goFloat(b), i + 1] as const), ["+Inf", "+Inf", 99] as const];
        for (const [le, , n] of bounds) input.push({ series: `${ours}_bucket{${labels},le="${le}"}`, values: `${n} ${n}` });
        input.push({ series: `${ours}_sum{${labels}}`, values: "2500000 2500000" });
        input.push({ series: `${ours}_count{${labels}}`, values: "99 99" });
        for (const [, le, n] of bounds) {
          expected.push({
            expr: `${h.upstream}_bucket{le="${le}"}`,
            eval_time: "1m",
            exp_samples: [{ labels: `${h.upstream}_bucket{${labels},le="${le}"}`, value: n }],
          });
        }
        expected.push({ expr: `${h.upstream}_sum`, eval_time: "1m", exp_samples: [{ labels: `${h.upstream}_sum{${labels}}`, value: 2.5 }] });
        expected.push({ expr: `${h.upstream}_count`, eval_time: "1m", exp_samples: [{ labels: `${h.upstream}_count{${labels}}`, value: 99 }] });
        // Exactly one series per boundary: nothing of ours leaks through unrenamed.
        expected.push({ expr: `count(${h.upstream}_bucket)`, eval_time: "1m", exp_samples: [{ labels: "{}", value: bounds.length }] });
      }
      const test = join(dir, "test.yaml");
      writeFileSync(
        test,
        stringify({
          rule_files: [join(process.cwd(), RULES_FILE)],
          evaluation_interval: "1m",
          tests: [{ interval: "1m", input_series: input, promql_expr_test: expected }],
        }),
      );
      const r = spawnSync((tools as { promtool: string }).promtool, ["test", "rules", test], { encoding: "utf8" });
      expect(r.status, r.stdout + r.stderr).toBe(0);
    },
  );
});
