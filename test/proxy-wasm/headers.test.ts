// Header maps as Envoy exposes them: lookups, byte size, the pairs encoding both ways, changes while the
// headers are held, BadArgument once they were continued, and read-only maps in on_log.
import { afterEach, describe, expect, it } from "vitest";
import { decodePairs, encodePairs } from "../../src-host/proxy-wasm/index.js";
import { type Loaded, bytes, loadFixture, openStream, reqHeaders } from "./helpers.js";

let loaded: Loaded | undefined;
afterEach(async () => {
  await loaded?.filter.close();
  loaded = undefined;
});

const b = (s: string) => new Uint8Array(Buffer.from(s, "latin1"));
const s = (u: Uint8Array) => Buffer.from(u).toString("latin1");

describe("pairs encoding", () => {
  it("encodes as u32 count, (key_len, value_len)×n, then NUL-terminated keys and values", () => {
    const enc = encodePairs([
      [b("a"), b("xy")],
      [b(":k"), b("")],
    ]);
    expect(Buffer.from(enc).toString("hex")).toBe("02000000" + "01000000" + "02000000" + "02000000" + "00000000" + "6100" + "787900" + "3a6b00" + "00");
  });

  it("round-trips binary, empty and repeated entries", () => {
    const pairs: Array<[Uint8Array, Uint8Array]> = [
      [b("k"), b("v1")],
      [b("k"), b("v2")],
      [b("e"), b("")],
      [b("bin"), Uint8Array.of(0, 255, 10)],
    ];
    expect(decodePairs(encodePairs(pairs)).map(([k, v]) => [s(k), [...v]])).toEqual(pairs.map(([k, v]) => [s(k), [...v]]));
  });

  it("parses malformed input as an empty list, as Envoy does", () => {
    const good = encodePairs([[b("a"), b("b")]]);
    expect(decodePairs(good.subarray(0, good.length - 1))).toEqual([]); // missing NUL
    expect(decodePairs(Uint8Array.of(...good, 0))).toEqual([]); // trailing byte
    const noNul = good.slice();
    noNul[noNul.length - 3] = 0x41; // the key's terminator
    expect(decodePairs(noNul)).toEqual([]);
    expect(decodePairs(Uint8Array.of(5, 0, 0, 0))).toEqual([]); // count beyond the input
    const many = new Uint8Array(4 + 1025 * 10);
    new DataView(many.buffer).setUint32(0, 1025, true);
    expect(decodePairs(many)).toEqual([]); // more than 1024 pairs
    expect(decodePairs(new Uint8Array(0))).toEqual([]);
  });
});

describe("header maps", () => {
  const input = () =>
    reqHeaders([
      ["x-multi", "one"],
      ["x-multi", "two"],
      ["x-replace", "old"],
      ["x-remove", "gone"],
    ]);

  it("reads the first value of a repeated header, lower-cases keys, reports byte size, rejects bad map types", async () => {
    const l = (loaded = await loadFixture("host-headers"));
    const { stream } = openStream(l.filter);
    const h = input();
    const byteSize = h.reduce((n, [k, v]) => n + k.length + v.length, 0);
    stream.requestHeaders(h, true);
    expect(l.messages().slice(0, 4)).toEqual(["first one", "missing <1>", "badmap <2>", `size ${byteSize}`]);
  });

  it("applies a pairs round trip, add, replace (all values, moved to the end), remove, and keeps pseudo-headers first", async () => {
    const l = (loaded = await loadFixture("host-headers"));
    const { stream, sink } = openStream(l.filter);
    stream.requestHeaders(input(), true);
    expect(l.messages().slice(4, 8)).toEqual(["set-pairs 0", "add 0", "replace 0", "remove 0"]);
    expect(sink.of("requestHeaders")[0]!.headers).toEqual([
      [":method", "POST"],
      [":path", "/v1/chat"],
      [":authority", "gw.local"],
      [":scheme", "http"],
      [":pseudo", "p"],
      ["x-multi", "one"],
      ["x-multi", "two"],
      ["x-added", "1"],
      ["x-replace", "new"],
    ]);
  });

  it("answers BadArgument for header access after the headers continued", async () => {
    const l = (loaded = await loadFixture("host-headers", { configuration: "rh=0" }));
    const { stream, sink } = openStream(l.filter);
    stream.requestHeaders(input(), false);
    stream.requestData(bytes("x"), true);
    expect(l.messages().filter((m) => m.startsWith("late"))).toEqual(["late-get <2>", "late-set 2", "late-pairs 0"]);
    expect(sink.of("requestHeaders")[0]!.headers.some(([k]) => k === "x-late")).toBe(false);
  });

  it("keeps the headers mutable in the body phase while they are held (StopIteration allowed)", async () => {
    const l = (loaded = await loadFixture("host-headers", { configuration: "rh=1", allowOnHeadersStopIteration: true }));
    const { stream, sink } = openStream(l.filter);
    stream.requestHeaders(input(), false);
    stream.requestData(bytes("x"), true);
    expect(l.messages().filter((m) => m.startsWith("late-get") || m.startsWith("late-set"))).toEqual(["late-get /v1/chat", "late-set 0"]);
    expect(sink.of("requestHeaders")[0]!.headers).toContainEqual(["x-late", "1"]);
  });

  it("lets the last body callback add request trailers, which then end the request", async () => {
    const l = (loaded = await loadFixture("host-headers"));
    const { stream, sink } = openStream(l.filter);
    stream.requestHeaders(input(), false);
    stream.requestData(bytes("a"), false);
    stream.requestData(bytes("b"), true);
    expect(l.messages().filter((m) => m.startsWith("add-trailer"))).toEqual(["add-trailer 0 2", "add-trailer 1 0"]);
    expect(sink.events.slice(1)).toEqual([
      { kind: "requestData", data: "a", eos: false },
      { kind: "requestData", data: "b", eos: false },
      { kind: "requestTrailers", trailers: [["x-added-trailer", "t"]] },
    ]);
  });

  it("changes response headers; request headers are gone in the response phase; on_log reads both but cannot change them", async () => {
    const l = (loaded = await loadFixture("host-headers"));
    const { stream, sink } = openStream(l.filter);
    stream.requestHeaders(input(), true);
    stream.responseHeaders([[":status", "200"]], true);
    stream.complete();
    expect(sink.of("responseHeaders")[0]!.headers).toEqual([
      [":status", "200"],
      ["x-resp", "1"],
    ]);
    expect(l.messages().filter((m) => m.startsWith("req-in-resp") || m.startsWith("log-"))).toEqual([
      "req-in-resp <2>",
      "log-path /v1/chat",
      "log-status 200",
      "log-set 2",
    ]);
  });
});
