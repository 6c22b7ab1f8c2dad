// Sustained load through `aigw run` to an InferencePool (issue: resets on the EPP connection drew GOAWAYs that
// failed exchanges in flight from ~60 req/s): 150 req/s for 120 s through the pool and its EPP, beside the
// same load for 30 s to the same servers as an ordinary backend (no EPP). Prints requests, the rate achieved,
// failures (those the endpoint picker failed apart), latency, and the resets and GOAWAYs on the gateway's
// HTTP/2 connection to the EPP.
import { cpus, loadavg } from "node:os";
import { expect, it } from "vitest";
import { SOAK_DIRECT_MODEL, SOAK_MODEL, eppSoak, type SoakResult } from "../e2e/epp-soak.js";

const RATE = 150;

it("EPP connection under 150 req/s for 120 s", { timeout: 400_000 }, async () => {
  const [pool, direct] = await eppSoak([
    { model: SOAK_MODEL, ratePerSecond: RATE, durationMs: 120_000 },
    { model: SOAK_DIRECT_MODEL, ratePerSecond: RATE, durationMs: 30_000 },
  ]);
  const row = (label: string, r: SoakResult) =>
    `${label.padEnd(16)} ${String(r.requests).padStart(8)} ${r.rate.toFixed(1).padStart(7)} ${String(r.failures).padStart(8)} ${String(r.eppFailures).padStart(6)} ${String(r.eppTimeouts).padStart(8)} ` +
    `${r.p50Ms.toFixed(2).padStart(8)} ${r.p99Ms.toFixed(2).padStart(8)} ${String(r.streams).padStart(8)} ${String(r.resets).padStart(7)} ${String(r.goaways).padStart(8)}`;
  console.log(
    `\nOpen loop at ${RATE} req/s (${cpus().length} CPUs, load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")})\n` +
      `${"arm".padEnd(16)} ${"requests".padStart(8)} ${"req/s".padStart(7)} ${"failures".padStart(8)} ${"by EPP".padStart(6)} ${"EPP late".padStart(8)} ` +
      `${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"streams".padStart(8)} ${"resets".padStart(7)} ${"GOAWAYs".padStart(8)}\n` +
      `${row("pool + EPP 120 s", pool!)}\n${row("backend 30 s", direct!)}\n` +
      (pool!.firstFailure ? `first failure: ${pool!.firstFailure}\n` : "") +
      `p50 ratio pool/backend ${(pool!.p50Ms / direct!.p50Ms).toFixed(2)}×; streams/resets/GOAWAYs: the gateway's HTTP/2 connection to the EPP; ` +
      "EPP late: no answer within the pool's timeout (the exchange is abandoned: reset); failures on the backend arm mean the machine could not carry the rate\n",
  );
  // Caused by the EPP connection: an exchange that failed other than by its deadline, or a GOAWAY. (Resets here are
  // exchanges abandoned on a deadline; test/e2e/epp-connection.test.ts checks that finished ones are never reset.)
  expect({ eppConnection: pool!.eppFailures - pool!.eppTimeouts, goaways: pool!.goaways }).toEqual({ eppConnection: 0, goaways: 0 });
});
