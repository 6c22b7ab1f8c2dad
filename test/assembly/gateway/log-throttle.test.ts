// Repeated warnings throttled per cause (assembly/gateway/log-throttle): the first line of a cause at once,
// the rest of its period counted and reported with its next line or by flush().
import { beforeEach, describe, expect, it } from "vitest";
import { loadLogicModule, type LogicModule } from "./logic-module.js";

const S = 1_000_000_000n;
let m: LogicModule;
beforeEach(() => {
  m = loadLogicModule("logic-log-throttle");
  m.exports.reset(5n * S);
});

function admit(cause: string, message: string, now: bigint): string {
  const s = `${cause}\n${message}`;
  const p = m.put(s);
  m.exports.admit(p, Buffer.byteLength(s), now);
  m.free(p);
  return m.outText();
}

function flush(now: bigint): string[] {
  m.exports.flush(now);
  const t = m.outText();
  return t === "" ? [] : t.split("\n");
}

describe("LogThrottle", () => {
  it("logs a cause's first occurrence, counts the rest of the period and reports them with the next line", () => {
    expect(admit("a", "pool p failed (x)", 10n * S)).toBe("pool p failed (x)");
    for (let i = 1; i <= 1000; i++) expect(admit("a", "pool p failed (x)", 10n * S + BigInt(i) * 1_000_000n)).toBe("");
    expect(m.exports.pending()).toBe(1);
    expect(admit("a", "pool p failed (y)", 15n * S)).toBe("pool p failed (y) [1000 more in the last 5 s]");
    expect(m.exports.pending()).toBe(0);
    // A quiet cause logs its next occurrence plainly.
    expect(admit("a", "pool p failed (z)", 30n * S)).toBe("pool p failed (z)");
  });

  it("keeps causes apart", () => {
    expect(admit("a", "A", 0n)).toBe("A");
    expect(admit("b", "B", 1n)).toBe("B");
    expect(admit("a", "A", 2n)).toBe("");
    expect(admit("b", "B", 3n)).toBe("");
    expect(admit("b", "B", 5n * S + 3n)).toBe("B [1 more in the last 5 s]");
    expect(flush(5n * S + 3n)).toEqual(["A [1 times in the last 5 s]"]);
    expect(m.exports.pending()).toBe(0);
  });

  it("flush reports a cause that stopped recurring only once its period is over, and only once", () => {
    admit("a", "first", 0n);
    admit("a", "second", S);
    admit("a", "third", 2n * S);
    expect(flush(4n * S)).toEqual([]);
    expect(flush(6n * S)).toEqual(["third [2 times in the last 6 s]"]);
    expect(flush(20n * S)).toEqual([]);
    expect(admit("a", "fourth", 7n * S)).toBe("");
    expect(flush(11n * S)).toEqual(["fourth [1 times in the last 5 s]"]);
  });

  it("a clock that goes back restarts the window instead of reporting early", () => {
    admit("a", "A", 100n * S);
    expect(admit("a", "A", 50n * S)).toBe("");
    expect(admit("a", "A", 54n * S)).toBe("");
    expect(admit("a", "A", 55n * S)).toBe("A [2 more in the last 5 s]");
  });

  it("causes beyond the cap share one entry, so hostile values cannot grow it", () => {
    const logged = [];
    for (let i = 0; i < 10_000; i++) logged.push(admit(`kind ${i}`, `m${i}`, BigInt(i)));
    const lines = logged.filter((l) => l !== "");
    expect(lines.length).toBe(64);
    expect(flush(10n * S)).toEqual([`m9999 [${10_000 - 64} times in the last 9 s]`]);
  });
});
