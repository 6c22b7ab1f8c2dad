// Just enough protobuf wire format for the host: writing Envoy's Metadata / google.protobuf.Struct
// (route and cluster metadata properties) and reading GrpcService and SetEnvoyFilterStateArguments.
import { concatBytes, utf8Bytes, utf8String } from "./bytes.js";

function varint(n: number | bigint): Uint8Array {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Uint8Array.from(out);
}

const tag = (field: number, wire: number) => varint((field << 3) | wire);
const lenField = (field: number, data: Uint8Array) => concatBytes([tag(field, 2), varint(data.length), data]);

function doubleField(field: number, n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, n, true);
  return concatBytes([tag(field, 1), b]);
}

/** google.protobuf.Value for a JSON value. */
export function encodeValue(v: unknown): Uint8Array {
  if (v === null || v === undefined) return concatBytes([tag(1, 0), varint(0)]);
  if (typeof v === "number") return doubleField(2, v);
  if (typeof v === "string") return lenField(3, utf8Bytes(v));
  if (typeof v === "boolean") return concatBytes([tag(4, 0), varint(v ? 1 : 0)]);
  if (Array.isArray(v)) return lenField(6, concatBytes(v.map((x) => lenField(1, encodeValue(x)))));
  return lenField(5, encodeStruct(v as Record<string, unknown>));
}

/** google.protobuf.Struct: map<string, Value> fields = 1. */
export function encodeStruct(obj: Record<string, unknown>): Uint8Array {
  return concatBytes(Object.entries(obj).map(([k, v]) => lenField(1, concatBytes([lenField(1, utf8Bytes(k)), lenField(2, encodeValue(v))]))));
}

/** envoy.config.core.v3.Metadata: map<string, Struct> filter_metadata = 1. */
export function encodeMetadata(filterMetadata: Record<string, unknown>): Uint8Array {
  return concatBytes(
    Object.entries(filterMetadata).map(([ns, s]) =>
      lenField(1, concatBytes([lenField(1, utf8Bytes(ns)), lenField(2, encodeStruct((s ?? {}) as Record<string, unknown>))])),
    ),
  );
}

export interface ProtoField {
  field: number;
  wire: number;
  /** Length-delimited payload, or the 1/4/8-byte fixed value. */
  bytes?: Uint8Array;
  varint?: bigint;
}

/** Strict parse of a message into its fields; undefined on any malformation (as ParseFromString fails). */
export function parseMessage(buf: Uint8Array): ProtoField[] | undefined {
  const fields: ProtoField[] = [];
  let p = 0;
  const readVarint = (): bigint | undefined => {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (p >= buf.length) return undefined;
      const b = buf[p++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return result;
    }
    return undefined;
  };
  while (p < buf.length) {
    const key = readVarint();
    if (key === undefined) return undefined;
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (field === 0) return undefined;
    if (wire === 0) {
      const v = readVarint();
      if (v === undefined) return undefined;
      fields.push({ field, wire, varint: v });
    } else if (wire === 1 || wire === 5) {
      const n = wire === 1 ? 8 : 4;
      if (p + n > buf.length) return undefined;
      fields.push({ field, wire, bytes: buf.subarray(p, p + n) });
      p += n;
    } else if (wire === 2) {
      const len = readVarint();
      if (len === undefined || p + Number(len) > buf.length) return undefined;
      fields.push({ field, wire, bytes: buf.subarray(p, p + Number(len)) });
      p += Number(len);
    } else {
      return undefined; // groups (3, 4) and reserved wire types are not accepted
    }
  }
  return fields;
}

export interface GrpcServiceTarget {
  clusterName?: string;
  authority?: string;
  initialMetadata: Array<[string, string]>;
}

/** envoy.config.core.v3.GrpcService: envoy_grpc = 1 {cluster_name = 1, authority = 2}, initial_metadata = 5. */
export function parseGrpcService(buf: Uint8Array): GrpcServiceTarget | undefined {
  const fields = parseMessage(buf);
  if (!fields) return undefined;
  const target: GrpcServiceTarget = { initialMetadata: [] };
  for (const f of fields) {
    if (f.field === 1 && f.bytes) {
      const envoy = parseMessage(f.bytes);
      if (!envoy) return undefined;
      for (const e of envoy) {
        if (e.field === 1 && e.bytes) target.clusterName = utf8String(e.bytes);
        if (e.field === 2 && e.bytes) target.authority = utf8String(e.bytes);
      }
    } else if (f.field === 5 && f.bytes) {
      const hv = parseMessage(f.bytes);
      if (!hv) return undefined;
      const key = hv.find((x) => x.field === 1)?.bytes;
      const value = hv.find((x) => x.field === 2)?.bytes;
      if (key) target.initialMetadata.push([utf8String(key), value ? utf8String(value) : ""]);
    }
  }
  return target;
}

/** envoy.source.extensions.common.wasm.SetEnvoyFilterStateArguments {path = 1, value = 2, span = 3}. */
export function parseSetFilterStateArguments(buf: Uint8Array): { path: string; value: Uint8Array } | undefined {
  const fields = parseMessage(buf);
  if (!fields) return undefined;
  const path = fields.find((f) => f.field === 1)?.bytes;
  const value = fields.find((f) => f.field === 2)?.bytes;
  if (!path) return undefined;
  return { path: utf8String(path), value: value ? value.slice() : new Uint8Array(0) };
}
