// Serialized pairs as proxy-wasm-cpp-host's pairs_util.cc writes and parses them: u32 LE count N, N ×
// (u32 key length, u32 value length), then each key and value followed by a NUL. Parsing is strict and
// gives an empty list (no error) on any malformation, as Envoy does.
import type { HeaderList } from "../gateway/http-filter.js";

export const MAX_PAIRS = 1024;
export const MAX_PAIRS_BYTES = 1 << 20;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodePairs(pairs: ReadonlyArray<readonly [string | Uint8Array, string | Uint8Array]>): Uint8Array {
  if (pairs.length === 0) return new Uint8Array(0);
  const bytes = pairs.map(([k, v]) => [typeof k === "string" ? encoder.encode(k) : k, typeof v === "string" ? encoder.encode(v) : v] as const);
  let size = 4;
  for (const [k, v] of bytes) size += 8 + k.length + 1 + v.length + 1;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, bytes.length, true);
  let lengths = 4;
  let data = 4 + 8 * bytes.length;
  for (const [k, v] of bytes) {
    view.setUint32(lengths, k.length, true);
    view.setUint32(lengths + 4, v.length, true);
    lengths += 8;
    out.set(k, data);
    data += k.length + 1;
    out.set(v, data);
    data += v.length + 1;
  }
  return out;
}

/** Strict parse; any malformation gives []. */
export function decodePairs(buf: Uint8Array): HeaderList {
  if (buf.length < 4 || buf.length > MAX_PAIRS_BYTES) return [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const count = view.getUint32(0, true);
  if (count > MAX_PAIRS) return [];
  let lengths = 4;
  let data = 4 + 8 * count;
  if (data > buf.length) return [];
  const out: HeaderList = [];
  for (let i = 0; i < count; i++) {
    const kl = view.getUint32(lengths, true);
    const vl = view.getUint32(lengths + 4, true);
    lengths += 8;
    if (data + kl + 1 > buf.length || buf[data + kl] !== 0) return [];
    const key = decoder.decode(buf.subarray(data, data + kl));
    data += kl + 1;
    if (data + vl + 1 > buf.length || buf[data + vl] !== 0) return [];
    const value = decoder.decode(buf.subarray(data, data + vl));
    data += vl + 1;
    out.push([key, value]);
  }
  if (data !== buf.length) return [];
  return out;
}
