// The production module on the audio endpoints' multipart/form-data bodies, sent in small pieces: the form
// is scanned as it arrives (assembly/gateway/request/multipart.ts FormScan) and decided at its end, with
// the answers of a form read whole: routed by its model, modelNameOverride written into the field, the
// body passed on byte for byte, a malformed form answered 400 only once it has ended.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WasmFilter } from "../../../../src-host/proxy-wasm/index.js";
import { TestSink, load, pluginConfig, request } from "./helpers.js";

const CT = "multipart/form-data; boundary=XyZ";
const part = (name: string, value: string) => `--XyZ\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
const FILE = '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\nRIFF\x00\r\n--XyZX\r\n\r\n-';
const FORM = "preamble\r\n" + part("model", "m1") + FILE + "\r\n--XyZ--\r\n";

function send(filter: WasmFilter, body: string, piece: number, contentType = CT, trailers = false): TestSink {
  const sink = new TestSink().attach(filter);
  sink.stream.requestHeaders(request("POST", "/v1/audio/transcriptions", [["content-type", contentType]]), false);
  const bytes = Buffer.from(body, "latin1");
  for (let off = 0; off < bytes.length; off += piece) {
    const end = Math.min(off + piece, bytes.length);
    sink.stream.requestData(bytes.subarray(off, end), !trailers && end === bytes.length);
  }
  if (trailers) sink.stream.requestTrailers([["x-t", "1"]]);
  return sink;
}

const received = (sink: TestSink) => Buffer.concat(sink.requestBody).toString("latin1");

describe("production module: a multipart form in pieces", () => {
  let plain: WasmFilter;
  let rewriting: WasmFilter;
  beforeAll(async () => {
    ({ filter: plain } = await load());
    const rules = [
      {
        route: "default/r",
        index: 0,
        matches: [{ headers: [{ name: "x-ai-eg-model", type: "Exact" as const, value: "m1" }] }],
        backends: [{ name: "default/b1", kind: "AIServiceBackend" as const, weight: 1, modelNameOverride: "whisper-large-v3" }],
      },
    ];
    ({ filter: rewriting } = await load({ configuration: JSON.stringify(pluginConfig({ rules })) }));
  });
  afterAll(() => {
    plain.close();
    rewriting.close();
  });

  it("routes by the form's model whatever the pieces, the body passed on as it came", () => {
    for (const piece of [1, 2, 3, 7, 16, 1000]) {
      const sink = send(plain, FORM, piece);
      expect(sink.localReplies, `pieces of ${piece}`).toEqual([]);
      expect(sink.header("x-ai-eg-model")).toBe("m1");
      expect(sink.header("x-ai-eg-backend")).toBe("default/b1");
      expect(received(sink)).toBe(FORM);
      sink.stream.complete();
    }
  });

  it("writes modelNameOverride into the field, also when trailers end the body", () => {
    for (const trailers of [false, true]) {
      const sink = send(rewriting, FORM, 5, CT, trailers);
      expect(sink.localReplies).toEqual([]);
      expect(sink.header("x-ai-eg-model")).toBe("m1"); // the client's, which the route matched
      expect(received(sink)).toBe(FORM.replace("\r\n\r\nm1\r\n", "\r\n\r\nwhisper-large-v3\r\n"));
      expect(sink.header("content-length")).toBe(String(FORM.length + "whisper-large-v3".length - 2));
      sink.stream.complete();
    }
  });

  it("answers a malformed form with 400 once it has ended, as for the whole body", () => {
    const cases: Array<[string, string, string]> = [
      [part("model", "m1") + "--XyZ--\r\n", CT, "malformed request: missing required field 'file'"],
      [FILE + "\r\n--XyZ--\r\n", CT, "malformed request: missing required field 'model'"],
      [part("model", "m1") + FILE, CT, "malformed request: failed to parse multipart form data: multipart: unexpected EOF"],
      [FORM, "application/json", "malformed request: expected multipart/form-data content type for /v1/audio/transcriptions"],
      [FORM, "multipart/form-data", "malformed request: failed to parse multipart form data: missing boundary"],
    ];
    for (const [body, contentType, message] of cases) {
      const sink = send(plain, body, 4, contentType);
      expect(
        sink.localReplies.map((r) => r.status),
        message,
      ).toEqual([400]);
      expect(JSON.parse(sink.localReplies[0]!.body).error.message).toBe(message);
      expect(sink.requestBody).toEqual([]);
      sink.stream.complete();
    }
  });
});
