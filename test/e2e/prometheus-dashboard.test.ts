// Envoy AI Gateway's Grafana dashboard against a real Prometheus (Debian's package): Prometheus scrapes
// `aigw run`'s admin /metrics with the shipped recording rules loaded, known traffic runs through the seed
// example (two InferencePools with several endpoints, an AIServiceBackend; streaming and not; upstream
// errors), and every expression of the dashboard's 12 panels must answer what was sent.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runGateway, type RunningGateway } from "../../src-host/cli/run.js";
import { RULES_FILE } from "../../src-host/translate/prometheus-rules.js";
import { prometheusTools } from "../stats/prometheus-tools.js";

const tools = prometheusTools();
const skipped = typeof tools === "string" ? ` — SKIPPED: ${tools}` : "";

// Envoy AI Gateway v1.1's dashboard, from the workspace beside the repository (not shipped here): a clone
// without it skips the dashboard test, and says so.
const DASHBOARD = "../shared/reference/aigw-v1.1-grafana-dashboard.json";
const noDashboard = existsSync(DASHBOARD) ? "" : ` — SKIPPED: ${DASHBOARD} is not beside this clone`;
const LLAMA = "meta-llama/Llama-3.1-8B-Instruct";
const MISTRAL = "mistral:latest";
const SELF_HOSTED = "some-cool-self-hosted-model";
const SCRAPE_SECONDS = 1;

interface Panel {
  title: string;
  exprs: string[];
}

function dashboardPanels(): Panel[] {
  const d = JSON.parse(readFileSync(DASHBOARD, "utf8")) as { panels: unknown[] };
  const out: Panel[] = [];
  const walk = (ps: unknown[]) => {
    for (const p of ps as Array<{ title?: string; panels?: unknown[]; targets?: Array<{ expr?: string }> }>) {
      if (p.panels) walk(p.panels);
      if (p.targets) out.push({ title: p.title ?? "", exprs: p.targets.map((t) => t.expr ?? "").filter((e) => e !== "") });
    }
  };
  walk(d.panels);
  return out;
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the traffic sent, per original model, to compare with what the panels show. */
const sent = new Map<string, { requests: number; errors: number }>();
const tokens = { input: 0, output: 0, cached_input: 0, reasoning: 0 };
let maxStreamSeconds = 0;
let maxRequestSeconds = 0;

function count(model: string, failed: boolean): void {
  const s = sent.get(model) ?? { requests: 0, errors: 0 };
  s.requests++;
  if (failed) s.errors++;
  sent.set(model, s);
}

function addUsage(
  u:
    | {
        prompt_tokens?: number;
        completion_tokens?: number;
        prompt_tokens_details?: { cached_tokens?: number } | null;
        completion_tokens_details?: { reasoning_tokens?: number } | null;
      }
    | undefined
    | null,
): void {
  expect(u, "the upstream reported usage").toBeTruthy();
  tokens.input += u!.prompt_tokens ?? 0;
  tokens.output += u!.completion_tokens ?? 0;
  tokens.cached_input += u!.prompt_tokens_details?.cached_tokens ?? 0;
  tokens.reasoning += u!.completion_tokens_details?.reasoning_tokens ?? 0;
}

const b64 = (s: string) => Buffer.from(s).toString("base64");
const hi = [{ role: "user" as const, content: "Hi. Say this is a test" }];
let asked = 0;
/** A prompt no earlier one prefixes. */
const varied = () => [{ role: "user" as const, content: `${++asked} ${"x".repeat(asked * 37)} Say this is a test` }];

/** A JSON answer with every token type, from the test upstreams of the mistral pool. */
const MISTRAL_ANSWER = JSON.stringify({
  id: "c1",
  object: "chat.completion",
  created: 1,
  model: MISTRAL,
  choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }],
  usage: {
    prompt_tokens: 20,
    completion_tokens: 7,
    total_tokens: 27,
    prompt_tokens_details: { cached_tokens: 5 },
    completion_tokens_details: { reasoning_tokens: 3 },
  },
});

/** An SSE answer of the AIServiceBackend's test upstream (each line one `data:` event), usage at the end. */
const SELF_HOSTED_STREAM = [
  ...["Hello", " from", " a", " stream"].map((w) =>
    JSON.stringify({ id: "s1", object: "chat.completion.chunk", created: 1, model: SELF_HOSTED, choices: [{ index: 0, delta: { content: w } }] }),
  ),
  JSON.stringify({
    id: "s1",
    object: "chat.completion.chunk",
    created: 1,
    model: SELF_HOSTED,
    choices: [],
    usage: { prompt_tokens: 11, completion_tokens: 4, total_tokens: 15 },
  }),
  "[DONE]",
].join("\n");

const ERROR_BODY = JSON.stringify({ error: { message: "upstream failure", type: "server_error" } });

let gw: RunningGateway;
let client: OpenAI;
let prom: ChildProcess | undefined;
let promUrl = "";
let dir = "";
const promLog: string[] = [];

async function query(expr: string): Promise<Array<{ metric: Record<string, string>; value: number }>> {
  const r = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const j = (await r.json()) as { status: string; error?: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
  expect(j.status, `${expr}: ${j.error}`).toBe("success");
  return j.data.result.map((x) => ({ metric: x.metric, value: Number(x.value[1]) }));
}

/** The model's test upstream answers `status` with an OpenAI error body. */
async function upstreamFailure(model: string, status: number): Promise<void> {
  const err = await client.chat.completions
    .create({ model, messages: hi }, { headers: { "x-response-status": String(status), "x-response-body": b64(ERROR_BODY) } })
    .catch((e: unknown) => e);
  expect((err as { status?: number }).status).toBe(status);
  count(model, true);
}

async function one(expr: string): Promise<number> {
  const r = await query(expr);
  expect(r, expr).toHaveLength(1);
  return r[0]!.value;
}

async function wave(): Promise<void> {
  const timed = async <T>(f: () => Promise<T>, stream: boolean): Promise<T> => {
    const t0 = performance.now();
    const r = await f();
    const s = (performance.now() - t0) / 1000;
    maxRequestSeconds = Math.max(maxRequestSeconds, s);
    if (stream) maxStreamSeconds = Math.max(maxStreamSeconds, s);
    return r;
  };
  // The vLLM simulator pool (three endpoints): JSON and streams with usage.
  for (let i = 0; i < 4; i++) {
    const r = await timed(() => client.chat.completions.create({ model: LLAMA, messages: varied(), max_tokens: 8 }), false);
    addUsage(r.usage);
    count(LLAMA, false);
  }
  for (let i = 0; i < 3; i++) {
    await timed(async () => {
      const s = await client.chat.completions.create({
        model: LLAMA,
        messages: varied(),
        max_tokens: 8,
        stream: true,
        stream_options: { include_usage: true },
      });
      let usage;
      for await (const chunk of s) if (chunk.usage) usage = chunk.usage;
      addUsage(usage);
    }, true);
    count(LLAMA, false);
  }
  // The mistral pool's test upstreams: every token type, and one upstream 500.
  for (let i = 0; i < 2; i++) {
    const r = await timed(
      () => client.chat.completions.create({ model: MISTRAL, messages: hi }, { headers: { "x-response-body": b64(MISTRAL_ANSWER) } }),
      false,
    );
    addUsage(r.usage);
    count(MISTRAL, false);
  }
  await upstreamFailure(MISTRAL, 500);
  // The AIServiceBackend: a stream, and one upstream 503.
  await timed(async () => {
    const s = await client.chat.completions.create(
      { model: SELF_HOSTED, messages: hi, stream: true },
      { headers: { "x-response-type": "sse", "x-response-body": b64(SELF_HOSTED_STREAM) } },
    );
    let usage;
    for await (const chunk of s) if (chunk.usage) usage = chunk.usage;
    addUsage(usage);
  }, true);
  count(SELF_HOSTED, false);
  await upstreamFailure(SELF_HOSTED, 503);
}

/** Waits until Prometheus has scraped and evaluated the rules after the last request. */
async function settle(): Promise<void> {
  const want = [...sent.values()].reduce((n, s) => n + s.requests, 0);
  for (let i = 0; i < 40; i++) {
    const r = await query("sum(gen_ai_server_request_duration_seconds_count)").catch(() => []);
    if (r.length === 1 && r[0]!.value === want) return;
    await sleep(250);
  }
  throw new Error(`Prometheus did not see ${want} requests:\n${promLog.join("").slice(-2000)}`);
}

beforeAll(async () => {
  if (typeof tools === "string") return;
  gw = await runGateway({ paths: [], port: 0, adminPort: 0, log: () => {}, accessLog: () => {} });
  const l = gw.gateway.listenerAddress;
  client = new OpenAI({ baseURL: `http://${l.address}:${l.port}/v1`, apiKey: "unused", maxRetries: 0 });
  const a = gw.gateway.adminAddress;
  dir = mkdtempSync(join(tmpdir(), "aigw-prometheus-"));
  writeFileSync(
    join(dir, "prometheus.yml"),
    [
      "global:",
      `  scrape_interval: ${SCRAPE_SECONDS}s`,
      `  evaluation_interval: ${SCRAPE_SECONDS}s`,
      `rule_files: [${JSON.stringify(resolve(RULES_FILE))}]`,
      "scrape_configs:",
      "- job_name: aigw",
      "  metrics_path: /metrics",
      `  static_configs: [{ targets: ["${a.address}:${a.port}"] }]`,
      "",
    ].join("\n"),
  );
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  prom = spawn(
    tools.prometheus,
    [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--web.enable-lifecycle",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  prom.stdout!.on("data", (d: Buffer) => promLog.push(d.toString()));
  prom.stderr!.on("data", (d: Buffer) => promLog.push(d.toString()));
  for (let i = 0; ; i++) {
    const ok = await fetch(`${promUrl}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (i > 80 || prom.exitCode !== null) throw new Error(`prometheus did not start:\n${promLog.join("")}`);
    await sleep(250);
  }
  // Two waves with scrapes between them: the first creates the series, the second moves every rate().
  await wave();
  await settle();
  await sleep(2500 * SCRAPE_SECONDS);
  await wave();
  await settle();
  await sleep(2500 * SCRAPE_SECONDS);
}, 120_000);

afterAll(async () => {
  if (prom && prom.exitCode === null) {
    prom.kill("SIGTERM");
    await new Promise((r) => prom!.once("exit", r));
  }
  await gw?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(typeof tools === "string" || noDashboard !== "")(`Envoy AI Gateway's Grafana dashboard on a real Prometheus${skipped}${noDashboard}`, () => {
  const panels = typeof tools === "string" || noDashboard !== "" ? [] : dashboardPanels();
  const total = () => [...sent.values()].reduce((n, s) => n + s.requests, 0);
  const errors = () => [...sent.values()].reduce((n, s) => n + s.errors, 0);
  const expr = (title: string, i = 0) => {
    const p = panels.find((x) => x.title === title);
    expect(p, `panel ${title}`).toBeDefined();
    return p!.exprs[i]!;
  };

  it("the dashboard has the 12 panels this test answers", () => {
    expect(panels.map((p) => p.title)).toHaveLength(12);
  });

  it("every expression of every panel returns a non-empty result", async () => {
    for (const p of panels) {
      for (const e of p.exprs) {
        const r = await query(e);
        expect(r.length, `${p.title}: ${e}`).toBeGreaterThan(0);
        for (const x of r) expect(Number.isNaN(x.value), `${p.title}: ${e} → ${JSON.stringify(x)}`).toBe(false);
      }
    }
  });

  it("Total Requests: every request that reached an upstream", async () => {
    expect(await one(expr("Total Requests"))).toBe(total());
  });

  it("Total Tokens and Token Usage by Type: the upstreams' reported usage, exactly", async () => {
    expect(await one(expr("Total Tokens (input + output)"))).toBe(tokens.input + tokens.output);
    const byType = Object.fromEntries(
      (await query(expr("Token Usage by Type (input / output / cached / reasoning)"))).map((r) => [r.metric.gen_ai_token_type, r.value]),
    );
    expect(byType).toEqual(tokens);
  });

  it("durations: quantiles in seconds, within what the client measured", async () => {
    const ttft = await one(expr("P95 Time to First Token (TTFT)"));
    expect(ttft).toBeGreaterThan(0);
    expect(ttft).toBeLessThanOrEqual(Math.max(maxStreamSeconds * 2, 0.005));
    const p95 = await one(expr("P95 Request Duration"));
    expect(p95).toBeGreaterThan(0);
    expect(p95).toBeLessThanOrEqual(Math.max(maxRequestSeconds * 2, 0.02));
    for (let i = 0; i < 3; i++) {
      const v = await one(expr("Request Duration Percentiles (P50 / P95 / P99)", i));
      expect(v).toBeGreaterThan(0);
      expect(v).toBeLessThan(81.92);
    }
    const tpot = await one(expr("Time to First Token vs Time per Output Token", 1));
    expect(tpot).toBeGreaterThan(0);
    expect(tpot).toBeLessThanOrEqual(2.5);
  });

  it("Requests by Original Model vs Response Model: one row per model, with its count", async () => {
    const rows = await query(expr("Requests by Original Model vs Response Model"));
    const byModel = new Map<string, number>();
    for (const r of rows) {
      expect(r.metric.gen_ai_provider_name).toBe("openai");
      byModel.set(r.metric.gen_ai_original_model!, (byModel.get(r.metric.gen_ai_original_model!) ?? 0) + r.value);
      // A success names the model that answered; a failure has none (Envoy AI Gateway's "unknown").
      expect([r.metric.gen_ai_original_model, "unknown"]).toContain(r.metric.gen_ai_response_model);
    }
    expect(Object.fromEntries(byModel)).toEqual(Object.fromEntries([...sent].map(([m, s]) => [m, s.requests])));
  });

  it("rates: requests and every token type per second are positive", async () => {
    expect(await one(expr("Request Throughput (QPS)"))).toBeGreaterThan(0);
    const rates = await query(expr("Token Consumption Rate (tokens/sec by type)"));
    expect(rates.map((r) => r.metric.gen_ai_token_type).sort()).toEqual(Object.keys(tokens).sort());
    for (const r of rates) expect(r.value, r.metric.gen_ai_token_type).toBeGreaterThan(0);
  });

  it("Error Rate and Success Rate by Model: the upstream failures sent", async () => {
    expect(await one(expr("Error Rate"))).toBeCloseTo(errors() / total(), 10);
    const rows = await query(expr("Success Rate by Model"));
    const got = Object.fromEntries(rows.map((r) => [r.metric.gen_ai_original_model, r.value]));
    const want = Object.fromEntries([...sent].map(([m, s]) => [m, 1 - s.errors / s.requests]));
    expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
    for (const m of Object.keys(want)) expect(got[m], m).toBeCloseTo(want[m]!, 10);
  });
});

describe.skipIf(typeof tools === "string")(`per endpoint, the Endpoint Picker and its cluster, through the same Prometheus${skipped}`, () => {
  const POOLS = { [LLAMA]: "default/vllm-llama3-8b-instruct", [MISTRAL]: "default/mistral" } as const;
  const poolRequests = (model: keyof typeof POOLS) => sent.get(model)!.requests;
  const byLabel = async (expr: string, label: string) => Object.fromEntries((await query(expr)).map((r) => [r.metric[label]!, r.value]));

  it("requests, errors and durations per backend and pool endpoint add up to what was sent", async () => {
    const requests = await query("aigw_backend_requests_total");
    const total = requests.reduce((n, r) => n + r.value, 0);
    expect(total).toBe([...sent.values()].reduce((n, s) => n + s.requests, 0));
    // Each series names a pod of its backend by address (pods are named after their Deployment).
    const podAt = new Map([...gw.pods].map(([name, ip]) => [ip, name]));
    for (const r of requests) {
      const [ip] = r.metric.endpoint!.split(":");
      expect(podAt.get(ip!), JSON.stringify(r.metric)).toContain(r.metric.backend!.split("/")[1]!.replace("-upstream", ""));
    }
    const llama = requests.filter((r) => r.metric.backend === POOLS[LLAMA]);
    expect(llama.reduce((n, r) => n + r.value, 0)).toBe(poolRequests(LLAMA));
    const errors = await byLabel("sum by (backend) (aigw_backend_errors_total)", "backend");
    expect(
      Object.entries(errors)
        .map(([b, n]) => [b.split("/").at(-1), n])
        .sort(),
    ).toEqual([
      ["envoy-ai-gateway-basic-testupstream", 2],
      ["mistral", 2],
    ]);
    expect(await one("sum(aigw_backend_request_duration_microseconds_count)")).toBe(total);
  });

  it("every pool request is one EPP callout that picked, counted by the EPP's cluster as Envoy counts callouts", async () => {
    const picked = await byLabel('sum by (pool) (aigw_epp_callouts_total{outcome="picked"})', "pool");
    expect(picked).toEqual({ [POOLS[LLAMA]]: poolRequests(LLAMA), [POOLS[MISTRAL]]: poolRequests(MISTRAL) });
    expect(await query('aigw_epp_callouts_total{outcome!="picked"}')).toEqual([]);
    expect(await one("sum(aigw_epp_callout_duration_microseconds_count)")).toBe(poolRequests(LLAMA) + poolRequests(MISTRAL));
    for (const [model, pool] of Object.entries(POOLS) as Array<[keyof typeof POOLS, string]>) {
      const cluster = `envoy_cluster_name="epp/${pool}"`;
      const all = JSON.stringify((await query(`{${cluster},__name__=~"envoy_cluster_upstream_rq.*"}`)).map((r) => [r.metric.__name__, r.value]));
      expect(await one(`envoy_cluster_upstream_rq_total{${cluster}}`), all).toBe(poolRequests(model));
      // Every callout ended: completed when the EPP's status arrived while the request lived, else reset
      // with the request's stream (as Envoy resets a context's gRPC streams when it is destroyed).
      const ended = await one(`sum(envoy_cluster_upstream_rq_completed{${cluster}}) + sum(envoy_cluster_upstream_rq_tx_reset{${cluster}})`);
      expect(ended, all).toBe(poolRequests(model));
      expect(await one(`envoy_cluster_upstream_rq_active{${cluster}}`), all).toBe(0);
    }
  });
});
