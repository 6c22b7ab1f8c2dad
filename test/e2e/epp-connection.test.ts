// The gateway's connection to the EPP under steady load through `aigw run` (issue: every exchange used to end
// in RST_STREAM, and HTTP/2 servers answer a stream of resets with GOAWAY, failing every exchange in flight):
// each finished exchange ends without a reset, and nothing fails. `make bench` runs the same for minutes.
import { expect, it } from "vitest";
import { SOAK_MODEL, eppSoak } from "./epp-soak.js";

it("150 req/s through a pool for 3 s: every request succeeds, no RST_STREAM or GOAWAY on the EPP connection", { timeout: 60_000 }, async () => {
  const [r] = await eppSoak([{ model: SOAK_MODEL, ratePerSecond: 150, durationMs: 3000 }]);
  expect(r!.firstFailure).toBeUndefined();
  expect({ failures: r!.failures, resets: r!.resets, goaways: r!.goaways }).toEqual({ failures: 0, resets: 0, goaways: 0 });
  expect(r!.requests).toBeGreaterThanOrEqual(400);
  // One ext_proc stream per request went over the watched connection.
  expect(r!.streams).toBe(r!.requests);
});
