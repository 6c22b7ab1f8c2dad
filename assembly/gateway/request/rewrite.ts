// In-place body edits on a scanned request (body.ts): every byte outside the edited spans is kept.
//
// - modelNameOverride: the (last) `model` value token is replaced by the new name as a JSON string.
// - forced usage reporting (ai-gateway.md §1.12, scenario 11): for a streaming request whose
//   `stream_options.include_usage` is not true, an existing `include_usage` value becomes `true`; a
//   `stream_options` object without it gets `"include_usage":true` as its first member (as sjson inserts a
//   missing key); `"stream_options": null` becomes `{"include_usage":true}`; with no `stream_options` at
//   all, `,"stream_options":{"include_usage":true}` goes just before the body's closing brace.

import { jsonQuote } from "../errors";
import { KIND_NULL, KIND_OBJECT } from "../json/scan";
import { RequestFacts } from "./body";

/** Whether forcing include_usage would change this body (a streaming request that does not ask for usage). */
export function needsUsageForcing(facts: RequestFacts): bool {
  return facts.streaming && !facts.includesUsage;
}

/**
 * The rewritten body, or null when nothing changes. `ptr`/`len` must be the body `facts` was scanned from.
 * `newModel` (non-empty) replaces `model`; `forceIncludeUsage` applies the usage rule above (only where
 * needsUsageForcing is true).
 */
export function rewriteRequestBody(ptr: usize, len: usize, facts: RequestFacts, newModel: string | null,
  forceIncludeUsage: bool): ArrayBuffer | null {
  const edits = new Array<Edit>();
  if (newModel != null && newModel.length > 0 && newModel != facts.model) {
    edits.push(new Edit(facts.modelSpan.start, facts.modelSpan.end, jsonQuote(newModel)));
  }
  if (forceIncludeUsage && needsUsageForcing(facts)) edits.push(usageEdit(facts));
  if (edits.length == 0) return null;
  // Edits never overlap: `model` and `stream_options` are different top-level members.
  if (edits.length == 2 && edits[1].start < edits[0].start) edits.reverse();

  let size = <i32>len;
  const texts = new Array<ArrayBuffer>(edits.length);
  for (let i = 0; i < edits.length; i++) {
    texts[i] = String.UTF8.encode(edits[i].text);
    size += texts[i].byteLength - (edits[i].end - edits[i].start);
  }
  const out = new ArrayBuffer(size);
  let o = changetype<usize>(out);
  let from = 0;
  for (let i = 0; i < edits.length; i++) {
    const e = edits[i];
    memory.copy(o, ptr + <usize>from, <usize>(e.start - from));
    o += <usize>(e.start - from);
    const t = texts[i];
    memory.copy(o, changetype<usize>(t), <usize>t.byteLength);
    o += <usize>t.byteLength;
    from = e.end;
  }
  memory.copy(o, ptr + <usize>from, len - <usize>from);
  return out;
}

/** Replace [start, end) by `text` (an insertion when start == end). */
class Edit {
  constructor(
    public start: i32,
    public end: i32,
    public text: string,
  ) {}
}

function usageEdit(facts: RequestFacts): Edit {
  const u = facts.includeUsage;
  if (u.present) return new Edit(u.start, u.end, "true");
  const o = facts.streamOptions;
  if (o.kind == KIND_OBJECT) {
    const at = facts.streamOptionsOpen + 1;
    return new Edit(at, at, facts.streamOptionsEmpty ? '"include_usage":true' : '"include_usage":true,');
  }
  if (o.kind == KIND_NULL) return new Edit(o.start, o.end, '{"include_usage":true}');
  // No stream_options: the body has at least `model`, so a comma always separates the new member.
  return new Edit(facts.objectClose, facts.objectClose, ',"stream_options":{"include_usage":true}');
}
