// The serialized pairs format of header maps, trailers, gRPC metadata and map/list property values
// (proxy-wasm-cpp-host src/pairs_util.cc): all integers u32 little-endian —
//   N, then N × (key_len, value_len), then for each pair: key bytes, 0x00, value bytes, 0x00.
// Decoding is strict, like Envoy's parser: any malformation rejects the whole input.

import { Scratch } from "./memory";

/** At most this many pairs and bytes are accepted (proxy-wasm-cpp-host limits.h). */
export const MAX_PAIRS: u32 = 1024;
export const MAX_PAIRS_BYTES: usize = 1 << 20;

/** One header, trailer, metadata entry or map property entry. */
export class Pair {
  constructor(public key: string, public value: string) {}
}

/** Byte size of `pairs` once serialized. */
export function pairsByteLength(pairs: Array<Pair>): usize {
  const n = pairs.length;
  let size: usize = 4 + <usize>n * 8;
  for (let i = 0; i < n; i++) {
    const p = unchecked(pairs[i]);
    size += <usize>String.UTF8.byteLength(p.key) + <usize>String.UTF8.byteLength(p.value) + 2;
  }
  return size;
}

/** Serializes `pairs` to `dst`, which must hold pairsByteLength(pairs) bytes; returns the bytes written. */
export function encodePairsUnsafe(pairs: Array<Pair>, dst: usize): usize {
  const n = pairs.length;
  store<u32>(dst, <u32>n);
  let data = dst + 4 + <usize>n * 8;
  for (let i = 0; i < n; i++) {
    const p = unchecked(pairs[i]);
    const kl = String.UTF8.encodeUnsafe(changetype<usize>(p.key), p.key.length, data);
    store<u8>(data + kl, 0);
    data += kl + 1;
    const vl = String.UTF8.encodeUnsafe(changetype<usize>(p.value), p.value.length, data);
    store<u8>(data + vl, 0);
    data += vl + 1;
    store<u32>(dst + 4 + <usize>i * 8, <u32>kl);
    store<u32>(dst + 8 + <usize>i * 8, <u32>vl);
  }
  return data - dst;
}

/** Serializes `pairs` into a new buffer. */
export function encodePairs(pairs: Array<Pair>): ArrayBuffer {
  const out = new ArrayBuffer(<i32>pairsByteLength(pairs));
  encodePairsUnsafe(pairs, changetype<usize>(out));
  return out;
}

/** Serializes `pairs` into a reused scratch buffer; returns the size (the data is at scratch.ptr). */
export function encodePairsInto(pairs: Array<Pair>, scratch: Scratch): usize {
  return encodePairsUnsafe(pairs, scratch.reserve(pairsByteLength(pairs)));
}

/** Checks that (ptr, size) is well-formed serialized pairs; returns the pair count or -1. */
export function validatePairs(ptr: usize, size: usize): i32 {
  if (size == 0) return 0;
  if (size == 1 && load<u8>(ptr) == 0) return 0; // the spec's single-NUL empty map
  if (size < 4 || size > MAX_PAIRS_BYTES) return -1;
  const n = load<u32>(ptr);
  if (n > MAX_PAIRS) return -1;
  let pos: usize = 4 + <usize>n * 8;
  if (pos > size) return -1;
  for (let i: usize = 0; i < <usize>n; i++) {
    const kl = <usize>load<u32>(ptr + 4 + i * 8);
    const vl = <usize>load<u32>(ptr + 8 + i * 8);
    // Sizes are ≤ 1 MiB, so these sums cannot overflow.
    if (kl > size || pos + kl + 1 > size || load<u8>(ptr + pos + kl) != 0) return -1;
    pos += kl + 1;
    if (vl > size || pos + vl + 1 > size || load<u8>(ptr + pos + vl) != 0) return -1;
    pos += vl + 1;
  }
  return pos == size ? <i32>n : -1;
}

/** Decodes serialized pairs at (ptr, size); null if malformed. */
export function decodePairsUnsafe(ptr: usize, size: usize): Array<Pair> | null {
  const n = validatePairs(ptr, size);
  if (n < 0) return null;
  const out = new Array<Pair>(n);
  let pos: usize = 4 + <usize>n * 8;
  for (let i = 0; i < n; i++) {
    const kl = <usize>load<u32>(ptr + 4 + <usize>i * 8);
    const vl = <usize>load<u32>(ptr + 8 + <usize>i * 8);
    const key = String.UTF8.decodeUnsafe(ptr + pos, kl);
    pos += kl + 1;
    const value = String.UTF8.decodeUnsafe(ptr + pos, vl);
    pos += vl + 1;
    unchecked((out[i] = new Pair(key, value)));
  }
  return out;
}

/** Decodes serialized pairs; null if malformed. */
export function decodePairs(bytes: ArrayBuffer): Array<Pair> | null {
  return decodePairsUnsafe(changetype<usize>(bytes), <usize>bytes.byteLength);
}

/** Value of the first pair named `key` (exact match), or null. */
export function findPair(pairs: Array<Pair>, key: string): string | null {
  for (let i = 0, n = pairs.length; i < n; i++) {
    const p = unchecked(pairs[i]);
    if (p.key == key) return p.value;
  }
  return null;
}
