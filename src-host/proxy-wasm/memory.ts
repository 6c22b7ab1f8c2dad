// Bounds-checked access to a module's linear memory. malloc can grow memory, which detaches every view
// of the old buffer, so views are rebuilt whenever memory.buffer has changed (checked on each access).

export class VmMemory {
  private buffer: ArrayBuffer | undefined;
  private u8 = new Uint8Array(0);
  /** The same bytes as a Buffer, for string decoding and encoding without intermediate copies. */
  private buf = Buffer.alloc(0);
  private view = new DataView(new ArrayBuffer(0));

  constructor(private readonly memory: WebAssembly.Memory) {}

  /** The linear memory's current size in bytes (it never shrinks: a VM keeps its high-water mark). */
  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }

  private refresh(): void {
    const b = this.memory.buffer;
    if (b !== this.buffer) {
      this.buffer = b;
      this.u8 = new Uint8Array(b);
      this.buf = Buffer.from(b);
      this.view = new DataView(b);
    }
  }

  inBounds(ptr: number, len: number): boolean {
    this.refresh();
    return ptr >= 0 && len >= 0 && ptr + len <= this.u8.length;
  }

  /** A copy of [ptr, ptr+len), or undefined when out of bounds. */
  read(ptr: number, len: number): Uint8Array | undefined {
    if (!this.inBounds(ptr, len)) return undefined;
    return this.u8.slice(ptr, ptr + len);
  }

  /** [ptr, ptr+len) decoded as latin1 (header bytes) or UTF-8, or undefined when out of bounds. */
  latin1(ptr: number, len: number): string | undefined {
    if (!this.inBounds(ptr, len)) return undefined;
    return this.buf.toString("latin1", ptr, ptr + len);
  }

  utf8(ptr: number, len: number): string | undefined {
    if (!this.inBounds(ptr, len)) return undefined;
    return this.buf.toString("utf8", ptr, ptr + len);
  }

  /** Writes a string's latin1 bytes (one per character) at ptr. */
  writeLatin1(ptr: number, s: string): boolean {
    if (!this.inBounds(ptr, s.length)) return false;
    this.buf.write(s, ptr, "latin1");
    return true;
  }

  write(ptr: number, data: Uint8Array): boolean {
    if (!this.inBounds(ptr, data.length)) return false;
    this.u8.set(data, ptr);
    return true;
  }

  getU32(ptr: number): number | undefined {
    if (!this.inBounds(ptr, 4)) return undefined;
    return this.view.getUint32(ptr, true);
  }

  setU32(ptr: number, value: number): boolean {
    if (!this.inBounds(ptr, 4)) return false;
    this.view.setUint32(ptr, value >>> 0, true);
    return true;
  }

  setU64(ptr: number, value: bigint): boolean {
    if (!this.inBounds(ptr, 8)) return false;
    this.view.setBigUint64(ptr, BigInt.asUintN(64, value), true);
    return true;
  }
}
