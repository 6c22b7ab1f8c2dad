// Decoder for envoy.service.ext_proc.v3.ProcessingResponse — what an Endpoint Picker answers. Every byte string
// in the result is a view (pointer + length) into the caller's message buffer, valid while that buffer lives;
// the `...String()` helpers copy when a string is really needed. Unknown fields of any wire type are skipped.

import { ProtoReader, PB_OK, protoErrorMessage, WIRE_LEN, WIRE_VARINT } from "../protobuf/wire";

// ProcessingResponse.response oneof: the field number is the kind.
export const RESP_NONE: i32 = 0;
export const RESP_REQUEST_HEADERS: i32 = 1;
export const RESP_RESPONSE_HEADERS: i32 = 2;
export const RESP_REQUEST_BODY: i32 = 3;
export const RESP_RESPONSE_BODY: i32 = 4;
export const RESP_REQUEST_TRAILERS: i32 = 5;
export const RESP_RESPONSE_TRAILERS: i32 = 6;
export const RESP_IMMEDIATE: i32 = 7;
export const RESP_STREAMED_IMMEDIATE: i32 = 11;

// CommonResponse.ResponseStatus
export const STATUS_CONTINUE: i32 = 0;
export const STATUS_CONTINUE_AND_REPLACE: i32 = 1;

// BodyMutation oneof
export const BODY_MUTATION_NONE: i32 = 0;
export const BODY_MUTATION_REPLACE: i32 = 1;
export const BODY_MUTATION_CLEAR: i32 = 2;
export const BODY_MUTATION_STREAMED: i32 = 3;

// HeaderValueOption.HeaderAppendAction
export const APPEND_IF_EXISTS_OR_ADD: i32 = 0;
export const ADD_IF_ABSENT: i32 = 1;
export const OVERWRITE_IF_EXISTS_OR_ADD: i32 = 2;
export const OVERWRITE_IF_EXISTS: i32 = 3;

// Decode errors beyond the wire-level ones (protobuf/wire.ts PB_*).
export const EXTPROC_VALUE_AND_RAW_VALUE: i32 = 100;
export const EXTPROC_BAD_APPEND_ACTION: i32 = 101;

/** The key of the picked endpoint(s) in dynamic_metadata["envoy.lb"] and in the header mutation. */
export const DESTINATION_ENDPOINT_KEY = "x-gateway-destination-endpoint";
const DESTINATION_FALLBACK_KEY = "x-gateway-destination-endpoint-fallback";
const LB_NAMESPACE = "envoy.lb";

/** True when the bytes equal the ASCII string `s` exactly. */
export function bytesEqualAscii(ptr: usize, len: i32, s: string): bool {
  if (len != s.length) return false;
  for (let i = 0; i < len; i++) {
    if (<i32>load<u8>(ptr + <usize>i) != <i32>s.charCodeAt(i)) return false;
  }
  return true;
}

/** Header names compare case-insensitively (ASCII). */
export function bytesEqualAsciiIgnoreCase(ptr: usize, len: i32, s: string): bool {
  if (len != s.length) return false;
  for (let i = 0; i < len; i++) {
    let a = <i32>load<u8>(ptr + <usize>i);
    let b = <i32>s.charCodeAt(i);
    if (a >= 0x41 && a <= 0x5a) a += 0x20;
    if (b >= 0x41 && b <= 0x5a) b += 0x20;
    if (a != b) return false;
  }
  return true;
}

export function viewToString(ptr: usize, len: i32): string {
  return len == 0 ? "" : String.UTF8.decodeUnsafe(ptr, <usize>len);
}

/** envoy.service.ext_proc.v3.HeaderMutation as views. */
export class HeaderMutationView {
  setKeyPtr: Array<usize> = new Array<usize>();
  setKeyLen: Array<i32> = new Array<i32>();
  setValuePtr: Array<usize> = new Array<usize>();
  setValueLen: Array<i32> = new Array<i32>();
  /** The action Envoy applies: append_action when non-zero, else the deprecated `append` (default false →
   *  OVERWRITE_IF_EXISTS_OR_ADD), as Envoy's ext_proc mutation_utils does. */
  setAction: Array<i32> = new Array<i32>();
  removePtr: Array<usize> = new Array<usize>();
  removeLen: Array<i32> = new Array<i32>();

  reset(): void {
    this.setKeyPtr.length = 0;
    this.setKeyLen.length = 0;
    this.setValuePtr.length = 0;
    this.setValueLen.length = 0;
    this.setAction.length = 0;
    this.removePtr.length = 0;
    this.removeLen.length = 0;
  }

  get setCount(): i32 { return this.setKeyPtr.length; }
  get removeCount(): i32 { return this.removePtr.length; }

  /** Index of the last set_headers entry named `name` (case-insensitive), or -1. */
  findSet(name: string): i32 {
    for (let i = this.setKeyPtr.length - 1; i >= 0; i--) {
      if (bytesEqualAsciiIgnoreCase(this.setKeyPtr[i], this.setKeyLen[i], name)) return i;
    }
    return -1;
  }

  setKey(i: i32): string { return viewToString(this.setKeyPtr[i], this.setKeyLen[i]); }
  setValue(i: i32): string { return viewToString(this.setValuePtr[i], this.setValueLen[i]); }
  removeKey(i: i32): string { return viewToString(this.removePtr[i], this.removeLen[i]); }
}

/** envoy.service.ext_proc.v3.CommonResponse as views. */
export class CommonResponseView {
  status: i32 = STATUS_CONTINUE;
  headers: HeaderMutationView = new HeaderMutationView();
  bodyMutation: i32 = BODY_MUTATION_NONE;
  /** Replacement body (REPLACE) or streamed chunk (STREAMED). */
  bodyPtr: usize = 0;
  bodyLen: i32 = 0;
  /** StreamedBodyResponse.end_of_stream. */
  streamedEndOfStream: bool = false;
  clearRouteCache: bool = false;
  /** CommonResponse.trailers was present (the filter does not add trailers; it only notes them). */
  hasTrailers: bool = false;

  reset(): void {
    this.status = STATUS_CONTINUE;
    this.headers.reset();
    this.bodyMutation = BODY_MUTATION_NONE;
    this.bodyPtr = 0;
    this.bodyLen = 0;
    this.streamedEndOfStream = false;
    this.clearRouteCache = false;
    this.hasTrailers = false;
  }
}

/** envoy.service.ext_proc.v3.ImmediateResponse as views. */
export class ImmediateResponseView {
  /** HttpStatus.code; 0 when absent (the field is required, so callers treat 0 as invalid). */
  statusCode: i32 = 0;
  headers: HeaderMutationView = new HeaderMutationView();
  bodyPtr: usize = 0;
  bodyLen: i32 = 0;
  detailsPtr: usize = 0;
  detailsLen: i32 = 0;
  /** GrpcStatus.status, or -1 when absent. */
  grpcStatus: i32 = -1;

  reset(): void {
    this.statusCode = 0;
    this.headers.reset();
    this.bodyPtr = 0;
    this.bodyLen = 0;
    this.detailsPtr = 0;
    this.detailsLen = 0;
    this.grpcStatus = -1;
  }

  bodyString(): string { return viewToString(this.bodyPtr, this.bodyLen); }
  detailsString(): string { return viewToString(this.detailsPtr, this.detailsLen); }
}

/** ProcessingMode.HeaderSendMode SKIP (DEFAULT 0 and SEND 1 both send). */
export const HEADER_MODE_SKIP: i32 = 2;

/** envoy.extensions.filters.http.ext_proc.v3.ProcessingMode (mode_override). */
export class ProcessingModeView {
  requestHeaderMode: i32 = 0;
  responseHeaderMode: i32 = 0;
  requestBodyMode: i32 = 0;
  responseBodyMode: i32 = 0;
  requestTrailerMode: i32 = 0;
  responseTrailerMode: i32 = 0;

  reset(): void {
    this.requestHeaderMode = 0;
    this.responseHeaderMode = 0;
    this.requestBodyMode = 0;
    this.responseBodyMode = 0;
    this.requestTrailerMode = 0;
    this.responseTrailerMode = 0;
  }
}

/** One decoded ProcessingResponse. Reuse an instance across messages to avoid allocation. */
export class ProcessingResponse {
  kind: i32 = RESP_NONE;
  /** For RESP_{REQUEST,RESPONSE}_{HEADERS,BODY}. */
  common: CommonResponseView = new CommonResponseView();
  /** For RESP_{REQUEST,RESPONSE}_TRAILERS (TrailersResponse.header_mutation). */
  trailers: HeaderMutationView = new HeaderMutationView();
  immediate: ImmediateResponseView = new ImmediateResponseView();

  /** dynamic_metadata["envoy.lb"]["x-gateway-destination-endpoint"], the whole comma list. */
  hasDestination: bool = false;
  destinationPtr: usize = 0;
  destinationLen: i32 = 0;
  /** Its first entry, trimmed: the primary endpoint (the rest are fallbacks). */
  primaryPtr: usize = 0;
  primaryLen: i32 = 0;
  /** dynamic_metadata["envoy.lb"]["x-gateway-destination-endpoint-fallback"] (GIE implementer guide). */
  fallbackPtr: usize = 0;
  fallbackLen: i32 = 0;

  hasModeOverride: bool = false;
  modeOverride: ProcessingModeView = new ProcessingModeView();
  /** override_message_timeout in milliseconds, or -1. */
  overrideMessageTimeoutMs: i64 = -1;
  requestDrain: bool = false;

  error: i32 = PB_OK;

  reset(): void {
    this.kind = RESP_NONE;
    this.common.reset();
    this.trailers.reset();
    this.immediate.reset();
    this.hasDestination = false;
    this.destinationPtr = 0;
    this.destinationLen = 0;
    this.primaryPtr = 0;
    this.primaryLen = 0;
    this.fallbackPtr = 0;
    this.fallbackLen = 0;
    this.hasModeOverride = false;
    this.modeOverride.reset();
    this.overrideMessageTimeoutMs = -1;
    this.requestDrain = false;
    this.error = PB_OK;
  }

  errorMessage(): string {
    if (this.error == EXTPROC_VALUE_AND_RAW_VALUE) return "header mutation sets both value and raw_value";
    if (this.error == EXTPROC_BAD_APPEND_ACTION) return "header mutation has an unknown append_action";
    return protoErrorMessage(this.error);
  }

  destinationString(): string { return viewToString(this.destinationPtr, this.destinationLen); }
  primaryDestinationString(): string { return viewToString(this.primaryPtr, this.primaryLen); }
  fallbackString(): string { return viewToString(this.fallbackPtr, this.fallbackLen); }
}

// One reader per nesting level so decoding allocates nothing after the first message.
const MAX_DEPTH = 8;

/** Decodes ProcessingResponse messages into a reusable ProcessingResponse. */
export class ProcessingResponseDecoder {
  private readers: StaticArray<ProtoReader> = new StaticArray<ProtoReader>(MAX_DEPTH);

  constructor() {
    for (let i = 0; i < MAX_DEPTH; i++) this.readers[i] = new ProtoReader();
  }

  /** Decodes [ptr, ptr+len) into `out` (reset first). False on malformed input; `out.error` says why. */
  decode(ptr: usize, len: i32, out: ProcessingResponse): bool {
    out.reset();
    const r = this.readers[0].reset(ptr, len);
    while (r.next()) {
      const f = r.field;
      if (r.wire != WIRE_LEN) {
        if (f == 12 && r.wire == WIRE_VARINT) out.requestDrain = r.varint() != 0;
        else r.skip();
        continue;
      }
      if (!r.bytes()) break;
      if (f >= 1 && f <= 4) {
        out.kind = <i32>f;
        out.common.reset();
        if (!this.headersOrBodyResponse(r.ptr, r.len, out.common, out)) return false;
      } else if (f == 5 || f == 6) {
        out.kind = <i32>f;
        out.trailers.reset();
        if (!this.trailersResponse(r.ptr, r.len, out.trailers, out)) return false;
      } else if (f == 7) {
        out.kind = RESP_IMMEDIATE;
        out.immediate.reset();
        if (!this.immediateResponse(r.ptr, r.len, out.immediate, out)) return false;
      } else if (f == 11) {
        out.kind = RESP_STREAMED_IMMEDIATE;
      } else if (f == 8) {
        if (!this.dynamicMetadata(r.ptr, r.len, out)) return false;
      } else if (f == 9) {
        out.hasModeOverride = true;
        if (!this.processingMode(r.ptr, r.len, out.modeOverride, out)) return false;
      } else if (f == 10) {
        if (!this.duration(r.ptr, r.len, out)) return false;
      }
    }
    return this.finish(r, out);
  }

  private finish(r: ProtoReader, out: ProcessingResponse): bool {
    if (r.error != PB_OK) {
      if (out.error == PB_OK) out.error = r.error;
      return false;
    }
    return out.error == PB_OK;
  }

  // HeadersResponse / BodyResponse: {1: CommonResponse}
  private headersOrBodyResponse(ptr: usize, len: i32, common: CommonResponseView, out: ProcessingResponse): bool {
    const r = this.readers[1].reset(ptr, len);
    while (r.next()) {
      if (r.field == 1 && r.wire == WIRE_LEN) {
        if (!r.bytes()) break;
        if (!this.commonResponse(r.ptr, r.len, common, out)) return false;
      } else r.skip();
    }
    return this.finish(r, out);
  }

  private commonResponse(ptr: usize, len: i32, c: CommonResponseView, out: ProcessingResponse): bool {
    const r = this.readers[2].reset(ptr, len);
    while (r.next()) {
      switch (r.field) {
        case 1: c.status = <i32>r.varintField(); break;
        case 2:
          if (r.bytesField() && !this.headerMutation(r.ptr, r.len, c.headers, out, 3)) return false;
          break;
        case 3:
          if (r.bytesField() && !this.bodyMutation(r.ptr, r.len, c, out)) return false;
          break;
        case 4:
          if (r.bytesField()) c.hasTrailers = true;
          break;
        case 5: c.clearRouteCache = r.varintField() != 0; break;
        default: r.skip();
      }
    }
    return this.finish(r, out);
  }

  // BodyMutation oneof {1 body, 2 clear_body, 3 streamed_response{1 body, 2 end_of_stream}}
  private bodyMutation(ptr: usize, len: i32, c: CommonResponseView, out: ProcessingResponse): bool {
    const r = this.readers[3].reset(ptr, len);
    while (r.next()) {
      if (r.field == 1 && r.wire == WIRE_LEN) {
        if (!r.bytes()) break;
        c.bodyMutation = BODY_MUTATION_REPLACE;
        c.bodyPtr = r.ptr;
        c.bodyLen = r.len;
        c.streamedEndOfStream = false;
      } else if (r.field == 2 && r.wire == WIRE_VARINT) {
        const clear = r.varint() != 0;
        c.bodyMutation = clear ? BODY_MUTATION_CLEAR : BODY_MUTATION_NONE;
        c.bodyPtr = 0;
        c.bodyLen = 0;
        c.streamedEndOfStream = false;
      } else if (r.field == 3 && r.wire == WIRE_LEN) {
        if (!r.bytes()) break;
        c.bodyMutation = BODY_MUTATION_STREAMED;
        c.bodyPtr = 0;
        c.bodyLen = 0;
        c.streamedEndOfStream = false;
        const s = this.readers[4].reset(r.ptr, r.len);
        while (s.next()) {
          if (s.field == 1 && s.wire == WIRE_LEN) {
            if (!s.bytes()) break;
            c.bodyPtr = s.ptr;
            c.bodyLen = s.len;
          } else if (s.field == 2 && s.wire == WIRE_VARINT) {
            c.streamedEndOfStream = s.varint() != 0;
          } else s.skip();
        }
        if (!this.finish(s, out)) return false;
      } else r.skip();
    }
    return this.finish(r, out);
  }

  // HeaderMutation {1 repeated HeaderValueOption, 2 repeated string}
  private headerMutation(ptr: usize, len: i32, m: HeaderMutationView, out: ProcessingResponse, depth: i32): bool {
    const r = this.readers[depth].reset(ptr, len);
    while (r.next()) {
      if (r.field == 1 && r.wire == WIRE_LEN) {
        if (!r.bytes()) break;
        if (!this.headerValueOption(r.ptr, r.len, m, out, depth + 1)) return false;
      } else if (r.field == 2 && r.wire == WIRE_LEN) {
        if (!r.bytes()) break;
        m.removePtr.push(r.ptr);
        m.removeLen.push(r.len);
      } else r.skip();
    }
    return this.finish(r, out);
  }

  // HeaderValueOption {1 header: HeaderValue{1 key, 2 value, 3 raw_value}, 2 append: BoolValue, 3 append_action}
  private headerValueOption(ptr: usize, len: i32, m: HeaderMutationView, out: ProcessingResponse, depth: i32): bool {
    const r = this.readers[depth].reset(ptr, len);
    let hasHeader = false;
    let keyPtr: usize = 0, keyLen = 0, valuePtr: usize = 0, valueLen = 0, rawPtr: usize = 0, rawLen = 0;
    let append = false;
    let action = 0;
    while (r.next()) {
      if (r.field == 1 && r.wire == WIRE_LEN) {
        if (!r.bytes()) break;
        hasHeader = true;
        const h = this.readers[depth + 1].reset(r.ptr, r.len);
        while (h.next()) {
          if (h.wire == WIRE_LEN && h.field >= 1 && h.field <= 3) {
            if (!h.bytes()) break;
            if (h.field == 1) { keyPtr = h.ptr; keyLen = h.len; }
            else if (h.field == 2) { valuePtr = h.ptr; valueLen = h.len; }
            else { rawPtr = h.ptr; rawLen = h.len; }
          } else h.skip();
        }
        if (!this.finish(h, out)) return false;
      } else if (r.field == 2 && r.wire == WIRE_LEN) {
        if (!r.bytes()) break;
        const b = this.readers[depth + 1].reset(r.ptr, r.len);
        append = false;
        while (b.next()) {
          if (b.field == 1 && b.wire == WIRE_VARINT) append = b.varint() != 0;
          else b.skip();
        }
        if (!this.finish(b, out)) return false;
      } else if (r.field == 3 && r.wire == WIRE_VARINT) {
        action = <i32>r.varint();
      } else r.skip();
    }
    if (!this.finish(r, out)) return false;
    // Envoy skips an option without a header, and rejects one that sets both value and raw_value.
    if (!hasHeader) return true;
    if (valueLen > 0 && rawLen > 0) { out.error = EXTPROC_VALUE_AND_RAW_VALUE; return false; }
    if (action < 0 || action > OVERWRITE_IF_EXISTS) { out.error = EXTPROC_BAD_APPEND_ACTION; return false; }
    m.setKeyPtr.push(keyPtr);
    m.setKeyLen.push(keyLen);
    // raw_value is what Envoy and the EPP use; `value` is accepted from servers that only set that.
    m.setValuePtr.push(rawLen > 0 ? rawPtr : valuePtr);
    m.setValueLen.push(rawLen > 0 ? rawLen : valueLen);
    m.setAction.push(action != 0 ? action : (append ? APPEND_IF_EXISTS_OR_ADD : OVERWRITE_IF_EXISTS_OR_ADD));
    return true;
  }

  // TrailersResponse {1 header_mutation}
  private trailersResponse(ptr: usize, len: i32, m: HeaderMutationView, out: ProcessingResponse): bool {
    const r = this.readers[1].reset(ptr, len);
    while (r.next()) {
      if (r.field == 1 && r.wire == WIRE_LEN) {
        if (!r.bytes()) break;
        if (!this.headerMutation(r.ptr, r.len, m, out, 2)) return false;
      } else r.skip();
    }
    return this.finish(r, out);
  }

  // ImmediateResponse {1 status: HttpStatus{1 code}, 2 headers: HeaderMutation, 3 body, 4 grpc_status{1}, 5 details}
  private immediateResponse(ptr: usize, len: i32, im: ImmediateResponseView, out: ProcessingResponse): bool {
    const r = this.readers[1].reset(ptr, len);
    while (r.next()) {
      if (r.wire != WIRE_LEN) { r.skip(); continue; }
      if (!r.bytes()) break;
      switch (r.field) {
        case 1: {
          const s = this.readers[2].reset(r.ptr, r.len);
          while (s.next()) {
            if (s.field == 1 && s.wire == WIRE_VARINT) im.statusCode = <i32>s.varint();
            else s.skip();
          }
          if (!this.finish(s, out)) return false;
          break;
        }
        case 2:
          if (!this.headerMutation(r.ptr, r.len, im.headers, out, 2)) return false;
          break;
        case 3: im.bodyPtr = r.ptr; im.bodyLen = r.len; break;
        case 4: {
          const g = this.readers[2].reset(r.ptr, r.len);
          im.grpcStatus = 0;
          while (g.next()) {
            if (g.field == 1 && g.wire == WIRE_VARINT) im.grpcStatus = <i32>g.varint();
            else g.skip();
          }
          if (!this.finish(g, out)) return false;
          break;
        }
        case 5: im.detailsPtr = r.ptr; im.detailsLen = r.len; break;
      }
    }
    return this.finish(r, out);
  }

  // Scratch results of entry() and lenField(): views into the message being decoded.
  private keyPtr: usize = 0;
  private keyLen: i32 = 0;
  private valPtr: usize = 0;
  private valLen: i32 = -1;

  /** A map entry {1 key, 2 value} (both length-delimited) at reader `level`; valLen -1 when no value. */
  private entry(level: i32, ptr: usize, len: i32, out: ProcessingResponse): bool {
    const e = this.readers[level].reset(ptr, len);
    this.keyPtr = 0;
    this.keyLen = 0;
    this.valPtr = 0;
    this.valLen = -1;
    while (e.next()) {
      if (e.wire == WIRE_LEN && (e.field == 1 || e.field == 2)) {
        if (!e.bytes()) break;
        if (e.field == 1) { this.keyPtr = e.ptr; this.keyLen = e.len; } else { this.valPtr = e.ptr; this.valLen = e.len; }
      } else e.skip();
    }
    return this.finish(e, out);
  }

  /** Length-delimited field `field` of a message at reader `level`, into valPtr/valLen (-1 when absent). */
  private lenField(level: i32, ptr: usize, len: i32, field: u32, out: ProcessingResponse): bool {
    const v = this.readers[level].reset(ptr, len);
    this.valPtr = 0;
    this.valLen = -1;
    while (v.next()) {
      if (v.field == field && v.wire == WIRE_LEN) {
        if (!v.bytes()) break;
        this.valPtr = v.ptr;
        this.valLen = v.len;
      } else v.skip();
    }
    return this.finish(v, out);
  }

  // google.protobuf.Struct → fields["envoy.lb"] → struct_value → fields[destination keys] → string_value
  private dynamicMetadata(ptr: usize, len: i32, out: ProcessingResponse): bool {
    const r = this.readers[1].reset(ptr, len);
    while (r.next()) {
      if (r.field != 1 || r.wire != WIRE_LEN) { r.skip(); continue; }
      if (!r.bytes()) break;
      // Struct.fields map entry {1 key, 2 Value}
      if (!this.entry(2, r.ptr, r.len, out)) return false;
      if (this.valLen < 0 || !bytesEqualAscii(this.keyPtr, this.keyLen, LB_NAMESPACE)) continue;
      // Value{5 struct_value}
      if (!this.lenField(2, this.valPtr, this.valLen, 5, out)) return false;
      if (this.valLen >= 0 && !this.lbStruct(this.valPtr, this.valLen, out)) return false;
    }
    return this.finish(r, out);
  }

  private lbStruct(ptr: usize, len: i32, out: ProcessingResponse): bool {
    const r = this.readers[3].reset(ptr, len);
    while (r.next()) {
      if (r.field != 1 || r.wire != WIRE_LEN) { r.skip(); continue; }
      if (!r.bytes()) break;
      if (!this.entry(4, r.ptr, r.len, out)) return false;
      if (this.valLen < 0) continue;
      const isPrimary = bytesEqualAscii(this.keyPtr, this.keyLen, DESTINATION_ENDPOINT_KEY);
      const isFallback = !isPrimary && bytesEqualAscii(this.keyPtr, this.keyLen, DESTINATION_FALLBACK_KEY);
      if (!isPrimary && !isFallback) continue;
      // Value{3 string_value}
      if (!this.lenField(5, this.valPtr, this.valLen, 3, out)) return false;
      const sPtr = this.valPtr;
      const sLen = this.valLen;
      if (sLen < 0) continue;
      if (isPrimary) {
        out.hasDestination = true;
        out.destinationPtr = sPtr;
        out.destinationLen = sLen;
        setPrimary(out, sPtr, sLen);
      } else {
        out.fallbackPtr = sPtr;
        out.fallbackLen = sLen;
      }
    }
    return this.finish(r, out);
  }

  private processingMode(ptr: usize, len: i32, m: ProcessingModeView, out: ProcessingResponse): bool {
    const r = this.readers[1].reset(ptr, len);
    while (r.next()) {
      if (r.wire != WIRE_VARINT || r.field > 6) { r.skip(); continue; }
      const v = <i32>r.varint();
      switch (r.field) {
        case 1: m.requestHeaderMode = v; break;
        case 2: m.responseHeaderMode = v; break;
        case 3: m.requestBodyMode = v; break;
        case 4: m.responseBodyMode = v; break;
        case 5: m.requestTrailerMode = v; break;
        case 6: m.responseTrailerMode = v; break;
      }
    }
    return this.finish(r, out);
  }

  // google.protobuf.Duration {1 seconds int64, 2 nanos int32}
  private duration(ptr: usize, len: i32, out: ProcessingResponse): bool {
    const r = this.readers[1].reset(ptr, len);
    let seconds: i64 = 0, nanos: i64 = 0;
    while (r.next()) {
      if (r.field == 1 && r.wire == WIRE_VARINT) seconds = <i64>r.varint();
      else if (r.field == 2 && r.wire == WIRE_VARINT) nanos = <i64><i32>r.varint();
      else r.skip();
    }
    if (!this.finish(r, out)) return false;
    out.overrideMessageTimeoutMs = seconds * 1000 + nanos / 1000000;
    return true;
  }
}

// The first entry of "ip:port,ip:port", without surrounding spaces.
function setPrimary(out: ProcessingResponse, ptr: usize, len: i32): void {
  let start = 0;
  let end = 0;
  while (end < len && load<u8>(ptr + <usize>end) != 0x2c) end++;
  while (start < end && load<u8>(ptr + <usize>start) == 0x20) start++;
  while (end > start && load<u8>(ptr + <usize>(end - 1)) == 0x20) end--;
  out.primaryPtr = ptr + <usize>start;
  out.primaryLen = end - start;
}
