// A validating JSON scanner over UTF-8 bytes in linear memory (RFC 8259).
//
// Every function takes raw pointers (`p` = current byte, `end` = one past the last byte) and returns the
// position just after what it consumed, or 0 on error, in which case `jsonError()` / `jsonErrorAt()` say
// what and where. Nothing allocates, nothing traps on bad input, and no UTF-16 copy is ever made.
//
// Validation is complete: string escapes (including \uXXXX surrogate pairs: a lone surrogate is rejected,
// as I-JSON requires), control characters, UTF-8 well-formedness inside strings, the number grammar,
// literals, a nesting limit, and (in jsonValidate) trailing data. String contents, the bulk of any LLM
// request, are skipped 16 bytes at a time with SIMD (8 at a time with SWAR when SIMD is off).

export const JSON_MAX_DEPTH: i32 = 512;

export const JSON_OK: i32 = 0;
export const JSON_UNEXPECTED_END: i32 = 1;
export const JSON_UNEXPECTED_CHAR: i32 = 2;
export const JSON_INVALID_ESCAPE: i32 = 3;
export const JSON_INVALID_UNICODE_ESCAPE: i32 = 4;
export const JSON_LONE_SURROGATE: i32 = 5;
export const JSON_CONTROL_CHAR: i32 = 6;
export const JSON_INVALID_UTF8: i32 = 7;
export const JSON_INVALID_NUMBER: i32 = 8;
export const JSON_INVALID_LITERAL: i32 = 9;
export const JSON_TOO_DEEP: i32 = 10;
export const JSON_TRAILING_DATA: i32 = 11;
export const JSON_EXPECTED_KEY: i32 = 12;
export const JSON_EXPECTED_COLON: i32 = 13;
export const JSON_EXPECTED_COMMA_OR_END: i32 = 14;
/** A JsonReader read found a value of another kind. */
export const JSON_WRONG_TYPE: i32 = 15;
/** JsonReader.readInteger found a number that is not an integer or does not fit in an i64. */
export const JSON_NOT_INTEGER: i32 = 16;

// Value kinds, from the first byte of a value (jsonKindAt).
export const KIND_INVALID: i32 = 0;
export const KIND_OBJECT: i32 = 1;
export const KIND_ARRAY: i32 = 2;
export const KIND_STRING: i32 = 3;
export const KIND_NUMBER: i32 = 4;
export const KIND_TRUE: i32 = 5;
export const KIND_FALSE: i32 = 6;
export const KIND_NULL: i32 = 7;

const QUOTE: u32 = 0x22;
const BACKSLASH: u32 = 0x5c;
const COMMA: u32 = 0x2c;
const COLON: u32 = 0x3a;
const LBRACE: u32 = 0x7b;
const RBRACE: u32 = 0x7d;
const LBRACKET: u32 = 0x5b;
const RBRACKET: u32 = 0x5d;
const MINUS: u32 = 0x2d;
const DOT: u32 = 0x2e;

let errCode: i32 = JSON_OK;
let errPos: usize = 0;
let lastStringEscaped: bool = false;

// Open containers of skipJsonValue: 1 = object, 0 = array. Static so skipping allocates nothing.
const containerStack: usize = memory.data(JSON_MAX_DEPTH);

/** The error of the last failed call (JSON_OK after a success that followed jsonClearError). */
export function jsonError(): i32 {
  return errCode;
}

/** Absolute address of the byte where the last error was detected. */
export function jsonErrorAt(): usize {
  return errPos;
}

export function jsonClearError(): void {
  errCode = JSON_OK;
  errPos = 0;
}

/** Whether the string skipped last by skipJsonString contained a backslash escape. */
export function jsonLastStringEscaped(): bool {
  return lastStringEscaped;
}

/** Records an error and returns 0 so that callers can `return fail(...)`. */
export function jsonFail(code: i32, at: usize): usize {
  errCode = code;
  errPos = at;
  return 0;
}

/** A readable description of the last error; offsets are relative to `docStart`. */
export function jsonErrorMessage(docStart: usize): string {
  const off = (errPos - docStart).toString();
  const c: u32 = errCode == JSON_UNEXPECTED_END ? 0 : <u32>load<u8>(errPos);
  switch (errCode) {
    case JSON_OK: return "no error";
    case JSON_UNEXPECTED_END: return "unexpected end of JSON input";
    case JSON_UNEXPECTED_CHAR: return "invalid character " + describeByte(c) + " looking for beginning of value at offset " + off;
    case JSON_INVALID_ESCAPE: return "invalid escape sequence in string at offset " + off;
    case JSON_INVALID_UNICODE_ESCAPE: return "invalid \\u escape in string at offset " + off;
    case JSON_LONE_SURROGATE: return "lone UTF-16 surrogate in \\u escape at offset " + off;
    case JSON_CONTROL_CHAR: return "invalid control character " + describeByte(c) + " in string at offset " + off;
    case JSON_INVALID_UTF8: return "invalid UTF-8 in string at offset " + off;
    case JSON_INVALID_NUMBER: return "invalid number at offset " + off;
    case JSON_INVALID_LITERAL: return "invalid literal at offset " + off + " (expected true, false or null)";
    case JSON_TOO_DEEP: return "nesting deeper than " + JSON_MAX_DEPTH.toString() + " levels at offset " + off;
    case JSON_TRAILING_DATA: return "invalid character " + describeByte(c) + " after top-level value at offset " + off;
    case JSON_EXPECTED_KEY: return "invalid character " + describeByte(c) + " looking for beginning of object key string at offset " + off;
    case JSON_EXPECTED_COLON: return "invalid character " + describeByte(c) + " after object key at offset " + off;
    case JSON_EXPECTED_COMMA_OR_END: return "invalid character " + describeByte(c) + " after value in object or array at offset " + off;
    case JSON_WRONG_TYPE: return "value of unexpected type at offset " + off;
    case JSON_NOT_INTEGER: return "number at offset " + off + " is not an integer that fits in 64 bits";
  }
  return "invalid JSON at offset " + off;
}

function describeByte(c: u32): string {
  if (c >= 0x20 && c < 0x7f) {
    if (c == 0x27) return "'\\''";
    return "'" + String.fromCharCode(c) + "'";
  }
  return "0x" + (c < 0x10 ? "0" : "") + c.toString(16);
}

/** The kind of the value starting at p (KIND_INVALID at end or on a byte that cannot start a value). */
export function jsonKindAt(p: usize, end: usize): i32 {
  if (p >= end) return KIND_INVALID;
  const c = <u32>load<u8>(p);
  if (c == QUOTE) return KIND_STRING;
  if (c == LBRACE) return KIND_OBJECT;
  if (c == LBRACKET) return KIND_ARRAY;
  if (c == MINUS || c - 0x30 < 10) return KIND_NUMBER;
  if (c == 0x74) return KIND_TRUE;
  if (c == 0x66) return KIND_FALSE;
  if (c == 0x6e) return KIND_NULL;
  return KIND_INVALID;
}

export function jsonKindName(kind: i32): string {
  switch (kind) {
    case KIND_OBJECT: return "object";
    case KIND_ARRAY: return "array";
    case KIND_STRING: return "string";
    case KIND_NUMBER: return "number";
    case KIND_TRUE: case KIND_FALSE: return "boolean";
    case KIND_NULL: return "null";
  }
  return "invalid value";
}

/** Skips JSON whitespace (space, tab, CR, LF). Never fails. */
// @ts-ignore: decorator
@inline
export function skipJsonWs(p: usize, end: usize): usize {
  while (p < end) {
    const c = <u32>load<u8>(p);
    if (c > 0x20 || (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09)) break;
    p++;
  }
  return p;
}

/**
 * Skips a string. `p` is at the opening quote; returns the position after the closing quote.
 * jsonLastStringEscaped() tells afterwards whether the string held a backslash escape.
 */
export function skipJsonString(p: usize, end: usize): usize {
  p++;
  let escaped = false;
  while (true) {
    p = findStringSpecial(p, end);
    if (p >= end) return jsonFail(JSON_UNEXPECTED_END, end);
    const c = <u32>load<u8>(p);
    if (c == QUOTE) {
      lastStringEscaped = escaped;
      return p + 1;
    }
    if (c == BACKSLASH) {
      escaped = true;
      p = skipEscape(p, end);
      if (p == 0) return 0;
    } else if (c < 0x20) {
      return jsonFail(JSON_CONTROL_CHAR, p);
    } else if (c >= 0x80) {
      p = skipUtf8Run(p, end);
      if (p == 0) return 0;
    } else {
      p++;
    }
  }
  return 0; // unreachable
}

/**
 * First position >= p whose byte is a quote, a backslash, a control character or non-ASCII,
 * or a position within the last 15 bytes from which the caller continues byte by byte.
 */
// @ts-ignore: decorator
@inline
function findStringSpecial(p: usize, end: usize): usize {
  if (ASC_FEATURE_SIMD) {
    const quote = i8x16.splat(<i8>QUOTE);
    const bslash = i8x16.splat(<i8>BACKSLASH);
    const space = i8x16.splat(0x20);
    // 64 bytes per step while nothing special shows up; the 16-byte loop below then locates it.
    while (p + 64 <= end) {
      const a = v128.load(p);
      const b = v128.load(p, 16);
      const c = v128.load(p, 32);
      const d = v128.load(p, 48);
      const sa = v128.or(v128.or(i8x16.eq(a, quote), i8x16.eq(a, bslash)), i8x16.lt_s(a, space));
      const sb = v128.or(v128.or(i8x16.eq(b, quote), i8x16.eq(b, bslash)), i8x16.lt_s(b, space));
      const sc = v128.or(v128.or(i8x16.eq(c, quote), i8x16.eq(c, bslash)), i8x16.lt_s(c, space));
      const sd = v128.or(v128.or(i8x16.eq(d, quote), i8x16.eq(d, bslash)), i8x16.lt_s(d, space));
      if (v128.any_true(v128.or(v128.or(sa, sb), v128.or(sc, sd)))) break;
      p += 64;
    }
    while (p + 16 <= end) {
      const v = v128.load(p);
      // Signed compare: bytes >= 0x80 are negative, so one lt_s catches both control and non-ASCII bytes.
      const m = i8x16.bitmask(v128.or(v128.or(i8x16.eq(v, quote), i8x16.eq(v, bslash)), i8x16.lt_s(v, space)));
      if (m != 0) return p + <usize>ctz(m);
      p += 16;
    }
  } else {
    while (p + 8 <= end) {
      const x = load<u64>(p);
      const lo: u64 = 0x0101010101010101;
      const hi: u64 = 0x8080808080808080;
      const q = x ^ (lo * QUOTE);
      const b = x ^ (lo * BACKSLASH);
      // The lowest flagged byte of each term is exact, so the lowest flagged byte of the OR is the first special.
      const m = (((q - lo) & ~q) | ((b - lo) & ~b) | ((x - lo * 0x20) & ~x) | x) & hi;
      if (m != 0) return p + <usize>(ctz(m) >> 3);
      p += 8;
    }
  }
  return p;
}

/** p is at a backslash. */
function skipEscape(p: usize, end: usize): usize {
  if (p + 1 >= end) return jsonFail(JSON_UNEXPECTED_END, end);
  const e = <u32>load<u8>(p + 1);
  if (e == QUOTE || e == BACKSLASH || e == 0x2f || e == 0x62 || e == 0x66 || e == 0x6e || e == 0x72 || e == 0x74) {
    return p + 2;
  }
  if (e != 0x75) return jsonFail(JSON_INVALID_ESCAPE, p);
  const u = readHex4(p + 2, end);
  if (u < 0) return u == -2 ? jsonFail(JSON_UNEXPECTED_END, end) : jsonFail(JSON_INVALID_UNICODE_ESCAPE, p);
  if (u >= 0xdc00 && u <= 0xdfff) return jsonFail(JSON_LONE_SURROGATE, p);
  if (u >= 0xd800 && u <= 0xdbff) {
    // A high surrogate must be followed at once by \u and a low surrogate.
    if (p + 6 >= end) return jsonFail(JSON_UNEXPECTED_END, end);
    if (load<u8>(p + 6) != BACKSLASH) return jsonFail(JSON_LONE_SURROGATE, p);
    if (p + 7 >= end) return jsonFail(JSON_UNEXPECTED_END, end);
    if (load<u8>(p + 7) != 0x75) return jsonFail(JSON_LONE_SURROGATE, p);
    const lo = readHex4(p + 8, end);
    if (lo < 0) return lo == -2 ? jsonFail(JSON_UNEXPECTED_END, end) : jsonFail(JSON_INVALID_UNICODE_ESCAPE, p + 6);
    if (lo < 0xdc00 || lo > 0xdfff) return jsonFail(JSON_LONE_SURROGATE, p);
    return p + 12;
  }
  return p + 6;
}

/** Four hex digits at p: the value, -1 when a digit is invalid, -2 when the input ends first. */
export function readHex4(p: usize, end: usize): i32 {
  let v: i32 = 0;
  for (let i: usize = 0; i < 4; i++) {
    if (p + i >= end) return -2;
    const d = hexDigit(<u32>load<u8>(p + i));
    if (d < 0) return -1;
    v = (v << 4) | d;
  }
  return v;
}

// @ts-ignore: decorator
@inline
function hexDigit(c: u32): i32 {
  if (c - 0x30 < 10) return <i32>(c - 0x30);
  const l = c | 0x20;
  if (l - 0x61 < 6) return <i32>(l - 0x61 + 10);
  return -1;
}

/** Validates consecutive UTF-8 multi-byte sequences starting at p (a byte >= 0x80). */
function skipUtf8Run(p: usize, end: usize): usize {
  while (p < end) {
    const c = <u32>load<u8>(p);
    if (c < 0x80) return p;
    let n: usize;
    let lo: u32 = 0x80;
    let hi: u32 = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c == 0xe0) lo = 0xa0; // overlong
      else if (c == 0xed) hi = 0x9f; // UTF-16 surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c == 0xf0) lo = 0x90; // overlong
      else if (c == 0xf4) hi = 0x8f; // above U+10FFFF
    } else {
      return jsonFail(JSON_INVALID_UTF8, p);
    }
    if (p + n >= end) return jsonFail(JSON_UNEXPECTED_END, end);
    const c1 = <u32>load<u8>(p + 1);
    if (c1 < lo || c1 > hi) return jsonFail(JSON_INVALID_UTF8, p);
    for (let i: usize = 2; i <= n; i++) {
      const ci = <u32>load<u8>(p + i);
      if ((ci & 0xc0) != 0x80) return jsonFail(JSON_INVALID_UTF8, p);
    }
    p += n + 1;
  }
  return p;
}

/** Skips a number (p at '-' or a digit), enforcing the RFC 8259 grammar. */
export function skipJsonNumber(p: usize, end: usize): usize {
  const start = p;
  if (load<u8>(p) == MINUS) {
    p++;
    if (p >= end) return jsonFail(JSON_UNEXPECTED_END, end);
  }
  let c = <u32>load<u8>(p);
  if (c == 0x30) {
    p++;
    // "01" is not a number; report it here rather than as a stray digit.
    if (p < end && <u32>load<u8>(p) - 0x30 < 10) return jsonFail(JSON_INVALID_NUMBER, start);
  } else if (c - 0x31 < 9) {
    p++;
    while (p < end && <u32>load<u8>(p) - 0x30 < 10) p++;
  } else {
    return jsonFail(JSON_INVALID_NUMBER, start);
  }
  if (p < end && load<u8>(p) == DOT) {
    p++;
    if (p >= end) return jsonFail(JSON_UNEXPECTED_END, end);
    if (<u32>load<u8>(p) - 0x30 >= 10) return jsonFail(JSON_INVALID_NUMBER, start);
    while (p < end && <u32>load<u8>(p) - 0x30 < 10) p++;
  }
  if (p < end && (<u32>load<u8>(p) | 0x20) == 0x65) {
    p++;
    if (p >= end) return jsonFail(JSON_UNEXPECTED_END, end);
    c = <u32>load<u8>(p);
    if (c == 0x2b || c == MINUS) {
      p++;
      if (p >= end) return jsonFail(JSON_UNEXPECTED_END, end);
    }
    if (<u32>load<u8>(p) - 0x30 >= 10) return jsonFail(JSON_INVALID_NUMBER, start);
    while (p < end && <u32>load<u8>(p) - 0x30 < 10) p++;
  }
  return p;
}

/** Skips `true`, `false` or `null` (p at its first byte). */
function skipLiteral(p: usize, end: usize): usize {
  if (p + 4 <= end) {
    const w = load<u32>(p);
    if (w == 0x65757274 || w == 0x6c6c756e) return p + 4; // "true", "null" (little-endian)
    if (w == 0x736c6166 && p + 5 <= end && load<u8>(p + 4) == 0x65) return p + 5; // "fals" + "e"
  }
  const c = <u32>load<u8>(p);
  // "true" and "null" are 4 bytes, "false" 5; compare what is there so a truncated literal reads as truncated.
  const word: string = c == 0x74 ? "true" : c == 0x66 ? "false" : "null";
  const n = <usize>word.length;
  for (let i: usize = 1; i < n; i++) {
    if (p + i >= end) return jsonFail(JSON_UNEXPECTED_END, end);
    if (<u32>load<u8>(p + i) != <u32>load<u16>(changetype<usize>(word) + (i << 1))) return jsonFail(JSON_INVALID_LITERAL, p);
  }
  return p + n;
}

/**
 * Skips one complete value starting exactly at p (no leading whitespace), validating all of it.
 * `depth` is the number of containers already open around p; the limit is JSON_MAX_DEPTH in total.
 */
export function skipJsonValue(p: usize, end: usize, depth: i32): usize {
  const base = depth;
  while (true) {
    // Parse one value at p.
    if (p >= end) return jsonFail(JSON_UNEXPECTED_END, end);
    let c = <u32>load<u8>(p);
    if (c == QUOTE) {
      p = skipJsonString(p, end);
      if (p == 0) return 0;
    } else if (c == LBRACE || c == LBRACKET) {
      if (depth >= JSON_MAX_DEPTH) return jsonFail(JSON_TOO_DEEP, p);
      const isObject = c == LBRACE;
      p = skipJsonWs(p + 1, end);
      if (p >= end) return jsonFail(JSON_UNEXPECTED_END, end);
      c = <u32>load<u8>(p);
      if (c == (isObject ? RBRACE : RBRACKET)) {
        p++; // empty container: a complete value
      } else {
        store<u8>(containerStack + <usize>depth, isObject ? 1 : 0);
        depth++;
        if (isObject) {
          p = skipKeyAndColon(p, end);
          if (p == 0) return 0;
        }
        continue; // now at the first element's value
      }
    } else if (c == MINUS || c - 0x30 < 10) {
      p = skipJsonNumber(p, end);
      if (p == 0) return 0;
    } else if (c == 0x74 || c == 0x66 || c == 0x6e) {
      p = skipLiteral(p, end);
      if (p == 0) return 0;
    } else {
      return jsonFail(JSON_UNEXPECTED_CHAR, p);
    }
    // After a complete value: close containers or move to the next element.
    while (true) {
      if (depth == base) return p;
      p = skipJsonWs(p, end);
      if (p >= end) return jsonFail(JSON_UNEXPECTED_END, end);
      c = <u32>load<u8>(p);
      const inObject = load<u8>(containerStack + <usize>(depth - 1)) != 0;
      if (c == COMMA) {
        p = skipJsonWs(p + 1, end);
        if (inObject) {
          p = skipKeyAndColon(p, end);
          if (p == 0) return 0;
        }
        break; // parse the next value
      }
      if (c != (inObject ? RBRACE : RBRACKET)) return jsonFail(JSON_EXPECTED_COMMA_OR_END, p);
      p++;
      depth--;
    }
  }
  return 0; // unreachable
}

/** At an object key (p at its quote): skips `"key" :` and the whitespace after the colon. */
export function skipKeyAndColon(p: usize, end: usize): usize {
  if (p >= end) return jsonFail(JSON_UNEXPECTED_END, end);
  if (load<u8>(p) != QUOTE) return jsonFail(JSON_EXPECTED_KEY, p);
  p = skipJsonString(p, end);
  if (p == 0) return 0;
  p = skipJsonWs(p, end);
  if (p >= end) return jsonFail(JSON_UNEXPECTED_END, end);
  if (load<u8>(p) != COLON) return jsonFail(JSON_EXPECTED_COLON, p);
  return skipJsonWs(p + 1, end);
}

/** Validates a whole document: one value with optional surrounding whitespace. */
export function jsonValidate(ptr: usize, len: usize): bool {
  jsonClearError();
  const end = ptr + len;
  let p = skipJsonWs(ptr, end);
  p = skipJsonValue(p, end, 0);
  if (p == 0) return false;
  p = skipJsonWs(p, end);
  if (p != end) {
    jsonFail(JSON_TRAILING_DATA, p);
    return false;
  }
  return true;
}
