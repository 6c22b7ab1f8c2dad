// Thin wrappers over assembly/gateway/response for test/assembly/gateway/response/{usage,sse,backend-error}.test.ts and the
// SSE benchmark. Results come back as a JSON description in (outPtr(), outLen()).
import { TokenUsage, extractJsonUsage, lastJsonUsageError } from "../../assembly/gateway/response/usage";
import { SseUsageScanner } from "../../assembly/gateway/response/sse";
import { timePerOutputToken, ResponseTiming } from "../../assembly/gateway/response/timing";
import { backendErrorBody } from "../../assembly/gateway/response/backend-error";

export function alloc(n: i32): usize { return __pin(changetype<usize>(new ArrayBuffer(n))); }
export function free(p: usize): void { __unpin(p); }

let outBuf: ArrayBuffer = new ArrayBuffer(0);
export function outPtr(): usize { return changetype<usize>(outBuf); }
export function outLen(): i32 { return outBuf.byteLength; }

function quote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x22) out += '\\"';
    else if (c == 0x5c) out += "\\\\";
    else if (c < 0x20) out += "\\u" + c.toString(16).padStart(4, "0");
    else out += String.fromCharCode(c);
  }
  return out + '"';
}

function describeUsage(u: TokenUsage): string {
  return '"seen":' + u.seen.toString() + ',"input":' + u.inputTokens.toString() +
    ',"cached":' + u.cachedInputTokens.toString() + ',"creation":' + u.cacheCreationInputTokens.toString() +
    ',"output":' + u.outputTokens.toString() + ',"total":' + u.totalTokens.toString() +
    ',"reasoning":' + u.reasoningTokens.toString() + ',"model":' + quote(u.model);
}

const bodyUsage = new TokenUsage();

/** Usage of a whole JSON body; description in the output buffer. */
export function jsonUsage(ptr: usize, len: i32): bool {
  const ok = extractJsonUsage(ptr, <usize>len, bodyUsage);
  outBuf = String.UTF8.encode("{" + '"ok":' + (ok ? "true" : "false") + ',"error":' + quote(ok ? "" : lastJsonUsageError()) +
    "," + describeUsage(bodyUsage) + "}");
  return ok;
}

const scanners = new Array<SseUsageScanner>();

export function sseNew(maxLineBytes: i32): i32 {
  scanners.push(maxLineBytes > 0 ? new SseUsageScanner(maxLineBytes) : new SseUsageScanner());
  return scanners.length - 1;
}

export function sseFeed(h: i32, ptr: usize, len: i32): void { scanners[h].feed(ptr, len); }
export function sseFinish(h: i32): void { scanners[h].finish(); }
export function sseReset(h: i32): void { scanners[h].reset(); }
export function ssePending(h: i32): i32 { return scanners[h].pendingBytes; }

export function sseDescribe(h: i32): void {
  const s = scanners[h];
  outBuf = String.UTF8.encode("{" + describeUsage(s.usage) + ',"done":' + (s.done ? "true" : "false") +
    ',"dataLines":' + s.dataLines.toString() + ',"usageUpdates":' + s.usageUpdates.toString() +
    ',"ignoredLines":' + s.ignoredLines.toString() + "}");
}

/** Benchmark: scans the whole stream [ptr, ptr+len) `rounds` times, one feed per event of `eventLen`
 *  bytes (the last one takes the rest). Returns the output tokens seen, so the work cannot be dropped. */
export function sseScanRounds(h: i32, ptr: usize, len: i32, eventLens: usize, events: i32, rounds: i32): u64 {
  const s = scanners[h];
  let sum: u64 = 0;
  for (let r = 0; r < rounds; r++) {
    s.reset();
    let p = ptr;
    for (let i = 0; i < events; i++) {
      const n = load<i32>(eventLens + (<usize>i << 2));
      s.feed(p, n);
      p += <usize>n;
    }
    s.finish();
    sum += s.usage.outputTokens;
  }
  return sum;
}

export function tpot(first: f64, end: f64, outputTokens: u64): f64 { return timePerOutputToken(first, end, outputTokens); }

const timing = new ResponseTiming();
/** Drives ResponseTiming through the upstream start, two body chunks (the first empty) and the end. */
export function timingScenario(start: f64, emptyAt: f64, first: f64, second: f64, end: f64, outputTokens: u64): void {
  timing.reset();
  timing.upstreamStarted(start);
  timing.bodyBytes(emptyAt, 0);
  timing.bodyBytes(first, 10);
  timing.bodyBytes(second, 10);
  timing.responseEnded(end);
  outBuf = String.UTF8.encode('{"ttft":' + timing.timeToFirstToken().toString() + ',"tpot":' +
    timing.timePerOutputToken(outputTokens).toString() + ',"duration":' + timing.duration().toString() + "}");
}

/** The OpenAIBackendError body wrapping the bytes at ptr (assembly/gateway/response/backend-error.ts). */
export function backendError(status: i32, ptr: usize, len: i32): void {
  outBuf = backendErrorBody(status.toString(), ptr, <usize>len);
}
