// Local token budgets at admission and settlement (assembly/gateway/tokens/admission, local-budget) against a
// memory BudgetStore with Envoy's shared-data semantics: reservations per xDS route or shared, refusal,
// settlement, release, and the compare-and-swap race with another worker.
import { beforeEach, describe, expect, it } from "vitest";
import { loadLogicModule, type LogicModule } from "../logic-module.js";

const R0 = "httproute/default/r/rule/0/match/0/*";
const R1 = "httproute/default/r/rule/1/match/0/*";
const NOW = 7200n; // window 2 of an hour
/** 40 bytes of body (10 input tokens) and max_tokens 20: an estimate of 30 tokens. */
const BODY = 40;
const MAX_TOKENS = 20n;

let m: LogicModule;

function configure(shared: boolean): void {
  const config = JSON.stringify({
    costs: [{ route: "", metadataKey: "total", type: "TotalToken", cel: "" }],
    rateLimits: [
      {
        name: "default/p/rule/0",
        type: "Local",
        routes: [],
        shared,
        headers: [{ name: "x-user-id", type: "Distinct", value: "" }],
        limit: 100,
        unitSeconds: 3600,
        requestCost: { from: "Number", number: 0, metadataKey: "" },
        responseCost: { from: "Metadata", number: 0, metadataKey: "total" },
        rlsCluster: "",
        domain: "",
        failureModeDeny: false,
        timeoutMs: 1000,
      },
    ],
  });
  const p = m.put(config);
  const ok = m.exports.configure(p, Buffer.byteLength(config));
  m.free(p);
  expect(ok, m.outText()).toBe(1);
}

/** An admission's id, or the 429 body. */
function admit(user: string, route: string, requested = MAX_TOKENS): number | string {
  const s = `${user}\n${route}`;
  const p = m.put(s);
  const id = m.exports.admitRequest(p, Buffer.byteLength(s), BODY, requested, NOW) as number;
  m.free(p);
  return id < 0 ? m.outText() : id;
}

/** Tokens counted for `user` in this window of the rule's counter for `route` ("" for the shared one). */
function spent(user: string, route: string): number {
  const key = `aigw.rl|default/p/rule/0${route ? `|${route}` : ""}|x-user-id=${user}|2`;
  const p = m.put(key);
  const v = Number(m.exports.spent(p, Buffer.byteLength(key)));
  m.free(p);
  return v;
}

const settle = (id: number, total: number) => {
  m.exports.settleRequest(id, BigInt(total), NOW);
  return m.outText();
};

beforeEach(() => {
  m = loadLogicModule("logic-admission");
});

describe("Local budgets", () => {
  it("reserve the estimate per xDS route, refuse the request that does not fit, settle to the real cost and release", () => {
    configure(false);
    const ids = [admit("ann", R0), admit("ann", R0), admit("ann", R0)];
    expect(ids).toEqual([0, 1, 2]);
    expect(spent("ann", R0)).toBe(90);
    expect(admit("ann", R0)).toContain("90 of 100 tokens used or reserved in this window, and this request is estimated at 30");
    // Another route of the same rule has its own counter.
    expect(admit("ann", R1)).toBe(3);
    expect(spent("ann", R1)).toBe(30);
    // The real cost replaces the estimate; the headers count what the others still reserve.
    expect(settle(0, 5)).toBe("35");
    expect(spent("ann", R0)).toBe(65);
    m.exports.releaseRequest(1);
    expect(spent("ann", R0)).toBe(35);
    m.exports.currentRemaining(2, NOW);
    expect(m.outText()).toBe("65");
  });

  it("shared: one counter over every route", () => {
    configure(true);
    expect(admit("bo", R0)).toBe(0);
    expect(admit("bo", R1)).toBe(1);
    expect(admit("bo", R0)).toBe(2);
    expect(spent("bo", "")).toBe(90);
    expect(admit("bo", R1)).toContain("90 of 100");
  });

  it("an empty window admits one request whose estimate exceeds the budget, then refuses", () => {
    configure(false);
    expect(admit("cy", R0, 500n)).toBe(0);
    expect(spent("cy", R0)).toBe(510);
    expect(admit("cy", R0, 0n)).toContain("510 of 100");
  });
});

describe("the compare-and-swap race with another worker", () => {
  it("a reservation that loses the race is retried on the new count: both are counted", () => {
    configure(false);
    expect(admit("dee", R0)).toBe(0);
    m.exports.armRival(40n); // another worker reserves 40 between this worker's read and its write
    expect(admit("dee", R0)).toBe(1);
    expect(spent("dee", R0)).toBe(100);
  });

  it("the retry sees the other worker's tokens and refuses when they leave no room", () => {
    configure(false);
    expect(admit("eve", R0)).toBe(0);
    m.exports.armRival(50n);
    expect(admit("eve", R0)).toContain("80 of 100");
    expect(spent("eve", R0)).toBe(80);
  });

  it("creating a window's key can lose one concurrent reservation (the bound's one estimate per worker VM)", () => {
    configure(false);
    // The key is absent: this worker creates it with an unconditional write of 0 (Envoy has no
    // create-if-absent), and the other worker's reservation made just before is overwritten.
    m.exports.armRival(30n);
    expect(admit("fay", R0)).toBe(0);
    expect(spent("fay", R0)).toBe(30);
  });
});
