// A growable byte buffer for body chunks: append, prepend and drain without copying more than needed.
// A wrapped chunk is never written in place, so the data plane's buffers stay untouched.

export class ByteBuf {
  private buf: Uint8Array;
  private start: number;
  private end: number;
  // False while buf is a chunk we were handed: it is copied before the first write.
  private owned = false;

  constructor(initial?: Uint8Array) {
    this.buf = initial ?? new Uint8Array(0);
    this.start = 0;
    this.end = this.buf.length;
  }

  get length(): number {
    return this.end - this.start;
  }

  /** A view of the current bytes (valid until the next mutation). */
  bytes(): Uint8Array {
    return this.buf.subarray(this.start, this.end);
  }

  slice(start: number, length: number): Uint8Array {
    const s = this.start + Math.min(start, this.length);
    return this.buf.subarray(s, Math.min(s + length, this.end));
  }

  append(data: Uint8Array): void {
    if (data.length === 0) return;
    if (this.end + data.length > this.buf.length || !this.owned) this.realloc(0, data.length);
    this.buf.set(data, this.end);
    this.end += data.length;
  }

  prepend(data: Uint8Array): void {
    if (data.length === 0) return;
    if (this.start < data.length || !this.owned) this.realloc(data.length, 0);
    this.start -= data.length;
    this.buf.set(data, this.start);
  }

  drain(n: number): void {
    this.start += Math.min(n, this.length);
    if (this.start === this.end) this.start = this.end = this.owned ? 0 : this.end;
  }

  clear(): void {
    this.drain(this.length);
  }

  /** Moves other's bytes to the end of this buffer, leaving other empty. */
  moveFrom(other: ByteBuf): void {
    if (other === this) return;
    if (this.length === 0 && !this.owned) {
      this.buf = other.buf;
      this.start = other.start;
      this.end = other.end;
      this.owned = other.owned;
    } else {
      this.append(other.bytes());
    }
    other.buf = new Uint8Array(0);
    other.start = other.end = 0;
    other.owned = false;
  }

  private realloc(headroom: number, tailroom: number): void {
    const len = this.length;
    const size = Math.max(64, (headroom + len + tailroom) * 2);
    const next = new Uint8Array(size);
    const newStart = headroom + Math.floor((size - headroom - len - tailroom) / 2);
    next.set(this.bytes(), newStart);
    this.buf = next;
    this.start = newStart;
    this.end = newStart + len;
    this.owned = true;
  }
}
