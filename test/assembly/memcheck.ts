// A memory checker for the module's test build (`make memcheck`): AssemblyScript's debug target with its
// rtrace hooks and without bulk memory, so that every write the module makes, memory.copy and memory.fill
// included, is a store the compiler reports with whether the runtime (allocator, collector) made it.
//
// One shadow byte per byte of linear memory: 1 where the module's own code must never write (the allocator's
// block headers and every free block), 0 where it may (allocated blocks, static data, the stack). A store
// outside the runtime that touches a shadowed byte is a write past an allocation or after a free; a free of a
// block that is not allocated and a collector visit to a freed object are reported too. Each report carries
// the wasm stack. AssemblyScript 0.28's String#replaceAll wrote two bytes past its output into the next
// block's header, which the fuzz run only saw when that block happened to be free (175,859 inputs in).
//
// The shadow is laid from the allocator's own heap once the VM's memory is known: its layout is TLSF's in
// AssemblyScript 0.28 (std/assembly/rt/tlsf.ts, 32-bit): a root of 1,572 bytes at __heap_base rounded to
// 16, then blocks each a 4-byte header (size | FREE 1 | LEFTFREE 2) and a payload, up to a tail block of
// size 0 whose address the root keeps last. A heap that does not walk that way stops the check.
import type { Instrumentation } from "../../src-host/proxy-wasm/index.js";

const FREE = 1;
const TAGS = 3;
const ROOT_SIZE = 1572;
const TAIL_OFFSET = 1568; // the root's last word

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
        this.shadow.fill(1, block, block + 4);
        this.shadow.fill(0, block + 4, block + 4 + this.sizeOf(block));
        return undefined;
      },
      onresize: (block, oldSizeWithHeader) => {
        if (!this.sync()) return undefined;
        const size = this.sizeOf(block);
        this.shadow.fill(0, block + 4, block + 4 + size);
        if (oldSizeWithHeader > 4 + size) this.shadow.fill(1, block + 4 + size, block + oldSizeWithHeader);
        return undefined;
      },
      onmove: () => undefined, // an allocation and a free follow
      onfree: (block) => {
        if (!this.sync()) return undefined;
        if (this.shadow[block + 4] === 1) this.report(`free of block ${block}, which is not allocated`);
        this.shadow.fill(1, block, block + 4 + this.sizeOf(block));
        return undefined;
      },
      onvisit: (block) => {
        if (this.sync() && this.shadow[block + 4] === 1) this.report(`the collector reached block ${block}, which is free`);
        return 1;
      },
      onstore: (ptr, offset, bytes, runtime) => {
        if (runtime === 0 && this.sync()) {
          const at = (ptr + offset) >>> 0;
          for (let k = 0; k < bytes; k++) {
            if (this.shadow[at + k] === 1) {
              this.report(`store of ${bytes} bytes at ${at}: ${this.describe(at + k)}`);
              break;
            }
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
    return true;
  }

  private lay(buffer: ArrayBuffer): void {
    const words = new Uint32Array(buffer);
    this.shadow = new Uint8Array(buffer.byteLength);
    const root = (this.heapBase + 15) & ~15;
    const tail = words[(root + TAIL_OFFSET) >>> 2]!;
    let block = ((root + ROOT_SIZE + 4 + 15) & ~15) - 4;
    while (block !== tail) {
      const info = words[block >>> 2]!;
      const next = block + 4 + (info & ~TAGS);
      if (next > tail || next <= block) throw new Error(`memcheck: the heap does not walk as TLSF's (block ${block}, info ${info}, tail ${tail})`);
      this.shadow.fill(1, block, info & FREE ? next : block + 4);
      block = next;
    }
    this.shadow.fill(1, tail, buffer.byteLength);
  }

  private sizeOf(block: number): number {
    return new Uint32Array(this.memory()!.buffer)[block >>> 2]! & ~TAGS;
  }

  /** Which shadowed byte `at` is: a block header or inside a free block (found by walking the heap). */
  private describe(at: number): string {
    const words = new Uint32Array(this.memory()!.buffer);
    const root = (this.heapBase + 15) & ~15;
    const tail = words[(root + TAIL_OFFSET) >>> 2]!;
    let block = ((root + ROOT_SIZE + 4 + 15) & ~15) - 4;
    while (block < tail) {
      const info = words[block >>> 2]!;
      const next = block + 4 + (info & ~TAGS);
      if (at < block + 4) return `the header of block ${block} (${info & FREE ? "free" : "allocated"}, ${info & ~TAGS} bytes)`;
      if (at < next) return `inside free block ${block} (${info & ~TAGS} bytes)`;
      if (next <= block) break;
      block = next;
    }
    return at >= tail ? "beyond the heap's end" : "in a heap that no longer walks";
  }
}
