// Token usage of OpenAI-style responses (chat completions, completions, embeddings, responses, image
// generations), read from the bytes with the validating JSON reader — no object tree. Field mapping as
// Envoy AI Gateway's openai translators (v1.1.0, internal/translator): usage.prompt_tokens → input,
// completion_tokens → output, total_tokens → total (as reported), prompt_tokens_details.cached_tokens →
// cached input, prompt_tokens_details.cache_creation_input_tokens → cache creation,
// completion_tokens_details.reasoning_tokens → reasoning; the top-level `model` is the response model.
// The responses API and image generations name them usage.input_tokens, output_tokens, total_tokens,
// input_tokens_details.cached_tokens / cache_creation_tokens and output_tokens_details.reasoning_tokens
// (openai_responses.go, imagegeneration_openai_openai.go); a responses stream's events carry them (and the
// model) in their `response` object (response.completed).
//
// A token type counts as seen only when its field is present with a number (`null` counts as absent), so
// metrics record only what the backend reported. (Envoy AI Gateway also marks input/output/total as 0 when
// `usage` is missing or partial; here an absent field stays unseen and reads as 0.)

import { JsonReader } from "../json/reader";
import { jsonStringValue } from "../json/decode";
import { KIND_NULL, KIND_OBJECT, KIND_STRING } from "../json/scan";

export const USAGE_INPUT: u32 = 1;
export const USAGE_CACHED_INPUT: u32 = 2;
export const USAGE_CACHE_CREATION_INPUT: u32 = 4;
export const USAGE_OUTPUT: u32 = 8;
export const USAGE_TOTAL: u32 = 16;
export const USAGE_REASONING: u32 = 32;

/** Token counts with the set of fields seen; `model` is the response model ("" when none was reported). */
export class TokenUsage {
  inputTokens: u64 = 0;
  cachedInputTokens: u64 = 0;
  cacheCreationInputTokens: u64 = 0;
  outputTokens: u64 = 0;
  totalTokens: u64 = 0;
  reasoningTokens: u64 = 0;
  /** USAGE_* bits of the fields seen. */
  seen: u32 = 0;
  model: string = "";

  reset(): void {
    this.inputTokens = 0;
    this.cachedInputTokens = 0;
    this.cacheCreationInputTokens = 0;
    this.outputTokens = 0;
    this.totalTokens = 0;
    this.reasoningTokens = 0;
    this.seen = 0;
    this.model = "";
  }

  has(field: u32): bool { return (this.seen & field) != 0; }

  /** Overwrites, field by field, the counts (and model) `newer` has seen; the others keep their values. */
  merge(newer: TokenUsage): void {
    const s = newer.seen;
    if (s & USAGE_INPUT) this.inputTokens = newer.inputTokens;
    if (s & USAGE_CACHED_INPUT) this.cachedInputTokens = newer.cachedInputTokens;
    if (s & USAGE_CACHE_CREATION_INPUT) this.cacheCreationInputTokens = newer.cacheCreationInputTokens;
    if (s & USAGE_OUTPUT) this.outputTokens = newer.outputTokens;
    if (s & USAGE_TOTAL) this.totalTokens = newer.totalTokens;
    if (s & USAGE_REASONING) this.reasoningTokens = newer.reasoningTokens;
    this.seen |= s;
    if (newer.model.length > 0) this.model = newer.model;
  }

  set(field: u32, value: u64): void {
    switch (field) {
      case USAGE_INPUT: this.inputTokens = value; break;
      case USAGE_CACHED_INPUT: this.cachedInputTokens = value; break;
      case USAGE_CACHE_CREATION_INPUT: this.cacheCreationInputTokens = value; break;
      case USAGE_OUTPUT: this.outputTokens = value; break;
      case USAGE_TOTAL: this.totalTokens = value; break;
      case USAGE_REASONING: this.reasoningTokens = value; break;
      default: return;
    }
    this.seen |= field;
  }
}

/**
 * Reads one response object (a whole non-streaming body, or one SSE event) into `out` (reset first) and
 * the span of its top-level `model` string token. The whole document is validated: on invalid JSON,
 * non-integer or negative token counts, or a `usage` that is neither an object nor null, it returns false
 * and the caller ignores the document.
 */
export class ResponseObjectReader {
  private reader: JsonReader = new JsonReader(0, 0);
  /** Span of the top-level "model" string token (quotes included); modelStart == 0 when absent. */
  modelStart: usize = 0;
  modelEnd: usize = 0;
  /** Why the last read failed ("" when it did not). */
  error: string = "";

  read(ptr: usize, len: usize, out: TokenUsage): bool {
    out.reset();
    this.modelStart = 0;
    this.modelEnd = 0;
    this.error = "";
    const r = this.reader;
    r.reset(ptr, len);
    // A literal `null` body carries no usage (Go's json.Unmarshal accepts it).
    if (r.kind() == KIND_NULL) {
      r.skip();
      return this.finish(r);
    }
    if (!r.enterObject()) return this.finish(r);
    while (r.nextMember()) {
      if (r.keyIs("usage")) {
        if (!this.usage(r, out)) {
          if (this.error.length == 0) this.error = r.errorMessage();
          return false;
        }
      } else if (r.keyIs("model") && r.kind() == KIND_STRING) {
        if (!r.skip()) break;
        this.modelStart = r.valueStart;
        this.modelEnd = r.valueEnd;
      } else if (r.keyIs("response") && r.kind() == KIND_OBJECT) {
        if (!this.responseObject(r, out)) {
          if (this.error.length == 0) this.error = r.errorMessage();
          return false;
        }
      } else if (!r.skip()) {
        break;
      }
    }
    return this.finish(r);
  }

  /** A responses stream event's `response` object: its usage and model. */
  private responseObject(r: JsonReader, out: TokenUsage): bool {
    r.enterObject();
    while (r.nextMember()) {
      if (r.keyIs("usage")) {
        if (!this.usage(r, out)) return false;
      } else if (r.keyIs("model") && r.kind() == KIND_STRING) {
        if (!r.skip()) return false;
        this.modelStart = r.valueStart;
        this.modelEnd = r.valueEnd;
      } else if (!r.skip()) {
        return false;
      }
    }
    return r.ok() || this.invalid(r.errorMessage());
  }

  /** The decoded model, or "" when absent. */
  modelString(): string {
    if (this.modelStart == 0) return "";
    return jsonStringValue(this.modelStart, this.modelEnd, hasBackslash(this.modelStart, this.modelEnd));
  }

  private finish(r: JsonReader): bool {
    if (r.ok() && r.atEnd()) return true;
    if (this.error.length == 0) this.error = r.errorMessage();
    return false;
  }

  private usage(r: JsonReader, out: TokenUsage): bool {
    const k = r.kind();
    if (k == KIND_NULL) return r.skip();
    if (k != KIND_OBJECT) return this.invalid("usage is neither an object nor null");
    r.enterObject();
    while (r.nextMember()) {
      let ok = true;
      if (r.keyIs("prompt_tokens") || r.keyIs("input_tokens")) ok = this.count(r, out, USAGE_INPUT);
      else if (r.keyIs("completion_tokens") || r.keyIs("output_tokens")) ok = this.count(r, out, USAGE_OUTPUT);
      else if (r.keyIs("total_tokens")) ok = this.count(r, out, USAGE_TOTAL);
      else if (r.keyIs("prompt_tokens_details") || r.keyIs("input_tokens_details")) ok = this.details(r, out, true);
      else if (r.keyIs("completion_tokens_details") || r.keyIs("output_tokens_details")) ok = this.details(r, out, false);
      else ok = r.skip();
      if (!ok) return false;
    }
    return r.ok() || this.invalid(r.errorMessage());
  }

  private details(r: JsonReader, out: TokenUsage, prompt: bool): bool {
    const k = r.kind();
    if (k == KIND_NULL) return r.skip();
    if (k != KIND_OBJECT) return this.invalid((prompt ? "prompt" : "completion") + "_tokens_details is not an object");
    r.enterObject();
    while (r.nextMember()) {
      let ok = true;
      if (prompt && r.keyIs("cached_tokens")) ok = this.count(r, out, USAGE_CACHED_INPUT);
      else if (prompt && (r.keyIs("cache_creation_input_tokens") || r.keyIs("cache_creation_tokens"))) ok = this.count(r, out, USAGE_CACHE_CREATION_INPUT);
      else if (!prompt && r.keyIs("reasoning_tokens")) ok = this.count(r, out, USAGE_REASONING);
      else ok = r.skip();
      if (!ok) return false;
    }
    return r.ok() || this.invalid(r.errorMessage());
  }

  private count(r: JsonReader, out: TokenUsage, field: u32): bool {
    if (r.kind() == KIND_NULL) return r.skip();
    const v = r.readInteger();
    if (!r.ok()) return this.invalid("token count is not an integer: " + r.errorMessage());
    if (v < 0) return this.invalid("negative token count");
    out.set(field, <u64>v);
    return true;
  }

  private invalid(message: string): bool {
    if (this.error.length == 0) this.error = message;
    return false;
  }
}

export function hasBackslash(start: usize, end: usize): bool {
  for (let p = start; p < end; p++) if (load<u8>(p) == 0x5c) return true;
  return false;
}

const bodyReader = new ResponseObjectReader();

/**
 * Usage of a whole non-streaming JSON response body. True with `out` filled (model included); false when
 * the body is not valid JSON of the expected shape, with the reason in lastJsonUsageError().
 */
export function extractJsonUsage(ptr: usize, len: usize, out: TokenUsage): bool {
  if (!bodyReader.read(ptr, len, out)) return false;
  out.model = bodyReader.modelString();
  return true;
}

export function lastJsonUsageError(): string {
  return bodyReader.error;
}
