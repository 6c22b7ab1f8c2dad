// The admin listener (/ready, /metrics, /stats, /config_dump) and the access log destinations and formats.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway } from "../../src-host/gateway/gateway.js";
import { StatsStore } from "../../src-host/stats/index.js";
import { cluster, config, echoUpstream, gateway, request, route, testFilter, until, type Upstream } from "./helpers.js";

let up: Upstream;
beforeAll(async () => {
  up = await echoUpstream("up");
});
afterAll(() => up.close());

const admin = async (port: number, path: string) => {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: r.status, type: r.headers.get("content-type"), text: await r.text() };
};

describe("admin", () => {
  it("answers /ready and /health 503 until every readiness condition holds, then 200", async () => {
    const gw = await gateway(config([route("r", "up")], [cluster("up", [up])]), { readyConditions: ["wasm", "epp"] });
    try {
      expect(await admin(gw.adminAddress.port, "/ready")).toMatchObject({ status: 503, text: "INITIALIZING\n" });
      expect(await admin(gw.adminAddress.port, "/health")).toMatchObject({ status: 503, text: "INITIALIZING\n" });
      gw.setReady("wasm", true);
      expect((await admin(gw.adminAddress.port, "/ready")).status).toBe(503);
      gw.setReady("epp", true);
      expect(await admin(gw.adminAddress.port, "/ready")).toMatchObject({ status: 200, text: "LIVE\n" });
      expect(await admin(gw.adminAddress.port, "/health")).toMatchObject({ status: 200, text: "OK\n" });
      gw.setReady("wasm", false);
      expect((await admin(gw.adminAddress.port, "/ready")).status).toBe(503);
    } finally {
      await gw.close();
    }
  });

  it("is LIVE at once without conditions", async () => {
    const gw = await gateway(config([route("r", "up")], [cluster("up", [up])]));
    try {
      expect(await admin(gw.adminAddress.port, "/ready")).toMatchObject({ status: 200, text: "LIVE\n" });
    } finally {
      await gw.close();
    }
  });

  it("renders the data plane's stats and the shared store's in Prometheus text with stats tags", async () => {
    const stats = new StatsStore({ tags: [{ tagName: "ai_model", regex: "\\.model\\.((.+?)\\.)" }] });
    stats.counter("wasmcustom.ai.model.llama.input_tokens").inc(42);
    const cfg = config([route("r", "up")], [cluster("up", [up])]);
    const gw = await gateway(cfg, { stats });
    try {
      for (let i = 0; i < 3; i++) expect((await request(gw.listenerAddress.port, "/")).status).toBe(200);
      expect((await request(gw.listenerAddress.port, "/", { headers: { host: "x" }, method: "DELETE" })).status).toBe(200);
      const m = await admin(gw.adminAddress.port, "/metrics");
      expect(m.status).toBe(200);
      expect(m.type).toMatch(/^text\/plain; version=0\.0\.4/);
      const t = m.text;
      expect(t).toMatch(/^envoy_http_downstream_rq_total\{envoy_http_conn_manager_prefix="test-listener"\} 4$/m);
      expect(t).toMatch(/^envoy_http_downstream_rq_xx\{envoy_response_code_class="2",envoy_http_conn_manager_prefix="test-listener"\} 4$/m);
      expect(t).toMatch(/^envoy_cluster_upstream_rq_total\{envoy_cluster_name="up"\} 4$/m);
      expect(t).toMatch(/^envoy_cluster_upstream_rq_xx\{envoy_response_code_class="2",envoy_cluster_name="up"\} 4$/m);
      expect(t).toMatch(/^envoy_cluster_upstream_rq\{envoy_response_code="200",envoy_cluster_name="up"\} 4$/m);
      expect(t).toMatch(/^envoy_cluster_upstream_rq_time_count\{envoy_cluster_name="up"\} 4$/m);
      expect(t).toMatch(/^envoy_listener_downstream_cx_total\{envoy_listener_address="127\.0\.0\.1_\d+"\} [1-4]$/m);
      expect(t).toMatch(/^ai_model_input_tokens\{ai_model="llama"\} 42$/m);
      expect(t).toMatch(/^# TYPE envoy_http_downstream_rq_time histogram$/m);
      const s = await admin(gw.adminAddress.port, "/stats");
      expect(s.text).toMatch(/^cluster\.up\.upstream_rq_200: 4$/m);
      expect(s.text).toMatch(/^ai\.model\.llama\.input_tokens: 42$/m);
    } finally {
      await gw.close();
    }
  });

  it("serves the effective configuration at /config_dump", async () => {
    const cfg = config([route("r", "up")], [cluster("up", [up])]);
    const gw = await gateway(cfg);
    try {
      const d = await admin(gw.adminAddress.port, "/config_dump");
      expect(d.type).toBe("application/json");
      expect(JSON.parse(d.text)).toEqual(JSON.parse(JSON.stringify(cfg)));
      expect((await admin(gw.adminAddress.port, "/nope")).status).toBe(404);
    } finally {
      await gw.close();
    }
  });

  it("refuses an invalid stats tag regex at start", async () => {
    const cfg = config([route("r", "up")], [cluster("up", [up])], { statsTags: [{ tagName: "t", regex: "(" }] });
    await expect(startGateway(cfg)).rejects.toThrow(/stats tag "t": invalid regex/);
  });

  it("reports a listener address that is taken", async () => {
    const cfg = config([route("r", "up")], [cluster("up", [up])]);
    cfg.listener.address = { address: "127.0.0.1", port: up.port };
    await expect(startGateway(cfg, { log: () => {} })).rejects.toThrow(/listener "test-listener": cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
  });
});

describe("access log", () => {
  it("writes Envoy's default format plus details and route, one line per stream", async () => {
    const gw = await gateway(config([route("chat", "up")], [cluster("up", [up])]));
    try {
      await request(gw.listenerAddress.port, "/v1/chat?x=1", {
        method: "POST",
        body: "hello",
        headers: { "user-agent": "ua/1", "x-request-id": "rid-1", host: "gw.local" },
      });
      await until(() => gw.accessLog.length === 1);
      const line = gw.accessLog[0];
      const m =
        /^\[(\S+)\] "POST \/v1\/chat\?x=1 HTTP\/1\.1" 200 - 5 (\d+) (\d+) - "127\.0\.0\.1" "ua\/1" "rid-1" "gw\.local" "127\.0\.0\.1:(\d+)" via_upstream chat$/.exec(
          line,
        );
      expect(m, line).not.toBeNull();
      expect(Date.now() - Date.parse(m![1])).toBeLessThan(10_000);
      expect(Number(m![2])).toBeGreaterThan(100); // the echo reply's size
      expect(Number(m![4])).toBe(up.port);
    } finally {
      await gw.close();
    }
  });

  it("appends to a file in a custom format with filter state and headers", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gw-log-"));
    const path = join(dir, "access.log");
    const filter = testFilter((sink) => ({
      requestHeaders: (h, eos) => {
        sink.info.filterState.set("wasm.cost", Buffer.from("17"));
        sink.forwardRequestHeaders([...h, ["x-ai-eg-model", "m1"]], eos);
      },
    }));
    const cfg = config([route("r", "up")], [cluster("up", [up])], {
      accessLog: {
        path,
        format:
          "%RESPONSE_CODE% %REQ(X-AI-EG-MODEL)% cost=%FILTER_STATE(wasm.cost:PLAIN)% missing=%FILTER_STATE(wasm.none:PLAIN)% %UPSTREAM_CLUSTER% %RESP(CONTENT-TYPE)%\n",
      },
    });
    const gw = await startGateway(cfg, { filter, log: () => {} });
    try {
      await request(gw.listenerAddress.port, "/");
      await request(gw.listenerAddress.port, "/");
    } finally {
      await gw.close();
    }
    const lines = readFileSync(path, "utf8");
    rmSync(dir, { recursive: true });
    expect(lines).toBe("200 m1 cost=17 missing=- up application/json\n".repeat(2));
  });
});
