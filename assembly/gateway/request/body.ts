// One pass over a buffered request body: validates the whole document (json/scan.ts) and, on the way,
// records the top-level fields the gateway and the EPP rely on and type-checks the members the endpoint's
// schema names (schema.ts, openai-schema.ts: Envoy AI Gateway's OpenAI schema validation), then applies
// the gateway's own field rules.
//
// Field rules (per endpoint, see FIELD RULES below): `model` a non-empty string without control characters
// (it becomes a header value) everywhere; `messages` a non-empty array (chat); `prompt` a string or array
// (completions; a string for images); `input` (or `messages`, not both) for embeddings, a string or array
// (optional for responses; a string for speech); `stream` a boolean and `stream_options` an object with a
// boolean `include_usage` where the endpoint streams. `null` counts as absent for the optional fields, as
// it does in the OpenAI API and Go's encoding/json.
//
// Keys are compared after unescaping ("mod\u0065l" is `model`) and exactly, as Envoy AI Gateway v1.1.0's
// decoder does (bytedance/sonic with CaseSensitive, internal/json/json.go). A key that appears twice counts
// by its LAST occurrence, as in Go's decoders, JSON.parse and Python: the value the upstream will read is
// the one we route on and rewrite (every occurrence is type-checked). A syntax error anywhere is reported
// before a type error.

import {
  jsonClearError, jsonErrorMessage, jsonFail, jsonKindAt, jsonKindName, jsonLastStringEscaped,
  skipJsonString, skipJsonValue, skipJsonWs,
  JSON_EXPECTED_COLON, JSON_EXPECTED_COMMA_OR_END, JSON_EXPECTED_KEY, JSON_TRAILING_DATA, JSON_UNEXPECTED_END,
  KIND_ARRAY, KIND_FALSE, KIND_INVALID, KIND_NULL, KIND_OBJECT, KIND_STRING, KIND_TRUE,
} from "../json/scan";
import { jsonStringEquals, jsonStringValue } from "../json/decode";
import { Endpoint, endpointCanStream } from "./endpoint";
import { requestSchema } from "./openai-schema";
import { checkValue, clearSchemaError, memberAt, prefixMemberName, schemaFailed, schemaOf, schemaMessage, schemaPath } from "./schema";

/**
 * A value's position in the body: byte offsets [start, end) of the token, and its kind (KIND_*).
 * Unmanaged (allocated once per RequestFacts, never freed) so that the scan's hot path does no GC work.
 */
@unmanaged
export class Span {
  kind: i32 = KIND_INVALID; // KIND_INVALID = absent
  start: i32 = -1;
  end: i32 = -1;
  /** For strings: the token holds a backslash escape. */
  escaped: bool = false;

  @inline get present(): bool {
    return this.kind != KIND_INVALID;
  }

  /** Marks the value absent (start/end are meaningless then). */
  @inline clear(): void {
    this.kind = KIND_INVALID;
  }

  @inline set(kind: i32, start: i32, end: i32, escaped: bool): void {
    this.kind = kind;
    this.start = start;
    this.end = end;
    this.escaped = escaped;
  }
}

/** What a request body says, for routing and rewriting. Reusable: scanRequestBody resets it. */
export class RequestFacts {
  /** Decoded `model` (valid when scanRequestBody returned true). */
  model: string = "";
  /** The `model` value token (with quotes): what modelNameOverride replaces. */
  readonly modelSpan: Span = new Span();
  readonly messages: Span = new Span();
  readonly prompt: Span = new Span();
  readonly input: Span = new Span();
  readonly stream: Span = new Span();
  /** `stream_options` value; for an object, `streamOptionsOpen`/`streamOptionsEmpty` describe it. */
  readonly streamOptions: Span = new Span();
  readonly includeUsage: Span = new Span();
  /** Offset of the `{` of a `stream_options` object. */
  streamOptionsOpen: i32 = -1;
  streamOptionsEmpty: bool = true;
  /** Offset of the top-level object's closing `}`. */
  objectClose: i32 = -1;
  /** Body length the facts refer to. */
  bodyLength: i32 = 0;
  /** When scanRequestBody returned false: what is wrong (without the "malformed request" prefix). */
  error: string = "";

  /** `stream: true`. */
  get streaming(): bool {
    return this.stream.kind == KIND_TRUE;
  }

  /** `stream_options.include_usage: true`. */
  get includesUsage(): bool {
    return this.includeUsage.kind == KIND_TRUE;
  }

  reset(): void {
    // Managed fields are only written when they change: each write costs a GC barrier.
    if (this.model.length != 0) this.model = "";
    if (this.error.length != 0) this.error = "";
    this.modelSpan.clear();
    this.messages.clear();
    this.prompt.clear();
    this.input.clear();
    this.stream.clear();
    this.streamOptions.clear();
    this.includeUsage.clear();
    this.streamOptionsOpen = -1;
    this.streamOptionsEmpty = true;
    this.objectClose = -1;
    this.bodyLength = 0;
  }
}

// Top-level keys of interest.
const KEY_OTHER: i32 = 0;
const KEY_MODEL: i32 = 1;
const KEY_MESSAGES: i32 = 2;
const KEY_PROMPT: i32 = 3;
const KEY_INPUT: i32 = 4;
const KEY_STREAM: i32 = 5;
const KEY_STREAM_OPTIONS: i32 = 6;

/**
 * Scans the body at [ptr, ptr+len) for an endpoint. True when the body is valid JSON and its fields have
 * the types the endpoint needs; false with `facts.error` set otherwise. Offsets in `facts` are relative
 * to ptr.
 */
export function scanRequestBody(endpoint: Endpoint, ptr: usize, len: usize, facts: RequestFacts): bool {
  facts.reset();
  facts.bodyLength = <i32>len;
  jsonClearError();
  clearSchemaError();
  const end = ptr + len;
  let p = skipJsonWs(ptr, end);
  if (p < end && load<u8>(p) != 0x7b) {
    // Report a syntax error first; a well-formed non-object gets its own message.
    const q = skipJsonValue(p, end, 0);
    if (q == 0) return syntaxError(facts, ptr);
    const r = skipJsonWs(q, end);
    if (r != end) {
      jsonFail(JSON_TRAILING_DATA, r);
      return syntaxError(facts, ptr);
    }
    facts.error = "request body must be a JSON object, got " + jsonKindName(jsonKindAt(p, end));
    return false;
  }
  p = scanTopObject(p, end, ptr, facts, changetype<usize>(requestSchema(endpoint)));
  if (p == 0) return syntaxError(facts, ptr);
  p = skipJsonWs(p, end);
  if (p != end) {
    jsonFail(JSON_TRAILING_DATA, p);
    return syntaxError(facts, ptr);
  }
  // A type error found on the way (a syntax error anywhere takes precedence, as in Go's decoders).
  if (facts.error.length != 0) return false;
  return checkFields(endpoint, ptr, facts);
}

function syntaxError(facts: RequestFacts, ptr: usize): bool {
  facts.error = jsonErrorMessage(ptr);
  return false;
}

/**
 * p at the top-level '{' (or at the end). Returns the position after the matching '}' or 0. Members named
 * by the schema at `schema` (0: none) are type-checked on the way (schema.ts, which says why it is an address).
 */
function scanTopObject(p: usize, end: usize, base: usize, facts: RequestFacts, schema: usize): usize {
  if (p >= end) return jsonFail(JSON_UNEXPECTED_END, end);
  p = skipJsonWs(p + 1, end);
  if (p >= end) return jsonFail(JSON_UNEXPECTED_END, end);
  if (load<u8>(p) == 0x7d) {
    facts.objectClose = <i32>(p - base);
    return p + 1;
  }
  while (true) {
    if (p >= end) return jsonFail(JSON_UNEXPECTED_END, end);
    if (load<u8>(p) != 0x22) return jsonFail(JSON_EXPECTED_KEY, p);
    const ks = p;
    p = skipJsonString(p, end);
    if (p == 0) return 0;
    const ke = p;
    const keyEscaped = jsonLastStringEscaped();
    const key = classifyKey(ks, ke, keyEscaped);
    p = skipJsonWs(p, end);
    if (p >= end) return jsonFail(JSON_UNEXPECTED_END, end);
    if (load<u8>(p) != 0x3a) return jsonFail(JSON_EXPECTED_COLON, p);
    p = skipJsonWs(p + 1, end);
    const vs = p;
    const kind = jsonKindAt(p, end);
    const member = schema != 0 ? memberAt(schema, ks, ke, keyEscaped) : 0;
    if (key == KEY_STREAM_OPTIONS && kind == KIND_OBJECT) {
      p = scanStreamOptions(p, end, base, facts);
    } else if (member != 0) {
      p = checkValue(schemaOf(member), p, end, 1);
      if (p == 0 && schemaFailed) {
        // Keep the first type error and go on (re-reading this value, on the error path only), so that a
        // syntax error later in the body is the one reported.
        memberError(facts, member);
        p = skipJsonValue(vs, end, 1);
      }
    } else {
      p = skipJsonValue(p, end, 1);
    }
    if (p == 0) return 0;
    if (key != KEY_OTHER) {
      const start = <i32>(vs - base);
      const stop = <i32>(p - base);
      // The last occurrence of a key wins: each one overwrites what an earlier one recorded.
      switch (key) {
        case KEY_MODEL:
          facts.modelSpan.set(kind, start, stop, kind == KIND_STRING && jsonLastStringEscaped());
          break;
        case KEY_MESSAGES:
          facts.messages.set(kind, start, stop, false);
          break;
        case KEY_PROMPT:
          facts.prompt.set(kind, start, stop, false);
          break;
        case KEY_INPUT:
          facts.input.set(kind, start, stop, false);
          break;
        case KEY_STREAM:
          facts.stream.set(kind, start, stop, false);
          break;
        case KEY_STREAM_OPTIONS:
          facts.streamOptions.set(kind, start, stop, false);
          if (kind != KIND_OBJECT) {
            // A later non-object stream_options replaces an earlier object, including what it held.
            facts.includeUsage.clear();
            facts.streamOptionsOpen = -1;
            facts.streamOptionsEmpty = true;
          }
          break;
      }
    }
    p = skipJsonWs(p, end);
    if (p >= end) return jsonFail(JSON_UNEXPECTED_END, end);
    const c = load<u8>(p);
    if (c == 0x2c) {
      p = skipJsonWs(p + 1, end);
      continue;
    }
    if (c != 0x7d) return jsonFail(JSON_EXPECTED_COMMA_OR_END, p);
    facts.objectClose = <i32>(p - base);
    return p + 1;
  }
  return 0; // unreachable
}

/** Records the failed check of the member at mp as the body's type error, unless one came before. */
function memberError(facts: RequestFacts, mp: usize): void {
  prefixMemberName(mp);
  if (facts.error.length == 0) facts.error = 'field "' + schemaPath + '" ' + schemaMessage;
  clearSchemaError();
}

/** A `stream_options` object at depth 2 (p at its '{'): records `include_usage` (last occurrence). */
function scanStreamOptions(p: usize, end: usize, base: usize, facts: RequestFacts): usize {
  facts.includeUsage.clear();
  facts.streamOptionsOpen = <i32>(p - base);
  facts.streamOptionsEmpty = true;
  p = skipJsonWs(p + 1, end);
  if (p >= end) return jsonFail(JSON_UNEXPECTED_END, end);
  if (load<u8>(p) == 0x7d) return p + 1;
  facts.streamOptionsEmpty = false;
  while (true) {
    if (p >= end) return jsonFail(JSON_UNEXPECTED_END, end);
    if (load<u8>(p) != 0x22) return jsonFail(JSON_EXPECTED_KEY, p);
    const ks = p;
    p = skipJsonString(p, end);
    if (p == 0) return 0;
    const isIncludeUsage = jsonStringEquals(ks, p, jsonLastStringEscaped(), "include_usage");
    p = skipJsonWs(p, end);
    if (p >= end) return jsonFail(JSON_UNEXPECTED_END, end);
    if (load<u8>(p) != 0x3a) return jsonFail(JSON_EXPECTED_COLON, p);
    p = skipJsonWs(p + 1, end);
    const vs = p;
    p = skipJsonValue(p, end, 2);
    if (p == 0) return 0;
    if (isIncludeUsage) facts.includeUsage.set(jsonKindAt(vs, end), <i32>(vs - base), <i32>(p - base), false);
    p = skipJsonWs(p, end);
    if (p >= end) return jsonFail(JSON_UNEXPECTED_END, end);
    const c = load<u8>(p);
    if (c == 0x2c) {
      p = skipJsonWs(p + 1, end);
      continue;
    }
    if (c != 0x7d) return jsonFail(JSON_EXPECTED_COMMA_OR_END, p);
    return p + 1;
  }
  return 0; // unreachable
}

/** Which top-level key a key token [ks, ke) (with quotes) is. Unescaped keys are compared by length first. */
function classifyKey(ks: usize, ke: usize, escaped: bool): i32 {
  if (escaped) {
    if (jsonStringEquals(ks, ke, true, "model")) return KEY_MODEL;
    if (jsonStringEquals(ks, ke, true, "messages")) return KEY_MESSAGES;
    if (jsonStringEquals(ks, ke, true, "prompt")) return KEY_PROMPT;
    if (jsonStringEquals(ks, ke, true, "input")) return KEY_INPUT;
    if (jsonStringEquals(ks, ke, true, "stream")) return KEY_STREAM;
    if (jsonStringEquals(ks, ke, true, "stream_options")) return KEY_STREAM_OPTIONS;
    return KEY_OTHER;
  }
  const k = ks + 1;
  const n = ke - ks - 2;
  // Little-endian constants: "mode" = 0x65646f6d, "inpu" = 0x75706e69, "prom" = 0x6d6f7270,
  // "stre" = 0x65727473, "messages" = 0x736567617373656d, "stream_o" = 0x6f5f6d6165727473, "ptions" tail.
  if (n == 5) {
    const w = load<u32>(k);
    const last = load<u8>(k + 4);
    if (w == 0x65646f6d && last == 0x6c) return KEY_MODEL;
    if (w == 0x75706e69 && last == 0x74) return KEY_INPUT;
    return KEY_OTHER;
  }
  if (n == 6) {
    const w = load<u32>(k);
    const tail = load<u16>(k + 4);
    if (w == 0x6d6f7270 && tail == 0x7470) return KEY_PROMPT; // "pt"
    if (w == 0x65727473 && tail == 0x6d61) return KEY_STREAM; // "am"
    return KEY_OTHER;
  }
  if (n == 8) return load<u64>(k) == 0x736567617373656d ? KEY_MESSAGES : KEY_OTHER;
  if (n == 14) {
    // "stream_options" = "stream_o" + "ptions"
    if (load<u64>(k) == 0x6f5f6d6165727473 && load<u32>(k + 8) == 0x6f697470 && load<u16>(k + 12) == 0x736e) {
      return KEY_STREAM_OPTIONS;
    }
  }
  return KEY_OTHER;
}

// FIELD RULES ------------------------------------------------------------------------------------------

function checkFields(endpoint: Endpoint, base: usize, facts: RequestFacts): bool {
  const model = facts.modelSpan;
  if (!model.present || model.kind == KIND_NULL) return fieldError(facts, 'missing required field "model"');
  if (model.kind != KIND_STRING) return typeError(facts, "model", "a string", model.kind);
  if (model.end - model.start == 2) return fieldError(facts, 'field "model" must not be empty');
  // The model becomes the x-ai-eg-model header value, which cannot carry control characters.
  let name: string | null;
  if (model.escaped) {
    name = jsonStringValue(base + <usize>model.start, base + <usize>model.end, true);
    if (hasControlChar(name)) name = null;
  } else {
    name = modelString(base + <usize>model.start + 1, <usize>(model.end - model.start - 2));
  }
  if (name == null) return fieldError(facts, 'field "model" must not contain control characters');
  facts.model = name;

  switch (endpoint) {
    case Endpoint.ChatCompletions: {
      const m = facts.messages;
      if (!m.present || m.kind == KIND_NULL) return fieldError(facts, 'missing required field "messages"');
      if (m.kind != KIND_ARRAY) return typeError(facts, "messages", "a non-empty array", m.kind);
      if (load<u8>(skipJsonWs(base + <usize>m.start + 1, base + <usize>m.end)) == 0x5d) {
        return fieldError(facts, 'field "messages" must be a non-empty array, got an empty array');
      }
      break;
    }
    case Endpoint.Completions:
      if (!requireStringOrArray(facts, facts.prompt, "prompt")) return false;
      break;
    case Endpoint.Embeddings: {
      // Envoy AI Gateway v1.1.0 (EmbeddingRequest.UnmarshalJSON) takes `input` or chat-style `messages`,
      // never both; the schema pass has checked their types.
      const i = facts.input;
      const hasMessages = facts.messages.present;
      if (i.present && hasMessages) return fieldError(facts, 'fields "input" and "messages" must not both be present');
      if (!hasMessages && (!i.present || i.kind == KIND_NULL)) return fieldError(facts, 'missing required field "input"');
      break;
    }
    case Endpoint.Responses:
    case Endpoint.ResponsesInputTokens: {
      const i = facts.input;
      if (i.present && i.kind != KIND_NULL && i.kind != KIND_STRING && i.kind != KIND_ARRAY) {
        return typeError(facts, "input", "a string or an array", i.kind);
      }
      break;
    }
    case Endpoint.ImagesGenerations:
      if (!requireString(facts, facts.prompt, "prompt")) return false;
      break;
    case Endpoint.AudioSpeech:
      if (!requireString(facts, facts.input, "input")) return false;
      break;
  }

  if (endpointCanStream(endpoint)) {
    const s = facts.stream;
    if (s.present && s.kind != KIND_TRUE && s.kind != KIND_FALSE && s.kind != KIND_NULL) {
      return typeError(facts, "stream", "a boolean", s.kind);
    }
    const o = facts.streamOptions;
    if (o.present && o.kind != KIND_OBJECT && o.kind != KIND_NULL) {
      return typeError(facts, "stream_options", "an object", o.kind);
    }
    const u = facts.includeUsage;
    if (u.present && u.kind != KIND_TRUE && u.kind != KIND_FALSE && u.kind != KIND_NULL) {
      return typeError(facts, "stream_options.include_usage", "a boolean", u.kind);
    }
  }
  return true;
}

/** Whether `s` holds a C0 control character or DEL (not allowed in an HTTP header value). */
export function hasControlChar(s: string): bool {
  const p = changetype<usize>(s);
  const n = <usize>s.length << 1;
  for (let i: usize = 0; i < n; i += 2) {
    const c = load<u16>(p + i);
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

// The last model decoded (checked, ASCII). A gateway sees the same few model names over and over, so
// reusing the string when the bytes repeat saves an allocation (and GC work) on most requests.
let lastModel: string = "";

/**
 * The model from the bytes of an unescaped JSON string (which cannot hold C0 controls): the previous model
 * when the bytes repeat; else a new string, ASCII widened directly; null when it holds DEL.
 */
function modelString(ptr: usize, len: usize): string | null {
  if (<usize>lastModel.length == len && sameAscii(ptr, changetype<usize>(lastModel), len)) return lastModel;
  const s = changetype<usize>(__new(len << 1, idof<string>()));
  for (let i: usize = 0; i < len; i++) {
    const c = load<u8>(ptr + i);
    if (c >= 0x80) {
      const u = String.UTF8.decodeUnsafe(ptr, len);
      return hasControlChar(u) ? null : u;
    }
    if (c == 0x7f) return null;
    store<u16>(s + (i << 1), c);
  }
  lastModel = changetype<string>(s);
  return lastModel;
}

/** Whether `len` bytes at `bytes` equal the `len` UTF-16 units at `units` (8 at a time with SIMD). */
function sameAscii(bytes: usize, units: usize, len: usize): bool {
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 8 <= len; i += 8) {
      if (!i16x8.all_true(i16x8.eq(v128.load8x8_u(bytes + i), v128.load(units + (i << 1))))) return false;
    }
  }
  for (; i < len; i++) {
    if (<u32>load<u8>(bytes + i) != <u32>load<u16>(units + (i << 1))) return false;
  }
  return true;
}

function requireStringOrArray(facts: RequestFacts, s: Span, name: string): bool {
  if (!s.present || s.kind == KIND_NULL) return fieldError(facts, 'missing required field "' + name + '"');
  if (s.kind != KIND_STRING && s.kind != KIND_ARRAY) return typeError(facts, name, "a string or an array", s.kind);
  return true;
}

function requireString(facts: RequestFacts, s: Span, name: string): bool {
  if (!s.present || s.kind == KIND_NULL) return fieldError(facts, 'missing required field "' + name + '"');
  if (s.kind != KIND_STRING) return typeError(facts, name, "a string", s.kind);
  return true;
}

function typeError(facts: RequestFacts, name: string, expected: string, kind: i32): bool {
  return fieldError(facts, 'field "' + name + '" must be ' + expected + ", got " + articled(kind));
}

function articled(kind: i32): string {
  if (kind == KIND_NULL) return "null";
  return (kind == KIND_ARRAY || kind == KIND_OBJECT ? "an " : "a ") + jsonKindName(kind);
}

function fieldError(facts: RequestFacts, message: string): bool {
  facts.error = message;
  return false;
}
