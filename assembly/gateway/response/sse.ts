// Token usage of a streamed (text/event-stream) response, fed chunk by chunk as the bytes pass to the client
// unchanged. Each chunk is scanned once: line ends are found 16 bytes at a time, and a complete `data:` line
// needs JSON work only when it has a non-null "usage" or a "model" other than the one already known — found
// by a SIMD search for `"u` / `"m` pairs, so the usual content-delta event costs two vector passes and no
// allocation. Only the incomplete trailing line is carried between chunks (capped; a longer line is dropped).
//
// Semantics (Envoy AI Gateway v1.1.0's OpenAI stream reading, plus what it gets wrong): events may split at any
// byte; `data:` with or without the space; LF, CRLF or a lone CR ends a line (the SSE specification's three); `[DONE]`, comments (`:`), `event:`/`id:`/
// `retry:` lines and non-JSON data are skipped without error; `"usage": null` is ignored; the latest usage wins
// field by field (vLLM sends cumulative usage); the latest non-empty `model` is the response model. A final line
// without a newline is still read by finish(). Each data line is one JSON document (as upstream; multi-line
// `data:` events are not joined).

import { TokenUsage, ResponseObjectReader } from "./usage";

const NL: u8 = 0x0a;
const CR: u8 = 0x0d;
const QUOTE: u8 = 0x22;
const DEFAULT_MAX_LINE: i32 = 1 << 20;

// Result of the candidate scan of one data line.
const LINE_NOTHING: i32 = 0;
const LINE_PARSE: i32 = 1;

export class SseUsageScanner {
  /** Usage so far, merged field by field, with the response model. */
  readonly usage: TokenUsage = new TokenUsage();
  /** A `data: [DONE]` line was seen. */
  done: bool = false;
  /** `data:` lines seen. */
  dataLines: i32 = 0;
  /** Events whose usage was taken. */
  usageUpdates: i32 = 0;
  /** Data lines that needed JSON work but were not valid, and lines dropped for exceeding the cap. */
  ignoredLines: i32 = 0;

  private readonly maxLine: i32;
  private scratch: TokenUsage = new TokenUsage();
  private reader: ResponseObjectReader = new ResponseObjectReader();
  private carry: ArrayBuffer = new ArrayBuffer(0);
  private carryLen: i32 = 0;
  /** Discarding an over-long line up to its end. */
  private skipping: bool = false;
  /** The last line ended in CR at a chunk's end: an LF opening the next chunk belongs to it. */
  private skipLF: bool = false;
  private atStart: bool = true;
  /** The current model's raw JSON string token (quotes included), to recognise an unchanged model cheaply. */
  private modelRaw: ArrayBuffer = new ArrayBuffer(0);
  private modelRawLen: i32 = 0;

  /** `maxLineBytes` bounds the memory held for one incomplete line (default 1 MiB). */
  constructor(maxLineBytes: i32 = DEFAULT_MAX_LINE) {
    this.maxLine = maxLineBytes;
  }

  reset(): void {
    this.usage.reset();
    this.done = false;
    this.dataLines = 0;
    this.usageUpdates = 0;
    this.ignoredLines = 0;
    this.carryLen = 0;
    this.skipping = false;
    this.skipLF = false;
    this.atStart = true;
    this.modelRawLen = 0;
  }

  /** Bytes held for the incomplete trailing line. */
  get pendingBytes(): i32 { return this.carryLen; }

  /** Scans the next chunk of the stream. */
  feed(ptr: usize, len: i32): void {
    let p = ptr;
    const end = ptr + <usize>len;
    if (this.skipLF && p < end) {
      if (load<u8>(p) == NL) p++;
      this.skipLF = false;
    }
    if (this.skipping) {
      const nl = findLineEnd(p, end);
      if (nl >= end) return;
      this.skipping = false;
      p = this.afterLineEnd(nl, end);
    } else if (this.carryLen > 0) {
      const nl = findLineEnd(p, end);
      if (!this.appendCarry(p, <i32>(nl - p))) {
        if (nl >= end) return;
        this.skipping = false;
      } else {
        if (nl >= end) return;
        this.processLine(changetype<usize>(this.carry), changetype<usize>(this.carry) + <usize>this.carryLen);
        this.carryLen = 0;
      }
      p = this.afterLineEnd(nl, end);
    }
    while (p < end) {
      const nl = findLineEnd(p, end);
      if (nl >= end) break;
      this.processLine(p, nl);
      p = this.afterLineEnd(nl, end);
    }
    if (p < end) this.appendCarry(p, <i32>(end - p));
  }

  /** Past the line end at `nl`: CRLF is one line end, even split across chunks. */
  private afterLineEnd(nl: usize, end: usize): usize {
    if (load<u8>(nl) != CR) return nl + 1;
    if (nl + 1 < end) return load<u8>(nl + 1) == NL ? nl + 2 : nl + 1;
    this.skipLF = true;
    return nl + 1;
  }

  /** End of the stream: reads a last line that had no newline. */
  finish(): void {
    if (this.carryLen > 0 && !this.skipping) {
      this.processLine(changetype<usize>(this.carry), changetype<usize>(this.carry) + <usize>this.carryLen);
    }
    this.carryLen = 0;
    this.skipping = false;
  }

  // Appends to the incomplete line; over the cap the line is dropped and skipped up to its newline.
  private appendCarry(p: usize, n: i32): bool {
    const need = this.carryLen + n;
    if (need > this.maxLine) {
      this.carryLen = 0;
      this.skipping = true;
      this.ignoredLines++;
      return false;
    }
    if (need > this.carry.byteLength) {
      let cap = this.carry.byteLength < 256 ? 256 : this.carry.byteLength << 1;
      while (cap < need) cap <<= 1;
      if (cap > this.maxLine) cap = this.maxLine;
      const grown = new ArrayBuffer(cap);
      memory.copy(changetype<usize>(grown), changetype<usize>(this.carry), <usize>this.carryLen);
      this.carry = grown;
    }
    memory.copy(changetype<usize>(this.carry) + <usize>this.carryLen, p, <usize>n);
    this.carryLen = need;
    return true;
  }

  private processLine(s: usize, e: usize): void {
    if (this.atStart) {
      this.atStart = false;
      // A UTF-8 byte order mark may open the stream.
      if (e - s >= 3 && load<u8>(s) == 0xef && load<u8>(s + 1) == 0xbb && load<u8>(s + 2) == 0xbf) s += 3;
    }
    // "data:" (little-endian "data" then ':'), then one optional space.
    if (e - s < 5 || load<u32>(s) != 0x61746164 || load<u8>(s + 4) != 0x3a) return;
    s += 5;
    if (s < e && load<u8>(s) == 0x20) s++;
    this.dataLines++;
    while (s < e && isSpace(load<u8>(s))) s++;
    while (e > s && isSpace(load<u8>(e - 1))) e--;
    if (e - s == 6 && load<u32>(s) == 0x4e4f445b && load<u16>(s + 4) == 0x5d45) { // "[DONE]"
      this.done = true;
      return;
    }
    if (e == s || load<u8>(s) != 0x7b) return; // not a JSON object
    if (this.scanCandidates(s, e) == LINE_PARSE) this.parseEvent(s, e);
  }

  // Finds `"u` and `"m` pairs; says whether the line has a non-null "usage" or a changed "model".
  private scanCandidates(s: usize, e: usize): i32 {
    let p = s;
    if (ASC_FEATURE_SIMD) {
      const quote = i8x16.splat(<i8>QUOTE);
      const u = i8x16.splat(0x75);
      const m = i8x16.splat(0x6d);
      while (p + 17 <= e) {
        const a = v128.load(p);
        const b = v128.load(p + 1);
        let bits = i8x16.bitmask(v128.and(i8x16.eq(a, quote), v128.or(i8x16.eq(b, u), i8x16.eq(b, m))));
        while (bits != 0) {
          if (this.candidate(p + <usize>ctz(bits), e) == LINE_PARSE) return LINE_PARSE;
          bits &= bits - 1;
        }
        p += 16;
      }
    }
    while (p + 1 < e) {
      if (load<u8>(p) == QUOTE) {
        const c = load<u8>(p + 1);
        if ((c == 0x75 || c == 0x6d) && this.candidate(p, e) == LINE_PARSE) return LINE_PARSE;
      }
      p++;
    }
    return LINE_NOTHING;
  }

  private candidate(p: usize, e: usize): i32 {
    // `"usage"` / `"model"`: 7 bytes; the 5 letters after the quote as one u32 and one u16 compare.
    if (p + 7 > e || load<u8>(p + 6) != QUOTE) return LINE_NOTHING;
    const w = load<u32>(p + 1);
    const isUsage = w == 0x67617375 && load<u8>(p + 5) == 0x65; // "usag" "e"
    const isModel = w == 0x65646f6d && load<u8>(p + 5) == 0x6c; // "mode" "l"
    if (!isUsage && !isModel) return LINE_NOTHING;
    let q = skipSpaces(p + 7, e);
    if (q >= e || load<u8>(q) != 0x3a) return LINE_NOTHING; // a value that happens to read "usage", not a key
    q = skipSpaces(q + 1, e);
    if (q + 4 <= e && load<u32>(q) == 0x6c6c756e) return LINE_NOTHING; // null
    if (isUsage) return LINE_PARSE;
    // Model: unchanged when its raw token equals the known one.
    if (q >= e || load<u8>(q) != QUOTE) return LINE_PARSE;
    let r = q + 1;
    while (r < e) {
      const c = load<u8>(r);
      if (c == QUOTE) break;
      if (c == 0x5c) return LINE_PARSE; // escapes: let the JSON reader decode it
      r++;
    }
    if (r >= e) return LINE_PARSE;
    const n = <i32>(r + 1 - q);
    if (n == 2) return LINE_NOTHING; // "" never replaces a model
    if (n == this.modelRawLen && memory.compare(q, changetype<usize>(this.modelRaw), <usize>n) == 0) return LINE_NOTHING;
    return LINE_PARSE;
  }

  private parseEvent(s: usize, e: usize): void {
    const scratch = this.scratch;
    const reader = this.reader;
    if (!reader.read(s, e - s, scratch)) {
      this.ignoredLines++;
      return;
    }
    if (scratch.seen != 0) {
      this.usage.merge(scratch);
      this.usageUpdates++;
    }
    const ms = reader.modelStart;
    if (ms == 0) return;
    const n = <i32>(reader.modelEnd - ms);
    if (n <= 2) return;
    if (n == this.modelRawLen && memory.compare(ms, changetype<usize>(this.modelRaw), <usize>n) == 0) return;
    const model = reader.modelString();
    if (model.length == 0) return;
    this.usage.model = model;
    if (n > this.modelRaw.byteLength) this.modelRaw = new ArrayBuffer(n);
    memory.copy(changetype<usize>(this.modelRaw), ms, <usize>n);
    this.modelRawLen = n;
  }
}

// @ts-ignore: decorator
@inline
function isSpace(c: u8): bool {
  return c == 0x20 || c == 0x09 || c == CR || c == NL;
}

// @ts-ignore: decorator
@inline
function skipSpaces(p: usize, e: usize): usize {
  while (p < e && isSpace(load<u8>(p))) p++;
  return p;
}

/** First LF at or after p, or `end`. */
// @ts-ignore: decorator
@inline
/** The first LF or CR at or after `p`, or `end`. */
function findLineEnd(p: usize, end: usize): usize {
  if (ASC_FEATURE_SIMD) {
    const nl = i8x16.splat(<i8>NL);
    const cr = i8x16.splat(<i8>CR);
    while (p + 16 <= end) {
      const v = v128.load(p);
      const bits = i8x16.bitmask(v128.or(i8x16.eq(v, nl), i8x16.eq(v, cr)));
      if (bits != 0) return p + <usize>ctz(bits);
      p += 16;
    }
  }
  while (p < end) {
    const c = load<u8>(p);
    if (c == NL || c == CR) break;
    p++;
  }
  return p;
}
