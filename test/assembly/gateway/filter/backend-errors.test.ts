// Upstream errors in OpenAI's shape (Envoy AI Gateway v1.1.0 internal/translator/openai_openai.go): a
// response outside 2xx whose content-type does not say application/json is rewritten as an
// OpenAIBackendError with the status as its code; JSON errors, successes and the filter's own replies are
// not. Also the x-ai-eg-original-path header every routed request carries.
import zlib from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WasmFilter } from "../../../../src-host/proxy-wasm/index.js";
import type { HeaderList } from "../../../../src-host/dataplane-api/http-filter.js";
import { TestSink, bytes, load, request } from "./helpers.js";

let filter: WasmFilter;
beforeAll(async () => {
  ({ filter } = await load());
});
afterAll(() => filter.close());

const CHAT = JSON.stringify({ model: "m1", messages: [{ role: "user", content: "hi" }] });

/** A chat completion routed by the filter (sent on, as the router would), awaiting its response. */
function routed(path = "/v1/chat/completions"): TestSink {
  const sink = new TestSink().attach(filter);
  sink.stream.requestHeaders(
    request("POST", path, [
      ["content-type", "application/json"],
      ["x-ai-eg-original-path", "/spoofed"],
    ]),
    false,
  );
  sink.stream.requestData(bytes(CHAT), true);
  expect(sink.header("x-ai-eg-backend")).toBe("default/b1");
  return sink;
}

/** Sends a response (headers, then the body in two chunks) and returns what the client gets. */
function respond(sink: TestSink, headers: HeaderList, body: Uint8Array): { status?: string; type?: string; encoding?: string; length?: string; body: Buffer } {
  sink.stream.responseHeaders(headers, false);
  const half = body.length >> 1;
  sink.stream.responseData(body.subarray(0, half), false);
  sink.stream.responseData(body.subarray(half), true);
  sink.stream.complete();
  return {
    status: sink.responseHeader(":status"),
    type: sink.responseHeader("content-type"),
    encoding: sink.responseHeader("content-encoding"),
    length: sink.responseHeader("content-length"),
    body: Buffer.concat(sink.responseBody),
  };
}

describe("upstream errors", () => {
  it("wraps Envoy's text 503 as an OpenAIBackendError with the status as code, content-length fixed", () => {
    const out = respond(
      routed(),
      [
        [":status", "503"],
        ["content-type", "text/plain"],
        ["content-length", "19"],
      ],
      bytes("no healthy upstream"),
    );
    const want = '{"type":"error","error":{"type":"OpenAIBackendError","code":"503","message":"no healthy upstream"}}';
    expect(out).toEqual({ status: "503", type: "application/json", encoding: undefined, length: String(want.length), body: Buffer.from(want) });
  });

  it("wraps an error without content-type, escaping what JSON must escape and keeping UTF-8", () => {
    const text = 'bad "gateway"\\\n\u0001 — ü';
    const out = respond(routed(), [[":status", "502"]], bytes(text));
    expect(out.type).toBe("application/json");
    expect(JSON.parse(out.body.toString("utf8"))).toEqual({ type: "error", error: { type: "OpenAIBackendError", code: "502", message: text } });
  });

  it("inflates a gzip'd text error before wrapping it and drops content-encoding", () => {
    const gz = zlib.gzipSync("upstream overloaded, try later");
    const out = respond(
      routed(),
      [
        [":status", "429"],
        ["content-type", "text/html; charset=utf-8"],
        ["content-encoding", "gzip"],
      ],
      gz,
    );
    expect(out.encoding).toBeUndefined();
    expect(JSON.parse(out.body.toString("utf8")).error).toEqual({ type: "OpenAIBackendError", code: "429", message: "upstream overloaded, try later" });
  });

  it("passes a gzip'd error that inflates beyond 16 MiB as it came, without the VM's memory holding it (a gzip bomb)", () => {
    const gz = zlib.gzipSync(Buffer.alloc(100 << 20, "x"), { level: 9 });
    expect(gz.length).toBeLessThan(200_000);
    const memory = filter.vms.map((vm) => vm.memory.byteLength);
    const out = respond(
      routed(),
      [
        [":status", "500"],
        ["content-type", "text/plain"],
        ["content-encoding", "gzip"],
      ],
      gz,
    );
    expect(out.status).toBe("500");
    expect(out.encoding).toBe("gzip");
    expect(out.body.equals(gz)).toBe(true);
    // Bounded by the 16 MiB cap (the buffer doubling up to it holds 31 MiB at most), far from the 100 MiB the
    // body stands for. The allocator grows memory by at least its current size each time, so the growth can
    // reach about twice that, depending on the module's own size: 64 MiB.
    filter.vms.forEach((vm, i) => expect(vm.memory.byteLength - memory[i]!).toBeLessThan(64 << 20));
    // A 2xx JSON answer of the same kind keeps the usage unread and passes untouched.
    const ok = respond(
      routed(),
      [
        [":status", "200"],
        ["content-type", "application/json"],
        ["content-encoding", "gzip"],
      ],
      gz,
    );
    expect(ok.body.equals(gz)).toBe(true);
  });

  it("passes JSON errors (any content-type naming application/json), successes and bodiless errors through untouched", () => {
    const json = '{"object":"error","message":"The model `x` does not exist.","code":404}';
    expect(
      respond(
        routed(),
        [
          [":status", "404"],
          ["content-type", "application/json; charset=utf-8"],
        ],
        bytes(json),
      ).body.toString(),
    ).toBe(json);
    expect(
      respond(
        routed(),
        [
          [":status", "200"],
          ["content-type", "text/plain"],
        ],
        bytes("plain ok"),
      ).body.toString(),
    ).toBe("plain ok");
    const sink = routed();
    sink.stream.responseHeaders(
      [
        [":status", "503"],
        ["content-type", "text/plain"],
      ],
      true,
    );
    expect(sink.responseHeader(":status")).toBe("503");
    expect(sink.responseBody).toEqual([]);
    sink.stream.complete();
  });

  it("leaves the filter's own replies as they are (the 404 text for an unknown model)", () => {
    const sink = new TestSink().attach(filter);
    sink.stream.requestHeaders(request("POST", "/v1/chat/completions", [["content-type", "application/json"]]), false);
    sink.stream.requestData(bytes(JSON.stringify({ model: "nope", messages: [{ role: "user", content: "hi" }] })), true);
    expect(sink.responseHeader(":status")).toBe("404");
    expect(sink.responseText()).toMatch(/^No matching route found/);
    sink.stream.complete();
  });
});

describe("x-ai-eg-original-path", () => {
  it("carries the client's :path, query included, over any value the client sent; x-envoy-original-path too", () => {
    const sink = routed("/v1/chat/completions?api-version=1");
    expect(sink.requestHeaders!.filter(([k]) => k === "x-ai-eg-original-path")).toEqual([["x-ai-eg-original-path", "/v1/chat/completions?api-version=1"]]);
    expect(sink.header("x-envoy-original-path")).toBe("/v1/chat/completions?api-version=1");
    sink.stream.complete();
  });
});
