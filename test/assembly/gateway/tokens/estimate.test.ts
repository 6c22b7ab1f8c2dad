// What a token budget reserves and settles (assembly/gateway/tokens/estimate): the output limit read from a
// request body (examples, then generated bodies against an oracle), the estimate, and the Global settlement.
import { beforeAll, describe, expect, it } from "vitest";
import { loadLogicModule, type LogicModule } from "../logic-module.js";
import { Gen, rng } from "../json-gen.js";

const MAX = 2 ** 30;
let m: LogicModule;
beforeAll(() => {
  m = loadLogicModule("logic-tokens");
});

/** The filter's reading: tokens, -1 for none, or the error text. */
function read(body: string): number | string {
  const p = m.put(body);
  const n = Number(m.exports.outputLimit(p, Buffer.byteLength(body)));
  m.free(p);
  return n === -2 ? m.outText() : n;
}

describe("the output limit of a request", () => {
  it("reads max_completion_tokens, else max_tokens, at the top level only; null is none", () => {
    expect(read('{"model":"m"}')).toBe(-1);
    expect(read('{"max_tokens":100}')).toBe(100);
    expect(read('{"max_tokens":0}')).toBe(0);
    expect(read('{"max_tokens":100,"max_completion_tokens":7}')).toBe(7);
    expect(read('{"max_completion_tokens":7,"max_tokens":100}')).toBe(7);
    expect(read('{"max_completion_tokens":null,"max_tokens":100}')).toBe(100);
    expect(read('{"max_tokens":null}')).toBe(-1);
    expect(read('{"max_tokens":5,"max_tokens":9}')).toBe(9); // the last duplicate counts, as JSON.parse reads it
    expect(read('{"meta":{"max_tokens":"x"},"messages":[{"max_tokens":-1}]}')).toBe(-1);
    expect(read('{"max_tokens":1e3}')).toBe(1000); // an integral number, whatever its spelling
    expect(read(`{"max_tokens":${MAX}}`)).toBe(MAX);
    expect(read("[1]")).toBe(-1);
  });

  it("refuses what no server can honour: not an integer, negative, absurdly large", () => {
    const error = "max_tokens: must be an integer from 0 to 1073741824 (or null)";
    for (const v of ["1e30", "18446744073709551616", "9223372036854775808", `${MAX + 1}`, "-1", "1.5", '"10"', "true", "{}", "[]"]) {
      expect(read(`{"max_tokens":${v}}`), v).toBe(error);
    }
    expect(read('{"max_completion_tokens":-0.5}')).toBe("max_completion_tokens: must be an integer from 0 to 1073741824 (or null)");
  });

  it("agrees with an oracle on generated bodies (numbers in every spelling, other kinds, duplicates, nesting)", () => {
    const g = new Gen(rng(Number(process.env.FUZZ_SEED ?? 14)));
    const inputs = Number(process.env.FUZZ_INPUTS ?? 3000);
    for (let i = 0; i < inputs; i++) {
      const fields: Array<[string, string]> = [];
      const n = g.int(4);
      for (let j = 0; j < n; j++) {
        const key = g.pick(["max_tokens", "max_completion_tokens"]);
        const r = g.rand();
        const value = r < 0.5 ? g.number() : r < 0.7 ? String(g.int(MAX + 2)) : r < 0.8 ? "null" : g.value(1);
        fields.push([key, value]);
      }
      const body =
        g.ws() +
        g.object(
          2,
          fields.map(([k, v]) => `"${k}"${g.ws()}:${g.ws()}${v}`),
        ) +
        g.ws();
      expect(read(body), body).toEqual(oracle(body));
    }
  });
});

/** JSON.parse's reading of the top-level fields (the last duplicate wins), with the filter's rule applied. */
function oracle(body: string): number | string {
  const doc = JSON.parse(body) as Record<string, unknown>;
  const valid = (v: unknown) => v === null || (typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= MAX);
  // Every occurrence is checked, not only the last, and the first bad one in document order is named.
  for (const [key, value] of topLevelMembers(body)) {
    if ((key === "max_tokens" || key === "max_completion_tokens") && !valid(value)) {
      return `${key}: must be an integer from 0 to ${MAX} (or null)`;
    }
  }
  const pick = (v: unknown) => (typeof v === "number" ? v + 0 : -1); // -0 reads as 0
  const completion = pick(doc.max_completion_tokens);
  return completion >= 0 ? completion : pick(doc.max_tokens);
}

/** The top-level members of an object document in order, duplicates kept (each value through JSON.parse). */
function topLevelMembers(body: string): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  // JSON.parse keeps only the last duplicate: walk the text instead, depth-aware.
  let depth = 0;
  let i = 0;
  let inString = false;
  let keyStart = -1;
  while (i < body.length) {
    const c = body[i]!;
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
      i++;
      continue;
    }
    if (c === '"') {
      if (depth === 1 && keyStart < 0) keyStart = i;
      inString = true;
    } else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") depth--;
    else if (c === ":" && depth === 1 && keyStart >= 0) {
      const key = JSON.parse(body.slice(keyStart, body.lastIndexOf('"', i) + 1)) as string;
      const end = valueEnd(body, i + 1);
      out.push([key, JSON.parse(body.slice(i + 1, end))]);
      i = end;
      keyStart = -1;
      continue;
    } else if (c === "," && depth === 1) keyStart = -1;
    i++;
  }
  return out;
}

/** Where the JSON value starting at `from` ends (at the next top-level ',' or the closing '}'). */
function valueEnd(body: string, from: number): number {
  let depth = 0;
  let inString = false;
  for (let i = from; i < body.length; i++) {
    const c = body[i]!;
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") {
      if (depth === 0) return i;
      depth--;
    } else if (c === "," && depth === 0) return i;
  }
  return body.length;
}

describe("the estimate and the Global settlement", () => {
  const estimate = (bytes: number, requested: number, recent: number) => {
    m.exports.estimate(bytes, BigInt(requested), BigInt(recent));
    return m.outText().split(" ").map(Number);
  };

  it("estimates input from the body size (4 bytes a token, rounded up) and output from the request's limit, else recent output", () => {
    expect(estimate(70, 100, 5)).toEqual([18, 100, 118]);
    expect(estimate(70, 0, 5)).toEqual([18, 0, 18]); // a limit of 0 is the request's own
    expect(estimate(70, -1, 5)).toEqual([18, 5, 23]);
    expect(estimate(0, -1, 0)).toEqual([0, 0, 0]);
  });

  it("reserves at most the limit and charges only the real cost above the reservation", () => {
    const reservation = (cost: number, limit: number) => Number(m.exports.reservation(BigInt(cost), BigInt(limit)));
    const charge = (reserved: number, actual: number) => Number(m.exports.charge(BigInt(reserved), BigInt(actual)));
    expect(reservation(118, 1000)).toBe(118);
    expect(reservation(5000, 1000)).toBe(1000); // an empty window still admits it
    expect(charge(118, 300)).toBe(182);
    expect(charge(118, 118)).toBe(0);
    expect(charge(118, 20)).toBe(0); // the service cannot give back: 98 over-counted
    // Property: a reservation plus its charge is never less than the real cost, and exactly it when the estimate was low.
    const g = rng(7);
    for (let i = 0; i < 1000; i++) {
      const reserved = Math.floor(g() * 1e6);
      const actual = Math.floor(g() * 1e6);
      const total = reserved + charge(reserved, actual);
      expect(total).toBe(Math.max(reserved, actual));
    }
  });
});
