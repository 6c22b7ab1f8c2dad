// Test module for assembly/gateway/request/multipart.ts (test/assembly/gateway/request/multipart.test.ts): the
// content-type's boundary and the scan of a form, results as JSON text at outPtr()/outLen().

import { jsonQuote } from "../../assembly/gateway/errors";
import { RequestFacts } from "../../assembly/gateway/request/body";
import { Endpoint } from "../../assembly/gateway/request/endpoint";
import { scanForm } from "../../assembly/gateway/request/decide";
import { parseMediaType } from "../../assembly/gateway/request/multipart";
import { setOut } from "./logic-common/io";

export { alloc, free, outPtr, outLen } from "./logic-common/io";

const facts = new RequestFacts();

/**
 * Scans a form for /v1/audio/transcriptions (`transcription`) or /translations with the content-type at
 * [ctPtr, ctPtr+ctLen): {"ok":…,"error":…,"model":…,"modelSpan":[start,end],"stream":…}.
 */
export function scan(ctPtr: usize, ctLen: usize, ptr: usize, len: usize, transcription: bool): void {
  const contentType = String.UTF8.decodeUnsafe(ctPtr, ctLen);
  const endpoint = transcription ? Endpoint.AudioTranscriptions : Endpoint.AudioTranslations;
  const error = scanForm(endpoint, contentType, "/v1/audio/x", ptr, len, facts);
  const span = facts.modelSpan;
  setOut('{"ok":' + (error == null ? "true" : "false") + ',"error":' + jsonQuote(error == null ? "" : error!) +
    ',"model":' + jsonQuote(facts.model) + ',"modelSpan":[' + span.start.toString() + "," + span.end.toString() +
    '],"stream":' + (facts.streaming ? "true" : "false") + "}");
}

/** A media type header value: {"type":…,"params":{…},"error":…}. */
export function mediaType(ptr: usize, len: usize): void {
  const m = parseMediaType(String.UTF8.decodeUnsafe(ptr, len));
  const params = new Array<string>();
  for (let i = 0; i < m.names.length; i++) params.push(jsonQuote(m.names[i]) + ":" + jsonQuote(m.values[i]));
  setOut('{"type":' + jsonQuote(m.type) + ',"params":{' + params.join(",") + '},"error":' + jsonQuote(m.error) + "}");
}
