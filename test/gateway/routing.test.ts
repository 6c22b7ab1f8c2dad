// Route table semantics as Envoy evaluates them: virtual hosts, path and header matchers, weighted
// clusters, direct responses, no route, unknown clusters, and the route cache.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DataPlaneConfig } from "../../src-host/dataplane-api/bootstrap.js";
import { startGateway } from "../../src-host/gateway/gateway.js";
import { cluster, config, echoed, echoUpstream, gateway, request, route, setHeader, testFilter, type Upstream } from "./helpers.js";

let a: Upstream, b: Upstream, c: Upstream;

beforeAll(async () => {
  [a, b, c] = await Promise.all([echoUpstream("a"), echoUpstream("b"), echoUpstream("c")]);
});
afterAll(async () => {
  await Promise.all([a.close(), b.close(), c.close()]);
});

const clusters = () => [cluster("a", [a]), cluster("b", [b]), cluster("c", [c])];

describe("matchers", () => {
  let gw: Awaited<ReturnType<typeof gateway>>;
  beforeAll(async () => {
    gw = await gateway(
      config(
        [
          route("exact", "a", { prefix: "/", headers: [{ name: "x-model", exact: "llama" }] }),
          route("regex", "b", { prefix: "/", headers: [{ name: "x-model", regex: "mis.*-[0-9]+" }] }),
          route("present", "c", { prefix: "/", headers: [{ name: "x-debug", present: true }] }),
          route("invert", "a", { prefix: "/inv", headers: [{ name: "x-tier", exact: "free", invert: true }] }),
          route("utf8-exact", "b", { prefix: "/utf8", headers: [{ name: "x-model", exact: "ü-模型" }] }),
          route("utf8-regex", "c", { prefix: "/utf8", headers: [{ name: "x-model", regex: "ü-.型-[0-9]" }] }),
          route("exact-path", "b", { path: "/v1/models" }),
          route("prefix", "c", { prefix: "/v1/" }),
        ],
        clusters(),
      ),
    );
  });
  afterAll(() => gw.close());

  const via = async (path: string, headers: Record<string, string> = {}) => {
    const r = await request(gw.listenerAddress.port, path, { headers });
    return r.status === 200 ? echoed(r).upstream : `status ${r.status}`;
  };

  it("matches headers exactly, by full-match regex, by presence and inverted", async () => {
    expect(await via("/x", { "x-model": "llama" })).toBe("a");
    expect(await via("/x", { "x-model": "llamas" })).toBe("status 404");
    expect(await via("/x", { "x-model": "mistral-7" })).toBe("b");
    // Full match: a regex that only matches a substring does not route.
    expect(await via("/x", { "x-model": "xmistral-7" })).toBe("status 404");
    expect(await via("/x", { "x-debug": "" })).toBe("c");
    expect(await via("/inv", { "x-tier": "paid" })).toBe("a");
    expect(await via("/inv", { "x-tier": "free" })).toBe("status 404");
    // Envoy: an inverted value matcher does not match an absent header.
    expect(await via("/inv")).toBe("status 404");
  });

  it("matches header values as bytes: UTF-8 configuration against UTF-8 header bytes, regex over UTF-8", async () => {
    const bytes = (text: string) => Buffer.from(text, "utf8").toString("latin1"); // what a client puts on the wire
    expect(await via("/utf8", { "x-model": bytes("ü-模型") })).toBe("b");
    expect(await via("/utf8", { "x-model": bytes("ü-模型-7") })).toBe("c");
    expect(await via("/utf8", { "x-model": `\u00fc-${bytes("模型")}` })).toBe("status 404"); // "ü" as one latin1 byte
  });

  it("matches exact paths without the query and path prefixes in order", async () => {
    expect(await via("/v1/models?limit=3")).toBe("b");
    expect(await via("/v1/models/x")).toBe("c");
    expect(await via("/v1/chat/completions")).toBe("c");
    expect(await via("/v2/x")).toBe("status 404");
  });

  it("sends route_not_found as 404 with an empty body", async () => {
    const r = await request(gw.listenerAddress.port, "/nothing");
    expect(r.status).toBe(404);
    expect(r.body.length).toBe(0);
    expect(gw.accessLog.at(-1)).toMatch(/ 404 NR .* route_not_found -$/);
  });

  it("forwards the path, query and method unchanged and adds x-request-id and x-forwarded-*", async () => {
    const r = echoed(await request(gw.listenerAddress.port, "/v1/chat?x=1&y=%20", { method: "POST", body: "hi" }));
    expect(r.url).toBe("/v1/chat?x=1&y=%20");
    expect(r.method).toBe("POST");
    expect(r.body).toBe("hi");
    expect(r.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.headers["x-forwarded-for"]).toBe("127.0.0.1");
    expect(r.headers["x-forwarded-proto"]).toBe("http");
    expect(Object.keys(r.headers).filter((h) => h.startsWith("x-envoy"))).toEqual([]);
    const kept = echoed(await request(gw.listenerAddress.port, "/v1/x", { headers: { "x-request-id": "client-id-1" } }));
    expect(kept.headers["x-request-id"]).toBe("client-id-1");
  });
});

describe("virtual hosts", () => {
  it("picks the virtual host by :authority: exact, suffix wildcard, prefix wildcard, then *", async () => {
    const cfg = config([], clusters());
    cfg.routes.virtualHosts = [
      { name: "exact", domains: ["api.example.com"], routes: [route("r-exact", "a")] },
      { name: "suffix", domains: ["*.example.com"], routes: [route("r-suffix", "b")] },
      { name: "prefix", domains: ["models.*"], routes: [route("r-prefix", "c")] },
      {
        name: "default",
        domains: ["*"],
        routes: [{ name: "r-default", match: { prefix: "/" }, action: { directResponse: { status: 200, body: "default" } } }],
      },
    ];
    const gw = await gateway(cfg);
    try {
      const via = async (host: string) => {
        const r = await request(gw.listenerAddress.port, "/", { headers: { host } });
        return r.headers["content-type"] === "application/json" ? echoed(r).upstream : r.text;
      };
      expect(await via("api.example.com")).toBe("a");
      expect(await via("API.example.com:8080")).toBe("a"); // case and port ignored
      expect(await via("x.example.com")).toBe("b");
      expect(await via("models.internal")).toBe("c");
      expect(await via("other")).toBe("default");
    } finally {
      await gw.close();
    }
  });

  it("refuses a domain used by two virtual hosts", async () => {
    const cfg = config([], clusters());
    cfg.routes.virtualHosts = [
      { name: "one", domains: ["*"], routes: [] },
      { name: "two", domains: ["*"], routes: [] },
    ];
    await expect(startGateway(cfg)).rejects.toThrow(/domains: "\*" is already used/);
  });
});

describe("actions", () => {
  it("splits weighted clusters by weight with the stream's random value", async () => {
    const gw = await gateway(
      config(
        [
          {
            name: "split",
            match: { prefix: "/" },
            action: {
              weightedClusters: [
                { name: "a", weight: 80 },
                { name: "b", weight: 20 },
                { name: "c", weight: 0 },
              ],
            },
          },
        ],
        clusters(),
      ),
    );
    try {
      const agent = new (await import("node:http")).Agent({ keepAlive: true, maxSockets: 8 });
      const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
      const n = 400;
      await Promise.all(
        Array.from({ length: n }, async () => {
          counts[echoed(await request(gw.listenerAddress.port, "/", { agent })).upstream]++;
        }),
      );
      agent.destroy();
      expect(counts.c).toBe(0);
      expect(counts.a + counts.b).toBe(n);
      // 80/20 split: with 400 samples the share of "a" is within 0.70..0.90 far beyond 4 sigma.
      expect(counts.a / n).toBeGreaterThan(0.7);
      expect(counts.a / n).toBeLessThan(0.9);
    } finally {
      await gw.close();
    }
  });

  it("answers a direct response with status, body and content type", async () => {
    const gw = await gateway(
      config(
        [{ name: "direct", match: { prefix: "/" }, action: { directResponse: { status: 418, body: '{"tea":true}', contentType: "application/json" } } }],
        [],
      ),
    );
    try {
      const r = await request(gw.listenerAddress.port, "/pot");
      expect(r.status).toBe(418);
      expect(r.text).toBe('{"tea":true}');
      expect(r.headers["content-type"]).toBe("application/json");
      expect(r.headers["content-length"]).toBe("12");
      expect(gw.accessLog.at(-1)).toContain(" direct_response direct");
    } finally {
      await gw.close();
    }
  });

  it("answers 503 cluster_not_found for a route to an unknown cluster, and warns at start", async () => {
    const gw = await gateway(config([route("ghost", "missing")], []));
    try {
      expect(gw.logs.join("\n")).toMatch(/cluster "missing", which is not defined/);
      const r = await request(gw.listenerAddress.port, "/");
      expect(r.status).toBe(503);
      expect(gw.accessLog.at(-1)).toMatch(/ 503 NC .* cluster_not_found ghost$/);
    } finally {
      await gw.close();
    }
  });

  it("refuses bad configuration with the field named", async () => {
    const bad = (mut: (c: DataPlaneConfig) => void) => {
      const cfg = config([route("r", "a")], clusters());
      mut(cfg);
      return startGateway(cfg);
    };
    await expect(bad((c) => (c.routes.virtualHosts[0].routes[0].match = { headers: [] }))).rejects.toThrow(
      /routes\.virtualHosts\[0\]\.routes\[0\]\.match: exactly one of prefix, path, pathSeparatedPrefix and safeRegex/,
    );
    await expect(bad((c) => (c.routes.virtualHosts[0].routes[0].match.headers = [{ name: "x", regex: "(" }]))).rejects.toThrow(
      /match\.headers\[0\]\.regex "\(" is not a valid regular expression/,
    );
    await expect(bad((c) => (c.clusters[0].endpoints[0].port = 0))).rejects.toThrow(/clusters\[0\] \("a"\)\.endpoints\[0\]\.port/);
    await expect(bad((c) => (c.clusters[1].name = "a"))).rejects.toThrow(/"a" is defined twice/);
    await expect(
      bad((c) => c.clusters.push({ ...c.clusters[0], name: "h2", http2: true }) && (c.routes.virtualHosts[0].routes[0].action = { cluster: "h2" })),
    ).rejects.toThrow(/HTTP\/2 cluster/);
    await expect(bad((c) => (c.accessLog = { path: "-", format: "%NOPE%" }))).rejects.toThrow(/unsupported access log operator %NOPE%/);
  });

  it("accepts HTTP/2 clusters that no route uses (gRPC callouts)", async () => {
    const gw = await gateway(config([route("r", "a")], [...clusters(), { ...cluster("epp", [a]), http2: true }]));
    try {
      expect(echoed(await request(gw.listenerAddress.port, "/")).upstream).toBe("a");
    } finally {
      await gw.close();
    }
  });
});

describe("route cache", () => {
  const routes = () => [route("to-b", "b", { prefix: "/", headers: [{ name: "x-backend", exact: "b" }] }), route("to-a", "a", { prefix: "/" })];

  it("routes by the original headers when a filter changes a header without clearing the cache", async () => {
    const filter = testFilter((sink) => ({
      requestHeaders: (h, eos) => sink.forwardRequestHeaders(setHeader(h, "x-backend", "b"), eos),
    }));
    const gw = await gateway(config(routes(), clusters()), { filter });
    try {
      const r = echoed(await request(gw.listenerAddress.port, "/"));
      expect(r.upstream).toBe("a");
      expect(r.headers["x-backend"]).toBe("b"); // the header still changed
    } finally {
      await gw.close();
    }
  });

  it("routes by the changed headers after clearRouteCache, also when the body was held first", async () => {
    const resolved: Array<string | undefined> = [];
    const filter = testFilter((sink) => {
      let held: [string, string][] = [];
      const body: Uint8Array[] = [];
      return {
        requestHeaders: (h, eos) => {
          resolved.push(sink.resolveRoute(h)?.name);
          held = h;
          if (eos) sink.forwardRequestHeaders(h, eos);
        },
        requestData: (d, eos) => {
          body.push(d);
          if (!eos) return;
          const changed = setHeader(held, "x-backend", "b");
          sink.clearRouteCache();
          resolved.push(sink.resolveRoute(changed)?.name);
          sink.forwardRequestHeaders(changed, false);
          sink.forwardRequestData(Buffer.concat(body), true);
        },
      };
    });
    const gw = await gateway(config(routes(), clusters()), { filter });
    try {
      const r = echoed(await request(gw.listenerAddress.port, "/", { body: "{}" }));
      expect(r.upstream).toBe("b");
      expect(resolved).toEqual(["to-a", "to-b"]);
      expect(gw.accessLog.at(-1)).toMatch(/ to-b$/);
    } finally {
      await gw.close();
    }
  });

  it("evaluates the table on the forwarded headers when the cache was cleared and nobody resolved", async () => {
    const filter = testFilter((sink) => ({
      requestHeaders: (h, eos) => {
        sink.clearRouteCache();
        sink.forwardRequestHeaders(setHeader(h, "x-backend", "b"), eos);
      },
    }));
    const gw = await gateway(config(routes(), clusters()), { filter });
    try {
      expect(echoed(await request(gw.listenerAddress.port, "/")).upstream).toBe("b");
    } finally {
      await gw.close();
    }
  });

  it("skips the filter on routes that disable it", async () => {
    const filter = testFilter((sink) => ({
      requestHeaders: (h, eos) => sink.forwardRequestHeaders(setHeader(h, "x-filtered", "yes"), eos),
    }));
    const gw = await gateway(config([route("plain", "a", { prefix: "/plain" }, { filterEnabled: false }), route("filtered", "a")], clusters()), { filter });
    try {
      expect(echoed(await request(gw.listenerAddress.port, "/plain")).headers["x-filtered"]).toBeUndefined();
      expect(echoed(await request(gw.listenerAddress.port, "/other")).headers["x-filtered"]).toBe("yes");
      expect(filter.rec.streams).toBe(1);
    } finally {
      await gw.close();
    }
  });
});
