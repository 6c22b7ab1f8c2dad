// Behaviour of the SDK inside the Envoy-faithful host (src-host/proxy-wasm): SDK test modules from
// test/modules/sdk-*.ts driven stream by stream. Each test fails if the SDK encodes, decodes or routes
// something differently from what the ABI (as Envoy implements it) expects.
import { afterEach, describe, expect, it } from "vitest";
import type { HeaderList } from "../../../src-host/dataplane-api/http-filter.js";
import { decodePairs, encodePairs } from "../../../src-host/proxy-wasm/index.js";
import { type Loaded, type LogLine, type TestSink, bytes, loadFixture, openStream, reqHeaders, until } from "../../proxy-wasm/helpers.js";

const loaded: Loaded[] = [];
async function load(name: string, ...args: Parameters<typeof loadFixture> extends [unknown, ...infer R] ? R : never): Promise<Loaded> {
  const l = await loadFixture(name, ...args);
  loaded.push(l);
  return l;
}
afterEach(async () => {
  for (const l of loaded.splice(0)) await l.filter.close();
});

const utf8 = (s: string) => Buffer.from(s, "utf8");
/** Header values cross the data plane as latin1 strings of their bytes. */
const fromLatin1 = (s: string) => Buffer.from(s, "latin1").toString("utf8");
const get = (h: HeaderList, name: string) => h.filter(([k]) => k === name).map(([, v]) => v);
const one = (h: HeaderList, name: string) => {
  const v = get(h, name);
  expect(v, `header ${name}`).toHaveLength(1);
  return v[0]!;
};

function forwardedRequest(sink: TestSink): HeaderList {
  const e = sink.of("requestHeaders");
  expect(e).toHaveLength(1);
  return e[0]!.headers;
}

describe("pairs", () => {
  it("get all + set all keeps every header, in order, including repeated names, empty and non-ASCII values", async () => {
    const { filter } = await load("sdk-pairs");
    const extra: HeaderList = [
      ["x-a", "1"],
      ["x-empty", ""],
      ["x-rep", "first"],
      ["x-rep", "second"],
      ["x-bytes", Buffer.from("caf\u00e9 \u2713", "utf8").toString("latin1")],
    ];
    const { stream, sink } = openStream(filter);
    const sent = reqHeaders(extra);
    stream.requestHeaders(
      sent.map(([k, v]) => [k, v]),
      true,
    ); // the host may use the list as its map
    expect(forwardedRequest(sink)).toEqual([...sent, ["x-pairs-count", String(sent.length)]]);
    stream.complete();
  });

  it("encodePairs in wasm produces the bytes the host's pairs codec decodes", async () => {
    const { filter } = await load("sdk-pairs");
    const { stream, sink } = openStream(filter);
    const sent = reqHeaders([
      ["x-echo-pairs", "1"],
      ["x-u", Buffer.from("\u00fc\u00df", "utf8").toString("latin1")],
      ["x-e", ""],
    ]);
    stream.requestHeaders(
      sent.map(([k, v]) => [k, v]),
      true,
    );
    const reply = sink.of("localReply");
    expect(reply).toHaveLength(1);
    const decoded = decodePairs(Buffer.from(reply[0]!.body, "latin1"));
    expect(decoded.map(([k, v]) => [Buffer.from(k).toString("latin1"), Buffer.from(v).toString("latin1")])).toEqual(sent);
    stream.complete();
  });

  async function decodeInWasm(body: Uint8Array): Promise<{ status: number; body: string }> {
    const { filter } = loaded.at(-1)!;
    const { stream, sink } = openStream(filter);
    stream.requestHeaders(reqHeaders([], "/decode"), false);
    stream.requestData(body, true);
    const reply = sink.of("localReply");
    expect(reply).toHaveLength(1);
    stream.complete();
    return { status: reply[0]!.status, body: fromLatin1(reply[0]!.body) };
  }

  it("the strict decoder accepts well-formed input and the empty forms", async () => {
    await load("sdk-pairs");
    const good = encodePairs([
      [utf8("k1"), utf8("v1")],
      [utf8(""), utf8("")],
      [utf8("k\u00e9"), utf8("\u2713")],
    ]);
    expect(await decodeInWasm(good)).toEqual({ status: 200, body: "k1=v1\n=\nk\u00e9=\u2713\n" });
    expect(await decodeInWasm(new Uint8Array([0, 0, 0, 0]))).toEqual({ status: 200, body: "" });
    expect(await decodeInWasm(new Uint8Array([0]))).toEqual({ status: 200, body: "" });
  });

  it("the strict decoder refuses every malformation Envoy's parser refuses", async () => {
    await load("sdk-pairs");
    const good = encodePairs([[utf8("key"), utf8("value")]]);
    const u32 = (n: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(n);
      return b;
    };
    const cases: Record<string, Uint8Array> = {
      "trailing byte": Buffer.concat([good, Buffer.from([0])]),
      "missing key NUL": Buffer.from(good).fill(0x41, 12 + 3, 12 + 4),
      "missing value NUL": Buffer.from(good).fill(0x41, good.length - 1),
      truncated: good.subarray(0, good.length - 2),
      "count beyond data": Buffer.concat([u32(2), good.subarray(4)]),
      "too many pairs": Buffer.concat([u32(1025), Buffer.alloc(1025 * 8)]),
      "length runs past the end": Buffer.concat([u32(1), u32(0xffffffff), u32(0), Buffer.from([0, 0])]),
      "shorter than the count": new Uint8Array([1, 0]),
    };
    for (const [what, body] of Object.entries(cases)) {
      expect(await decodeInWasm(body), what).toEqual({ status: 422, body: "malformed" });
    }
  });
});

describe("root contexts", () => {
  it("are chosen by plugin_root_id, each with its own configuration and ticks", async () => {
    for (const rootId of ["alpha", "beta"]) {
      const { filter, messages } = await load("sdk-roots", { rootId, configuration: `config of ${rootId}` });
      await new Promise((r) => setTimeout(r, 120));
      const { stream, sink } = openStream(filter);
      stream.requestHeaders(reqHeaders(), true);
      const h = forwardedRequest(sink);
      expect(one(h, "x-root")).toBe(rootId);
      expect(one(h, "x-config")).toBe(`config of ${rootId}`);
      expect(Number(one(h, "x-ticks"))).toBeGreaterThan(0);
      expect(messages()).toContain(`root ${rootId} (root_id ${rootId}) configured: config of ${rootId}`);
      stream.complete();
    }
  });

  it("an unregistered root_id without a fallback registration refuses to start, saying why", async () => {
    const logs: LogLine[] = [];
    await expect(loadFixture("sdk-roots", { rootId: "gamma" }, { onLog: (l) => logs.push(l) })).rejects.toThrow();
    expect(logs.map((l) => l.message)).toContain('proxy-wasm: no root context registered for root_id "gamma"');
  });

  it('the registration for "" serves any root_id', async () => {
    const { filter } = await load("sdk-pairs", { rootId: "whatever-the-config-says" });
    const { stream, sink } = openStream(filter);
    stream.requestHeaders(reqHeaders(), true);
    expect(one(forwardedRequest(sink), "x-pairs-count")).toBe("4");
    stream.complete();
  });
});

describe("header maps", () => {
  it("get, add, replace, remove on request headers; non-ASCII values cross as UTF-8; clear_route_cache", async () => {
    const { filter } = await load("sdk-headers");
    const { stream, sink } = openStream(filter);
    stream.requestHeaders(
      reqHeaders([
        ["x-get", ":authority"],
        ["x-replace", "old"],
        ["x-remove", "a"],
        ["x-remove", "b"],
        ["x-clear-route", "1"],
      ]),
      true,
    );
    const h = forwardedRequest(sink);
    expect(one(h, "x-got")).toBe("gw.local");
    expect(get(h, "x-added")).toEqual(["one", "two"]);
    expect(one(h, "x-replace")).toBe("replaced");
    expect(get(h, "x-remove")).toEqual([]);
    expect(fromLatin1(one(h, "x-utf8"))).toBe("h\u00e9llo \u2713 \u{1F600}");
    expect(one(h, "x-clear-result")).toBe("0");
    expect(sink.kinds()[0]).toBe("clearRouteCache");
    stream.complete();
  });

  it("an absent header reads as null", async () => {
    const { filter } = await load("sdk-headers");
    const { stream, sink } = openStream(filter);
    stream.requestHeaders(reqHeaders([["x-get", "x-not-there"]]), true);
    expect(one(forwardedRequest(sink), "x-got")).toBe("<null>");
    stream.complete();
  });

  it("response headers and trailers", async () => {
    const { filter } = await load("sdk-headers");
    const { stream, sink } = openStream(filter);
    stream.requestHeaders(reqHeaders([], "/the/path"), true);
    stream.responseHeaders(
      [
        [":status", "201"],
        ["x-upstream", "u"],
        ["x-upstream-remove", "r"],
      ],
      false,
    );
    stream.responseData(bytes("body"), false);
    stream.responseTrailers([
      ["grpc-status", "0"],
      ["x-t", "1"],
    ]);
    const rh = sink.of("responseHeaders")[0]!.headers;
    expect(one(rh, "x-response-added")).toBe("yes");
    expect(one(rh, "x-upstream")).toBe("changed");
    expect(get(rh, "x-upstream-remove")).toEqual([]);
    expect(one(rh, "x-status-seen")).toBe("201");
    expect(one(rh, "x-request-path")).toBe("/the/path");
    const rt = sink.of("responseTrailers")[0]!.trailers;
    expect(rt).toEqual([
      ["grpc-status", "0"],
      ["x-t", "1"],
      ["x-trailer-added", "yes"],
      ["x-trailer-count", "2"],
    ]);
    stream.complete();
  });
});

describe("bodies", () => {
  async function run(op: string, chunks: string[], respOp = "", respChunks: string[] = ["upstream"]) {
    const { filter } = loaded.at(-1)!;
    const { stream, sink } = openStream(filter);
    const extra: HeaderList = [
      ["x-body-op", op],
      ["x-body-data", "NEW"],
      ["content-length", String(chunks.join("").length)],
    ];
    if (respOp) extra.push(["x-resp-body-op", respOp], ["x-resp-body-data", "R"]);
    stream.requestHeaders(reqHeaders(extra), false);
    chunks.forEach((c, i) => stream.requestData(bytes(c), i === chunks.length - 1));
    stream.responseHeaders([[":status", "200"]], false);
    respChunks.forEach((c, i) => stream.responseData(bytes(c), i === respChunks.length - 1));
    stream.complete();
    const rh = sink.of("responseHeaders")[0]!.headers;
    return {
      request: sink
        .of("requestData")
        .map((e) => e.data)
        .join(""),
      requestHeaders: forwardedRequest(sink),
      response: sink
        .of("responseData")
        .map((e) => e.data)
        .join(""),
      seen: one(rh, "x-body-seen"),
      result: one(rh, "x-set-result"),
    };
  }

  it("reads the whole buffered body, then replaces, prepends or appends (Envoy's drain/prepend/append rule)", async () => {
    await load("sdk-body");
    for (const [op, want] of [
      ["replace", "NEW"],
      ["prepend", "NEWhello world"],
      ["append", "hello worldNEW"],
    ]) {
      const r = await run(op!, ["hello ", "world"]);
      expect(r.seen, op).toBe("hello world");
      expect(r.request, op).toBe(want);
      expect(r.result, op).toBe("0");
      expect(get(r.requestHeaders, "content-length"), op).toEqual([]);
    }
  });

  it("a start inside the buffer (neither 0 nor the end) is BadArgument and changes nothing", async () => {
    await load("sdk-body");
    const r = await run("raw:3:2", ["hello world"]);
    expect(r.result).toBe("2");
    expect(r.request).toBe("hello world");
  });

  it("the response body is rewritten the same way", async () => {
    await load("sdk-body");
    expect((await run("", ["x"], "replace", ["up", "stream"])).response).toBe("R");
    expect((await run("", ["x"], "append", ["up", "stream"])).response).toBe("upstreamR");
  });
});

describe("local responses", () => {
  it("status, body and headers arrive; the request goes no further even though the callback said Continue", async () => {
    const { filter } = await load("sdk-local");
    for (const variant of [[], [["x-local-bytes", "1"]]] as HeaderList[]) {
      const { stream, sink } = openStream(filter);
      stream.requestHeaders(reqHeaders([["x-local-status", "403"], ["x-local-body", "denied here"], ...variant]), true);
      const reply = sink.of("localReply");
      expect(reply).toHaveLength(1);
      expect(reply[0]!.status).toBe(403);
      expect(reply[0]!.body).toBe("denied here");
      expect(reply[0]!.details).toBe("sdk_local_reply");
      expect(one(reply[0]!.headers, "x-local")).toBe("yes");
      expect(sink.of("requestHeaders")).toEqual([]);
      stream.complete();
    }
  });

  it("grpc_status is passed through, and -1 (the default) sends none", async () => {
    const { filter } = await load("sdk-local");
    const grpcReq = (extra: HeaderList) => reqHeaders([["content-type", "application/grpc"], ["x-local-status", "200"], ...extra]);
    let { stream, sink } = openStream(filter);
    stream.requestHeaders(grpcReq([["x-local-grpc", "7"]]), true);
    expect(one(sink.of("localReply")[0]!.headers, "grpc-status")).toBe("7");
    stream.complete();
    ({ stream, sink } = openStream(filter));
    stream.requestHeaders(grpcReq([]), true);
    expect(get(sink.of("localReply")[0]!.headers, "grpc-status")).toEqual([]);
    stream.complete();
  });
});

describe("closing a stream", () => {
  it("closeStream resets the stream with Envoy's details", async () => {
    const { filter } = await load("sdk-local");
    const { stream, sink } = openStream(filter);
    stream.requestHeaders(reqHeaders([["x-close", "1"]]), true);
    expect(sink.events).toEqual([{ kind: "reset", details: "wasm_close_stream" }]);
    stream.complete();
  });
});

describe("properties", () => {
  it("strings, 8-byte integers, maps, lists, bools, set/get round trip, the failures; log level, clock, foreign functions", async () => {
    const { filter } = await load("sdk-props", { rootId: "props-root" });
    const { stream, sink } = openStream(filter);
    stream.requestHeaders(reqHeaders([["x-probe", "probe-value"]], "/p?q=1"), true);
    await until(() => sink.of("localReply").length === 1, "the properties reply");
    const lines = Object.fromEntries(
      fromLatin1(sink.of("localReply")[0]!.body)
        .trim()
        .split("\n")
        .map((l) => l.split(/=(.*)/s).slice(0, 2)),
    );
    expect(lines).toEqual({
      path: "/p?q=1",
      method: "POST",
      root_id: "props-root",
      time_positive: "true",
      port: "40000",
      probe: "probe-value",
      missing: "1",
      roundtrip: "v\u00e9",
      flag: "true",
      list: "a,b\u00e9",
      size_mismatch: "4",
      log_level: "2",
      clock: "close",
      foreign: "1",
    });
    expect(Buffer.from(sink.info.filterState.get("wasm.sdk_probe")!).toString("utf8")).toBe("v\u00e9");
    stream.complete();
  });
});
