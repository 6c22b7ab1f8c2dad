// Memory shared with the host: the allocator the host calls for returned values, static out-pointer
// slots, and reusable scratch buffers that carry arguments (UTF-8 strings, serialized pairs) without a
// fresh allocation per host call.

// Out-parameters of host calls. The host never re-enters the module except through malloc, which does
// not touch these, so one static area serves every call.
const OUT: usize = memory.data(32, 8);
/** u32 out-slot: returned pointer, token, id, level, length, status code. */
export const OUT_PTR: usize = OUT;
/** u32 out-slot: returned size, flags, CAS. */
export const OUT_SIZE: usize = OUT + 4;
/** u32 out-slot for a third value (CAS of shared data, status message pointer). */
export const OUT_EXTRA: usize = OUT + 8;
/** u32 out-slot paired with OUT_EXTRA (status message size). */
export const OUT_EXTRA_SIZE: usize = OUT + 12;
/** u64 out-slot: time, metric value. */
export const OUT_U64: usize = OUT + 16;

// Where the host's next allocation goes instead of a fresh managed block (readBufferBytes sets it).
let redirectPtr: usize = 0;
let redirectCapacity: usize = 0;

/**
 * Allocates a block for the host: the arena readBufferBytes named, when the value fits, else a managed
 * block pinned so the GC keeps it until takeReturned() adopts it.
 */
export function allocateForHost(size: usize): usize {
  const target = redirectPtr;
  redirectPtr = 0;
  if (target != 0 && size <= redirectCapacity) return target;
  if (size > <usize>i32.MAX_VALUE) return 0;
  return __pin(changetype<usize>(new ArrayBuffer(<i32>size)));
}

/**
 * Unmanaged memory the module frees or reuses itself, outside the GC. Large transient data (a request or
 * response body read for one callback) goes into one arena that is reused: a VM's memory grows once to
 * its largest body, not by a body's worth of garbage per request that the incremental GC frees late.
 */
export class Arena {
  ptr: usize = 0;
  capacity: usize = 0;

  /** Room for `size` bytes; the contents are not kept. Returns the start. */
  reserve(size: usize): usize {
    if (size <= this.capacity) return this.ptr;
    if (this.ptr != 0) heap.free(this.ptr);
    this.ptr = heap.alloc(size);
    this.capacity = size;
    return this.ptr;
  }

  /** Room for `size` bytes, keeping the first `used`; grows by an eighth at least, to bound copies. */
  grow(size: usize, used: usize): usize {
    if (size <= this.capacity) return this.ptr;
    const want = max(size, this.capacity + (this.capacity >> 3));
    const block = heap.alloc(want);
    if (this.ptr != 0) {
      memory.copy(block, this.ptr, used);
      heap.free(this.ptr);
    }
    this.ptr = block;
    this.capacity = want;
    return block;
  }

  release(): void {
    if (this.ptr != 0) heap.free(this.ptr);
    this.ptr = 0;
    this.capacity = 0;
  }
}

/** Makes the host's next allocation (within the next host call) land in `arena`, if it fits. */
export function redirectNextAllocation(arena: Arena): void {
  redirectPtr = arena.ptr;
  redirectCapacity = arena.capacity;
}

/** Ends a redirect the host did not use (it allocated nothing, or failed). */
export function endRedirect(): void {
  redirectPtr = 0;
}

const EMPTY = new ArrayBuffer(0);

/** Adopts the block the host wrote into OUT_PTR/OUT_SIZE as an ArrayBuffer, without copying. */
export function takeReturned(): ArrayBuffer {
  return adopt(load<u32>(OUT_PTR), load<u32>(OUT_SIZE));
}

/** Adopts a host-returned (ptr, size): the host allocated it with malloc, so it is a pinned ArrayBuffer. */
export function adopt(ptr: usize, size: usize): ArrayBuffer {
  if (ptr == 0) return EMPTY; // the host skips malloc for an empty value
  __unpin(ptr);
  const buf = changetype<ArrayBuffer>(ptr);
  // The host asks malloc for exactly `size` bytes; anything else would be a host bug, so keep only what it wrote.
  return <usize>buf.byteLength == size ? buf : buf.slice(0, <i32>size);
}

/** Reads a host-returned (ptr, size) as a UTF-8 string and releases the block. */
export function adoptString(ptr: usize, size: usize): string {
  if (ptr == 0) return "";
  const s = String.UTF8.decodeUnsafe(ptr, size);
  __unpin(ptr);
  return s;
}

/** A growable buffer reused across host calls for one argument position. */
export class Scratch {
  private buf: ArrayBuffer;

  constructor(initialSize: i32) {
    this.buf = new ArrayBuffer(initialSize);
  }

  /** Start of the buffer; read it after reserve()/utf8(), which may replace the buffer. */
  get ptr(): usize {
    return changetype<usize>(this.buf);
  }

  /** Makes room for `size` bytes and returns the start. */
  reserve(size: usize): usize {
    const have = <usize>this.buf.byteLength;
    if (size > have) {
      let grown = have << 1;
      if (grown < size) grown = size;
      this.buf = new ArrayBuffer(<i32>grown);
    }
    return changetype<usize>(this.buf);
  }

  /** Encodes `s` as UTF-8 at the start of the buffer and returns its byte length. */
  utf8(s: string): usize {
    const n = <usize>String.UTF8.byteLength(s);
    const p = this.reserve(n);
    return String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, p);
  }
}

// One scratch per argument position, so a call with several string arguments never overwrites itself.
export const SCRATCH_A = new Scratch(256);
export const SCRATCH_B = new Scratch(256);
export const SCRATCH_C = new Scratch(128);
/** Serialized pairs (headers, metadata) and joined property paths. */
export const SCRATCH_PAIRS = new Scratch(1024);
/** Second pairs argument (trailers of an HTTP call). */
export const SCRATCH_PAIRS_2 = new Scratch(64);

/** Pointer of a nullable buffer argument (0 for null). */
// @ts-ignore: decorator
@inline
export function bufPtr(b: ArrayBuffer | null): usize {
  return b === null ? 0 : changetype<usize>(b);
}

/** Length of a nullable buffer argument (0 for null). */
// @ts-ignore: decorator
@inline
export function bufLen(b: ArrayBuffer | null): usize {
  return b === null ? 0 : <usize>b.byteLength;
}
