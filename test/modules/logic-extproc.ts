// Thin wrappers over assembly/gateway/extproc for test/assembly/gateway/extproc/extproc.test.ts.
// Bytes go in through alloc(); results come back as (outPtr(), outLen()) or as a JSON description.

import {
  ProcessingRequestEncoder, PHASE_REQUEST, PHASE_RESPONSE,
} from "../../assembly/gateway/extproc/request";
import {
  ProcessingResponse, ProcessingResponseDecoder, HeaderMutationView, viewToString,
} from "../../assembly/gateway/extproc/response";
import { ProtoReader, PB_OK } from "../../assembly/gateway/protobuf/wire";

export function alloc(n: i32): usize { return __pin(changetype<usize>(new ArrayBuffer(n))); }
export function free(p: usize): void { __unpin(p); }

const enc = new ProcessingRequestEncoder(64);
let outBuf: ArrayBuffer = new ArrayBuffer(0);

export function outPtr(): usize { return changetype<usize>(outBuf); }
export function outLen(): i32 { return outBuf.byteLength; }

function setOutString(s: string): void { outBuf = String.UTF8.encode(s); }

function str(ptr: usize, len: i32): string { return len == 0 ? "" : String.UTF8.decodeUnsafe(ptr, <usize>len); }

// A list of strings passed as "a\nb\nc"; "-" alone means null (no list).
function list(ptr: usize, len: i32): string[] | null {
  const s = str(ptr, len);
  if (s == "-") return null;
  if (s.length == 0) return [];
  return s.split("\n");
}

/** ProcessingRequest{request/response_headers from a proxy-wasm pair map} + optional metadata/protocol. */
export function encodeHeaders(
  phase: i32, pairsPtr: usize, pairsLen: i32, endOfStream: bool,
  servedPtr: usize, servedLen: i32, subsetPtr: usize, subsetLen: i32,
  reqMode: i32, respMode: i32,
): bool {
  enc.start();
  enc.beginHeaders(phase == 1 ? PHASE_RESPONSE : PHASE_REQUEST);
  if (!enc.headersFromPairs(pairsPtr, pairsLen)) return false;
  enc.endHeaders(endOfStream);
  enc.metadataContext(str(servedPtr, servedLen), list(subsetPtr, subsetLen));
  if (reqMode >= 0) enc.protocolConfig(reqMode, respMode, false);
  outBuf = enc.toArrayBuffer();
  return true;
}

/** Headers given as UTF-8 "k\nv\nk\nv" through headerString (exercises the string path). */
export function encodeHeaderStrings(phase: i32, ptr: usize, len: i32, endOfStream: bool): void {
  enc.start();
  enc.beginHeaders(phase == 1 ? PHASE_RESPONSE : PHASE_REQUEST);
  const parts = str(ptr, len).split("\n");
  for (let i = 0; i + 1 < parts.length; i += 2) enc.headerString(parts[i], parts[i + 1]);
  enc.endHeaders(endOfStream);
  outBuf = enc.toArrayBuffer();
}

export function encodeTrailers(phase: i32, pairsPtr: usize, pairsLen: i32): bool {
  enc.start();
  enc.beginTrailers(phase == 1 ? PHASE_RESPONSE : PHASE_REQUEST);
  if (!enc.headersFromPairs(pairsPtr, pairsLen)) return false;
  enc.endTrailers();
  outBuf = enc.toArrayBuffer();
  return true;
}

export function encodeBody(
  phase: i32, ptr: usize, len: i32, endOfStream: bool, servedPtr: usize, servedLen: i32, observability: bool,
): void {
  enc.start();
  enc.body(phase == 1 ? PHASE_RESPONSE : PHASE_REQUEST, ptr, len, endOfStream);
  enc.metadataContext(str(servedPtr, servedLen), null);
  enc.observabilityMode(observability);
  outBuf = enc.toArrayBuffer();
}

/** Walks a message with ProtoReader skipping everything: returns the error code (0 = well formed). */
export function walk(ptr: usize, len: i32): i32 {
  const r = new ProtoReader().reset(ptr, len);
  while (r.next()) r.skip();
  return r.error;
}

/** Reads one varint at ptr; its decimal value is left in (outPtr, outLen). Returns the error code. */
export function readVarint(ptr: usize, len: i32): i32 {
  const r = new ProtoReader().reset(ptr, len);
  const v = r.varint();
  setOutString(v.toString());
  return r.error;
}

const decoder = new ProcessingResponseDecoder();
const resp = new ProcessingResponse();

/** Decodes a ProcessingResponse; the description is left in (outPtr, outLen). Returns the error code. */
export function decode(ptr: usize, len: i32): i32 {
  const ok = decoder.decode(ptr, len, resp);
  if (!ok) {
    setOutString('{"error":' + quote(resp.errorMessage()) + ',"code":' + resp.error.toString() + "}");
    return resp.error == PB_OK ? -1 : resp.error;
  }
  setOutString(describe(resp, ptr, len));
  return 0;
}

function quote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x22) out += '\\"';
    else if (c == 0x5c) out += "\\\\";
    else if (c < 0x20) out += "\\u" + c.toString(16).padStart(4, "0");
    else out += String.fromCharCode(c);
  }
  return out + '"';
}

function describeMutation(m: HeaderMutationView): string {
  let s = '{"set":[';
  for (let i = 0; i < m.setCount; i++) {
    if (i > 0) s += ",";
    s += "[" + quote(m.setKey(i)) + "," + quote(m.setValue(i)) + "," + m.setAction[i].toString() + "]";
  }
  s += '],"remove":[';
  for (let i = 0; i < m.removeCount; i++) {
    if (i > 0) s += ",";
    s += quote(m.removeKey(i));
  }
  return s + "]}";
}

function describe(r: ProcessingResponse, inPtr: usize, inLen: i32): string {
  const c = r.common;
  const im = r.immediate;
  const mo = r.modeOverride;
  let s = '{"kind":' + r.kind.toString();
  s += ',"common":{"status":' + c.status.toString() + ',"headers":' + describeMutation(c.headers);
  s += ',"bodyMutation":' + c.bodyMutation.toString() + ',"body":' + quote(viewToString(c.bodyPtr, c.bodyLen));
  s += ',"streamedEndOfStream":' + (c.streamedEndOfStream ? "true" : "false");
  s += ',"clearRouteCache":' + (c.clearRouteCache ? "true" : "false");
  s += ',"hasTrailers":' + (c.hasTrailers ? "true" : "false") + "}";
  s += ',"trailers":' + describeMutation(r.trailers);
  s += ',"immediate":{"status":' + im.statusCode.toString() + ',"headers":' + describeMutation(im.headers);
  s += ',"body":' + quote(im.bodyString()) + ',"details":' + quote(im.detailsString());
  s += ',"grpcStatus":' + im.grpcStatus.toString() + "}";
  s += ',"hasDestination":' + (r.hasDestination ? "true" : "false");
  s += ',"destination":' + quote(r.destinationString()) + ',"primary":' + quote(r.primaryDestinationString());
  s += ',"fallback":' + quote(r.fallbackString());
  s += ',"hasModeOverride":' + (r.hasModeOverride ? "true" : "false");
  s += ',"mode":[' + mo.requestHeaderMode.toString() + "," + mo.responseHeaderMode.toString() + "," +
    mo.requestBodyMode.toString() + "," + mo.responseBodyMode.toString() + "," +
    mo.requestTrailerMode.toString() + "," + mo.responseTrailerMode.toString() + "]";
  s += ',"timeoutMs":' + r.overrideMessageTimeoutMs.toString();
  s += ',"requestDrain":' + (r.requestDrain ? "true" : "false");
  // The body view must point inside the input buffer, not at a copy.
  const inside = c.bodyPtr >= inPtr && c.bodyPtr + <usize>c.bodyLen <= inPtr + <usize>inLen;
  s += ',"bodyIsView":' + (c.bodyLen == 0 || inside ? "true" : "false");
  return s + "}";
}
