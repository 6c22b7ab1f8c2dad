// Clusters and upstream failures: load balancing, ORIGINAL_DST, keep-alive pools, and the replies Envoy
// gives when an upstream cannot be reached, stalls or resets.
import http from "node:http";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { firstAddress } from "../../src-host/gateway/cluster-manager.js";
import { cluster, config, echoed, echoUpstream, gateway, request, route, stalledPort, startUpstream, testFilter, until, type Upstream } from "./helpers.js";

let a: Upstream, b: Upstream, c: Upstream;
beforeAll(async () => {
  [a, b, c] = await Promise.all([echoUpstream("a"), echoUpstream("b", "127.0.0.2"), echoUpstream("c", "127.0.0.3")]);
});
afterAll(async () => {
  await Promise.all([a.close(), b.close(), c.close()]);
});

/** A port on 127.0.0.1 that refuses connections (bound then closed). */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe("load balancing", () => {
  it("goes round robin over the ready endpoints only", async () => {
    const gw = await gateway(config([route("r", "pool")], [cluster("pool", [a, { address: b.address, port: b.port, ready: false }, c])]));
    try {
      const seen: string[] = [];
      for (let i = 0; i < 6; i++) seen.push(echoed(await request(gw.listenerAddress.port, "/")).upstream);
      expect(seen).toEqual(["a", "c", "a", "c", "a", "c"]);
    } finally {
      await gw.close();
    }
  });

  it("follows endpoint readiness changed in place on the configuration", async () => {
    const cfg = config([route("r", "pool")], [cluster("pool", [a, c])]);
    const gw = await gateway(cfg);
    try {
      const via = async () => echoed(await request(gw.listenerAddress.port, "/")).upstream;
      cfg.clusters[0].endpoints[0].ready = false;
      expect([await via(), await via()]).toEqual(["c", "c"]);
      cfg.clusters[0].endpoints[1].ready = false;
      expect((await request(gw.listenerAddress.port, "/")).status).toBe(503);
      cfg.clusters[0].endpoints[0].ready = true;
      expect([await via(), await via()]).toEqual(["a", "a"]);
    } finally {
      await gw.close();
    }
  });

  it("sends to the endpoint with the fewest requests in flight with LEAST_REQUEST", async () => {
    let release: () => void = () => {};
    const slow = await startUpstream((_req, res) => {
      release = () => res.end("slow");
    });
    const gw = await gateway(config([route("r", "pool")], [cluster("pool", [slow, a], { lbPolicy: "LEAST_REQUEST" })]));
    try {
      const pending = request(gw.listenerAddress.port, "/"); // occupies the slow endpoint
      await until(() => slow.requests.length === 1, 5000, "the slow request");
      for (let i = 0; i < 4; i++) expect(echoed(await request(gw.listenerAddress.port, "/")).upstream).toBe("a");
      release();
      expect((await pending).text).toBe("slow");
    } finally {
      await gw.close();
      await slow.close();
    }
  });

  it("reuses keep-alive upstream connections", async () => {
    const up = await echoUpstream("ka");
    const gw = await gateway(config([route("r", "ka")], [cluster("ka", [up])]));
    try {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
      for (let round = 0; round < 5; round++) {
        await Promise.all([1, 2].map(() => request(gw.listenerAddress.port, "/", { agent })));
      }
      agent.destroy();
      expect(up.requests.length).toBe(10);
      expect(up.connections).toBeLessThanOrEqual(2);
      const metrics = await (await fetch(`http://127.0.0.1:${gw.adminAddress.port}/metrics`)).text();
      expect(metrics).toMatch(/envoy_cluster_upstream_cx_total\{envoy_cluster_name="ka"\} [12]\n/);
      expect(metrics).toMatch(/envoy_cluster_upstream_rq_total\{envoy_cluster_name="ka"\} 10\n/);
    } finally {
      await gw.close();
      await up.close();
    }
  });
});

describe("an upstream that closes idle keep-alive connections", () => {
  // The race behind the "connection termination" 503s of the EPP soak under load: the simulators (node
  // servers, as uvicorn serves vLLM) close a connection idle for 5 s, and a request written onto it at that
  // moment is lost. This upstream announces `Keep-Alive: timeout=2` and, to hit the moment exactly, closes a
  // connection idle that long when the next request arrives on it, without answering.
  it("closes a pooled connection before the upstream's announced keep-alive timeout, so no request is written onto one being closed", async () => {
    const IDLE_MS = 2000;
    const idleSince = new WeakMap<net.Socket, number>();
    const closedByUpstream: number[] = [];
    const up = await startUpstream((req, res) => {
      const since = idleSince.get(req.socket);
      if (since !== undefined && performance.now() - since >= IDLE_MS) {
        closedByUpstream.push(up.requests.length);
        req.socket.destroy();
        return;
      }
      res.once("finish", () => idleSince.set(req.socket, performance.now()));
      res.setHeader("keep-alive", `timeout=${IDLE_MS / 1000}`);
      res.end("ok");
    });
    up.server.keepAliveTimeout = 0; // the handler above is the upstream's idle timer
    const gw = await gateway(config([route("r", "idle")], [cluster("idle", [up])]));
    try {
      expect((await request(gw.listenerAddress.port, "/")).status).toBe(200);
      await new Promise((r) => setTimeout(r, IDLE_MS));
      const second = await request(gw.listenerAddress.port, "/");
      expect(`${second.status} ${second.text}`).toBe("200 ok");
      expect(closedByUpstream).toEqual([]);
      expect(up.connections).toBe(2);
    } finally {
      await gw.close();
      await up.close();
    }
  });
});

describe("ORIGINAL_DST", () => {
  const dst = () => config([route("pool", "pool")], [cluster("pool", [a, c], { type: "ORIGINAL_DST", originalDstHeader: "x-gateway-destination-endpoint" })]);

  it("sends to the endpoint in the header, the first valid entry of a list", async () => {
    const gw = await gateway(dst());
    try {
      const via = async (v: string) => echoed(await request(gw.listenerAddress.port, "/", { headers: { "x-gateway-destination-endpoint": v } })).upstream;
      expect(await via(b.endpoint)).toBe("b");
      expect(await via(`${b.endpoint},${a.endpoint}`)).toBe("b");
      expect(await via(`bogus, ${c.endpoint}`)).toBe("c");
      expect(gw.accessLog.at(-1)).toContain(`"${c.endpoint}"`);
    } finally {
      await gw.close();
    }
  });

  it("falls back to the cluster's endpoints, round robin, without the header", async () => {
    const gw = await gateway(dst());
    try {
      const seen: string[] = [];
      for (let i = 0; i < 4; i++) seen.push(echoed(await request(gw.listenerAddress.port, "/")).upstream);
      expect(seen).toEqual(["a", "c", "a", "c"]);
    } finally {
      await gw.close();
    }
  });

  it("answers 503 no healthy upstream for a header that names no valid address", async () => {
    const gw = await gateway(dst());
    try {
      const r = await request(gw.listenerAddress.port, "/", { headers: { "x-gateway-destination-endpoint": "not-an-ip:80" } });
      expect(r.status).toBe(503);
      expect(r.text).toBe("no healthy upstream");
      const metrics = await (await fetch(`http://127.0.0.1:${gw.adminAddress.port}/metrics`)).text();
      expect(metrics).toMatch(/envoy_cluster_original_dst_host_invalid\{envoy_cluster_name="pool"\} 1/);
    } finally {
      await gw.close();
    }
  });

  it("parses ip:port and [v6]:port and nothing else", () => {
    expect(firstAddress("10.0.0.1:8000")).toEqual({ address: "10.0.0.1", port: 8000 });
    expect(firstAddress("[::1]:9000, 10.0.0.1:1")).toEqual({ address: "::1", port: 9000 });
    expect(firstAddress("::1:9000")).toBeUndefined();
    expect(firstAddress("10.0.0.1")).toBeUndefined();
    expect(firstAddress("10.0.0.1:0")).toBeUndefined();
    expect(firstAddress("10.0.0.1:65536")).toBeUndefined();
    expect(firstAddress("host.local:80")).toBeUndefined();
  });
});

describe("bodiless responses and shutdown", () => {
  it("passes HEAD, 204 and 304 responses through without a body, keeping HEAD's content-length", async () => {
    const up = await startUpstream((req, res) => {
      if (req.url === "/204") return void res.writeHead(204).end();
      if (req.url === "/304") return void res.writeHead(304, { etag: '"v1"' }).end();
      res.writeHead(200, { "content-length": "1234", "content-type": "text/plain" });
      res.end(req.method === "HEAD" ? undefined : "x".repeat(1234));
    });
    const gw = await gateway(config([route("r", "up")], [cluster("up", [up])]));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const head = await request(gw.listenerAddress.port, "/", { method: "HEAD", agent });
      expect(head.status).toBe(200);
      expect(head.headers["content-length"]).toBe("1234");
      expect(head.body.length).toBe(0);
      const noContent = await request(gw.listenerAddress.port, "/204", { agent });
      expect(noContent.status).toBe(204);
      const notModified = await request(gw.listenerAddress.port, "/304", { agent });
      expect(notModified.status).toBe(304);
      expect(notModified.headers.etag).toBe('"v1"');
      // The same keep-alive connection still carries a full response afterwards.
      const full = await request(gw.listenerAddress.port, "/", { agent });
      expect(full.body.length).toBe(1234);
      expect(up.connections).toBe(1);
    } finally {
      agent.destroy();
      await gw.close();
      await up.close();
    }
  });

  it("close() resets streams still running, and their filter streams complete", async () => {
    const stall = await startUpstream(() => {});
    const filter = testFilter(() => ({}));
    const gw = await gateway(config([route("r", "stall")], [cluster("stall", [stall])]), { filter });
    try {
      const pending = request(gw.listenerAddress.port, "/").then(
        () => "answered",
        () => "reset",
      );
      await until(() => stall.requests.length === 1, 5000, "the stalled request");
      await gw.close();
      expect(await pending).toBe("reset");
      expect([...filter.rec.completes.values()]).toEqual([1]);
    } finally {
      await stall.close();
    }
  });
});

describe("connect-failure retry (route retry_policy)", () => {
  const RETRY = { retryOn: "connect-failure", numRetries: 1, hostSelectionRetryMaxAttempts: 5 } as const;
  const HEADER = "x-gateway-destination-endpoint";
  const pool = (dead: number, retry: boolean) =>
    config(
      [route("pool", "pool", { prefix: "/" }, retry ? { retryPolicy: RETRY } : {})],
      [cluster("pool", [{ address: "127.0.0.1", port: dead }, a, c], { type: "ORIGINAL_DST", originalDstHeader: HEADER })],
    );
  const metric = async (gw: { adminAddress: { port: number } }, name: string) =>
    (await (await fetch(`http://127.0.0.1:${gw.adminAddress.port}/metrics`)).text()).match(
      new RegExp(`envoy_cluster_${name}\\{envoy_cluster_name="pool"\\} (\\d+)`),
    )?.[1];

  it("a refused connection to the endpoint the header names is retried once on another endpoint of the cluster, with the whole body", async () => {
    const dead = await closedPort();
    const gw = await gateway(pool(dead, true));
    try {
      const body = JSON.stringify({ model: "m", prompt: "y".repeat(5000) });
      for (let i = 0; i < 4; i++) {
        const r = await request(gw.listenerAddress.port, "/v1/completions", {
          method: "POST",
          body,
          headers: { [HEADER]: `127.0.0.1:${dead}`, "content-type": "application/json" },
        });
        const e = echoed(r);
        expect(["a", "c"]).toContain(e.upstream);
        expect(e.bodyLength).toBe(body.length);
      }
      expect(await metric(gw, "upstream_rq_retry")).toBe("4");
      expect(await metric(gw, "upstream_cx_connect_fail")).toBe("4");
    } finally {
      await gw.close();
    }
  });

  it("without the route's retry policy the refused connection is a 503 (UF)", async () => {
    const dead = await closedPort();
    const gw = await gateway(pool(dead, false));
    try {
      const r = await request(gw.listenerAddress.port, "/", { headers: { [HEADER]: `127.0.0.1:${dead}` } });
      expect(r.status).toBe(503);
      expect(gw.accessLog.at(-1)).toMatch(/ 503 UF /);
    } finally {
      await gw.close();
    }
  });

  it("retries once only, and never on the host that failed (previous hosts)", async () => {
    const [d1, d2] = [await closedPort(), await closedPort()];
    const gw = await gateway(
      config(
        [route("pool", "pool", { prefix: "/" }, { retryPolicy: RETRY })],
        [
          cluster(
            "pool",
            [
              { address: "127.0.0.1", port: d1 },
              { address: "127.0.0.1", port: d2 },
            ],
            { type: "ORIGINAL_DST", originalDstHeader: HEADER },
          ),
        ],
      ),
    );
    try {
      const r = await request(gw.listenerAddress.port, "/", { headers: { [HEADER]: `127.0.0.1:${d1}` } });
      expect(r.status).toBe(503);
      expect(r.text).toContain("connection failure");
      expect(gw.accessLog.at(-1)).toContain(`"127.0.0.1:${d2}"`); // the retry went to the other endpoint
      expect(await metric(gw, "upstream_rq_retry")).toBe("1");
      expect(await metric(gw, "upstream_cx_connect_fail")).toBe("2");
    } finally {
      await gw.close();
    }
  });
});

describe("upstream failures", () => {
  it("answers 503 with Envoy's body when the connection is refused", async () => {
    const port = await closedPort();
    const gw = await gateway(config([route("r", "down")], [cluster("down", [{ address: "127.0.0.1", port }])]));
    try {
      const r = await request(gw.listenerAddress.port, "/", { method: "POST", body: "x".repeat(1000) });
      expect(r.status).toBe(503);
      expect(r.text).toBe("upstream connect error or disconnect/reset before headers. reset reason: connection failure");
      expect(gw.accessLog.at(-1)).toMatch(/ 503 UF .*upstream_reset_before_response_started\{connection_failure\} r$/);
      const metrics = await (await fetch(`http://127.0.0.1:${gw.adminAddress.port}/metrics`)).text();
      expect(metrics).toMatch(/envoy_cluster_upstream_cx_connect_fail\{envoy_cluster_name="down"\} 1/);
      expect(metrics).toMatch(/envoy_cluster_upstream_rq\{envoy_response_code="503",envoy_cluster_name="down"\} 1/);
    } finally {
      await gw.close();
    }
  });

  it("answers 503 no healthy upstream when no endpoint is ready", async () => {
    const gw = await gateway(config([route("r", "none")], [cluster("none", [{ address: a.address, port: a.port, ready: false }])]));
    try {
      const r = await request(gw.listenerAddress.port, "/");
      expect(r.status).toBe(503);
      expect(r.text).toBe("no healthy upstream");
      expect(r.headers["content-type"]).toBe("text/plain");
      expect(gw.accessLog.at(-1)).toMatch(/ 503 UH .* no_healthy_upstream r$/);
    } finally {
      await gw.close();
    }
  });

  it("answers 503 connection termination when the upstream closes before headers", async () => {
    const rude = await startUpstream((req) => req.socket.destroy());
    const gw = await gateway(config([route("r", "rude")], [cluster("rude", [rude])]));
    try {
      const r = await request(gw.listenerAddress.port, "/");
      expect(r.status).toBe(503);
      expect(r.text).toBe("upstream connect error or disconnect/reset before headers. reset reason: connection termination");
      expect(gw.accessLog.at(-1)).toMatch(/ 503 UC .*upstream_reset_before_response_started\{connection_termination\}/);
    } finally {
      await gw.close();
      await rude.close();
    }
  });

  it("answers 504 upstream request timeout when the route timeout passes before headers", async () => {
    const stall = await startUpstream(() => {});
    const gw = await gateway(config([route("r", "stall", { prefix: "/" }, { timeoutMs: 300 })], [cluster("stall", [stall])]));
    try {
      const t0 = Date.now();
      const r = await request(gw.listenerAddress.port, "/");
      expect(r.status).toBe(504);
      expect(r.text).toBe("upstream request timeout");
      expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
      expect(gw.accessLog.at(-1)).toMatch(/ 504 UT .* upstream_response_timeout r$/);
      // The stalled upstream request was abandoned (its connection closed).
      await until(() => stall.requests[0]?.socket.destroyed === true, 2000, "upstream connection closed");
    } finally {
      await gw.close();
      await stall.close();
    }
  });

  it("answers 504 when the per-try idle timeout passes before headers, and counts it", async () => {
    const stall = await startUpstream(() => {});
    const gw = await gateway(config([route("r", "stall", { prefix: "/" }, { perTryIdleTimeoutMs: 200 })], [cluster("stall", [stall])]));
    try {
      const t0 = Date.now();
      const r = await request(gw.listenerAddress.port, "/");
      expect(r.status).toBe(504);
      expect(r.text).toBe("upstream request timeout");
      expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
      expect(gw.accessLog.at(-1)).toMatch(/ 504 UT .* upstream_per_try_idle_timeout r$/);
      await until(() => stall.requests[0]?.socket.destroyed === true, 2000, "upstream connection closed");
      const metrics = await (await fetch(`http://127.0.0.1:${gw.adminAddress.port}/metrics`)).text();
      expect(metrics).toMatch(/envoy_cluster_upstream_rq_per_try_idle_timeout\{envoy_cluster_name="stall"\} 1/);
    } finally {
      await gw.close();
      await stall.close();
    }
  });

  it("keeps a stream whose gaps stay under the per-try idle timeout, and resets one that goes quiet", async () => {
    // Five chunks 100 ms apart (500 ms in all) under a 250 ms idle timeout: each chunk re-arms it.
    const steady = await startUpstream((req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      let n = 0;
      const t = setInterval(() => {
        res.write(`chunk${n}\n`);
        if (++n === 5) {
          clearInterval(t);
          if (req.url === "/quiet") return; // then nothing more: the idle timeout cuts the stream
          res.end();
        }
      }, 100);
      res.on("close", () => clearInterval(t));
    });
    const gw = await gateway(config([route("r", "steady", { prefix: "/" }, { perTryIdleTimeoutMs: 250 })], [cluster("steady", [steady])]));
    try {
      const ok = await request(gw.listenerAddress.port, "/");
      expect(ok.status).toBe(200);
      expect(ok.text).toBe("chunk0\nchunk1\nchunk2\nchunk3\nchunk4\n");
      let got = "";
      const outcome = await new Promise<string>((resolve) => {
        const req = http.get({ host: "127.0.0.1", port: gw.listenerAddress.port, path: "/quiet", agent: false }, (res) => {
          res.on("data", (d) => (got += d));
          res.on("close", () => resolve(res.complete ? "complete" : "aborted"));
          res.on("error", () => {});
        });
        req.on("error", () => resolve("error"));
      });
      expect(outcome).toBe("aborted");
      expect(got).toBe("chunk0\nchunk1\nchunk2\nchunk3\nchunk4\n");
      await until(() => gw.accessLog.length === 2);
      expect(gw.accessLog[1]).toMatch(/ 200 UT .*upstream_per_try_idle_timeout r$/);
    } finally {
      await gw.close();
      await steady.close();
    }
  });

  it("resets the client stream when the upstream resets after the response started", async () => {
    const breaks = await startUpstream((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("partial");
      setTimeout(() => res.socket?.destroy(), 50);
    });
    const gw = await gateway(config([route("r", "breaks")], [cluster("breaks", [breaks])]));
    try {
      let got = "";
      const outcome = await new Promise<string>((resolve) => {
        const req = http.get({ host: "127.0.0.1", port: gw.listenerAddress.port, path: "/", agent: false }, (res) => {
          res.on("data", (d) => (got += d));
          res.on("end", () => resolve("ended"));
          res.on("close", () => resolve(res.complete ? "complete" : "aborted"));
          res.on("error", () => {});
        });
        req.on("error", () => resolve("error"));
      });
      expect(outcome).toBe("aborted");
      expect(got).toBe("partial");
      await until(() => gw.accessLog.length === 1);
      expect(gw.accessLog[0]).toMatch(/ 200 UC .*upstream_reset_after_response_started\{connection_termination\}/);
    } finally {
      await gw.close();
      await breaks.close();
    }
  });

  it("fails a connection that does not connect within the cluster's connect timeout", async () => {
    const stalled = await stalledPort();
    const gw = await gateway(config([route("r", "slow")], [cluster("slow", [{ address: "127.0.0.1", port: stalled.port }], { connectTimeoutMs: 300 })]));
    try {
      const t0 = Date.now();
      const r = await request(gw.listenerAddress.port, "/");
      expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
      expect(r.status).toBe(503);
      expect(r.text).toBe("upstream connect error or disconnect/reset before headers. reset reason: connection timeout");
      expect(gw.accessLog.at(-1)).toMatch(/ 503 UF .*upstream_reset_before_response_started\{connection_timeout\}/);
      const metrics = await (await fetch(`http://127.0.0.1:${gw.adminAddress.port}/metrics`)).text();
      expect(metrics).toMatch(/envoy_cluster_upstream_cx_connect_timeout\{envoy_cluster_name="slow"\} 1/);
    } finally {
      await gw.close();
      await stalled.release();
    }
  });
});
