// Test module for assembly/gateway/request/multipart.ts (test/assembly/gateway/request/multipart.test.ts): the
// content-type's boundary and the scan of a form, results as JSON text at outPtr()/outLen().

import { jsonQuote } from "../../assembly/gateway/errors";
import { RequestFacts } from "../../assembly/gateway/request/body";
import { Endpoint } from "../../assembly/gateway/request/endpoint";
import { openForm, scanForm } from "../../assembly/gateway/request/decide";
import { parseMediaType } from "../../assembly/gateway/request/multipart";
import { setOut } from "./logic-common/io";

export { alloc, free, outPtr, outLen } from "./logic-common/io";

const facts = new RequestFacts();

/**
 * Scans a form for /v1/audio/transcriptions (`transcription`) or /translations with the content-type at
 * [ctPtr, ctPtr+ctLen): {"ok":…,"error":…,"model":…,"modelSpan":[start,end],"stream":…}.
 */
export function scan(ctPtr: usize, ctLen: usize, ptr: usize, len: usize, transcription: bool): void {
  const error = scanForm(endpointFor(transcription), String.UTF8.decodeUnsafe(ctPtr, ctLen), "/v1/audio/x", ptr, len, facts);
  setOut(resultJson(error, ""));
}

/**
 * As scan, the body arriving in pieces that end at the `count` ascending u32 offsets at splitsPtr, then at
 * its end. Each callback's window (the body from where the scan still needs it) is copied apart, fed, and
 * overwritten, as a read into the body arena is; "maxWindow" is the largest window.
 */
export function scanSplit(ctPtr: usize, ctLen: usize, ptr: usize, len: usize, transcription: bool, splitsPtr: usize, count: i32): void {
  const form = openForm(endpointFor(transcription), String.UTF8.decodeUnsafe(ctPtr, ctLen), "/v1/audio/x");
  let maxWindow: usize = 0;
  for (let i = 0; i <= count && !form.finished; i++) {
    const upTo = i < count ? <usize>load<u32>(splitsPtr + (<usize>i << 2)) : len;
    const from = form.keep;
    const n = upTo - from;
    const window = heap.alloc(max<usize>(n, 1));
    memory.copy(window, ptr + from, n);
    form.feed(window, from, n, i == count);
    memory.fill(window, 0xaa, n);
    heap.free(window);
    if (n > maxWindow) maxWindow = n;
  }
  const error: string | null = form.result(facts, len) ? null : facts.error;
  setOut(resultJson(error, ',"maxWindow":' + maxWindow.toString()));
}

function endpointFor(transcription: bool): Endpoint {
  return transcription ? Endpoint.AudioTranscriptions : Endpoint.AudioTranslations;
}

function resultJson(error: string | null, extra: string): string {
  const span = facts.modelSpan;
  return '{"ok":' + (error == null ? "true" : "false") + ',"error":' + jsonQuote(error == null ? "" : error!) +
    ',"model":' + jsonQuote(facts.model) + ',"modelSpan":[' + span.start.toString() + "," + span.end.toString() +
    '],"stream":' + (facts.streaming ? "true" : "false") + extra + "}";
}

/** A media type header value: {"type":…,"params":{…},"error":…}. */
export function mediaType(ptr: usize, len: usize): void {
  const m = parseMediaType(String.UTF8.decodeUnsafe(ptr, len));
  const params = new Array<string>();
  for (let i = 0; i < m.names.length; i++) params.push(jsonQuote(m.names[i]) + ":" + jsonQuote(m.values[i]));
  setOut('{"type":' + jsonQuote(m.type) + ',"params":{' + params.join(",") + '},"error":' + jsonQuote(m.error) + "}");
}
