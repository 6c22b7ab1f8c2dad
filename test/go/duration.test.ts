// Go's time.ParseDuration, the one parser behind the EPP's and the vLLM simulator's duration flags.
import { describe, expect, it } from "vitest";
import { parseGoDuration } from "../../src-host/go/duration.js";
import { parseDuration } from "../../src-host/sim/vllm/flags.js";
import { rng } from "../assembly/gateway/json-gen.js";

const UNITS: Array<[string, number]> = [
  ["ns", 1e-6],
  ["us", 1e-3],
  ["µs", 1e-3],
  ["μs", 1e-3],
  ["ms", 1],
  ["s", 1000],
  ["m", 60_000],
  ["h", 3_600_000],
];

describe("parseGoDuration", () => {
  it("reads Go's syntax: units, fractions, sums, a sign, a bare zero", () => {
    expect(parseGoDuration("250us")).toBe(0.25);
    expect(parseGoDuration("2h")).toBe(7_200_000);
    expect(parseGoDuration("1h30m0.5s")).toBe(5_400_500);
    expect(parseGoDuration(".5s")).toBe(500);
    expect(parseGoDuration("-1.5m")).toBe(-90_000);
    expect(parseGoDuration("+10ms")).toBe(10);
    expect(parseGoDuration("0")).toBe(0);
  });

  it("rejects what Go rejects: no unit, unknown units, empty, stray text", () => {
    for (const bad of ["10", "1x", "", "-", "s", "1s ", " 1s", "1.2.3s", "1sm", "1e3s", "0x10s"]) expect(parseGoDuration(bad), bad).toBeUndefined();
  });

  it("sums any sequence of number-unit parts; random text never throws", () => {
    const r = rng(12);
    for (let i = 0; i < 2000; i++) {
      let text = "";
      let ms = 0;
      const parts = 1 + Math.floor(r() * 4);
      for (let p = 0; p < parts; p++) {
        const n = r() < 0.5 ? Math.floor(r() * 1000) : Math.round(r() * 100_000) / 1000;
        const [unit, scale] = UNITS[Math.floor(r() * UNITS.length)]!;
        text += `${n}${unit}`;
        ms += n * scale;
      }
      expect(parseGoDuration(text), text).toBeCloseTo(ms, 6);
      const noise = Array.from({ length: Math.floor(r() * 8) }, () => "0123456789.+-smhunµx "[Math.floor(r() * 21)]).join("");
      const v = parseGoDuration(noise);
      expect(v === undefined || Number.isFinite(v), noise).toBe(true);
    }
  });
});

describe("the simulator's duration flags", () => {
  it("take plain milliseconds or a non-negative Go duration, and name the flag otherwise", () => {
    expect(parseDuration("250", "f")).toBe(250);
    expect(parseDuration("1m30s", "f")).toBe(90_000);
    expect(() => parseDuration("-1s", "--time-to-first-token")).toThrow(/--time-to-first-token/);
    expect(() => parseDuration("fast", "--x")).toThrow(/--x/);
  });
});
