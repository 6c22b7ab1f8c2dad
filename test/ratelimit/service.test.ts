// The rate limit service against a real grpc-js client speaking envoy.service.ratelimit.v3: windows aligned
// to the clock, checks that do not charge, over limit, remaining, reset, buckets per header value, per-rule
// limits, envoyproxy/ratelimit's defaults and errors.
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { RateLimitConfig } from "../../src-host/config/plugin-config.js";
import type { PlannedPod } from "../../src-host/config/build/workloads.js";
import { descriptorEntries } from "../../src-host/ratelimit/descriptors.js";
import { startRateLimitPod } from "../../src-host/ratelimit/pod.js";
import { Code, Unit, rateLimitClientConstructor, type RateLimitRequest, type RateLimitResponse } from "../../src-host/ratelimit/proto.js";
import { startRateLimitService, type RunningRateLimitService } from "../../src-host/ratelimit/service.js";
import { GATEWAY, ipBackend, loadFiles, route } from "../config/helpers.js";

const HOUR = 3600;
/** 59:58 into an hour (UTC), in milliseconds. */
const T0 = (472_222 * HOUR + HOUR - 2) * 1000;

function rule(name: string, limit: number, unitSeconds: number, headers: RateLimitConfig["headers"] = []): RateLimitConfig {
  return {
    name,
    type: "Global",
    routes: [],
    shared: true,
    headers,
    limit,
    unitSeconds,
    requestCost: { from: "Number", number: 0, metadataKey: "" },
    responseCost: { from: "Metadata", number: 0, metadataKey: "llm_total_token" },
    rlsCluster: "ratelimit",
    domain: "ai-gateway",
    failureModeDeny: false,
    timeoutMs: 1000,
  };
}

const PER_USER = rule("default/p/rule/0", 100, HOUR, [{ name: "x-user-id", type: "Distinct", value: "" }]);
const PER_USER_MODEL = rule("default/p/rule/1", 1000, 60, [
  { name: "x-user-id", type: "Distinct", value: "" },
  { name: "x-ai-eg-model", type: "Exact", value: "llama" },
]);
const EVERYONE = rule("default/p/rule/2", 5, 1);
/** Unshared: one counter per xDS route, as Envoy Gateway keeps it. */
const PER_ROUTE = { ...rule("default/p/rule/3", 10, HOUR, [{ name: "x-user-id", type: "Distinct", value: "" }]), shared: false };
const LLAMA_ROUTE = "httproute/default/r/rule/0/match/0/*";
const MISTRAL_ROUTE = "httproute/default/r/rule/1/match/0/*";
const LOCAL: RateLimitConfig = { ...rule("default/q/rule/0", 1, 1), type: "Local", rlsCluster: "", domain: "" };

let clock = T0;
let svc: RunningRateLimitService;
let client: grpc.Client & Record<string, (...args: any[]) => any>;

function call(req: RateLimitRequest, c = client): Promise<RateLimitResponse> {
  return new Promise((resolve, reject) => {
    c.ShouldRateLimit(req, { deadline: Date.now() + 5000 }, (err: grpc.ServiceError | null, res: RateLimitResponse) => (err ? reject(err) : resolve(res)));
  });
}

/**
 * The descriptor the filter sends for `r` on a request of xDS route `xdsRoute` with these request headers,
 * charging `hits` (undefined: unset).
 */
function descriptor(r: RateLimitConfig, headers: Record<string, string>, hits?: number, xdsRoute = LLAMA_ROUTE) {
  const entries = descriptorEntries(r, xdsRoute, (n) => headers[n]);
  if (!entries) throw new Error(`rule ${r.name} does not apply`);
  return hits === undefined ? { entries } : { entries, hits_addend: { value: hits } };
}

const ask = (descriptors: RateLimitRequest["descriptors"], hits_addend?: number) => call({ domain: "ai-gateway", descriptors, hits_addend });

beforeAll(async () => {
  svc = await startRateLimitService({ host: "127.0.0.1", port: 0, rules: [PER_USER, PER_USER_MODEL, EVERYONE, PER_ROUTE, LOCAL], now: () => clock });
  const Client = rateLimitClientConstructor();
  client = new Client(`127.0.0.1:${svc.address.port}`, grpc.credentials.createInsecure()) as typeof client;
});

afterAll(async () => {
  client.close();
  await svc.close();
});

describe("rate limit service", () => {
  test("a check (hits_addend 0) does not charge; charges count down; over the limit answers OVER_LIMIT", async () => {
    const alice = { "x-user-id": "alice" };
    const check = await ask([descriptor(PER_USER, alice, 0)]);
    expect(check).toEqual({
      overall_code: Code.OK,
      statuses: [
        {
          code: Code.OK,
          current_limit: { requests_per_unit: 100, unit: Unit.HOUR, name: PER_USER.name },
          limit_remaining: 100,
          duration_until_reset: { seconds: 2 },
        },
      ],
    });
    expect((await ask([descriptor(PER_USER, alice, 0)])).statuses[0]!.limit_remaining).toBe(100);
    expect((await ask([descriptor(PER_USER, alice, 60)])).statuses[0]!.limit_remaining).toBe(40);
    expect((await ask([descriptor(PER_USER, alice, 40)])).statuses[0]).toMatchObject({ code: Code.OK, limit_remaining: 0 });
    // Exactly at the limit a check still passes (envoyproxy/ratelimit compares counter > limit)...
    expect((await ask([descriptor(PER_USER, alice, 0)])).overall_code).toBe(Code.OK);
    // ...and the next charge goes over, and is still counted, so the check after it fails too.
    const over = await ask([descriptor(PER_USER, alice, 1)]);
    expect(over.overall_code).toBe(Code.OVER_LIMIT);
    expect(over.statuses[0]).toMatchObject({ code: Code.OVER_LIMIT, limit_remaining: 0, duration_until_reset: { seconds: 2 } });
    expect((await ask([descriptor(PER_USER, alice, 0)])).overall_code).toBe(Code.OVER_LIMIT);
  });

  test("every x-user-id value has its own bucket", async () => {
    await ask([descriptor(PER_USER, { "x-user-id": "bob" }, 100)]);
    expect((await ask([descriptor(PER_USER, { "x-user-id": "bob" }, 0)])).statuses[0]!.limit_remaining).toBe(0);
    expect((await ask([descriptor(PER_USER, { "x-user-id": "carol" }, 0)])).statuses[0]!.limit_remaining).toBe(100);
    expect((await ask([descriptor(PER_USER, { "x-user-id": "carol" }, 1)])).statuses[0]!.limit_remaining).toBe(99);
  });

  test("each descriptor has its rule's limit and unit; OVER_LIMIT when any is over", async () => {
    const dave = { "x-user-id": "dave", "x-ai-eg-model": "llama" };
    const res = await ask([descriptor(PER_USER, dave, 30), descriptor(PER_USER_MODEL, dave, 30), descriptor(EVERYONE, {}, 6)]);
    expect(res.overall_code).toBe(Code.OVER_LIMIT);
    expect(res.statuses).toEqual([
      {
        code: Code.OK,
        current_limit: { requests_per_unit: 100, unit: Unit.HOUR, name: PER_USER.name },
        limit_remaining: 70,
        duration_until_reset: { seconds: 2 },
      },
      {
        code: Code.OK,
        current_limit: { requests_per_unit: 1000, unit: Unit.MINUTE, name: PER_USER_MODEL.name },
        limit_remaining: 970,
        duration_until_reset: { seconds: 2 },
      },
      {
        code: Code.OVER_LIMIT,
        current_limit: { requests_per_unit: 5, unit: Unit.SECOND, name: EVERYONE.name },
        limit_remaining: 0,
        duration_until_reset: { seconds: 1 },
      },
    ]);
    // The Exact header is part of the rule: another model is not this rule's descriptor.
    expect(descriptorEntries(PER_USER_MODEL, LLAMA_ROUTE, (n) => ({ "x-user-id": "dave", "x-ai-eg-model": "mistral" })[n])).toBeUndefined();
    expect(descriptorEntries(PER_USER, LLAMA_ROUTE, () => "")).toBeUndefined();
  });

  test("an unshared rule counts per xDS route (the route entry); a shared one across routes", async () => {
    const ivy = { "x-user-id": "ivy" };
    expect(descriptorEntries(PER_ROUTE, MISTRAL_ROUTE, (n) => ivy[n as "x-user-id"])).toEqual([
      { key: "rule", value: PER_ROUTE.name },
      { key: "route", value: MISTRAL_ROUTE },
      { key: "x-user-id", value: "ivy" },
    ]);
    expect((await ask([descriptor(PER_ROUTE, ivy, 10, LLAMA_ROUTE)])).statuses[0]).toMatchObject({ code: Code.OK, limit_remaining: 0 });
    expect((await ask([descriptor(PER_ROUTE, ivy, 1, LLAMA_ROUTE)])).overall_code).toBe(Code.OVER_LIMIT);
    expect((await ask([descriptor(PER_ROUTE, ivy, 1, MISTRAL_ROUTE)])).statuses[0]).toMatchObject({ code: Code.OK, limit_remaining: 9 });
    // Without the route entry it is no descriptor of the unshared rule.
    const none = { code: Code.OK, limit_remaining: 0 };
    const entries = [
      { key: "rule", value: PER_ROUTE.name },
      { key: "x-user-id", value: "ivy" },
    ];
    expect((await ask([{ entries, hits_addend: { value: 100 } }])).statuses).toEqual([none]);
    // A shared rule ignores the route: both routes spend one counter.
    await ask([descriptor(PER_USER, ivy, 60, LLAMA_ROUTE)]);
    expect((await ask([descriptor(PER_USER, ivy, 50, MISTRAL_ROUTE)])).overall_code).toBe(Code.OVER_LIMIT);
  });

  test("windows are aligned to the clock: the budget comes back when the hour turns", async () => {
    const erin = { "x-user-id": "erin" };
    await ask([descriptor(PER_USER, erin, 100)]);
    expect((await ask([descriptor(PER_USER, erin, 1)])).overall_code).toBe(Code.OVER_LIMIT);
    clock = T0 + 1500; // still 59:59
    expect((await ask([descriptor(PER_USER, erin, 0)])).statuses[0]).toMatchObject({ code: Code.OVER_LIMIT, duration_until_reset: { seconds: 1 } });
    clock = T0 + 2000; // 00:00 of the next hour
    expect((await ask([descriptor(PER_USER, erin, 0)])).statuses[0]).toMatchObject({
      code: Code.OK,
      limit_remaining: 100,
      duration_until_reset: { seconds: HOUR },
    });
    clock = T0;
  });

  test("without a per-descriptor hits_addend the request's counts, and 0 there means 1", async () => {
    const frank = { "x-user-id": "frank" };
    expect((await ask([descriptor(PER_USER, frank)], 0)).statuses[0]!.limit_remaining).toBe(99);
    expect((await ask([descriptor(PER_USER, frank)])).statuses[0]!.limit_remaining).toBe(98);
    expect((await ask([descriptor(PER_USER, frank)], 8)).statuses[0]!.limit_remaining).toBe(90);
    // The descriptor's own value wins over the request's.
    expect((await ask([descriptor(PER_USER, frank, 0)], 50)).statuses[0]!.limit_remaining).toBe(90);
  });

  test("descriptors of no rule, of a Local rule or of another domain have no limit; a limit override applies", async () => {
    const none = { code: Code.OK, limit_remaining: 0 };
    expect((await ask([{ entries: [{ key: "rule", value: "default/nope/rule/0" }] }])).statuses).toEqual([none]);
    expect((await ask([{ entries: [{ key: "rule", value: LOCAL.name }], hits_addend: { value: 5 } }])).statuses).toEqual([none]);
    // A descriptor with the rule but missing a header entry is not the rule's.
    expect((await ask([{ entries: [{ key: "rule", value: PER_USER.name }] }])).statuses).toEqual([none]);
    expect(await call({ domain: "other", descriptors: [descriptor(PER_USER, { "x-user-id": "gina" }, 500)] })).toEqual({
      overall_code: Code.OK,
      statuses: [none],
    });
    const override = await ask([{ ...descriptor(PER_USER, { "x-user-id": "gina" }, 3), limit: { requests_per_unit: 2, unit: Unit.DAY } }]);
    expect(override.statuses[0]).toMatchObject({ code: Code.OVER_LIMIT, current_limit: { requests_per_unit: 2, unit: Unit.DAY } });
  });

  test("an empty domain or descriptor list is an error, as envoyproxy/ratelimit answers it", async () => {
    await expect(call({ domain: "", descriptors: [descriptor(EVERYONE, {}, 0)] })).rejects.toMatchObject({
      code: grpc.status.UNKNOWN,
      details: "rate limit domain must not be empty",
    });
    await expect(call({ domain: "ai-gateway", descriptors: [] })).rejects.toMatchObject({
      code: grpc.status.UNKNOWN,
      details: "rate limit descriptor list must not be empty",
    });
    await expect(ask([{ entries: [{ key: "k", value: "v" }], limit: { requests_per_unit: 1 } }])).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
  });

  test("counters of ended windows are dropped", async () => {
    await ask([descriptor(EVERYONE, {}, 1)]);
    expect(svc.limiter.size).toBeGreaterThan(0);
    clock = T0 + 3 * HOUR * 1000;
    await ask([descriptor(EVERYONE, {}, 0)]);
    expect(svc.limiter.size).toBe(0);
    clock = T0;
  });
});

describe("rate limit pod", () => {
  test("a planned ratelimit pod serves its Global rules with envoyproxy/ratelimit's response headers when enabled", async () => {
    const pod: PlannedPod = {
      kind: "ratelimit",
      name: "envoy-ratelimit-0",
      namespace: "default",
      owner: "Deployment default/envoy-ratelimit",
      replica: 0,
      ip: "127.0.0.1",
      labels: {},
      image: "envoyproxy/ratelimit:master",
      container: "envoy-ratelimit",
      ports: [],
      command: [],
      args: [],
      env: { GRPC_PORT: "0", LIMIT_RESPONSE_HEADERS_ENABLED: "true", LIMIT_REMAINING_HEADER: "x-ratelimit-remaining" },
      files: {},
    };
    const running = await startRateLimitPod(pod, [PER_USER, LOCAL], () => T0);
    const Client = rateLimitClientConstructor();
    const c = new Client(`127.0.0.1:${running.address.port}`, grpc.credentials.createInsecure()) as typeof client;
    try {
      const res = await call({ domain: "ai-gateway", descriptors: [descriptor(PER_USER, { "x-user-id": "hal" }, 25)] }, c);
      expect(res.response_headers_to_add).toEqual([
        { key: "RateLimit-Limit", value: "100" },
        { key: "x-ratelimit-remaining", value: "75" },
        { key: "RateLimit-Reset", value: "2" },
      ]);
    } finally {
      c.close();
      await running.close();
    }
    await expect(startRateLimitPod({ ...pod, kind: "epp" }, [])).rejects.toThrow(/not a rate limit service/);
  });

  test("the pod planned from manifests enforces the BackendTrafficPolicy's limits on the descriptors of its rules", async () => {
    const { cfg } = loadFiles({
      "gw.yaml": GATEWAY,
      "b.yaml": ipBackend("b"),
      "r.yaml": route("r", [["m", "{name: b}"]]) + "  llmRequestCosts: [{metadataKey: llm_total_token, type: TotalToken}]\n",
      "p.yaml": `apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata: {name: p}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: r}]
  rateLimit:
    type: Global
    global:
      rules:
        - clientSelectors: [{headers: [{name: x-tenant-id, type: Distinct}]}]
          limit: {requests: 1000, unit: Hour}
          cost:
            request: {from: Number, number: 0}
            response: {from: Metadata, metadata: {namespace: io.envoy.ai_gateway, key: llm_total_token}}
`,
    });
    const [pod] = cfg.workloads.pods.filter((p) => p.kind === "ratelimit");
    const [rl] = cfg.plugin.rateLimits;
    // An ephemeral port on the pod's own address, so that parallel runs do not collide.
    const running = await startRateLimitPod({ ...pod!, env: { GRPC_PORT: "0" } }, cfg.plugin.rateLimits, () => T0);
    expect(running.address.address).toBe("127.10.0.1");
    const Client = rateLimitClientConstructor();
    const c = new Client(`${running.address.address}:${running.address.port}`, grpc.credentials.createInsecure()) as typeof client;
    try {
      const tenant = { "x-tenant-id": "t1" };
      const send = (hits: number) => call({ domain: rl!.domain, descriptors: [descriptor(rl!, tenant, hits)] }, c);
      expect((await send(rl!.requestCost.number)).statuses[0]).toMatchObject({ code: Code.OK, limit_remaining: 1000 });
      expect((await send(1200)).overall_code).toBe(Code.OVER_LIMIT); // the charge at stream end overshoots...
      expect((await send(rl!.requestCost.number)).overall_code).toBe(Code.OVER_LIMIT); // ...and the next request is refused
    } finally {
      c.close();
      await running.close();
    }
  });
});
