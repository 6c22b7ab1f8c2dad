// A cursor over a JSON document in linear memory for code that needs a few fields out of it (response
// usage, configuration): walk objects and arrays, compare keys, read scalars, skip whatever is not
// needed. Everything touched or skipped is validated by scan.ts; nothing is copied unless read.
//
//   const r = new JsonReader(ptr, len);
//   if (r.enterObject()) {
//     while (r.nextMember()) {
//       if (r.keyIs("usage")) { ...enterObject/readInteger...; } else r.skip();
//     }
//   }
//   if (!r.ok()) log(r.errorMessage());
//
// Rules: after nextMember()/nextElement() returned true the cursor is at a value, which the caller must
// consume exactly once (skip, a read*, or enter* and iterate to the end). Iteration returns false at the
// container's end (consumed) or on error; ok() distinguishes the two. A read of the wrong kind records
// an error too (JSON_WRONG_TYPE at the value) without moving. Errors live in scan.ts's module state,
// so finish with one reader (or check it) before starting another.

import {
  jsonClearError, jsonError, jsonErrorAt, jsonErrorMessage, jsonFail, jsonKindAt, jsonLastStringEscaped,
  skipJsonNumber, skipJsonString, skipJsonValue, skipJsonWs,
  JSON_EXPECTED_COLON, JSON_EXPECTED_COMMA_OR_END, JSON_EXPECTED_KEY, JSON_MAX_DEPTH, JSON_NOT_INTEGER, JSON_OK,
  JSON_TOO_DEEP, JSON_TRAILING_DATA, JSON_UNEXPECTED_CHAR, JSON_UNEXPECTED_END, JSON_WRONG_TYPE,
  KIND_ARRAY, KIND_FALSE, KIND_INVALID, KIND_NUMBER, KIND_OBJECT, KIND_STRING, KIND_TRUE,
} from "./scan";
import { jsonNumberOk, jsonNumberToF64, jsonNumberToI64, jsonStringBytes, jsonStringEquals, jsonStringValue } from "./decode";

export class JsonReader {
  start: usize = 0;
  end: usize = 0;
  /** Current position (always just after whitespace when at a value). */
  pos: usize = 0;
  /** Containers entered and not yet left. */
  depth: i32 = 0;
  /** The last key read by nextMember: token span including quotes. */
  keyStart: usize = 0;
  keyEnd: usize = 0;
  keyEscaped: bool = false;
  /** Span of the last value consumed by skip() or a read*. */
  valueStart: usize = 0;
  valueEnd: usize = 0;
  private afterValue: bool = false;
  private failed: bool = false;
  // Bit d set = the container at depth d+1 is an object; capped at JSON_MAX_DEPTH like the scanner.
  private kinds: StaticArray<u64> = new StaticArray<u64>(JSON_MAX_DEPTH / 64);

  constructor(ptr: usize, len: usize) {
    this.reset(ptr, len);
  }

  /** Starts over on another document, so that one reader can serve many (e.g. one per SSE event). */
  reset(ptr: usize, len: usize): void {
    this.start = ptr;
    this.end = ptr + len;
    this.pos = skipJsonWs(ptr, ptr + len);
    this.depth = 0;
    this.afterValue = false;
    this.failed = false;
    jsonClearError();
  }

  ok(): bool {
    return !this.failed;
  }

  /** The error code (scan.ts JSON_*), JSON_OK when none. */
  errorCode(): i32 {
    return this.failed ? jsonError() : JSON_OK;
  }

  /** Offset of the error from the start of the document. */
  errorOffset(): usize {
    return this.failed ? jsonErrorAt() - this.start : 0;
  }

  errorMessage(): string {
    return this.failed ? jsonErrorMessage(this.start) : "no error";
  }

  /** Kind (scan.ts KIND_*) of the value at the cursor. */
  kind(): i32 {
    return jsonKindAt(this.pos, this.end);
  }

  /** Skips (and validates) the value at the cursor. */
  skip(): bool {
    if (this.failed) return false;
    const s = this.pos;
    const p = skipJsonValue(s, this.end, this.depth);
    return this.consumed(s, p);
  }

  /** Enters the object at the cursor; then iterate with nextMember(). */
  enterObject(): bool {
    return this.enter(0x7b, KIND_OBJECT);
  }

  /** Enters the array at the cursor; then iterate with nextElement(). */
  enterArray(): bool {
    return this.enter(0x5b, KIND_ARRAY);
  }

  /** Moves to the next member's value (key in keyStart/keyEnd); false at the object's end or on error. */
  nextMember(): bool {
    if (!this.advance(0x7d)) return false;
    const k = this.pos;
    if (k >= this.end) return this.failWith(JSON_UNEXPECTED_END, this.end);
    if (load<u8>(k) != 0x22) return this.failWith(JSON_EXPECTED_KEY, k);
    const ke = skipJsonString(k, this.end);
    if (ke == 0) return this.fail();
    this.keyStart = k;
    this.keyEnd = ke;
    this.keyEscaped = jsonLastStringEscaped();
    const c = skipJsonWs(ke, this.end);
    if (c >= this.end) return this.failWith(JSON_UNEXPECTED_END, this.end);
    if (load<u8>(c) != 0x3a) return this.failWith(JSON_EXPECTED_COLON, c);
    this.pos = skipJsonWs(c + 1, this.end);
    return true;
  }

  /** Moves to the next element; false at the array's end or on error. */
  nextElement(): bool {
    return this.advance(0x5d);
  }

  /** Whether the last key equals `name` (escapes in the key are decoded first). */
  keyIs(name: string): bool {
    return jsonStringEquals(this.keyStart, this.keyEnd, this.keyEscaped, name);
  }

  /** The last key, decoded. */
  key(): string {
    return jsonStringValue(this.keyStart, this.keyEnd, this.keyEscaped);
  }

  /**
   * Inside an object (after enterObject or between members): skips members up to the key `name` and
   * leaves the cursor at its value. False when the object ends first (the object is then consumed).
   * The first occurrence wins here; duplicate-key policy is the caller's.
   */
  findMember(name: string): bool {
    while (this.nextMember()) {
      if (this.keyIs(name)) return true;
      if (!this.skip()) return false;
    }
    return false;
  }

  /** Leaves the current container: skips the rest of it (validating) and consumes its end. */
  exit(): bool {
    if (this.failed || this.depth == 0) return false;
    const inObject = this.inObject;
    if (inObject) {
      while (this.nextMember()) if (!this.skip()) return false;
    } else {
      while (this.nextElement()) if (!this.skip()) return false;
    }
    return this.ok();
  }

  /** Reads a string value (decoded); null on a non-string (error recorded). */
  readString(): string | null {
    if (!this.expectKind(KIND_STRING)) return null;
    const s = this.pos;
    const p = skipJsonString(s, this.end);
    if (!this.consumed(s, p)) return null;
    return jsonStringValue(s, p, jsonLastStringEscaped());
  }

  /** Reads a string value as its decoded UTF-8 bytes; null on a non-string (error recorded). */
  readStringBytes(): ArrayBuffer | null {
    if (!this.expectKind(KIND_STRING)) return null;
    const s = this.pos;
    const p = skipJsonString(s, this.end);
    if (!this.consumed(s, p)) return null;
    return jsonStringBytes(s, p, jsonLastStringEscaped());
  }

  /** Reads a number as f64; NaN on a non-number (error recorded). */
  readNumber(): f64 {
    if (!this.expectKind(KIND_NUMBER)) return NaN;
    const s = this.pos;
    const p = skipJsonNumber(s, this.end);
    if (!this.consumed(s, p)) return NaN;
    return jsonNumberToF64(s, p);
  }

  /**
   * Reads an integer (an exponent is fine if the value is integral, e.g. 1e3); 0 with an error recorded
   * when the value is not a number, not integral or does not fit in an i64.
   */
  readInteger(): i64 {
    if (!this.expectKind(KIND_NUMBER)) return 0;
    const s = this.pos;
    const p = skipJsonNumber(s, this.end);
    if (!this.consumed(s, p)) return 0;
    const v = jsonNumberToI64(s, p);
    if (!jsonNumberOk()) {
      this.failWith(JSON_NOT_INTEGER, s);
      return 0;
    }
    return v;
  }

  /** Reads a boolean; false with an error recorded on a non-boolean. */
  readBool(): bool {
    if (!this.expectKind(KIND_TRUE)) return false;
    const k = this.kind();
    this.skip();
    return k == KIND_TRUE;
  }

  /** After the top-level value: whether only whitespace remains (records JSON_TRAILING_DATA if not). */
  atEnd(): bool {
    if (this.failed) return false;
    const p = skipJsonWs(this.pos, this.end);
    if (p != this.end) return this.failWith(JSON_TRAILING_DATA, p);
    return true;
  }

  // --- internals ---

  private get inObject(): bool {
    const d = this.depth - 1;
    return ((unchecked(this.kinds[d >> 6]) >> <u64>(d & 63)) & 1) != 0;
  }

  private enter(open: u32, kind: i32): bool {
    if (!this.expectKind(kind)) return false;
    if (this.depth >= JSON_MAX_DEPTH) return this.failWith(JSON_TOO_DEEP, this.pos);
    const d = this.depth;
    const bit = <u64>1 << <u64>(d & 63);
    const w = unchecked(this.kinds[d >> 6]);
    unchecked((this.kinds[d >> 6] = open == 0x7b ? w | bit : w & ~bit));
    this.depth++;
    this.pos = skipJsonWs(this.pos + 1, this.end);
    this.afterValue = false;
    return true;
  }

  /** Common part of nextMember/nextElement: handles ',' and the closing byte. */
  private advance(close: u32): bool {
    if (this.failed || this.depth == 0) return false;
    if (this.inObject != (close == 0x7d)) return this.failWith(JSON_WRONG_TYPE, this.pos);
    let p = this.pos;
    if (p >= this.end) return this.failWith(JSON_UNEXPECTED_END, this.end);
    const c = <u32>load<u8>(p);
    if (c == close) {
      this.pos = skipJsonWs(p + 1, this.end);
      this.depth--;
      this.afterValue = true;
      return false;
    }
    if (this.afterValue) {
      if (c != 0x2c) return this.failWith(JSON_EXPECTED_COMMA_OR_END, p);
      p = skipJsonWs(p + 1, this.end);
      // A comma must be followed by another element, never by the closing byte.
      if (p < this.end && <u32>load<u8>(p) == close) return this.failWith(close == 0x7d ? JSON_EXPECTED_KEY : JSON_UNEXPECTED_CHAR, p);
    }
    this.pos = p;
    this.afterValue = false;
    return true;
  }

  private expectKind(kind: i32): bool {
    if (this.failed) return false;
    const k = this.kind();
    if (k == kind || (kind == KIND_TRUE && k == KIND_FALSE)) return true;
    if (this.pos >= this.end) return this.failWith(JSON_UNEXPECTED_END, this.end);
    return this.failWith(k == KIND_INVALID ? JSON_UNEXPECTED_CHAR : JSON_WRONG_TYPE, this.pos);
  }

  private consumed(s: usize, p: usize): bool {
    if (p == 0) return this.fail();
    this.valueStart = s;
    this.valueEnd = p;
    this.pos = skipJsonWs(p, this.end);
    this.afterValue = true;
    return true;
  }

  private failWith(code: i32, at: usize): bool {
    jsonFail(code, at);
    return this.fail();
  }

  private fail(): bool {
    this.failed = true;
    return false;
  }
}
