// Property values as Envoy's CEL activation exposes them to proxy_get_property, and their encoding
// (context.cc serializeValue): strings and bytes raw, integers and doubles 8 bytes LE, bool 1 byte,
// timestamps and durations int64 nanoseconds, messages serialized, maps as pairs (values encoded
// recursively), lists as pairs with empty values. Path components are separated by NUL.
import { WasmResult } from "./abi.js";
import { latin1Bytes, utf8Bytes } from "./bytes.js";
import { encodePairs } from "./pairs.js";

export type PropertyValue =
  | { kind: "bytes"; value: Uint8Array }
  | { kind: "int"; value: bigint }
  | { kind: "uint"; value: bigint }
  | { kind: "double"; value: number }
  | { kind: "bool"; value: boolean }
  | { kind: "null" }
  | { kind: "map"; get(key: string): PropertyValue | undefined; entries(): Array<[string, PropertyValue]> }
  | { kind: "list"; items: PropertyValue[] }
  | { kind: "message"; bytes: Uint8Array; field(name: string): PropertyValue | undefined };

export const str = (s: string): PropertyValue => ({ kind: "bytes", value: utf8Bytes(s) });
/** A header-derived string: header bytes are latin1 strings in this host. */
export const headerStr = (s: string): PropertyValue => ({ kind: "bytes", value: latin1Bytes(s) });
export const bytes = (b: Uint8Array): PropertyValue => ({ kind: "bytes", value: b });
export const int = (n: number | bigint): PropertyValue => ({ kind: "int", value: BigInt(n) });
export const uint = (n: number | bigint): PropertyValue => ({ kind: "uint", value: BigInt(n) });
export const bool = (b: boolean): PropertyValue => ({ kind: "bool", value: b });

/** A map whose values are computed on lookup (attributes that are absent return undefined). */
export function lazyMap(keys: readonly string[], lookup: (key: string) => PropertyValue | undefined): PropertyValue {
  return {
    kind: "map",
    get: lookup,
    entries: () =>
      keys.flatMap((k) => {
        const v = lookup(k);
        return v ? [[k, v] as [string, PropertyValue]] : [];
      }),
  };
}

/** A JSON value (route metadata, Struct fields) as CEL sees it. */
export function fromJson(v: unknown): PropertyValue {
  if (v === null || v === undefined) return { kind: "null" };
  if (typeof v === "string") return str(v);
  if (typeof v === "number") return { kind: "double", value: v };
  if (typeof v === "boolean") return bool(v);
  if (Array.isArray(v)) return { kind: "list", items: v.map(fromJson) };
  const obj = v as Record<string, unknown>;
  return lazyMap(Object.keys(obj), (k) => (Object.hasOwn(obj, k) ? fromJson(obj[k]) : undefined));
}

export function serializeProperty(v: PropertyValue): Uint8Array | undefined {
  switch (v.kind) {
    case "bytes":
      return v.value;
    case "int":
    case "uint": {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v.value), true);
      return b;
    }
    case "double": {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setFloat64(0, v.value, true);
      return b;
    }
    case "bool":
      return Uint8Array.of(v.value ? 1 : 0);
    case "message":
      return v.bytes;
    case "map": {
      const pairs: Array<[Uint8Array, Uint8Array]> = [];
      for (const [k, val] of v.entries()) {
        const s = serializeProperty(val);
        if (!s) return undefined;
        pairs.push([latin1Bytes(k), s]);
      }
      return encodePairs(pairs);
    }
    case "list": {
      const pairs: Array<[Uint8Array, Uint8Array]> = [];
      for (const item of v.items) {
        const s = serializeProperty(item);
        if (!s) return undefined;
        pairs.push([s, new Uint8Array(0)]);
      }
      return encodePairs(pairs);
    }
    case "null":
      return undefined;
  }
}

/** Resolves a NUL-separated path (a trailing NUL is tolerated) with Context::getProperty's rules. */
export function getProperty(path: string, findTop: (name: string) => PropertyValue | undefined): { result: WasmResult; value?: Uint8Array } {
  const parts = path.split("\0");
  if (parts.length > 1 && parts[parts.length - 1] === "") parts.pop();
  if (parts.length === 0 || (parts.length === 1 && parts[0] === "")) return { result: WasmResult.NotFound };
  let value = findTop(parts[0]!);
  for (let i = 1; value && i < parts.length; i++) {
    const part = parts[i]!;
    if (value.kind === "map") value = value.get(part);
    else if (value.kind === "message") value = value.field(part);
    else if (value.kind === "list") {
      const idx = /^-?\d+$/.test(part) ? Number(part) : NaN;
      value = idx >= 0 && idx < value.items.length ? value.items[idx] : undefined;
    } else value = undefined;
  }
  if (!value) return { result: WasmResult.NotFound };
  const out = serializeProperty(value);
  return out ? { result: WasmResult.Ok, value: out } : { result: WasmResult.SerializationFailure };
}
