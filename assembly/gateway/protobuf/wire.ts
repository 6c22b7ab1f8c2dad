// Protobuf wire format over raw linear memory: a reader that walks a message by offsets (values stay views
// into the caller's buffer) and a writer that appends into one growable buffer. Malformed input sets an error
// code and stops; nothing here traps on bad bytes. The one codec of the filter: the Endpoint Picker's ext_proc
// messages (extproc/) and the rate limit service's (tokens/global-limit.ts) are both written and read with it.

export const WIRE_VARINT: u32 = 0;
export const WIRE_FIXED64: u32 = 1;
export const WIRE_LEN: u32 = 2;
export const WIRE_START_GROUP: u32 = 3;
export const WIRE_END_GROUP: u32 = 4;
export const WIRE_FIXED32: u32 = 5;

export const PB_OK: i32 = 0;
export const PB_TRUNCATED: i32 = 1;
export const PB_BAD_VARINT: i32 = 2;
export const PB_BAD_WIRE_TYPE: i32 = 3;
export const PB_BAD_FIELD_NUMBER: i32 = 4;
export const PB_BAD_GROUP: i32 = 5;
export const PB_TOO_DEEP: i32 = 6;

// Nested groups are skipped recursively; a hostile message could nest them arbitrarily deep.
const MAX_GROUP_DEPTH: i32 = 64;

export function protoErrorMessage(code: i32): string {
  switch (code) {
    case PB_OK: return "ok";
    case PB_TRUNCATED: return "truncated protobuf message";
    case PB_BAD_VARINT: return "malformed varint (more than 10 bytes)";
    case PB_BAD_WIRE_TYPE: return "invalid protobuf wire type";
    case PB_BAD_FIELD_NUMBER: return "invalid protobuf field number";
    case PB_BAD_GROUP: return "unbalanced protobuf group";
    case PB_TOO_DEEP: return "protobuf groups nested too deeply";
  }
  return "protobuf decode error";
}

/** Reads one message (or sub-message) in [pos, end). Each `next()` positions on a field; the caller then reads
 *  its value with the accessor that fits the wire type, or `skip()`s it. */
export class ProtoReader {
  pos: usize = 0;
  end: usize = 0;
  error: i32 = PB_OK;
  field: u32 = 0;
  wire: u32 = 0;
  /** The value of the last length-delimited field read with `bytes()`. */
  ptr: usize = 0;
  len: i32 = 0;

  reset(ptr: usize, len: i32): ProtoReader {
    this.pos = ptr;
    this.end = ptr + <usize>len;
    this.error = PB_OK;
    this.field = 0;
    this.wire = 0;
    this.ptr = 0;
    this.len = 0;
    return this;
  }

  /** Moves to the next field; false at the end of the message or on error (check `error`). */
  next(): bool {
    if (this.error != PB_OK || this.pos >= this.end) return false;
    const tag = this.varint();
    if (this.error != PB_OK) return false;
    if (tag > <u64>0xffffffff) return this.fail(PB_BAD_FIELD_NUMBER);
    const field = <u32>(tag >> 3);
    const wire = <u32>tag & 7;
    if (field == 0) return this.fail(PB_BAD_FIELD_NUMBER);
    if (wire > WIRE_FIXED32) return this.fail(PB_BAD_WIRE_TYPE);
    this.field = field;
    this.wire = wire;
    return true;
  }

  varint(): u64 {
    let result: u64 = 0;
    let shift: u64 = 0;
    let p = this.pos;
    const end = this.end;
    for (let i = 0; i < 10; i++) {
      if (p >= end) { this.fail(PB_TRUNCATED); return 0; }
      const b = <u64>load<u8>(p++);
      // The tenth byte may only carry the top bit of a 64-bit value.
      if (i == 9 && b > 1) { this.fail(PB_BAD_VARINT); return 0; }
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) == 0) { this.pos = p; return result; }
      shift += 7;
    }
    this.fail(PB_BAD_VARINT);
    return 0;
  }

  fixed32(): u32 {
    if (this.end - this.pos < 4) { this.fail(PB_TRUNCATED); return 0; }
    const v = load<u32>(this.pos);
    this.pos += 4;
    return v;
  }

  fixed64(): u64 {
    if (this.end - this.pos < 8) { this.fail(PB_TRUNCATED); return 0; }
    const v = load<u64>(this.pos);
    this.pos += 8;
    return v;
  }

  /** Reads a length-delimited value into `ptr`/`len`. */
  bytes(): bool {
    const n = this.varint();
    if (this.error != PB_OK) return false;
    if (n > <u64>(this.end - this.pos)) return this.fail(PB_TRUNCATED);
    this.ptr = this.pos;
    this.len = <i32>n;
    this.pos += <usize>n;
    return true;
  }

  /** Value of the current field as a varint when it is one; any other wire type is skipped and yields 0. */
  varintField(): u64 {
    if (this.wire == WIRE_VARINT) return this.varint();
    this.skip();
    return 0;
  }

  /** Value of the current field as a length-delimited view; false (and skipped) for another wire type. */
  bytesField(): bool {
    if (this.wire == WIRE_LEN) return this.bytes();
    this.skip();
    return false;
  }

  /** Skips the value of the current field, whatever its wire type. */
  skip(): bool {
    switch (this.wire) {
      case WIRE_VARINT: this.varint(); break;
      case WIRE_FIXED64: this.fixed64(); break;
      case WIRE_LEN: this.bytes(); break;
      case WIRE_FIXED32: this.fixed32(); break;
      case WIRE_START_GROUP: this.skipGroup(this.field, 1); break;
      default: return this.fail(PB_BAD_GROUP); // an end-group tag with no open group
    }
    return this.error == PB_OK;
  }

  private skipGroup(field: u32, depth: i32): void {
    if (depth > MAX_GROUP_DEPTH) { this.fail(PB_TOO_DEEP); return; }
    while (true) {
      if (this.pos >= this.end) { this.fail(PB_TRUNCATED); return; }
      if (!this.next()) return;
      if (this.wire == WIRE_END_GROUP) {
        if (this.field != field) this.fail(PB_BAD_GROUP);
        return;
      }
      if (this.wire == WIRE_START_GROUP) {
        this.skipGroup(this.field, depth + 1);
        if (this.error != PB_OK) return;
      } else if (!this.skip()) {
        return;
      }
    }
  }

  fail(code: i32): bool {
    if (this.error == PB_OK) this.error = code;
    return false;
  }
}

export function varintSize(v: u64): i32 {
  let n = 1;
  while (v >= 0x80) { v >>= 7; n++; }
  return n;
}

/** Appends protobuf fields to one growable buffer. Nested messages either declare their size up front
 *  (`lenPrefix`, used for bodies so large payloads are copied once) or are closed with `end()`, which moves the
 *  content only when its length needs more than one varint byte. */
export class ProtoWriter {
  buf: ArrayBuffer;
  len: i32 = 0;

  constructor(initialCapacity: i32 = 256) {
    this.buf = new ArrayBuffer(initialCapacity > 16 ? initialCapacity : 16);
  }

  reset(): ProtoWriter { this.len = 0; return this; }

  /** Start of the encoded bytes; valid until the next write. */
  get dataStart(): usize { return changetype<usize>(this.buf); }

  toArrayBuffer(): ArrayBuffer {
    const out = new ArrayBuffer(this.len);
    memory.copy(changetype<usize>(out), changetype<usize>(this.buf), <usize>this.len);
    return out;
  }

  ensure(extra: i32): void {
    const need = this.len + extra;
    const cap = this.buf.byteLength;
    if (need <= cap) return;
    let next = cap << 1;
    while (next < need) next <<= 1;
    const grown = new ArrayBuffer(next);
    memory.copy(changetype<usize>(grown), changetype<usize>(this.buf), <usize>this.len);
    this.buf = grown;
  }

  byte(b: u8): void {
    this.ensure(1);
    store<u8>(changetype<usize>(this.buf) + <usize>this.len, b);
    this.len++;
  }

  varint(v: u64): void {
    this.ensure(10);
    let p = changetype<usize>(this.buf) + <usize>this.len;
    const start = p;
    while (v >= 0x80) {
      store<u8>(p++, <u8>(v | 0x80));
      v >>= 7;
    }
    store<u8>(p++, <u8>v);
    this.len += <i32>(p - start);
  }

  tag(field: u32, wire: u32): void {
    this.varint((<u64>field << 3) | <u64>wire);
  }

  raw(ptr: usize, len: i32): void {
    this.ensure(len);
    memory.copy(changetype<usize>(this.buf) + <usize>this.len, ptr, <usize>len);
    this.len += len;
  }

  /** proto3 scalar fields: the default value (0 / false) is not written. */
  uintField(field: u32, v: u64): void {
    if (v == 0) return;
    this.tag(field, WIRE_VARINT);
    this.varint(v);
  }

  boolField(field: u32, v: bool): void {
    if (!v) return;
    this.tag(field, WIRE_VARINT);
    this.byte(1);
  }

  bytesField(field: u32, ptr: usize, len: i32): void {
    this.tag(field, WIRE_LEN);
    this.varint(<u64>len);
    this.raw(ptr, len);
  }

  stringField(field: u32, s: string): void {
    const n = String.UTF8.byteLength(s);
    this.tag(field, WIRE_LEN);
    this.varint(<u64>n);
    this.ensure(n);
    String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, changetype<usize>(this.buf) + <usize>this.len);
    this.len += n;
  }

  /** Tag and length of a nested message whose encoded size the caller already knows. */
  lenPrefix(field: u32, size: i32): void {
    this.tag(field, WIRE_LEN);
    this.varint(<u64>size);
  }

  /** Opens a nested message of unknown size; returns a mark for `end()`. One byte is reserved for the length. */
  begin(field: u32): i32 {
    this.tag(field, WIRE_LEN);
    this.byte(0);
    return this.len;
  }

  end(mark: i32): void {
    const size = this.len - mark;
    const n = varintSize(<u64>size);
    if (n > 1) {
      this.ensure(n - 1);
      const base = changetype<usize>(this.buf);
      memory.copy(base + <usize>(mark + n - 1), base + <usize>mark, <usize>size);
      this.len += n - 1;
    }
    // Write the length into the reserved byte(s).
    let p = changetype<usize>(this.buf) + <usize>(mark - 1);
    let v = <u64>size;
    while (v >= 0x80) {
      store<u8>(p++, <u8>(v | 0x80));
      v >>= 7;
    }
    store<u8>(p, <u8>v);
  }
}
