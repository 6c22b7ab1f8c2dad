// Body handling: cumulative size and content with StopIterationAndBuffer, only the new chunk with
// Watermark, set_buffer_bytes rules, the buffer limit (413 / 500 / reset), and data held while
// stopped-all being replayed to the filter after continue_stream.
import { afterEach, describe, expect, it } from "vitest";
import { type Loaded, bytes, loadFixture, openStream, reqHeaders, until } from "./helpers.js";

let loaded: Loaded | undefined;
afterEach(async () => {
  await loaded?.filter.close();
  loaded = undefined;
});

const load = async (configuration: string, extra: Record<string, unknown> = {}, limit?: number) =>
  (loaded = await loadFixture("host-body", { configuration, ...extra }, { bufferLimitBytes: limit }));

function send(l: Loaded, chunks: string[]) {
  const { stream, sink } = openStream(l.filter);
  stream.requestHeaders(reqHeaders(), false);
  chunks.forEach((c, i) => stream.requestData(bytes(c), i === chunks.length - 1));
  return { stream, sink };
}

describe("request body", () => {
  it("with StopIterationAndBuffer, body_size is cumulative and the module sees the whole body", async () => {
    const l = await load("mode=buffer");
    const { sink } = send(l, ["ab", "cd", "ef"]);
    expect(l.messages()).toEqual(["rb 2 0 ab", "rb 4 0 abcd", "rb 6 1 abcdef"]);
    expect(sink.of("requestData")).toEqual([{ kind: "requestData", data: "abcdef", eos: true }]);
  });

  it("with StopIterationAndWatermark, each callback sees only the new chunk; all is forwarded at Continue", async () => {
    const l = await load("mode=watermark");
    const { sink } = send(l, ["ab", "cd", "ef"]);
    expect(l.messages()).toEqual(["rb 2 0 ab", "rb 2 0 cd", "rb 2 1 ef"]);
    expect(
      sink
        .of("requestData")
        .map((e) => e.data)
        .join(""),
    ).toBe("abcdef");
  });

  it("with StopIterationNoBuffer, the chunks are consumed: only the last one is forwarded", async () => {
    const l = await load("mode=nobuffer");
    const { sink } = send(l, ["ab", "cd", "ef"]);
    expect(sink.of("requestData")).toEqual([{ kind: "requestData", data: "ef", eos: true }]);
  });

  const setCases: Array<[string, string, string]> = [
    ["replace", "set 0", "NEW"],
    ["prepend", "set 0", "PRE-abcd"],
    ["append", "set 0", "abcd-POST"],
    ["drain", "set 0", "cd"],
    ["bad", "set 2", "abcd"],
  ];
  for (const [mode, result, forwarded] of setCases) {
    it(`set_buffer_bytes ${mode}: ${result}, forwards ${JSON.stringify(forwarded)}`, async () => {
      const l = await load(`mode=buffer set=${mode}`);
      const { sink } = send(l, ["ab", "cd"]);
      expect(l.messages().slice(-2)).toEqual([result, `after ${forwarded}`]);
      expect(sink.of("requestData")).toEqual([{ kind: "requestData", data: forwarded, eos: true }]);
    });
  }

  it("answers 413 request_payload_too_large when the buffered body passes the limit", async () => {
    const l = await load("mode=buffer", {}, 5);
    const { sink } = send(l, ["abc", "def", "ghi"]);
    expect(sink.of("localReply")).toEqual([{ kind: "localReply", status: 413, headers: [], body: "Payload Too Large", details: "request_payload_too_large" }]);
    // The chunk that overflowed never reached the module; the reply ran through the response path.
    expect(l.messages()).toEqual(["rb 3 0 abc", "sb 17 1 Payload Too Large"]);
    expect(sink.of("requestData")).toEqual([]); // headers went on (Continue), the body never did
    expect(sink.of("responseHeaders")[0]!.headers[0]).toEqual([":status", "413"]);
  });

  it("does not apply the limit to watermark buffering (flow control instead)", async () => {
    const l = await load("mode=watermark", {}, 3);
    const { sink } = send(l, ["abc", "def", "ghi"]);
    expect(sink.of("localReply")).toEqual([]);
    expect(
      sink
        .of("requestData")
        .map((e) => e.data)
        .join(""),
    ).toBe("abcdefghi");
  });
});

describe("stopped-all", () => {
  it("holds body chunks while paused and replays them to the module after a deferred continue_stream", async () => {
    const l = await load("mode=stopall");
    const { sink } = send(l, ["ab", "cd"]);
    expect(l.messages()).toEqual([]); // no body callback while stopped
    expect(sink.events).toEqual([]);
    await until(() => sink.of("requestData").length > 0, "the replayed body to be forwarded");
    expect(l.messages()).toEqual(["tick effective 0", "tick continue 0", "rb 4 1 abcd"]);
    expect(sink.kinds()).toEqual(["requestHeaders", "requestData"]);
    expect(sink.of("requestHeaders")[0]!.eos).toBe(false);
    expect(sink.of("requestData")[0]).toEqual({ kind: "requestData", data: "abcd", eos: true });
  });
});

describe("response body", () => {
  function respond(l: Loaded, chunks: string[]) {
    const { stream, sink } = send(l, ["x"]);
    stream.responseHeaders([[":status", "200"]], false);
    chunks.forEach((c, i) => stream.responseData(bytes(c), i === chunks.length - 1));
    return sink;
  }

  it("buffers the response body the same way", async () => {
    const l = await load("mode=watermark");
    const sink = respond(l, ["12", "34"]);
    expect(l.messages().filter((m) => m.startsWith("sb"))).toEqual(["sb 2 0 12", "sb 4 1 1234"]);
    expect(sink.of("responseData")).toEqual([{ kind: "responseData", data: "1234", eos: true }]);
  });

  it("over the limit with response headers already sent: the stream is reset", async () => {
    const l = await load("mode=watermark", {}, 3);
    const sink = respond(l, ["12", "34", "56"]);
    expect(sink.of("reset")).toEqual([{ kind: "reset", details: "response_payload_too_large" }]);
  });

  it("over the limit with response headers held: a direct 500 that bypasses the filter", async () => {
    const l = await load("mode=watermark resp=hold", { allowOnHeadersStopIteration: true }, 3);
    const sink = respond(l, ["12", "34", "56"]);
    expect(sink.of("localReply")).toEqual([
      { kind: "localReply", status: 500, headers: [], body: "Internal Server Error", details: "response_payload_too_large" },
    ]);
    expect(sink.of("responseHeaders").map((e) => e.headers[0])).toEqual([[":status", "500"]]);
    expect(sink.of("responseData")).toEqual([{ kind: "responseData", data: "Internal Server Error", eos: true }]);
    expect(l.messages().filter((m) => m.startsWith("sb"))).toEqual(["sb 2 0 12"]);
  });
});
