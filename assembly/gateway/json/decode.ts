// Reading values out of a document that the scanner (scan.ts) has already validated: string tokens are
// unescaped to UTF-8 (or to an AssemblyScript string, for small values such as a model name), keys are
// compared without allocating, numbers are parsed. Spans are [start, end) byte addresses; a string token
// span includes its quotes.

import { readHex4 } from "./scan";

/** Byte length of the UTF-8 text a validated string token decodes to. */
export function jsonStringDecodedLength(start: usize, end: usize): usize {
  let n: usize = 0;
  let p = start + 1;
  const stop = end - 1;
  while (p < stop) {
    if (load<u8>(p) != 0x5c) {
      n++;
      p++;
      continue;
    }
    const e = <u32>load<u8>(p + 1);
    if (e != 0x75) {
      n++;
      p += 2;
      continue;
    }
    const u = <u32>readHex4(p + 2, stop);
    if (u >= 0xd800 && u <= 0xdbff) {
      n += 4; // a surrogate pair (validated) is one supplementary code point
      p += 12;
    } else {
      n += u < 0x80 ? 1 : u < 0x800 ? 2 : 3;
      p += 6;
    }
  }
  return n;
}

/** Unescapes a validated string token into `out` (jsonStringDecodedLength bytes); returns the length. */
export function decodeJsonStringUtf8(start: usize, end: usize, out: usize): usize {
  let p = start + 1;
  const stop = end - 1;
  let o = out;
  while (p < stop) {
    // Copy the run up to the next backslash in one go.
    let q = p;
    while (q < stop && load<u8>(q) != 0x5c) q++;
    if (q > p) {
      memory.copy(o, p, q - p);
      o += q - p;
      p = q;
      if (p >= stop) break;
    }
    const e = <u32>load<u8>(p + 1);
    if (e != 0x75) {
      let b: u32 = e; // \" \\ \/
      if (e == 0x62) b = 0x08;
      else if (e == 0x66) b = 0x0c;
      else if (e == 0x6e) b = 0x0a;
      else if (e == 0x72) b = 0x0d;
      else if (e == 0x74) b = 0x09;
      store<u8>(o++, <u8>b);
      p += 2;
      continue;
    }
    let cp = <u32>readHex4(p + 2, stop);
    p += 6;
    if (cp >= 0xd800 && cp <= 0xdbff) {
      const lo = <u32>readHex4(p + 2, stop);
      cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
      p += 6;
    }
    o = writeUtf8(o, cp);
  }
  return o - out;
}

function writeUtf8(o: usize, cp: u32): usize {
  if (cp < 0x80) {
    store<u8>(o, <u8>cp);
    return o + 1;
  }
  if (cp < 0x800) {
    store<u8>(o, <u8>(0xc0 | (cp >> 6)));
    store<u8>(o + 1, <u8>(0x80 | (cp & 0x3f)));
    return o + 2;
  }
  if (cp < 0x10000) {
    store<u8>(o, <u8>(0xe0 | (cp >> 12)));
    store<u8>(o + 1, <u8>(0x80 | ((cp >> 6) & 0x3f)));
    store<u8>(o + 2, <u8>(0x80 | (cp & 0x3f)));
    return o + 3;
  }
  store<u8>(o, <u8>(0xf0 | (cp >> 18)));
  store<u8>(o + 1, <u8>(0x80 | ((cp >> 12) & 0x3f)));
  store<u8>(o + 2, <u8>(0x80 | ((cp >> 6) & 0x3f)));
  store<u8>(o + 3, <u8>(0x80 | (cp & 0x3f)));
  return o + 4;
}

/** The decoded UTF-8 bytes of a validated string token, as a new buffer. */
export function jsonStringBytes(start: usize, end: usize, escaped: bool): ArrayBuffer {
  if (!escaped) {
    const n = <i32>(end - start - 2);
    const buf = new ArrayBuffer(n);
    memory.copy(changetype<usize>(buf), start + 1, n);
    return buf;
  }
  const buf = new ArrayBuffer(<i32>jsonStringDecodedLength(start, end));
  decodeJsonStringUtf8(start, end, changetype<usize>(buf));
  return buf;
}

/** The decoded value of a validated string token as a string (for small values: keys, model names). */
export function jsonStringValue(start: usize, end: usize, escaped: bool): string {
  if (!escaped) return String.UTF8.decodeUnsafe(start + 1, end - start - 2);
  const bytes = jsonStringBytes(start, end, true);
  return String.UTF8.decodeUnsafe(changetype<usize>(bytes), bytes.byteLength);
}

/**
 * Whether a validated string token equals `name`. Unescaped tokens compare byte by byte with no allocation
 * (the usual case for keys); escaped ones are decoded first.
 */
export function jsonStringEquals(start: usize, end: usize, escaped: bool, name: string): bool {
  const chars = changetype<usize>(name);
  const len = <usize>name.length;
  if (!escaped) {
    const n = <usize>(end - start - 2);
    if (n < len) return false;
    // ASCII names (every key the gateway asks for) compare unit by byte, without allocating.
    let i: usize = 0;
    while (i < len && <u32>load<u16>(chars + (i << 1)) < 0x80) i++;
    if (i == len) {
      if (n != len) return false;
      for (let j: usize = 0; j < len; j++) {
        if (<u32>load<u8>(start + 1 + j) != <u32>load<u16>(chars + (j << 1))) return false;
      }
      return true;
    }
    const enc = String.UTF8.encode(name);
    return <usize>enc.byteLength == n && memory.compare(changetype<usize>(enc), start + 1, n) == 0;
  }
  const dec = jsonStringBytes(start, end, true);
  const enc = String.UTF8.encode(name);
  return dec.byteLength == enc.byteLength &&
    memory.compare(changetype<usize>(dec), changetype<usize>(enc), <usize>enc.byteLength) == 0;
}

let numberOk = true;

/** Whether the last jsonNumberToI64 call produced an exact value. */
export function jsonNumberOk(): bool {
  return numberOk;
}

/**
 * A validated number token as an i64. When the token is not an integer (after its exponent) or does not
 * fit, returns 0 and jsonNumberOk() is false.
 */
export function jsonNumberToI64(start: usize, end: usize): i64 {
  numberOk = true;
  // Plain integers are converted exactly; anything else goes through f64 and must be integral.
  let p = start;
  const neg = load<u8>(p) == 0x2d;
  if (neg) p++;
  let v: u64 = 0;
  let overflow = false;
  while (p < end) {
    const d = <u64>(<u32>load<u8>(p) - 0x30);
    if (d >= 10) break;
    if (v > (<u64>0xffffffffffffffff - d) / 10) overflow = true;
    v = v * 10 + d;
    p++;
  }
  if (p == end) {
    if (!overflow && (neg ? v <= <u64>0x8000000000000000 : v <= <u64>0x7fffffffffffffff)) {
      return neg ? -(<i64>v) : <i64>v;
    }
    numberOk = false;
    return 0;
  }
  const f = jsonNumberToF64(start, end);
  if (f != Math.trunc(f) || Math.abs(f) >= 9.2233720368547758e18) {
    numberOk = false;
    return 0;
  }
  return <i64>f;
}

/** A validated number token as an f64. */
export function jsonNumberToF64(start: usize, end: usize): f64 {
  return parseFloat(String.UTF8.decodeUnsafe(start, end - start));
}
