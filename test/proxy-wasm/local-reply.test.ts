// continue_stream, send_local_response and close_stream take effect after the call that made them
// returns; a local reply forces the callback to stop and runs through the filter's response path.
import { afterEach, describe, expect, it } from "vitest";
import type { HeaderList } from "../../src-host/dataplane-api/http-filter.js";
import { type Loaded, type SinkEvent, TestSink, loadFixture, openStream, reqHeaders } from "./helpers.js";

let loaded: Loaded | undefined;
afterEach(async () => {
  await loaded?.filter.close();
  loaded = undefined;
});

/** Sink events and module log lines in the order they happened. */
async function run(extra: HeaderList) {
  const timeline: string[] = [];
  const l = (loaded = await loadFixture("host-local", {}, { onLog: (line) => timeline.push(`log: ${line.message}`) }));
  const sink = new TestSink();
  const record = sink.events.push.bind(sink.events);
  sink.events.push = (...e: SinkEvent[]) => {
    for (const ev of e) timeline.push(`sink: ${ev.kind}`);
    return record(...e);
  };
  const { stream } = openStream(l.filter, sink);
  stream.requestHeaders(reqHeaders(extra), true);
  return { l, sink, stream, timeline };
}

describe("send_local_response", () => {
  it("is deferred, stops the callback, replaces spaces in details and runs through the response path", async () => {
    const { sink, timeline } = await run([["x-action", "reply"]]);
    expect(timeline).toEqual(["log: after reply 0", "sink: localReply", "log: response 403 policy", "sink: responseHeaders", "sink: responseData"]);
    expect(sink.of("localReply")).toEqual([
      { kind: "localReply", status: 403, headers: [["x-reason", "policy"]], body: "denied", details: "access_denied_by_policy" },
    ]);
    expect(sink.of("requestHeaders")).toEqual([]); // Continue was forced to StopAll
    expect(sink.of("responseHeaders")[0]!.headers).toContainEqual(["x-filter-saw", "1"]);
  });

  it("adds grpc-status for a gRPC request only when the status is within 0..16", async () => {
    const grpc: HeaderList = [
      ["content-type", "application/grpc"],
      ["x-action", "reply"],
    ];
    expect((await run([...grpc, ["x-grpc", "7"]])).sink.of("localReply")[0]!.headers).toEqual([
      ["x-reason", "policy"],
      ["grpc-status", "7"],
    ]);
    await loaded!.filter.close();
    expect((await run([...grpc, ["x-grpc", "-1"]])).sink.of("localReply")[0]!.headers).toEqual([["x-reason", "policy"]]);
    await loaded!.filter.close();
    expect(
      (
        await run([
          ["x-action", "reply"],
          ["x-grpc", "7"],
        ])
      ).sink.of("localReply")[0]!.headers,
    ).toEqual([["x-reason", "policy"]]);
  });

  it("sends only the first of two local replies", async () => {
    const { sink } = await run([["x-action", "reply-twice"]]);
    expect(sink.of("localReply").map((e) => e.status)).toEqual([401]);
  });

  it("a local reply while the upstream response is held replaces it directly, without the filter", async () => {
    const { l, sink, stream } = await run([]);
    stream.responseHeaders(
      [
        [":status", "200"],
        ["x-upstream-action", "reply"],
      ],
      false,
    );
    stream.responseData(new Uint8Array([1]), true);
    expect(sink.of("localReply").map((e) => [e.status, e.details])).toEqual([[502, "bad_upstream"]]);
    expect(sink.of("responseHeaders").map((e) => e.headers[0])).toEqual([[":status", "502"]]);
    expect(sink.of("responseHeaders")[0]!.headers).not.toContainEqual(["x-filter-saw", "1"]);
    expect(l.messages().filter((m) => m.startsWith("response"))).toEqual(["response 200 <1>"]);
  });
});

describe("continue_stream and close_stream", () => {
  it("continue_stream runs after the callback returned; bad stream types are refused", async () => {
    const { timeline } = await run([["x-action", "continue"]]);
    expect(timeline).toEqual(["log: continue 0", "log: continue-bad 2 12", "sink: requestHeaders"]);
  });

  it("close_stream resets the stream after the callback, with details wasm_close_stream", async () => {
    const { sink, timeline } = await run([["x-action", "close"]]);
    expect(timeline).toEqual(["log: close 0", "sink: requestHeaders", "sink: reset"]);
    expect(sink.of("reset")).toEqual([{ kind: "reset", details: "wasm_close_stream" }]);
  });
});
