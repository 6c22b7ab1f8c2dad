// A memory checker for the module's test build (`make memcheck`): AssemblyScript's debug target with its
// rtrace hooks and without bulk memory, so that every write the module makes, memory.copy and memory.fill
// included, is a store the compiler reports with whether the runtime (allocator, collector) made it.
//
// One shadow byte per byte of linear memory: 1 where the module's own code must never write (the allocator's
// block headers, every free block and, in a block holding a managed object, the object's header and the
// block's bytes beyond the object's size), 0 where it may (an object's bytes, other allocated blocks, static
// data, the stack). A store outside the runtime that touches a shadowed byte is a write past an allocation or
// after a free; a free of a block that is not allocated and a collector visit to a freed object are reported
// too. Each report carries the wasm stack. AssemblyScript 0.28's String#replaceAll wrote two bytes past its
// output into the next block's header, which the fuzz run only saw when that block happened to be free
// (175,859 inputs in).
//
// The shadow is laid from the allocator's own heap once the VM's memory is known: its layout is TLSF's in
// AssemblyScript 0.28 (std/assembly/rt/tlsf.ts, 32-bit): a root of 1,572 bytes at __heap_base rounded to
// 16, then blocks each a 4-byte header (size | FREE 1 | LEFTFREE 2) and a payload, up to a tail block of
// size 0 whose address the root keeps last. A heap that does not walk that way stops the check. A managed
// object (std/assembly/rt/common.ts OBJECT) fills its block from offset 20, its size the word at offset 16,
// which the collector writes when it makes or resizes the object (__new, __renew): that write tells the
// checker the object's extent.
import type { Instrumentation } from "../../src-host/proxy-wasm/index.js";

const FREE = 1;
const TAGS = 3;
const ROOT_SIZE = 1572;
const TAIL_OFFSET = 1568; // the root's last word
const RT_SIZE_OFFSET = 16; // OBJECT.rtSize
const OBJECT_START = 20; // BLOCK_OVERHEAD + OBJECT_OVERHEAD

export class Memcheck {
  private readonly reports: string[] = [];

  /** The hooks for one VM each time the filter makes one. */
  readonly instrumentation: Instrumentation = {
    module: "rtrace",
    imports: (memory) => new VmShadow(memory, (what) => this.report(what)).hooks(),
  };

  /** What was reported since the last call. */
  take(): string[] {
    return this.reports.splice(0);
  }

  private report(what: string): void {
    if (this.reports.length >= 10) return;
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 16;
    const frames = (new Error().stack ?? "").split("\n").filter((l) => l.includes("wasm://"));
    Error.stackTraceLimit = limit;
    this.reports.push(`${what}\n${frames.map((f) => f.trim().replace(/ \(wasm:\/\/.*\)$/, "")).join("\n")}`);
  }
}

class VmShadow {
  private shadow = new Uint8Array(0);
  private heapBase = 0;
  private ready = false;
  /** Allocated blocks, and the size of the managed object each holds (-1: none known). */
  private readonly allocated = new Map<number, number>();
  /** A block whose object size the runtime is writing (read at the next hook, once written). */
  private sizing = -1;

  constructor(
    private readonly memory: () => WebAssembly.Memory | undefined,
    private readonly report: (what: string) => void,
  ) {}

  hooks(): Record<string, (...args: number[]) => number | undefined> {
    return {
      oninit: (heapBase) => {
        this.heapBase = heapBase;
        return undefined;
      },
      onalloc: (block) => {
        if (!this.sync()) return undefined;
        this.allocated.set(block, -1);
        this.shadow.fill(1, block, block + 4);
        this.shadow.fill(0, block + 4, block + 4 + this.sizeOf(block));
        return undefined;
      },
      onresize: (block, oldSizeWithHeader) => {
        if (!this.sync()) return undefined;
        const size = this.sizeOf(block);
        this.allocated.set(block, -1); // the runtime writes the object's new size next
        this.shadow.fill(0, block + 4, block + 4 + size);
        if (oldSizeWithHeader > 4 + size) this.shadow.fill(1, block + 4 + size, block + oldSizeWithHeader);
        return undefined;
      },
      onmove: () => undefined, // an allocation and a free follow
      onfree: (block) => {
        if (!this.sync()) return undefined;
        if (!this.allocated.delete(block)) this.report(`free of block ${block}, which is not allocated`);
        this.shadow.fill(1, block, block + 4 + this.sizeOf(block));
        return undefined;
      },
      onvisit: (block) => {
        // Objects in static data are visited too; only heap blocks are the allocator's.
        if (this.sync() && block >= this.heapBase && !this.allocated.has(block)) this.report(`the collector reached block ${block}, which is not allocated`);
        return 1;
      },
      onstore: (ptr, offset, bytes, runtime) => {
        const at = (ptr + offset) >>> 0;
        if (runtime === 1) {
          // Not a point to lay the shadow: the allocator may be setting itself up.
          if (this.ready && bytes === 4 && this.allocated.has(at - RT_SIZE_OFFSET)) this.sizing = at - RT_SIZE_OFFSET;
          return ptr;
        }
        if (!this.sync()) return ptr;
        for (let k = 0; k < bytes; k++) {
          if (this.shadow[at + k] === 1) {
            this.report(`store of ${bytes} bytes at ${at}: ${this.describe(at + k)}`);
            break;
          }
        }
        return ptr;
      },
    };
  }

  /** Whether the shadow is laid (from the heap, once memory and __heap_base are known) and as large as memory. */
  private sync(): boolean {
    const mem = this.memory();
    if (!mem || this.heapBase === 0) return false;
    const length = mem.buffer.byteLength;
    if (!this.ready) {
      this.ready = true;
      this.lay(mem.buffer);
    } else if (this.shadow.length < length) {
      const grown = new Uint8Array(length).fill(1); // new pages join the allocator's free tail
      grown.set(this.shadow);
      this.shadow = grown;
    }
    if (this.sizing >= 0) this.sized(mem.buffer);
    return true;
  }

  /** The object in block `sizing` now has its size: its header and the block's bytes beyond it are shadowed. */
  private sized(buffer: ArrayBuffer): void {
    const block = this.sizing;
    this.sizing = -1;
    const words = new Uint32Array(buffer);
    const size = words[block >>> 2]! & ~TAGS;
    const objectSize = words[(block + RT_SIZE_OFFSET) >>> 2]!;
    if (!this.allocated.has(block) || OBJECT_START + objectSize > 4 + size) return;
    this.allocated.set(block, objectSize);
    this.shadow.fill(1, block + 4, block + OBJECT_START);
    this.shadow.fill(0, block + OBJECT_START, block + OBJECT_START + objectSize);
    this.shadow.fill(1, block + OBJECT_START + objectSize, block + 4 + size);
  }

  /** The heap's first block and its tail block, from TLSF's root. */
  private bounds(words: Uint32Array): { first: number; tail: number } {
    const root = (this.heapBase + 15) & ~15;
    return { first: ((root + ROOT_SIZE + 4 + 15) & ~15) - 4, tail: words[(root + TAIL_OFFSET) >>> 2]! };
  }

  private lay(buffer: ArrayBuffer): void {
    const words = new Uint32Array(buffer);
    this.shadow = new Uint8Array(buffer.byteLength);
    const { first, tail } = this.bounds(words);
    let block = first;
    while (block !== tail) {
      const info = words[block >>> 2]!;
      const next = block + 4 + (info & ~TAGS);
      if (next > tail || next <= block) throw new Error(`memcheck: the heap does not walk as TLSF's (block ${block}, info ${info}, tail ${tail})`);
      if (info & FREE) this.shadow.fill(1, block, next);
      else {
        this.shadow.fill(1, block, block + 4);
        this.allocated.set(block, -1);
      }
      block = next;
    }
    this.shadow.fill(1, tail, buffer.byteLength);
  }

  private sizeOf(block: number): number {
    return new Uint32Array(this.memory()!.buffer)[block >>> 2]! & ~TAGS;
  }

  /** What the shadowed byte `at` is (the block found by walking the heap). */
  private describe(at: number): string {
    const words = new Uint32Array(this.memory()!.buffer);
    const { first, tail } = this.bounds(words);
    let block = first;
    while (block < tail) {
      const info = words[block >>> 2]!;
      const next = block + 4 + (info & ~TAGS);
      if (at < block + 4) return `the header of block ${block} (${info & FREE ? "free" : "allocated"}, ${info & ~TAGS} bytes)`;
      if (at < next) {
        if (info & FREE) return `inside free block ${block} (${info & ~TAGS} bytes)`;
        const objectSize = this.allocated.get(block) ?? -1;
        if (at < block + OBJECT_START) return `the object header in block ${block}`;
        return `${at - block - OBJECT_START - objectSize} bytes past the ${objectSize}-byte object in block ${block}`;
      }
      if (next <= block) break;
      block = next;
    }
    return at >= tail ? "beyond the heap's end" : "in a heap that no longer walks";
  }
}
