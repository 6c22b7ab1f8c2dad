// Bytes in and out of a logic test module: pinned input buffers and one output buffer (outPtr/outLen), as
// test/assembly/gateway/logic-module.ts expects.
export function alloc(n: i32): usize { return __pin(changetype<usize>(new ArrayBuffer(n))); }
export function free(p: usize): void { __unpin(p); }

let outBuf: ArrayBuffer = new ArrayBuffer(0);
export function outPtr(): usize { return changetype<usize>(outBuf); }
export function outLen(): i32 { return outBuf.byteLength; }
export function setOut(s: string): void { outBuf = String.UTF8.encode(s); }
export function setOutBytes(b: ArrayBuffer): void { outBuf = b; }

export function str(ptr: usize, len: i32): string { return len == 0 ? "" : String.UTF8.decodeUnsafe(ptr, <usize>len); }
