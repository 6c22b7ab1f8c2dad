// A growable byte buffer in linear memory: appended with memory.copy, read back as one ArrayBuffer. For
// bodies assembled from chunks (the EPP's streamed body, a decompressed JSON answer).

export class ByteBuffer {
  private data: ArrayBuffer = new ArrayBuffer(0);
  length: i32 = 0;

  append(ptr: usize, len: i32): void {
    if (len <= 0) return;
    const need = this.length + len;
    if (need > this.data.byteLength) {
      const grown = new ArrayBuffer(max(need, this.data.byteLength * 2));
      memory.copy(changetype<usize>(grown), changetype<usize>(this.data), <usize>this.length);
      this.data = grown;
    }
    memory.copy(changetype<usize>(this.data) + <usize>this.length, ptr, <usize>len);
    this.length = need;
  }

  get dataStart(): usize {
    return changetype<usize>(this.data);
  }

  /** The bytes as an ArrayBuffer of exactly `length` bytes (no copy when the storage fits exactly). */
  toArrayBuffer(): ArrayBuffer {
    return this.data.byteLength == this.length ? this.data : this.data.slice(0, this.length);
  }
}

/** A span of bytes in linear memory, owned by someone else. */
export class Piece {
  constructor(
    public ptr: usize,
    public len: usize,
  ) {}
}
