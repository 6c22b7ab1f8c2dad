// Encoder for envoy.service.ext_proc.v3.ProcessingRequest — the messages the filter sends to an Endpoint Picker.
// Field numbers: envoyproxy/data-plane-api envoy/service/ext_proc/v3/external_processor.proto and
// envoy/config/core/v3/base.proto. Header values go in `raw_value` as Envoy sends them.

import { ProtoWriter, varintSize, WIRE_VARINT } from "../protobuf/wire";

/** Which HTTP direction a headers/body/trailers message belongs to. */
export const PHASE_REQUEST: i32 = 0;
export const PHASE_RESPONSE: i32 = 1;

/** envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.BodySendMode */
export const BODY_MODE_NONE: i32 = 0;
export const BODY_MODE_STREAMED: i32 = 1;
export const BODY_MODE_BUFFERED: i32 = 2;
export const BODY_MODE_BUFFERED_PARTIAL: i32 = 3;
export const BODY_MODE_FULL_DUPLEX_STREAMED: i32 = 4;
export const BODY_MODE_GRPC: i32 = 5;

// ProcessingRequest
const REQ_REQUEST_HEADERS: u32 = 2;
const REQ_RESPONSE_HEADERS: u32 = 3;
const REQ_REQUEST_BODY: u32 = 4;
const REQ_RESPONSE_BODY: u32 = 5;
const REQ_REQUEST_TRAILERS: u32 = 6;
const REQ_RESPONSE_TRAILERS: u32 = 7;
const REQ_METADATA_CONTEXT: u32 = 8;
const REQ_OBSERVABILITY_MODE: u32 = 10;
const REQ_PROTOCOL_CONFIG: u32 = 11;
// HttpHeaders / HttpTrailers / HeaderMap / HeaderValue
const HTTP_HEADERS_HEADERS: u32 = 1;
const HTTP_HEADERS_END_OF_STREAM: u32 = 3;
const HTTP_TRAILERS_TRAILERS: u32 = 1;
const HEADER_MAP_HEADERS: u32 = 1;
const HEADER_VALUE_KEY: u32 = 1;
const HEADER_VALUE_RAW_VALUE: u32 = 3;
// HttpBody
const HTTP_BODY_BODY: u32 = 1;
const HTTP_BODY_END_OF_STREAM: u32 = 2;
// ProtocolConfiguration
const PROTOCOL_REQUEST_BODY_MODE: u32 = 1;
const PROTOCOL_RESPONSE_BODY_MODE: u32 = 2;
const PROTOCOL_SEND_BODY_WITHOUT_WAITING: u32 = 3;
// Metadata / Struct / Value / ListValue
const METADATA_FILTER_METADATA: u32 = 1;
const MAP_KEY: u32 = 1;
const MAP_VALUE: u32 = 2;
const STRUCT_FIELDS: u32 = 1;
const VALUE_STRING: u32 = 3;
const VALUE_LIST: u32 = 6;
const LIST_VALUES: u32 = 1;

/** Metadata namespace and keys of the endpoint-picker protocol (GIE pkg/epp/metadata/consts.go). */
export const LB_NAMESPACE = "envoy.lb";
export const SERVED_ENDPOINT_KEY = "x-gateway-destination-endpoint-served";
export const SUBSET_HINT_NAMESPACE = "envoy.lb.subset_hint";
export const SUBSET_HINT_KEY = "x-gateway-destination-endpoint-subset";

/**
 * Builds one ProcessingRequest at a time into a reusable buffer:
 *   enc.start(); enc.beginHeaders(PHASE_REQUEST); enc.header(...)...; enc.endHeaders(false);
 *   enc.protocolConfig(...); then send (enc.dataStart, enc.length).
 * Exactly one of headers / body / trailers per message (it is a oneof); metadata, protocol config and
 * observability mode may be added to any of them.
 */
export class ProcessingRequestEncoder {
  readonly w: ProtoWriter;
  private outerMark: i32 = -1;
  private mapMark: i32 = -1;
  // Marks of the four nested messages of one filter_metadata entry (see beginStructEntry).
  private structMarks: StaticArray<i32> = new StaticArray<i32>(4);

  constructor(initialCapacity: i32 = 1024) {
    this.w = new ProtoWriter(initialCapacity);
  }

  start(): void {
    this.w.reset();
    this.outerMark = -1;
    this.mapMark = -1;
  }

  get dataStart(): usize { return this.w.dataStart; }
  get length(): i32 { return this.w.len; }
  toArrayBuffer(): ArrayBuffer { return this.w.toArrayBuffer(); }

  // --- headers -------------------------------------------------------------------------------------------

  beginHeaders(phase: i32): void {
    this.outerMark = this.w.begin(phase == PHASE_RESPONSE ? REQ_RESPONSE_HEADERS : REQ_REQUEST_HEADERS);
    this.mapMark = this.w.begin(HTTP_HEADERS_HEADERS);
  }

  /** One header from raw bytes (key and value as UTF-8/opaque bytes). */
  header(keyPtr: usize, keyLen: i32, valuePtr: usize, valueLen: i32): void {
    const w = this.w;
    let size = 1 + varintSize(<u64>keyLen) + keyLen;
    if (valueLen > 0) size += 1 + varintSize(<u64>valueLen) + valueLen;
    w.lenPrefix(HEADER_MAP_HEADERS, size);
    w.bytesField(HEADER_VALUE_KEY, keyPtr, keyLen);
    if (valueLen > 0) w.bytesField(HEADER_VALUE_RAW_VALUE, valuePtr, valueLen);
  }

  headerString(key: string, value: string): void {
    const w = this.w;
    const kn = String.UTF8.byteLength(key);
    const vn = String.UTF8.byteLength(value);
    let size = 1 + varintSize(<u64>kn) + kn;
    if (vn > 0) size += 1 + varintSize(<u64>vn) + vn;
    w.lenPrefix(HEADER_MAP_HEADERS, size);
    w.stringField(HEADER_VALUE_KEY, key);
    if (vn > 0) w.stringField(HEADER_VALUE_RAW_VALUE, value);
  }

  /** Adds every header of a proxy-wasm serialized header map (u32 count, count × (key_len, value_len), then
   *  NUL-terminated keys and values). Returns false, adding nothing, if the map is malformed. */
  headersFromPairs(ptr: usize, len: i32): bool {
    if (len == 0) return true;
    if (len < 4) return false;
    const count = load<u32>(ptr);
    if (<u64>count * 8 + 4 > <u64>len) return false;
    // Validate the whole layout before writing anything.
    let p = ptr + 4 + <usize>count * 8;
    const end = ptr + <usize>len;
    for (let i: u32 = 0; i < count; i++) {
      const kl = <usize>load<u32>(ptr + 4 + <usize>i * 8);
      const vl = <usize>load<u32>(ptr + 8 + <usize>i * 8);
      if (<u64>(end - p) < <u64>kl + <u64>vl + 2) return false;
      if (load<u8>(p + kl) != 0 || load<u8>(p + kl + 1 + vl) != 0) return false;
      p += kl + vl + 2;
    }
    if (p != end) return false;
    p = ptr + 4 + <usize>count * 8;
    for (let i: u32 = 0; i < count; i++) {
      const kl = load<u32>(ptr + 4 + <usize>i * 8);
      const vl = load<u32>(ptr + 8 + <usize>i * 8);
      this.header(p, <i32>kl, p + <usize>kl + 1, <i32>vl);
      p += <usize>kl + <usize>vl + 2;
    }
    return true;
  }

  endHeaders(endOfStream: bool): void {
    this.w.end(this.mapMark);
    if (endOfStream) {
      this.w.tag(HTTP_HEADERS_END_OF_STREAM, WIRE_VARINT);
      this.w.byte(1);
    }
    this.w.end(this.outerMark);
    this.mapMark = -1;
    this.outerMark = -1;
  }

  // --- trailers ------------------------------------------------------------------------------------------

  beginTrailers(phase: i32): void {
    this.outerMark = this.w.begin(phase == PHASE_RESPONSE ? REQ_RESPONSE_TRAILERS : REQ_REQUEST_TRAILERS);
    this.mapMark = this.w.begin(HTTP_TRAILERS_TRAILERS);
  }

  endTrailers(): void {
    this.w.end(this.mapMark);
    this.w.end(this.outerMark);
    this.mapMark = -1;
    this.outerMark = -1;
  }

  // --- body ----------------------------------------------------------------------------------------------

  /** A body chunk; the size is known up front so the bytes are copied once. */
  body(phase: i32, ptr: usize, len: i32, endOfStream: bool): void {
    const w = this.w;
    let size = 0;
    if (len > 0) size += 1 + varintSize(<u64>len) + len;
    if (endOfStream) size += 2;
    w.ensure(size + 12);
    w.lenPrefix(phase == PHASE_RESPONSE ? REQ_RESPONSE_BODY : REQ_REQUEST_BODY, size);
    if (len > 0) w.bytesField(HTTP_BODY_BODY, ptr, len);
    if (endOfStream) {
      w.tag(HTTP_BODY_END_OF_STREAM, WIRE_VARINT);
      w.byte(1);
    }
  }

  // --- side fields ---------------------------------------------------------------------------------------

  /** protocol_config (field 11): the body modes the data plane uses, so the server can tell. */
  protocolConfig(requestBodyMode: i32, responseBodyMode: i32, sendBodyWithoutWaitingForHeaderResponse: bool = false): void {
    const w = this.w;
    const mark = w.begin(REQ_PROTOCOL_CONFIG);
    w.uintField(PROTOCOL_REQUEST_BODY_MODE, <u64>requestBodyMode);
    w.uintField(PROTOCOL_RESPONSE_BODY_MODE, <u64>responseBodyMode);
    w.boolField(PROTOCOL_SEND_BODY_WITHOUT_WAITING, sendBodyWithoutWaitingForHeaderResponse);
    w.end(mark);
  }

  observabilityMode(on: bool): void {
    this.w.boolField(REQ_OBSERVABILITY_MODE, on);
  }

  /**
   * metadata_context (field 8) with the endpoint-picker entries:
   * - `servedEndpoint` (non-empty): filter_metadata["envoy.lb"]["x-gateway-destination-endpoint-served"];
   * - `subsetHint` (non-null, possibly empty): filter_metadata["envoy.lb.subset_hint"]
   *   ["x-gateway-destination-endpoint-subset"] = list of "ip:port".
   */
  metadataContext(servedEndpoint: string, subsetHint: string[] | null): void {
    if (servedEndpoint.length == 0 && subsetHint === null) return;
    const w = this.w;
    const meta = w.begin(REQ_METADATA_CONTEXT);
    if (servedEndpoint.length > 0) {
      const entry = this.beginStructEntry(LB_NAMESPACE, SERVED_ENDPOINT_KEY);
      w.stringField(VALUE_STRING, servedEndpoint);
      this.endStructEntry(entry);
    }
    if (subsetHint !== null) {
      const entry = this.beginStructEntry(SUBSET_HINT_NAMESPACE, SUBSET_HINT_KEY);
      const list = w.begin(VALUE_LIST);
      for (let i = 0; i < subsetHint.length; i++) {
        const v = w.begin(LIST_VALUES);
        w.stringField(VALUE_STRING, subsetHint[i]);
        w.end(v);
      }
      w.end(list);
      this.endStructEntry(entry);
    }
    w.end(meta);
  }

  // filter_metadata entry {key: namespace, value: Struct{fields entry {key: key, value: Value{...}}}};
  // leaves the writer inside the Value.

  private beginStructEntry(namespace: string, key: string): StaticArray<i32> {
    const w = this.w;
    const m = this.structMarks;
    m[0] = w.begin(METADATA_FILTER_METADATA);
    w.stringField(MAP_KEY, namespace);
    m[1] = w.begin(MAP_VALUE);
    m[2] = w.begin(STRUCT_FIELDS);
    w.stringField(MAP_KEY, key);
    m[3] = w.begin(MAP_VALUE);
    return m;
  }

  private endStructEntry(m: StaticArray<i32>): void {
    const w = this.w;
    w.end(m[3]);
    w.end(m[2]);
    w.end(m[1]);
    w.end(m[0]);
  }
}
