// Global token limits without a host (assembly/gateway/tokens/global-limit): the RateLimitRequest admission
// and settlement send (read back with Envoy's rls.proto), hits_addend at reservation and settlement, and the
// RateLimitResponse decoder on real answers and hostile bytes.
import { beforeEach, describe, expect, it } from "vitest";
import { Code, type RateLimitRequest, rateLimitServiceDefinition } from "../../../../src-host/ratelimit/proto.js";
import { loadLogicModule, type LogicModule } from "../logic-module.js";
import { rng } from "../json-gen.js";

const R0 = "httproute/default/r/rule/0/match/0/*";
/** 40 bytes of body (10 input tokens) and max_tokens 20: an estimate of 30 tokens. */
const BODY = 40;
const MAX_TOKENS = 20n;

const rls = rateLimitServiceDefinition().ShouldRateLimit;
const decodeRequest = (bytes: Uint8Array) => rls.requestDeserialize(Buffer.from(bytes)) as RateLimitRequest;
const encodeResponse = (message: object) => new Uint8Array(rls.responseSerialize(message));

let m: LogicModule;

function rule(name: string, limit: number, shared: boolean, headers: Array<{ name: string; type: string; value: string }>) {
  return {
    name,
    type: "Global",
    routes: [],
    shared,
    headers,
    limit,
    unitSeconds: 60,
    requestCost: { from: "Number", number: 0, metadataKey: "" },
    responseCost: { from: "Metadata", number: 0, metadataKey: "total" },
    rlsCluster: "ratelimit-cluster",
    domain: "ai-gateway",
    failureModeDeny: false,
    timeoutMs: 250,
  };
}

function configure(rateLimits: object[]): void {
  const config = JSON.stringify({ costs: [{ route: "", metadataKey: "total", type: "TotalToken", cel: "" }], rateLimits });
  const p = m.put(config);
  const ok = m.exports.configure(p, Buffer.byteLength(config));
  m.free(p);
  expect(ok, m.outText()).toBe(1);
}

/** The applicable rules' names for a request with `headers`. */
function applicable(headers: Record<string, string>, route = R0): string {
  const s = [route, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)].join("\n");
  const p = m.put(s);
  m.exports.applicable(p, Buffer.byteLength(s));
  m.free(p);
  return m.outText();
}

/** The admission check as sent, or null when the service could not be reached. */
function reserve(requested = MAX_TOKENS, reachable = true): RateLimitRequest | null {
  const sent = m.exports.reserve(BODY, requested, reachable ? 1 : 0) as number;
  const bytes = m.out();
  return sent ? decodeRequest(bytes) : null;
}

/** The settlement charge as sent, or null when nothing was charged. */
function settle(total: number): RateLimitRequest | null {
  const sent = m.exports.settle(BigInt(total)) as number;
  return sent ? decodeRequest(m.out()) : null;
}

const hits = (r: RateLimitRequest | null) => r?.descriptors?.map((d) => d.hits_addend?.value ?? 0);

function decode(bytes: Uint8Array): string {
  const p = m.put(bytes);
  m.exports.decode(p, bytes.length);
  m.free(p);
  return m.outText();
}

beforeEach(() => {
  m = loadLogicModule("logic-global-limit");
});

describe("the RateLimitRequest", () => {
  it("has one descriptor per applicable rule: rule, route unless shared, then the headers in the rule's order", () => {
    configure([
      rule("default/p/rule/0", 1000, false, [
        { name: "x-user-id", type: "Distinct", value: "" },
        { name: "x-tier", type: "Exact", value: "gold" },
      ]),
      rule("default/p/rule/1", 100, true, [{ name: "x-user-id", type: "Distinct", value: "" }]),
    ]);
    expect(applicable({ "x-user-id": "ann", "x-tier": "gold" })).toBe("default/p/rule/0,default/p/rule/1");
    const req = reserve();
    expect(req?.domain).toBe("ai-gateway");
    expect(req?.descriptors?.map((d) => d.entries)).toEqual([
      [
        { key: "rule", value: "default/p/rule/0" },
        { key: "route", value: R0 },
        { key: "x-user-id", value: "ann" },
        { key: "x-tier", value: "gold" },
      ],
      [
        { key: "rule", value: "default/p/rule/1" },
        { key: "x-user-id", value: "ann" },
      ],
    ]);
    m.exports.lastCall();
    expect(m.outText()).toBe("ratelimit-cluster 250 1");
  });

  it("leaves out a rule whose Exact header differs or whose header is missing or empty", () => {
    configure([
      rule("default/p/rule/0", 1000, false, [{ name: "x-tier", type: "Exact", value: "gold" }]),
      rule("default/p/rule/1", 1000, false, [{ name: "x-user-id", type: "Distinct", value: "" }]),
    ]);
    expect(applicable({ "x-tier": "silver", "x-user-id": "ann" })).toBe("default/p/rule/1");
    expect(applicable({ "x-tier": "gold" })).toBe("default/p/rule/0");
    expect(applicable({ "x-tier": "gold", "x-user-id": "" })).toBe("default/p/rule/0");
    expect(applicable({})).toBe("");
  });

  it("carries strings as UTF-8 and long values whole (multi-byte lengths)", () => {
    configure([rule("default/p/rule/0", 1000, false, [{ name: "x-user-id", type: "Distinct", value: "" }])]);
    const user = `élève-${"u".repeat(300)}`;
    expect(applicable({ "x-user-id": user })).toBe("default/p/rule/0");
    expect(reserve()?.descriptors?.[0].entries?.[2]).toEqual({ key: "x-user-id", value: user });
  });
});

describe("hits_addend", () => {
  beforeEach(() => {
    configure([
      rule("default/p/rule/0", 1000, false, [{ name: "x-user-id", type: "Distinct", value: "" }]),
      rule("default/p/rule/1", 20, true, [{ name: "x-user-id", type: "Distinct", value: "" }]),
    ]);
    applicable({ "x-user-id": "ann" });
  });

  it("reserves each rule's cost of the estimate, at most its limit; settles only what the real cost exceeds it by", () => {
    expect(hits(reserve())).toEqual([30, 20]);
    // 45 real tokens: 15 more than rule 0 reserved, 25 more than rule 1 did.
    expect(hits(settle(45))).toEqual([15, 25]);
    // Below both reservations: nothing to charge, nothing sent (the service cannot take hits back).
    reserve();
    expect(settle(10)).toBeNull();
    // Above one of them only: the other descriptor is still sent, with hits_addend present and 0.
    reserve();
    const charge = settle(25);
    expect(hits(charge)).toEqual([0, 5]);
    expect(charge?.descriptors?.[0].hits_addend).toBeDefined();
  });

  it("is present even when 0 at admission (a pure check)", () => {
    const req = reserve(0n);
    // No body tokens either would be 0; 40 bytes are 10 input tokens, max_tokens 0 adds none.
    expect(hits(req)).toEqual([10, 10]);
    configure([{ ...rule("default/p/rule/0", 1000, false, []), responseCost: { from: "Number", number: 0, metadataKey: "" } }]);
    applicable({});
    const zero = reserve();
    expect(zero?.descriptors?.[0].hits_addend).toEqual({});
  });

  it("charges the whole cost at the end when the check could not be sent (nothing was reserved)", () => {
    expect(reserve(MAX_TOKENS, false)).toBeNull();
    expect(hits(settle(45))).toEqual([45, 45]);
  });
});

describe("the RateLimitResponse", () => {
  beforeEach(() => {
    configure([
      rule("default/p/rule/0", 1000, false, [{ name: "x-user-id", type: "Distinct", value: "" }]),
      rule("default/p/rule/1", 100, true, [{ name: "x-user-id", type: "Distinct", value: "" }]),
    ]);
    applicable({ "x-user-id": "ann" });
    reserve();
  });

  const status = (code: number, limit: number, remaining: number, reset: number) => ({
    code,
    current_limit: { requests_per_unit: limit, unit: 2 },
    limit_remaining: remaining,
    duration_until_reset: { seconds: reset },
  });

  it("OK: the tightest descriptor's figures", () => {
    const answer = encodeResponse({ overall_code: Code.OK, statuses: [status(Code.OK, 1000, 970, 40), status(Code.OK, 100, 70, 40)] });
    expect(decode(answer)).toBe("1 0 -1 100 70 40");
  });

  it("OVER_LIMIT: the first descriptor over its limit, named in the 429 body with this request's reservation", () => {
    const answer = encodeResponse({ overall_code: Code.OVER_LIMIT, statuses: [status(Code.OK, 1000, 970, 40), status(Code.OVER_LIMIT, 100, 0, 12)] });
    const [line, body] = decode(answer).split("\n");
    expect(line).toBe("0 1 1 100 0 12");
    expect(JSON.parse(body).error.message).toBe(
      "token budget of rate limit default/p/rule/1: this request is estimated at 30 tokens and the window cannot hold them; retry in 12s",
    );
  });

  it("without statuses or codes: no figures, neither OK nor over limit (a service error)", () => {
    expect(decode(new Uint8Array(0))).toBe("0 0 -1");
    expect(decode(encodeResponse({ overall_code: Code.OK }))).toBe("1 0 -1");
  });

  it("hostile bytes: truncations, wrong wire types, runaway varints and group nesting are refused, never trapped on", () => {
    const valid = encodeResponse({ overall_code: Code.OVER_LIMIT, statuses: [status(Code.OVER_LIMIT, 100, 0, 12)] });
    for (let n = 1; n < valid.length; n++) {
      const r = decode(valid.subarray(0, n));
      // A prefix ends inside a field (refused) or between fields (decoded as far as it goes).
      expect(r === "null" || /^[01] [01] -?\d+/.test(r), `prefix ${n}: ${r}`).toBe(true);
    }
    expect(decode(Uint8Array.of(0x0a, 0x05, 0x08))).toBe("null"); // field 1 as length-delimited, truncated
    expect(decode(Uint8Array.of(0x08, ...new Array(10).fill(0xff), 0x01))).toBe("null"); // an 11-byte varint
    expect(decode(Uint8Array.of(0x12, 0xff, 0xff, 0xff, 0xff, 0x0f))).toBe("null"); // a length beyond the message
    expect(decode(Uint8Array.of(0x00))).toBe("null"); // field number 0
    expect(decode(Uint8Array.of(0x0c))).toBe("null"); // an end-group with no group open
    expect(decode(Uint8Array.from(new Array(200).fill(0x0b)))).toBe("null"); // groups nested beyond the limit
    // A statuses field of the wrong wire type is skipped, as protobuf's parsers do.
    expect(decode(Uint8Array.of(0x08, 0x01, 0x10, 0x05))).toBe("1 0 -1");
  });

  it("random and mutated bytes: never a trap, and an answer only where the bytes parse", () => {
    const rand = rng(12);
    const valid = encodeResponse({ overall_code: Code.OK, statuses: [status(Code.OK, 1000, 970, 40), status(Code.OK, 100, 70, 40)] });
    for (let i = 0; i < 3000; i++) {
      let bytes: Uint8Array;
      if (i % 2 === 0) {
        bytes = Uint8Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256));
      } else {
        bytes = valid.slice();
        for (let k = 0; k < 1 + Math.floor(rand() * 4); k++) bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
      }
      const r = decode(bytes);
      expect(r === "null" || /^[01] [01] -?\d+( \d+ \d+ \d+)?$/.test(r.split("\n")[0]), r).toBe(true);
      // Where protobufjs (Envoy's rls.proto) reads the bytes too, both read the same overall code.
      let parsed: { overall_code?: number } | undefined;
      try {
        parsed = rls.responseDeserialize(Buffer.from(bytes)) as { overall_code?: number };
      } catch {
        parsed = undefined;
      }
      if (parsed && r !== "null") {
        const code = parsed.overall_code ?? 0;
        expect(r.slice(0, 3), Buffer.from(bytes).toString("hex")).toBe(`${code === Code.OK ? 1 : 0} ${code === Code.OVER_LIMIT ? 1 : 0}`);
      }
    }
  });
});
