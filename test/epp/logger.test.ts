// The EPP's log lines name levels exactly as the inference extension's EPP prints them: logr's V(n) is zap
// level -n (go-logr/zapr), and zap names the levels it has no word for "Level(-n)" — String() for the JSON
// encoder, "LEVEL(-n)" — CapitalString() for the console one (uber-go/zap v1.27.0 zapcore/level.go; the EPP
// v1.0.x uses controller-runtime v0.22.1's production JSON / development console encoder configs).
import { describe, expect, it } from "vitest";
import { Logger, V } from "../../src-host/epp/logger.js";

function lines(encoder: "json" | "console", verbosity: number): string[] {
  const out: string[] = [];
  const log = new Logger({ verbosity, encoder, timeEncoding: "rfc3339", sink: (l) => out.push(l) }, "ext-proc");
  for (const v of [0, 1, V.DEFAULT, V.VERBOSE, V.DEBUG, V.TRACE]) log.info(v, `v${v}`);
  log.error("failed", new Error("boom"));
  return out;
}

describe("EPP log levels", () => {
  it("--v 4 --zap-encoder json: info, debug, then Level(-n), and error", () => {
    const levels = lines("json", 4).map((l) => JSON.parse(l) as { level: string; msg: string });
    expect(levels.map((l) => [l.msg, l.level])).toEqual([
      ["v0", "info"],
      ["v1", "debug"],
      ["v2", "Level(-2)"],
      ["v3", "Level(-3)"],
      ["v4", "Level(-4)"],
      ["failed", "error"],
    ]);
  });

  it("the console encoder writes zap's capital names", () => {
    expect(lines("console", 5).map((l) => l.split("\t")[1])).toEqual(["INFO", "DEBUG", "LEVEL(-2)", "LEVEL(-3)", "LEVEL(-4)", "LEVEL(-5)", "ERROR"]);
  });
});
