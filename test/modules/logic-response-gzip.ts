// Thin wrappers over assembly/gateway/gzip for test/assembly/gateway/gzip/gzip.test.ts: decode in chunks inside
// wasm (output gathered into one buffer), or decode straight into the SSE usage scanner.
import { GzipDecoder, inflateInto, ByteSink, FORMAT_GZIP, FORMAT_RAW_DEFLATE } from "../../assembly/gateway/gzip/inflate";
import { crc32 } from "../../assembly/gateway/gzip/crc32";
import { SseUsageScanner } from "../../assembly/gateway/response/sse";
import { TokenUsage, extractJsonUsage } from "../../assembly/gateway/response/usage";

export function alloc(n: i32): usize { return __pin(changetype<usize>(new ArrayBuffer(n))); }
export function free(p: usize): void { __unpin(p); }

let outBuf: ArrayBuffer = new ArrayBuffer(0);
let outUsed: i32 = 0;
export function outPtr(): usize { return changetype<usize>(outBuf); }
export function outLen(): i32 { return outUsed; }

class Collect extends ByteSink {
  pulls: i32 = 0;
  maxPull: i32 = 0;
  write(ptr: usize, len: i32): bool {
    this.pulls++;
    if (len > this.maxPull) this.maxPull = len;
    if (outUsed + len > outBuf.byteLength) {
      let cap = outBuf.byteLength < 1024 ? 1024 : outBuf.byteLength;
      while (cap < outUsed + len) cap <<= 1;
      const grown = new ArrayBuffer(cap);
      memory.copy(changetype<usize>(grown), changetype<usize>(outBuf), <usize>outUsed);
      outBuf = grown;
    }
    memory.copy(changetype<usize>(outBuf) + <usize>outUsed, ptr, <usize>len);
    outUsed += len;
    return true;
  }
}

let lastError: string = "";
let collect = new Collect();

/** Decodes [ptr, ptr+len) fed in chunks of the sizes listed at `sizes` (i32 each, `count` of them; the rest
 *  in one final chunk). Returns 1 for a clean end, 0 for an error (see errorText), 2 for a truncated stream. */
export function decode(format: i32, ptr: usize, len: i32, sizes: usize, count: i32): i32 {
  const dec = new GzipDecoder(format == 1 ? FORMAT_RAW_DEFLATE : FORMAT_GZIP);
  outUsed = 0;
  collect = new Collect();
  let p = ptr;
  const end = ptr + <usize>len;
  for (let i = 0; i <= count && p <= end; i++) {
    let n = i < count ? load<i32>(sizes + (<usize>i << 2)) : <i32>(end - p);
    if (p + <usize>n > end) n = <i32>(end - p);
    if (!inflateInto(dec, p, n, collect)) { lastError = dec.error; return 0; }
    p += <usize>n;
  }
  if (!dec.end()) { lastError = dec.error; return 2; }
  lastError = "";
  return 1;
}

/** Like decode with fixed-size chunks. */
export function decodeFixed(format: i32, ptr: usize, len: i32, chunk: i32): i32 {
  const dec = new GzipDecoder(format == 1 ? FORMAT_RAW_DEFLATE : FORMAT_GZIP);
  outUsed = 0;
  collect = new Collect();
  for (let off = 0; off < len; off += chunk) {
    const n = min(chunk, len - off);
    if (!inflateInto(dec, ptr + <usize>off, n, collect)) { lastError = dec.error; return 0; }
  }
  if (!dec.end()) { lastError = dec.error; return 2; }
  lastError = "";
  return 1;
}

export function pulls(): i32 { return collect.pulls; }
export function maxPull(): i32 { return collect.maxPull; }

export function errorText(): void {
  outBuf = String.UTF8.encode(lastError);
  outUsed = outBuf.byteLength;
}

export function crc(ptr: usize, len: i32): u32 { return crc32(0, ptr, <usize>len); }

class ToScanner extends ByteSink {
  constructor(public scanner: SseUsageScanner) { super(); }
  write(ptr: usize, len: i32): bool { this.scanner.feed(ptr, len); return true; }
}

/** A gzip-compressed SSE stream in chunks of `chunk` bytes → usage; returns output tokens, or -1 on error. */
export function gzipSseOutputTokens(ptr: usize, len: i32, chunk: i32): i64 {
  const dec = new GzipDecoder(FORMAT_GZIP);
  const sink = new ToScanner(new SseUsageScanner());
  for (let off = 0; off < len; off += chunk) {
    if (!inflateInto(dec, ptr + <usize>off, min(chunk, len - off), sink)) return -1;
  }
  if (!dec.end()) return -1;
  sink.scanner.finish();
  return <i64>sink.scanner.usage.outputTokens;
}

/** A gzip-compressed JSON body in chunks of `chunk` bytes, gathered, then read for usage: total tokens or -1. */
export function gzipJsonTotalTokens(ptr: usize, len: i32, chunk: i32): i64 {
  if (decodeFixed(0, ptr, len, chunk) != 1) return -1;
  const u = new TokenUsage();
  if (!extractJsonUsage(changetype<usize>(outBuf), <usize>outUsed, u)) return -1;
  return <i64>u.totalTokens;
}
