// The filter's hand-written ext_proc protobuf code (assembly/gateway/extproc) against protobufjs encodings of
// Envoy's own .proto files: requests the filter encodes must decode to the same message, responses an EPP
// encodes must decode to the same fields, unknown fields are skipped and malformed input is an error.
import { beforeAll, describe, expect, it } from "vitest";
import protobuf from "protobufjs";
import { loadExtProcRoot } from "./extproc-proto.js";
import { loadLogicModule, type LogicModule } from "../logic-module.js";

let m: LogicModule;
let root: protobuf.Root;
let ProcessingRequest: protobuf.Type;
let ProcessingResponse: protobuf.Type;

beforeAll(() => {
  m = loadLogicModule("logic-extproc");
  root = loadExtProcRoot();
  ProcessingRequest = root.lookupType("envoy.service.ext_proc.v3.ProcessingRequest");
  ProcessingResponse = root.lookupType("envoy.service.ext_proc.v3.ProcessingResponse");
});

/** proxy-wasm serialized header map (cpp-host pairs_util.cc). */
function pairs(headers: [string, string | Buffer][]): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(4 + headers.length * 8);
  head.writeUInt32LE(headers.length, 0);
  headers.forEach(([k, v], i) => {
    const kb = Buffer.from(k);
    const vb = typeof v === "string" ? Buffer.from(v) : v;
    head.writeUInt32LE(kb.length, 4 + i * 8);
    head.writeUInt32LE(vb.length, 8 + i * 8);
    parts.push(kb, Buffer.from([0]), vb, Buffer.from([0]));
  });
  return Buffer.concat([head, ...parts]);
}

function decodeRequest(bytes: Uint8Array): any {
  return ProcessingRequest.toObject(ProcessingRequest.decode(bytes), { longs: String, enums: Number, defaults: false });
}

const buf = (b: Uint8Array | undefined): Buffer => Buffer.from(b ?? []);

function encodeHeaders(
  phase: number,
  hs: [string, string | Buffer][],
  eos: boolean,
  served = "",
  subset: string[] | null = null,
  modes: [number, number] | null = null,
): any {
  const p = m.put(pairs(hs));
  const sp = m.put(served);
  const subsetText = subset === null ? "-" : subset.join("\n");
  const lp = m.put(subsetText);
  const ok = m.exports.encodeHeaders(
    phase,
    p,
    pairs(hs).length,
    eos ? 1 : 0,
    sp,
    Buffer.byteLength(served),
    lp,
    Buffer.byteLength(subsetText),
    modes ? modes[0] : -1,
    modes ? modes[1] : 0,
  );
  m.free(p);
  m.free(sp);
  m.free(lp);
  expect(ok).toBe(1);
  return decodeRequest(m.out());
}

function decodeResponse(bytes: Uint8Array): { code: number; result: any } {
  const p = m.put(bytes);
  const code = m.exports.decode(p, bytes.length) as number;
  const result = JSON.parse(m.outText());
  m.free(p);
  return { code, result };
}

function responseBytes(obj: object): Uint8Array {
  return ProcessingResponse.encode(ProcessingResponse.fromObject(obj)).finish();
}

describe("ProcessingRequest encoding", () => {
  it("encodes request headers from a proxy-wasm map into raw_value, with protocol_config", () => {
    const hs: [string, string | Buffer][] = [
      [":method", "POST"],
      [":path", "/v1/chat/completions"],
      [":authority", "gw.example"],
      ["content-type", "application/json"],
      ["x-gateway-inference-objective", "critical"],
      ["x-empty", ""],
      ["x-binary", Buffer.from([0xff, 0x00, 0x80, 0x41])],
      ["x-utf8", "héllo ✓"],
    ];
    const msg = encodeHeaders(0, hs, false, "", null, [4, 4]);
    expect(Object.keys(msg).sort()).toEqual(["protocol_config", "request_headers"]);
    const got = msg.request_headers.headers.headers.map((h: any) => [h.key, buf(h.raw_value)]);
    expect(got).toEqual(hs.map(([k, v]) => [k, Buffer.from(v as any)]));
    expect(msg.request_headers.end_of_stream).toBeUndefined();
    expect(msg.request_headers.headers.headers.every((h: any) => h.value === undefined)).toBe(true);
    expect(msg.protocol_config).toEqual({ request_body_mode: 4, response_body_mode: 4 });
  });

  it("marks end_of_stream and encodes response headers with the served endpoint in metadata_context", () => {
    const msg = encodeHeaders(
      1,
      [
        [":status", "200"],
        ["content-type", "text/event-stream"],
      ],
      true,
      "10.0.0.5:8000",
    );
    expect(msg.response_headers.end_of_stream).toBe(true);
    expect(msg.response_headers.headers.headers.map((h: any) => h.key)).toEqual([":status", "content-type"]);
    const lb = msg.metadata_context.filter_metadata["envoy.lb"];
    expect(lb.fields["x-gateway-destination-endpoint-served"]).toEqual({ stringValue: "10.0.0.5:8000" });
    expect(msg.protocol_config).toBeUndefined();
  });

  it("encodes the subset hint as a list, also an empty one, beside the served endpoint", () => {
    const msg = encodeHeaders(0, [[":method", "GET"]], true, "", ["10.0.0.1:8000", "[fd00::1]:8000"], [2, 0]);
    const hint = msg.metadata_context.filter_metadata["envoy.lb.subset_hint"].fields["x-gateway-destination-endpoint-subset"];
    expect(hint.listValue.values).toEqual([{ stringValue: "10.0.0.1:8000" }, { stringValue: "[fd00::1]:8000" }]);
    expect(msg.protocol_config).toEqual({ request_body_mode: 2 });
    const empty = encodeHeaders(0, [[":method", "GET"]], true, "1.2.3.4:80", [], null);
    const emptyHint = empty.metadata_context.filter_metadata["envoy.lb.subset_hint"].fields["x-gateway-destination-endpoint-subset"];
    expect(emptyHint.listValue.values ?? []).toEqual([]);
    expect(empty.metadata_context.filter_metadata["envoy.lb"].fields["x-gateway-destination-endpoint-served"].stringValue).toBe("1.2.3.4:80");
  });

  it("handles header maps whose lengths need multi-byte varints (shifted nested messages)", () => {
    const hs: [string, string][] = [];
    for (let i = 0; i < 300; i++) hs.push([`x-h-${i}`, "v".repeat(i)]);
    hs.push(["x-big", "b".repeat(70_000)]);
    const msg = encodeHeaders(0, hs, false);
    expect(msg.request_headers.headers.headers.length).toBe(301);
    msg.request_headers.headers.headers.forEach((h: any, i: number) => {
      expect(h.key).toBe(hs[i][0]);
      expect(buf(h.raw_value).toString()).toBe(hs[i][1]);
    });
  });

  it("rejects malformed proxy-wasm header maps", () => {
    const good = pairs([["a", "b"]]);
    for (const bad of [good.subarray(0, good.length - 1), Buffer.concat([good, Buffer.from([0])]), Buffer.from([1, 0, 0])]) {
      const p = m.put(bad);
      expect(m.exports.encodeHeaders(0, p, bad.length, 0, 0, 0, 0, 0, -1, 0)).toBe(0);
      m.free(p);
    }
    const noNul = Buffer.from(good);
    noNul[noNul.length - 1] = 0x41;
    const p = m.put(noNul);
    expect(m.exports.encodeHeaders(0, p, noNul.length, 0, 0, 0, 0, 0, -1, 0)).toBe(0);
  });

  it("encodes headers given as strings (UTF-8)", () => {
    const text = "x-model\nqwen/qwen3:8b\nx-name\nnaïve ✓";
    const p = m.put(text);
    m.exports.encodeHeaderStrings(0, p, Buffer.byteLength(text), 1);
    const msg = decodeRequest(m.out());
    expect(msg.request_headers.headers.headers.map((h: any) => [h.key, buf(h.raw_value).toString()])).toEqual([
      ["x-model", "qwen/qwen3:8b"],
      ["x-name", "naïve ✓"],
    ]);
    expect(msg.request_headers.end_of_stream).toBe(true);
  });

  it("encodes request and response body chunks (62,000 bytes, empty, end of stream)", () => {
    const body = Buffer.alloc(62_000);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 0xff;
    const p = m.put(body);
    m.exports.encodeBody(0, p, body.length, 0, 0, 0, 0);
    let msg = decodeRequest(m.out());
    expect(Object.keys(msg)).toEqual(["request_body"]);
    expect(Buffer.compare(buf(msg.request_body.body), body)).toBe(0);
    expect(msg.request_body.end_of_stream).toBeUndefined();

    const sp = m.put("10.1.2.3:9000");
    m.exports.encodeBody(1, p, 10, 1, sp, 13, 1);
    msg = decodeRequest(m.out());
    expect(buf(msg.response_body.body)).toEqual(body.subarray(0, 10));
    expect(msg.response_body.end_of_stream).toBe(true);
    expect(msg.observability_mode).toBe(true);
    expect(msg.metadata_context.filter_metadata["envoy.lb"].fields["x-gateway-destination-endpoint-served"].stringValue).toBe("10.1.2.3:9000");

    m.exports.encodeBody(0, 0, 0, 1, 0, 0, 0);
    msg = decodeRequest(m.out());
    expect(msg.request_body).toEqual({ end_of_stream: true });
    m.free(p);
    m.free(sp);
  });

  it("encodes trailers", () => {
    const hs: [string, string][] = [
      ["grpc-status", "0"],
      ["x-t", "1"],
    ];
    const p = m.put(pairs(hs));
    expect(m.exports.encodeTrailers(1, p, pairs(hs).length)).toBe(1);
    const msg = decodeRequest(m.out());
    expect(msg.response_trailers.trailers.headers.map((h: any) => [h.key, buf(h.raw_value).toString()])).toEqual(hs);
  });
});

describe("ProcessingResponse decoding", () => {
  it("decodes the EPP's request_headers reply: mutations, clear_route_cache, destination metadata", () => {
    const bytes = responseBytes({
      request_headers: {
        response: {
          status: 1,
          header_mutation: {
            set_headers: [
              { header: { key: "x-gateway-destination-endpoint", raw_value: Buffer.from("10.0.0.5:8000") } },
              { header: { key: "Content-Length", raw_value: Buffer.from("1234") }, append_action: 1 },
              { header: { key: "x-old-style", value: "v" }, append: { value: true } },
              { header: { key: "x-overwrite", raw_value: Buffer.from("o") }, append: { value: false } },
              { append_action: 2 }, // no header: skipped as Envoy does
            ],
            remove_headers: ["x-remove-me", "x-also"],
          },
          clear_route_cache: true,
        },
      },
      dynamic_metadata: {
        fields: {
          other: { structValue: { fields: { "x-gateway-destination-endpoint": { stringValue: "wrong" } } } },
          "envoy.lb": {
            structValue: {
              fields: {
                unrelated: { numberValue: 3 },
                "x-gateway-destination-endpoint": { stringValue: " 10.0.0.5:8000 ,10.0.0.6:8000" },
                "x-gateway-destination-endpoint-fallback": { stringValue: "10.0.0.7:8000" },
              },
            },
          },
        },
      },
      mode_override: {
        request_body_mode: 4,
        response_body_mode: 1,
        response_header_mode: 2,
        request_trailer_mode: 1,
        response_trailer_mode: 2,
        request_header_mode: 1,
      },
      override_message_timeout: { seconds: 2, nanos: 500_000_000 },
    });
    const { code, result } = decodeResponse(bytes);
    expect(code).toBe(0);
    expect(result.kind).toBe(1);
    expect(result.common.status).toBe(1);
    expect(result.common.clearRouteCache).toBe(true);
    expect(result.common.headers.set).toEqual([
      ["x-gateway-destination-endpoint", "10.0.0.5:8000", 2],
      ["Content-Length", "1234", 1],
      ["x-old-style", "v", 0],
      ["x-overwrite", "o", 2],
    ]);
    expect(result.common.headers.remove).toEqual(["x-remove-me", "x-also"]);
    expect(result.hasDestination).toBe(true);
    expect(result.destination).toBe(" 10.0.0.5:8000 ,10.0.0.6:8000");
    expect(result.primary).toBe("10.0.0.5:8000");
    expect(result.fallback).toBe("10.0.0.7:8000");
    expect(result.hasModeOverride).toBe(true);
    expect(result.mode).toEqual([1, 2, 4, 1, 1, 2]);
    expect(result.timeoutMs).toBe(2500);
  });

  it("decodes streamed body mutations, replacement and clear_body as views into the message", () => {
    let r = decodeResponse(
      responseBytes({
        request_body: { response: { body_mutation: { streamed_response: { body: Buffer.from('{"model":"x"}'), end_of_stream: true } } } },
      }),
    );
    expect(r.code).toBe(0);
    expect(r.result.kind).toBe(3);
    expect(r.result.common.bodyMutation).toBe(3);
    expect(r.result.common.body).toBe('{"model":"x"}');
    expect(r.result.common.streamedEndOfStream).toBe(true);
    expect(r.result.bodyIsView).toBe(true);
    expect(r.result.hasDestination).toBe(false);
    expect(r.result.timeoutMs).toBe(-1);

    const big = Buffer.alloc(62_000, 0x61);
    r = decodeResponse(responseBytes({ request_body: { response: { body_mutation: { streamed_response: { body: big } } } } }));
    expect(r.result.common.body.length).toBe(62_000);
    expect(r.result.common.streamedEndOfStream).toBe(false);

    r = decodeResponse(responseBytes({ response_body: { response: { body_mutation: { body: Buffer.from("new") } } } }));
    expect(r.result.kind).toBe(4);
    expect([r.result.common.bodyMutation, r.result.common.body]).toEqual([1, "new"]);

    r = decodeResponse(responseBytes({ response_body: { response: { body_mutation: { clear_body: true } } } }));
    expect(r.result.common.bodyMutation).toBe(2);
    r = decodeResponse(responseBytes({ response_headers: { response: { trailers: { headers: [{ key: "t" }] } } } }));
    expect([r.result.kind, r.result.common.hasTrailers, r.result.common.bodyMutation]).toEqual([2, true, 0]);
  });

  it("decodes an immediate response as the EPP sends it", () => {
    const { code, result } = decodeResponse(
      responseBytes({
        immediate_response: {
          status: { code: 429 },
          headers: { set_headers: [{ header: { key: "retry-after", raw_value: Buffer.from("1") } }] },
          body: Buffer.from("inference gateway: InferencePoolResourceExhausted - system saturated"),
          grpc_status: { status: 8 },
          details: "saturated",
        },
      }),
    );
    expect(code).toBe(0);
    expect(result.kind).toBe(7);
    expect(result.immediate).toEqual({
      status: 429,
      headers: { set: [["retry-after", "1", 2]], remove: [] },
      body: "inference gateway: InferencePoolResourceExhausted - system saturated",
      details: "saturated",
      grpcStatus: 8,
    });
  });

  it("decodes trailers responses and request_drain", () => {
    const bytes = Buffer.concat([
      responseBytes({
        response_trailers: { header_mutation: { set_headers: [{ header: { key: "x-t", raw_value: Buffer.from("v") } }], remove_headers: ["x-r"] } },
      }),
      Buffer.from([12 << 3, 1]), // request_drain = true (field 12, newer than the snapshot)
    ]);
    const { code, result } = decodeResponse(bytes);
    expect(code).toBe(0);
    expect(result.kind).toBe(6);
    expect(result.trailers).toEqual({ set: [["x-t", "v", 2]], remove: ["x-r"] });
    expect(result.requestDrain).toBe(true);
  });

  it("rejects a header option that sets both value and raw_value, as Envoy does", () => {
    const { code, result } = decodeResponse(
      responseBytes({
        request_headers: { response: { header_mutation: { set_headers: [{ header: { key: "k", value: "a", raw_value: Buffer.from("b") } }] } } },
      }),
    );
    expect(code).toBe(100);
    expect(result.error).toMatch(/both value and raw_value/);
  });

  it("skips unknown fields of every wire type at every level", () => {
    const unknown = (w: protobuf.Writer) => {
      w.uint32((900 << 3) | 0).uint64("18446744073709551615");
      w.uint32((901 << 3) | 1).fixed64(123);
      w.uint32((902 << 3) | 2).bytes(Buffer.from("junk"));
      w.uint32((903 << 3) | 5).fixed32(7);
      w.uint32((904 << 3) | 3); // group with nested content and a nested group
      w.uint32((1 << 3) | 0)
        .uint32(5)
        .uint32((2 << 3) | 2)
        .string("s");
      w.uint32((905 << 3) | 3)
        .uint32((3 << 3) | 5)
        .fixed32(1)
        .uint32((905 << 3) | 4);
      w.uint32((904 << 3) | 4);
      return w;
    };
    // CommonResponse{header_mutation{set_headers[HeaderValueOption{header{HeaderValue + unknown}} + unknown]} + unknown}
    const hv = unknown(
      protobuf.Writer.create()
        .uint32((1 << 3) | 2)
        .string("x-k")
        .uint32((3 << 3) | 2)
        .bytes(Buffer.from("v")),
    ).finish();
    const hvo = unknown(
      protobuf.Writer.create()
        .uint32((1 << 3) | 2)
        .bytes(hv),
    ).finish();
    const hm = unknown(
      protobuf.Writer.create()
        .uint32((1 << 3) | 2)
        .bytes(hvo),
    ).finish();
    const common = unknown(
      protobuf.Writer.create()
        .uint32((2 << 3) | 2)
        .bytes(hm)
        .uint32((5 << 3) | 0)
        .bool(true),
    ).finish();
    const headersResponse = unknown(
      protobuf.Writer.create()
        .uint32((1 << 3) | 2)
        .bytes(common),
    ).finish();
    const top = unknown(protobuf.Writer.create())
      .uint32((1 << 3) | 2)
      .bytes(headersResponse);
    const bytes = unknown(top).finish();
    // protobufjs agrees it is a valid message.
    expect(() => ProcessingResponse.decode(bytes)).not.toThrow();
    const { code, result } = decodeResponse(bytes);
    expect(code).toBe(0);
    expect(result.kind).toBe(1);
    expect(result.common.headers.set).toEqual([["x-k", "v", 2]]);
    expect(result.common.clearRouteCache).toBe(true);
  });

  it("skips a known field that arrives with an unexpected wire type", () => {
    // clear_route_cache (5) as fixed32, CommonResponse (1) as varint: ignored, not misread.
    const common = protobuf.Writer.create()
      .uint32((5 << 3) | 5)
      .fixed32(1)
      .uint32((1 << 3) | 2)
      .bytes(Buffer.from("x"))
      .finish();
    const bytes = protobuf.Writer.create()
      .uint32((3 << 3) | 2)
      .bytes(
        protobuf.Writer.create()
          .uint32((1 << 3) | 2)
          .bytes(common)
          .uint32((1 << 3) | 0)
          .uint32(7)
          .finish(),
      )
      .finish();
    const { code, result } = decodeResponse(bytes);
    expect(code).toBe(0);
    expect([result.kind, result.common.clearRouteCache, result.common.status]).toEqual([3, false, 0]);
  });

  it("errors on every truncation that protobufjs also rejects, and never traps", () => {
    const bytes = responseBytes({
      request_headers: {
        response: {
          header_mutation: { set_headers: [{ header: { key: "x-gateway-destination-endpoint", raw_value: Buffer.from("10.0.0.5:8000") } }] },
          clear_route_cache: true,
        },
      },
      dynamic_metadata: { fields: { "envoy.lb": { structValue: { fields: { "x-gateway-destination-endpoint": { stringValue: "10.0.0.5:8000" } } } } } },
      override_message_timeout: { seconds: 300 },
    });
    let errors = 0;
    for (let n = 0; n < bytes.length; n++) {
      const prefix = bytes.subarray(0, n);
      let jsOk = true;
      try {
        ProcessingResponse.decode(prefix);
      } catch {
        jsOk = false;
      }
      const { code } = decodeResponse(prefix);
      expect(code === 0, `prefix of ${n} bytes`).toBe(jsOk);
      if (code !== 0) errors++;
    }
    expect(errors).toBeGreaterThan(bytes.length / 2);
    expect(decodeResponse(bytes.subarray(0, 5)).result.error).toMatch(/truncated/);
  });

  it("rejects malformed wire data with a clear error", () => {
    const cases: [number[], RegExp][] = [
      [[0x0e], /wire type/], // wire type 6
      [[0x0f], /wire type/], // wire type 7
      [[0x00, 0x00], /field number/], // field 0
      [[0x0c], /group/], // end group with no start
      [[0x0b, 0x14], /group/], // group 1 closed by end of group 2
      [[0x0b, 0x08, 0x01], /truncated/], // group never closed
      [[0x08, 0x80, 0x80], /truncated/], // varint cut short
      [[0x08, ...Array(10).fill(0x80), 0x01], /varint/], // 11-byte varint
      [[0x08, ...Array(9).fill(0xff), 0x02], /varint/], // 10th byte beyond 64 bits
      [[0x09, 1, 2, 3], /truncated/], // fixed64 cut short
      [[0x0d, 1, 2], /truncated/], // fixed32 cut short
      [[0x0a, 0x05, 1, 2], /truncated/], // length beyond the end
      [[0x0a, 0x02, 0x0a, 0x05], /truncated/], // nested length beyond its parent
    ];
    for (const [bytes, re] of cases) {
      const { code, result } = decodeResponse(Uint8Array.from(bytes));
      expect(code, Buffer.from(bytes).toString("hex")).not.toBe(0);
      expect(result.error, Buffer.from(bytes).toString("hex")).toMatch(re);
    }
    // A 65-deep group nesting is refused rather than recursing without bound.
    const deep = [...Array(65).fill(0x0b), ...Array(65).fill(0x0c)];
    expect(decodeResponse(Uint8Array.from(deep)).result.error).toMatch(/deeply/);
    const ok = [...Array(30).fill(0x0b), ...Array(30).fill(0x0c)];
    expect(decodeResponse(Uint8Array.from(ok)).code).toBe(0);
  });

  it("reads varints up to 64 bits", () => {
    const read = (bytes: number[]) => {
      const p = m.put(Uint8Array.from(bytes));
      const code = m.exports.readVarint(p, bytes.length);
      m.free(p);
      return [code, m.outText()];
    };
    expect(read([0x00])).toEqual([0, "0"]);
    expect(read([0xac, 0x02])).toEqual([0, "300"]);
    expect(read([...Array(9).fill(0xff), 0x01])).toEqual([0, "18446744073709551615"]);
    expect(read([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01])).toEqual([0, "9223372036854775808"]);
    expect(read([0x80])[0]).not.toBe(0);
  });

  it("survives random garbage without trapping", () => {
    let seed = 12345;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed >>> 16;
    };
    for (let i = 0; i < 2000; i++) {
      const len = rnd() % 64;
      const bytes = new Uint8Array(len);
      for (let j = 0; j < len; j++) bytes[j] = rnd() & 0xff;
      const { code } = decodeResponse(bytes);
      expect(typeof code).toBe("number");
      const p = m.put(bytes);
      expect(typeof m.exports.walk(p, len)).toBe("number");
      m.free(p);
    }
    expect(m.log()).toBe("");
  });
});
