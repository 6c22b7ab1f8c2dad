// A trap fails its VM: that stream and later ones on the VM get 503 wasm_fail_stream (or pass untouched
// with failOpen); streams on other VMs are unaffected.
import { afterEach, describe, expect, it } from "vitest";
import { type Loaded, loadFixture, openStream, reqHeaders } from "./helpers.js";

let loaded: Loaded | undefined;
afterEach(async () => {
  await loaded?.filter.close();
  loaded = undefined;
});

const trap = reqHeaders([["x-trap", "1"]]);

describe("a trap in a stream callback", () => {
  it("fails the stream with 503 wasm_fail_stream, then every later stream on that VM, not the other VM", async () => {
    const l = (loaded = await loadFixture("host-trap", { workers: 2 }));
    const a = openStream(l.filter); // VM 0
    a.stream.requestHeaders(trap, true);
    expect(l.filter.failed(0)).toBe(true);
    expect(l.logs.find((x) => x.level === 5)?.message).toMatch(/^Function: proxy_on_request_headers failed: Uncaught RuntimeError: unreachable/);
    expect(a.sink.of("localReply")).toEqual([{ kind: "localReply", status: 503, headers: [], body: "", details: "wasm_fail_stream" }]);
    expect(a.sink.of("requestHeaders")).toEqual([]);
    // The failure reply passes the response path without calling the VM.
    expect(a.sink.of("responseHeaders")[0]!.headers).toEqual([[":status", "503"]]);
    a.stream.complete();

    const b = openStream(l.filter); // VM 1: fine
    b.stream.requestHeaders(reqHeaders(), true);
    expect(b.sink.of("requestHeaders")).toHaveLength(1);
    b.stream.complete();

    const c = openStream(l.filter); // VM 0 again: failed without a call
    c.stream.requestHeaders(reqHeaders(), true);
    expect(c.sink.of("localReply").map((e) => e.details)).toEqual(["wasm_fail_stream"]);
    c.stream.complete();
    expect(l.messages(0)).toEqual(["rh 2", expect.stringMatching(/^Function: proxy_on_request_headers failed/)]);
    expect(l.messages(1)).toEqual(["rh 2", "log 2"]);
  });

  it("adds grpc-status 14 (Unavailable) to the failure reply of a gRPC request", async () => {
    const l = (loaded = await loadFixture("host-trap"));
    const { stream, sink } = openStream(l.filter);
    stream.requestHeaders(
      reqHeaders([
        ["x-trap", "1"],
        ["content-type", "application/grpc"],
      ]),
      true,
    );
    expect(sink.of("localReply")[0]!.headers).toEqual([["grpc-status", "14"]]);
  });

  it("with failOpen, streams on the failed VM pass through untouched", async () => {
    const l = (loaded = await loadFixture("host-trap", { failOpen: true }));
    const a = openStream(l.filter);
    a.stream.requestHeaders(trap, true);
    expect(a.sink.of("requestHeaders")).toEqual([{ kind: "requestHeaders", headers: trap, eos: true }]);
    const b = openStream(l.filter);
    b.stream.requestHeaders(reqHeaders(), false);
    b.stream.requestData(new Uint8Array([1]), true);
    b.stream.responseHeaders(
      [
        [":status", "200"],
        ["x-trap", "1"],
      ],
      true,
    );
    b.stream.complete();
    expect(b.sink.kinds()).toEqual(["requestHeaders", "requestData", "responseHeaders"]);
    expect(l.messages().filter((m) => !m.startsWith("Function"))).toEqual(["rh 2"]);
  });

  it("a trap after the response headers were sent resets the stream", async () => {
    const l = (loaded = await loadFixture("host-trap"));
    const { stream, sink } = openStream(l.filter);
    stream.requestHeaders(reqHeaders(), true);
    stream.responseHeaders([[":status", "200"]], false);
    stream.responseData(new Uint8Array([1]), false);
    expect(l.filter.failed(0)).toBe(false);
    // Another stream traps the VM; this stream's next callback fails it: headers were sent, so reset.
    const other = openStream(l.filter);
    other.stream.requestHeaders(trap, true);
    stream.responseData(new Uint8Array([2]), true);
    expect(sink.of("reset")).toEqual([{ kind: "reset", details: "wasm_fail_stream" }]);
  });
});
