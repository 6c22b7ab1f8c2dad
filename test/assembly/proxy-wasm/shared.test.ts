// Shared data with compare-and-swap, shared queues and metrics through the SDK, with two worker VMs
// (streams alternate between them), as Envoy runs one VM per worker sharing data by vm_id.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HeaderList } from "../../../src-host/dataplane-api/http-filter.js";
import { type Loaded, loadFixture, openStream, reqHeaders, until } from "../../proxy-wasm/helpers.js";

let loaded: Loaded;
beforeAll(async () => {
  loaded = await loadFixture("sdk-shared", { workers: 2 });
});
afterAll(() => loaded.filter.close());

/** Runs one request through the next VM and returns the request headers the filter let through. */
function request(extra: HeaderList): HeaderList {
  const { stream, sink } = openStream(loaded.filter);
  stream.requestHeaders(reqHeaders(extra), true);
  stream.complete();
  const forwarded = sink.of("requestHeaders");
  expect(forwarded).toHaveLength(1);
  return forwarded[0]!.headers;
}
const value = (h: HeaderList, name: string) => h.find(([k]) => k === name)?.[1];

describe("shared data", () => {
  it("get + set with CAS counts every request once across both VMs", () => {
    const seen = Array.from({ length: 10 }, () => request([["x-op", "incr"]]));
    expect(seen.map((h) => Number(value(h, "x-counter")))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(seen.every((h) => value(h, "x-cas-retries") === "0")).toBe(true);
  });

  it("a stale CAS is refused with CasMismatch; an absent key is NotFound", () => {
    const h = request([["x-op", "cas"]]);
    expect(value(h, "x-cas-results")).toBe("0,8");
    expect(value(h, "x-cas-missing")).toBe("1");
  });
});

describe("shared queues", () => {
  it("an item enqueued from a stream is dequeued by the root context in on_queue_ready", async () => {
    expect(
      value(
        request([
          ["x-op", "enqueue"],
          ["x-item", "item-1"],
        ]),
        "x-enqueue-result",
      ),
    ).toBe("0");
    await until(() => value(request([["x-op", "dequeued"]]), "x-dequeued") === "item-1", "the dequeued item");
  });
});

describe("metrics", () => {
  it("counter, gauge and histogram land in wasmcustom.*, shared by the VMs; a zero increment is refused", () => {
    const first = request([
      ["x-op", "metrics"],
      ["x-gauge", "7"],
    ]);
    expect(value(first, "x-zero-increment")).toBe("2");
    expect(value(first, "x-counter-value")).toBe("1");
    expect(value(first, "x-gauge-value")).toBe("7");
    const second = request([
      ["x-op", "metrics"],
      ["x-gauge", "9"],
    ]);
    expect(value(second, "x-counter-value")).toBe("2");
    expect(value(second, "x-gauge-value")).toBe("9");
    const stats = loaded.stats;
    expect(stats.counter("wasmcustom.sdk_requests").value).toBe(2);
    expect(stats.gauge("wasmcustom.sdk_gauge").value).toBe(9);
    const h = stats.histogram("wasmcustom.sdk_latency");
    expect([h.count, h.sum]).toEqual([2, 84]);
  });
});
