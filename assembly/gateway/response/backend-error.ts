// Upstream errors in OpenAI's shape, as Envoy AI Gateway v1.1.0 does for OpenAI backends
// (internal/translator/openai_openai.go convertErrorOpenAIToOpenAIError, called for every status outside
// 2xx by internal/extproc/processor_impl.go ProcessResponseBody): a body whose content-type does not
// contain "application/json" (case-sensitive, as Go's strings.Contains) — a backend's text error, or
// Envoy's own "no healthy upstream" — becomes
//   {"type":"error","error":{"type":"OpenAIBackendError","code":"<status>","message":"<body>"}}
// with content-type application/json; a JSON error body passes through as it is.
//
// The body can be large (up to the buffered limit), so it is escaped straight from its bytes into one
// buffer whose size is counted first: no managed string of it is made. Bytes that are not UTF-8 become
// U+FFFD one byte at a time, as Go's encoding/json writes a string (utf8.DecodeRune's rules); quotes,
// backslashes and control characters are escaped as errors.ts's jsonQuote does.

import { jsonQuote } from "../errors";

const OPEN = '{"type":"error","error":{"type":"OpenAIBackendError","code":';
const MESSAGE = ',"message":"';
const CLOSE = '"}}';

/** Whether a response with this status and content-type has its body wrapped. */
export function wrapsBackendError(status: i32, contentType: string | null): bool {
  if (status >= 200 && status < 300) return false;
  return contentType == null || !contentType.includes("application/json");
}

/** The wrapped body (UTF-8): the original bytes [ptr, ptr+len) as the message, the status as the code. */
export function backendErrorBody(status: string, ptr: usize, len: usize): ArrayBuffer {
  const head = String.UTF8.encode(OPEN + jsonQuote(status) + MESSAGE);
  const headLen = <usize>head.byteLength;
  const out = new ArrayBuffer(<i32>(headLen + escapedLength(ptr, len) + <usize>CLOSE.length));
  const o = changetype<usize>(out);
  memory.copy(o, changetype<usize>(head), headLen);
  let q = escapeInto(o + headLen, ptr, len);
  for (let i = 0; i < CLOSE.length; i++) store<u8>(q++, <u8>CLOSE.charCodeAt(i));
  return out;
}

/** The length of a valid UTF-8 sequence at p (before end), or 0 where utf8.DecodeRune reports an error. */
function sequenceLength(p: usize, end: usize): usize {
  const b = <u32>load<u8>(p);
  let n: usize;
  let lo: u32 = 0x80, hi: u32 = 0xbf; // the range of the second byte
  if (b >= 0xc2 && b <= 0xdf) n = 2;
  else if (b >= 0xe0 && b <= 0xef) {
    n = 3;
    if (b == 0xe0) lo = 0xa0; // overlong
    else if (b == 0xed) hi = 0x9f; // surrogates
  } else if (b >= 0xf0 && b <= 0xf4) {
    n = 4;
    if (b == 0xf0) lo = 0x90; // overlong
    else if (b == 0xf4) hi = 0x8f; // beyond U+10FFFF
  } else return 0;
  if (end - p < n) return 0;
  const c = <u32>load<u8>(p + 1);
  if (c < lo || c > hi) return 0;
  for (let i: usize = 2; i < n; i++) {
    const d = <u32>load<u8>(p + i);
    if (d < 0x80 || d > 0xbf) return 0;
  }
  return n;
}

/** Bytes the escaped form of an ASCII byte takes. */
// @ts-ignore: decorator
@inline
function asciiLength(c: u32): usize {
  if (c >= 0x20 && c != 0x22 && c != 0x5c) return 1;
  return c == 0x22 || c == 0x5c || c == 0x08 || c == 0x0c || c == 0x0a || c == 0x0d || c == 0x09 ? 2 : 6;
}

function escapedLength(p: usize, len: usize): usize {
  const end = p + len;
  let n: usize = 0;
  while (p < end) {
    const c = <u32>load<u8>(p);
    if (c < 0x80) {
      n += asciiLength(c);
      p++;
      continue;
    }
    // A sequence of 2..4 bytes as it is, or U+FFFD (3 bytes) for one bad byte.
    const s = sequenceLength(p, end);
    n += s == 0 ? 3 : s;
    p += s == 0 ? 1 : s;
  }
  return n;
}

const HEX = "0123456789abcdef";

/** Writes the escaped message at q; returns the position after it. */
function escapeInto(q: usize, p: usize, len: usize): usize {
  const end = p + len;
  while (p < end) {
    // Runs that need no escape are copied whole.
    let r = p;
    while (r < end) {
      const c = <u32>load<u8>(r);
      if (c < 0x20 || c == 0x22 || c == 0x5c || c >= 0x80) break;
      r++;
    }
    if (r > p) {
      memory.copy(q, p, r - p);
      q += r - p;
      p = r;
      if (p >= end) break;
    }
    const c = <u32>load<u8>(p);
    if (c >= 0x80) {
      const s = sequenceLength(p, end);
      if (s == 0) {
        store<u8>(q, 0xef);
        store<u8>(q + 1, 0xbf);
        store<u8>(q + 2, 0xbd);
        q += 3;
        p++;
      } else {
        memory.copy(q, p, s);
        q += s;
        p += s;
      }
      continue;
    }
    store<u8>(q, 0x5c);
    let e: u32 = 0;
    switch (c) {
      case 0x22: e = 0x22; break;
      case 0x5c: e = 0x5c; break;
      case 0x08: e = 0x62; break; // b
      case 0x0c: e = 0x66; break; // f
      case 0x0a: e = 0x6e; break; // n
      case 0x0d: e = 0x72; break; // r
      case 0x09: e = 0x74; break; // t
    }
    if (e != 0) {
      store<u8>(q + 1, <u8>e);
      q += 2;
    } else {
      // \u00XX
      store<u8>(q + 1, 0x75);
      store<u8>(q + 2, 0x30);
      store<u8>(q + 3, 0x30);
      store<u8>(q + 4, <u8>HEX.charCodeAt(c >> 4));
      store<u8>(q + 5, <u8>HEX.charCodeAt(c & 15));
      q += 6;
    }
    p++;
  }
  return q;
}
