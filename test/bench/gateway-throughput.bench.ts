// Gateway throughput and latency (`make bench`): POST /v1/chat/completions with 1 KiB and 128 KiB bodies,
// closed-loop keep-alive client at concurrency 16, 3 s per case, printed beside the same client straight
// to the upstream in the same run.
import { cpus, loadavg } from "node:os";
import { expect, it } from "vitest";
import { passThroughFilter } from "../../src-host/gateway/http-filter.js";
import { formatTable, runDirectBench, runGatewayBench, type BenchResult } from "./gateway-bench.js";

it("gateway throughput: direct vs data plane without filter vs with the pass-through filter", async () => {
  const rows: BenchResult[] = [];
  for (const bodyBytes of [1024, 128 * 1024]) {
    rows.push(await runDirectBench({ bodyBytes }));
    rows.push(await runGatewayBench(undefined, { bodyBytes, label: "gateway, no filter" }));
    rows.push(await runGatewayBench(passThroughFilter, { bodyBytes, label: "gateway + passThroughFilter" }));
  }
  // Other work on the machine skews every row; the load average tells how much.
  const load = loadavg().map((l) => l.toFixed(2)).join(" ");
  console.log(
    `\nPOST /v1/chat/completions, concurrency 16, keep-alive, 3 s per case (${cpus().length} CPUs, load ${load})\n` +
      `${formatTable(rows)}\n`,
  );
  for (const r of rows) {
    expect(r.errors).toBe(0);
    expect(r.requests).toBeGreaterThan(0);
  }
});
