// Start-up and stream lifecycle: per-VM root contexts, lazy context creation, callback order, the end
// of a stream (on_log → on_done → on_delete), and how headers statuses are converted.
import { afterEach, describe, expect, it } from "vitest";
import { type Loaded, bytes, loadFixture, openStream, reqHeaders } from "./helpers.js";

let loaded: Loaded | undefined;
afterEach(async () => {
  await loaded?.filter.close();
  loaded = undefined;
});

const load = async (configuration: string, extra: Record<string, unknown> = {}) => (loaded = await loadFixture("host-lifecycle", { configuration, ...extra }));

describe("start-up", () => {
  it("creates a root context (id 1) per worker VM, then on_vm_start and on_configure with the configuration", async () => {
    const l = await load("rh=0", { workers: 2 });
    for (const vm of [0, 1]) {
      expect(l.messages(vm)).toEqual(["create 1 0", "vm_start 1", "configure 1 rh=0"]);
    }
  });

  it("refuses to load when on_configure returns false", async () => {
    await expect(load("configure=0")).rejects.toThrow(/Failed to configure base Wasm plugin: proxy_on_configure returned false/);
  });
});

describe("stream lifecycle", () => {
  it("creates the stream context lazily at request headers and ends with on_log, on_done, on_delete", async () => {
    const l = await load("rh=0");
    const { stream, sink } = openStream(l.filter);
    expect(l.messages().slice(3)).toEqual([]); // nothing before the first callback
    stream.requestHeaders(reqHeaders(), false);
    stream.requestData(bytes("abc"), false);
    stream.requestData(bytes("de"), true);
    stream.responseHeaders([[":status", "200"]], false);
    stream.responseData(bytes("ok"), true);
    stream.complete();
    expect(l.messages().slice(3)).toEqual(["create 2 1", "rh 2 4 0", "rb 2 3 0", "rb 2 2 1", "sh 2 1 0", "sb 2 2 1", "log 2", "done 2", "delete 2"]);
    expect(sink.kinds()).toEqual(["requestHeaders", "requestData", "requestData", "responseHeaders", "responseData"]);
  });

  it("gives each stream its own context id and spreads streams over the VMs round robin", async () => {
    const l = await load("rh=0", { workers: 2 });
    for (let i = 0; i < 4; i++) {
      const { stream } = openStream(l.filter);
      stream.requestHeaders(reqHeaders(), true);
      stream.complete();
    }
    expect(l.messages(0).filter((m) => m.startsWith("rh"))).toEqual(["rh 2 4 1", "rh 3 4 1"]);
    expect(l.messages(1).filter((m) => m.startsWith("rh"))).toEqual(["rh 2 4 1", "rh 3 4 1"]);
  });

  it("when the request never reached the filter, on_log still runs after context creation", async () => {
    const l = await load("rh=0");
    const { stream } = openStream(l.filter);
    stream.complete();
    expect(l.messages().slice(3)).toEqual(["create 2 1", "log 2", "done 2", "delete 2"]);
  });

  it("delivers request trailers and forwards them after the body", async () => {
    const l = await load("rh=0");
    const { stream, sink } = openStream(l.filter);
    stream.requestHeaders(reqHeaders(), false);
    stream.requestData(bytes("x"), false);
    stream.requestTrailers([["grpc-status", "0"]]);
    expect(l.messages().slice(-1)).toEqual(["rt 2 1"]);
    expect(sink.kinds()).toEqual(["requestHeaders", "requestData", "requestTrailers"]);
    expect(sink.of("requestData")[0]!.eos).toBe(false);
  });
});

describe("headers status conversion", () => {
  it("turns StopIteration into StopAllIterationAndWatermark: no body callback, nothing forwarded", async () => {
    const l = await load("rh=1");
    const { stream, sink } = openStream(l.filter);
    stream.requestHeaders(reqHeaders(), false);
    stream.requestData(bytes("held"), true);
    expect(l.messages().filter((m) => m.startsWith("rb"))).toEqual([]);
    expect(sink.events).toEqual([]);
  });

  it("with allowOnHeadersStopIteration, StopIteration delivers the body, and Continue from the body forwards both", async () => {
    const l = await load("rh=1", { allowOnHeadersStopIteration: true });
    const { stream, sink } = openStream(l.filter);
    stream.requestHeaders(reqHeaders(), false);
    expect(sink.events).toEqual([]);
    stream.requestData(bytes("body"), true);
    expect(l.messages().filter((m) => m.startsWith("rb"))).toEqual(["rb 2 4 1"]);
    expect(sink.kinds()).toEqual(["requestHeaders", "requestData"]);
    expect(sink.of("requestHeaders")[0]!.eos).toBe(false);
    expect(sink.of("requestData")[0]).toMatchObject({ data: "body", eos: true });
  });

  it("maps an out-of-range headers status to StopAllIterationAndWatermark", async () => {
    const l = await load("rh=9", { allowOnHeadersStopIteration: true });
    const { stream, sink } = openStream(l.filter);
    stream.requestHeaders(reqHeaders(), false);
    stream.requestData(bytes("x"), true);
    expect(l.messages().filter((m) => m.startsWith("rb"))).toEqual([]);
    expect(sink.events).toEqual([]);
  });

  it("ContinueAndEndStream forwards the headers as the end of the request and drops the body", async () => {
    const l = await load("rh=2");
    const { stream, sink } = openStream(l.filter);
    stream.requestHeaders(reqHeaders(), false);
    stream.requestData(bytes("dropped"), true);
    expect(sink.events).toEqual([{ kind: "requestHeaders", headers: reqHeaders(), eos: true }]);
    expect(l.messages().filter((m) => m.startsWith("rb"))).toEqual([]);
  });

  it("StopIterationNoBuffer from the body consumes the chunk", async () => {
    const l = await load("rb=3");
    const { stream, sink } = openStream(l.filter);
    stream.requestHeaders(reqHeaders(), false);
    stream.requestData(bytes("eaten"), false);
    expect(sink.kinds()).toEqual(["requestHeaders"]);
  });
});
