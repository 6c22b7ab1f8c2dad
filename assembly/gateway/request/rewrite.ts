// Body edits on a scanned request (body.ts): every byte outside the edited spans is kept, and the edited
// body is never built whole: it is written into Envoy's buffer in ranges and sent to an EPP in pieces.
//
// - modelNameOverride: the (last) `model` value token is replaced by the new name as a JSON string.
// - forced usage reporting (costs need the usage of a stream): for a streaming request whose
//   `stream_options.include_usage` is not true, an existing `include_usage` value becomes `true`; a
//   `stream_options` object without it gets `"include_usage":true` as its first member (as sjson inserts a
//   missing key); `"stream_options": null` becomes `{"include_usage":true}`; with no `stream_options` at
//   all, `,"stream_options":{"include_usage":true}` goes just before the body's closing brace.

import { jsonQuote } from "../errors";
import { KIND_NULL, KIND_OBJECT } from "../json/scan";
import { Piece } from "../byte-buffer";
import { RequestFacts } from "./body";

/** Whether forcing include_usage would change this body (a streaming request that does not ask for usage). */
export function needsUsageForcing(facts: RequestFacts): bool {
  return facts.streaming && !facts.includesUsage;
}

/**
 * The edits that rewrite a scanned body, or null when nothing changes. `newModel` (non-empty) replaces
 * `model`; `forceIncludeUsage` applies the usage rule above (only where needsUsageForcing is true).
 */
export function planRewrite(facts: RequestFacts, newModel: string | null, forceIncludeUsage: bool): BodyEdits | null {
  const edits = new BodyEdits();
  if (newModel != null && newModel.length > 0 && newModel != facts.model) {
    edits.add(facts.modelSpan.start, facts.modelSpan.end, jsonQuote(newModel));
  }
  if (forceIncludeUsage && needsUsageForcing(facts)) usageEdit(facts, edits);
  return edits.count == 0 ? null : edits;
}

/** One set_buffer_bytes(0, drain, bytes) call: drain `drain` bytes from the front, then prepend `piece`. */
export class FrontWrite {
  constructor(
    public drain: u32,
    public piece: Piece,
  ) {}
}

/**
 * Replacements of byte ranges of a body, in body order and never overlapping (`model` and
 * `stream_options` are different top-level members). Nothing here copies the body: the edited body is a
 * list of pieces, of the original and of the new texts.
 */
export class BodyEdits {
  private starts: Array<i32> = [];
  private ends: Array<i32> = [];
  private texts: Array<ArrayBuffer> = [];

  get count(): i32 {
    return this.starts.length;
  }

  /** Replace [start, end) by `text` (an insertion when start == end). */
  add(start: i32, end: i32, text: string): void {
    this.starts.push(start);
    this.ends.push(end);
    this.texts.push(String.UTF8.encode(text));
    // Kept in body order (an insertion step: there are at most two edits).
    for (let i = this.starts.length - 1; i > 0 && this.starts[i - 1] > this.starts[i]; i--) {
      swap(this.starts, i);
      swap(this.ends, i);
      swap(this.texts, i);
    }
  }

  /** Where the last edit ends: the original bytes frontWrites reads are those before it. */
  get reach(): i32 {
    return this.ends.length > 0 ? this.ends[this.ends.length - 1] : 0;
  }

  /** The length of the edited body of `len` bytes. */
  editedLength(len: usize): usize {
    let n = len;
    for (let i = 0; i < this.starts.length; i++) n += <usize>this.texts[i].byteLength - <usize>(this.ends[i] - this.starts[i]);
    return n;
  }

  /** The edited body, in order, as pieces of the original at `ptr` (`len` bytes) and of the new texts. */
  pieces(ptr: usize, len: usize): Array<Piece> {
    const out = new Array<Piece>();
    let from = 0;
    for (let i = 0; i < this.starts.length; i++) {
      const at = this.starts[i];
      if (at > from) out.push(new Piece(ptr + <usize>from, <usize>(at - from)));
      const t = this.texts[i];
      if (t.byteLength > 0) out.push(new Piece(changetype<usize>(t), <usize>t.byteLength));
      from = this.ends[i];
    }
    if (<usize>from < len) out.push(new Piece(ptr + <usize>from, len - <usize>from));
    return out;
  }

  /**
   * The calls that turn a body buffer holding the original into the edited body with Envoy's
   * set_buffer_bytes rule (start 0: drain, then prepend). The part after the last edit stays in the
   * buffer untouched; everything before it is written back from `ptr` and the new texts, last piece first.
   */
  frontWrites(ptr: usize): Array<FrontWrite> {
    const keepFrom = this.reach;
    const head = this.pieces(ptr, <usize>keepFrom);
    const out = new Array<FrontWrite>();
    for (let i = head.length - 1; i >= 0; i--) out.push(new FrontWrite(i == head.length - 1 ? <u32>keepFrom : 0, head[i]));
    if (out.length == 0) out.push(new FrontWrite(<u32>keepFrom, new Piece(0, 0))); // only deletions: drain them
    return out;
  }
}

function swap<T>(a: Array<T>, i: i32): void {
  const t = a[i];
  a[i] = a[i - 1];
  a[i - 1] = t;
}

function usageEdit(facts: RequestFacts, edits: BodyEdits): void {
  const u = facts.includeUsage;
  if (u.present) return edits.add(u.start, u.end, "true");
  const o = facts.streamOptions;
  if (o.kind == KIND_OBJECT) {
    const at = facts.streamOptionsOpen + 1;
    return edits.add(at, at, facts.streamOptionsEmpty ? '"include_usage":true' : '"include_usage":true,');
  }
  if (o.kind == KIND_NULL) return edits.add(o.start, o.end, '{"include_usage":true}');
  // No stream_options: the body has at least `model`, so a comma always separates the new member.
  edits.add(facts.objectClose, facts.objectClose, ',"stream_options":{"include_usage":true}');
}
