// Faults the memory checker (test/assembly/memcheck.ts) must report, and a clean case it must not, built
// like the module's memcheck build (Makefile: rtrace hooks, no bulk memory).

/** Keeps what the cases allocate reachable, so that only the case decides when a block is freed. */
let kept: ArrayBuffer | null = null;

/** Writes within a block, by store and by memory.copy: nothing to report. */
export function inBounds(): void {
  const b = new ArrayBuffer(12);
  kept = b;
  store<u32>(changetype<usize>(b) + 8, 1);
  memory.copy(changetype<usize>(b), changetype<usize>(b) + 4, 8);
}

/** Two bytes past a 12-byte block, as String#replaceAll of AssemblyScript 0.28 wrote them. */
export function overrun(): void {
  const b = new ArrayBuffer(12);
  kept = b;
  store<u16>(changetype<usize>(b) + 12, 0x3b);
}

/** One byte past a 13-byte object, within the bytes its block has beyond it (blocks come in 16-byte steps). */
export function objectOverrun(): void {
  const b = new ArrayBuffer(13);
  kept = b;
  store<u8>(changetype<usize>(b) + 13, 1);
}

/** memory.copy one byte too long. */
export function copyOverrun(): void {
  const from = new ArrayBuffer(64);
  const to = new ArrayBuffer(12);
  kept = to;
  memory.copy(changetype<usize>(to), changetype<usize>(from), 13);
}

/** A store into a block after it was freed. */
export function useAfterFree(): void {
  const p = heap.alloc(64);
  heap.free(p);
  store<u32>(p + 8, 7);
}
