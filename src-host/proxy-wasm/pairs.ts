// The serialized pairs format of header maps, metadata and map-valued properties (cpp-host pairs_util.cc):
// u32 N, N × (u32 key_len, u32 value_len), then each key and value followed by a NUL. All LE.

export type Pairs = Array<[Uint8Array, Uint8Array]>;

/** Envoy's limits: larger input, or more pairs, parse as an empty list. */
export const MAX_PAIRS_BYTES = 1 << 20;
export const MAX_PAIRS = 1024;

export function pairsSize(pairs: readonly (readonly [Uint8Array, Uint8Array])[]): number {
  let size = 4;
  for (const [k, v] of pairs) size += 8 + k.length + 1 + v.length + 1;
  return size;
}

export function encodePairs(pairs: readonly (readonly [Uint8Array, Uint8Array])[]): Uint8Array {
  const out = new Uint8Array(pairsSize(pairs));
  const view = new DataView(out.buffer);
  view.setUint32(0, pairs.length, true);
  let header = 4;
  let data = 4 + pairs.length * 8;
  for (const [k, v] of pairs) {
    view.setUint32(header, k.length, true);
    view.setUint32(header + 4, v.length, true);
    header += 8;
    out.set(k, data);
    data += k.length + 1; // NUL already zero
    out.set(v, data);
    data += v.length + 1;
  }
  return out;
}

/** Strict parse: any malformation (size, count, missing NUL, overrun, trailing bytes) yields []. */
export function decodePairs(buf: Uint8Array): Pairs {
  if (buf.length < 4 || buf.length > MAX_PAIRS_BYTES) return [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = view.getUint32(0, true);
  if (n > MAX_PAIRS || 4 + n * 8 > buf.length) return [];
  const sizes: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) sizes.push([view.getUint32(4 + i * 8, true), view.getUint32(8 + i * 8, true)]);
  let p = 4 + n * 8;
  const out: Pairs = [];
  const take = (len: number): Uint8Array | undefined => {
    if (p + len + 1 > buf.length || buf[p + len] !== 0) return undefined;
    const s = buf.slice(p, p + len);
    p += len + 1;
    return s;
  };
  for (const [kl, vl] of sizes) {
    const k = take(kl);
    const v = k && take(vl);
    if (!k || !v) return [];
    out.push([k, v]);
  }
  return p === buf.length ? out : [];
}
