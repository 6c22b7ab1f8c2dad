// The request schemas Envoy AI Gateway v1.1.0 decodes bodies into (internal/apischema/openai/openai.go and
// union.go), as tables for schema.ts: per endpoint, the top-level members (`stream_options` aside, which
// body.ts reads itself). Go types map to S_* kinds: string types (enums
// included: Go does not check their values) → S_STRING, bool → S_BOOL, int/int64 → S_INT, float32 →
// S_F32, float64 → S_F64, structs → object, json.RawMessage and `any` → S_ANY; pointer fields take null.
// An endpoint without a table (images, speech, tokenize) gets body.ts's own field checks only.

import { Endpoint } from "./endpoint";
import {
  arrayOf, mapOf, Member, nonNull, object, over, scalar, Schema, stringOr, tagged,
  S_ANY, S_BOOL, S_CONTENT, S_EMBEDDING_INPUT, S_F32, S_F64, S_INT, S_PROMPT, S_STRING, S_STRINGS,
} from "./schema";

const STRING = scalar(S_STRING);
const BOOL = scalar(S_BOOL);
const INT = scalar(S_INT);
const F32 = scalar(S_F32);
const F64 = scalar(S_F64);
const ANY = scalar(S_ANY);
const STRINGS = arrayOf(STRING);
/** A struct whose members are not checked (only that it is an object or null). */
const OPAQUE_OBJECT = object([]);

function m(name: string, schema: Schema, variants: u32 = 0xffffffff): Member {
  return new Member(name, schema, variants);
}

// Messages: ChatCompletionMessageParamUnion, dispatched on `role`.
const ROLE_USER: u32 = 1 << 0;
const ROLE_SYSTEM: u32 = 1 << 1;
const ROLE_DEVELOPER: u32 = 1 << 2;
const ROLE_ASSISTANT: u32 = 1 << 3;
const ROLE_TOOL: u32 = 1 << 4;
const ALL_ROLES: u32 = 0x1f;

// Content parts: the user union (ChatCompletionContentPartUserUnionParam, dispatched on `type`), and two
// plain structs with no dispatch: the text part of system/developer/tool content (ContentUnion:
// string or []ChatCompletionContentPartTextParam) and the assistant part
// (ChatCompletionAssistantMessageParamContent, a string `type` of any value).
const P_TEXT: u32 = 1 << 0;
const P_INPUT_AUDIO: u32 = 1 << 1;
const P_IMAGE_URL: u32 = 1 << 2;
const P_AUDIO_URL: u32 = 1 << 3;
const P_VIDEO_URL: u32 = 1 << 4;
const P_FILE: u32 = 1 << 5;
const P_TEXT_STRUCT: u32 = 1 << 6;
const P_ASSISTANT: u32 = 1 << 7;

const URL_OBJECT = object([m("url", STRING)]);

const CONTENT_PART = tagged("type", ["text", "input_audio", "image_url", "audio_url", "video_url", "file", "", ""], [
  m("type", STRING),
  m("text", STRING, P_TEXT | P_TEXT_STRUCT | P_ASSISTANT),
  m("input_audio", object([m("data", STRING), m("format", STRING)]), P_INPUT_AUDIO),
  m("image_url", object([m("url", STRING), m("detail", STRING)]), P_IMAGE_URL),
  m("audio_url", URL_OBJECT, P_AUDIO_URL),
  m("video_url", URL_OBJECT, P_VIDEO_URL),
  m("file", object([m("file_data", STRING), m("file_id", STRING), m("filename", STRING)]), P_FILE),
  m("refusal", STRING, P_ASSISTANT),
  m("signature", STRING, P_ASSISTANT),
], false);

function content(): Schema {
  const s = over(S_CONTENT, CONTENT_PART);
  const user = ROLE_USER;
  const text = ROLE_SYSTEM | ROLE_DEVELOPER | ROLE_TOOL;
  s.partRoles = StaticArray.fromArray<u32>([user, user, user, user, user, user, text, ROLE_ASSISTANT]);
  // StringOrUserRoleContentUnion and StringOrAssistantRoleContentUnion decode null as ""; ContentUnion
  // rejects it. Only the assistant union falls back to a single part object.
  s.nullRoles = ROLE_USER | ROLE_ASSISTANT;
  s.objectRoles = ROLE_ASSISTANT;
  s.allRoles = ALL_ROLES;
  return s;
}

const NAMED = ROLE_USER | ROLE_SYSTEM | ROLE_DEVELOPER | ROLE_ASSISTANT;

const MESSAGE = tagged("role", ["user", "system", "developer", "assistant", "tool"], [
  m("role", STRING),
  m("content", content()),
  m("name", STRING, NAMED),
  m("tool_call_id", STRING, ROLE_TOOL),
  m("refusal", STRING, ROLE_ASSISTANT),
  m("audio", object([m("id", STRING)]), ROLE_ASSISTANT),
  m("tool_calls", arrayOf(object([
    m("id", STRING),
    m("type", STRING),
    m("function", object([m("arguments", STRING), m("name", STRING)])),
  ])), ROLE_ASSISTANT),
  m("thinking_blocks", arrayOf(object([
    m("type", STRING), m("thinking", STRING), m("signature", STRING), m("data", STRING),
  ])), ROLE_ASSISTANT),
], false); // a null message has no role

const MESSAGES = arrayOf(MESSAGE);

/** ContentUnion outside messages (prediction.content): a string or text parts, not null. */
const TEXT_CONTENT = nonNull(stringOr(arrayOf(object([m("text", STRING), m("type", STRING)]))));

// `model` and `stream` are here too so that every occurrence is type-checked; body.ts applies its own
// rules to the last one.
const CHAT_COMPLETIONS: Array<Member> = [
  m("model", STRING),
  m("stream", BOOL),
  m("messages", MESSAGES),
  m("frequency_penalty", F32),
  m("logit_bias", mapOf(INT)),
  m("logprobs", BOOL),
  m("top_logprobs", INT),
  m("max_tokens", INT),
  m("max_completion_tokens", INT),
  m("n", INT),
  m("presence_penalty", F32),
  m("response_format", tagged("type", ["text", "json_schema", "json_object"], [
    m("type", STRING),
    m("json_schema", object([
      m("name", STRING), m("description", STRING), m("schema", ANY), m("strict", BOOL),
    ]), 1 << 1),
  ], true)),
  m("seed", INT),
  m("reasoning_effort", STRING),
  m("service_tier", STRING),
  m("verbosity", STRING),
  m("stop", scalar(S_STRINGS)),
  m("temperature", F64),
  m("top_p", F64),
  m("tools", arrayOf(object([
    m("type", STRING),
    m("function", object([
      m("name", STRING), m("description", STRING), m("strict", BOOL), m("parameters", ANY),
    ])),
    m("google_search", object([
      m("exclude_domains", STRINGS),
      m("blocking_confidence", STRING),
      m("time_range_filter", object([m("start_time", STRING), m("end_time", STRING)])),
    ])),
  ]))),
  m("tool_choice", stringOr(object([m("type", STRING), m("function", object([m("name", STRING)]))]))),
  m("parallel_tool_calls", BOOL),
  m("user", STRING),
  m("modalities", STRINGS),
  m("audio", object([m("voice", STRING), m("format", STRING)])),
  m("prediction", object([m("type", STRING), m("content", TEXT_CONTENT)])),
  m("web_search_options", object([
    m("user_location", object([
      m("type", STRING),
      m("approximate", object([m("city", STRING), m("region", STRING), m("country", STRING)])),
    ])),
    m("search_context_size", STRING),
  ])),
  // GCPVertexAIVendorFields (inline).
  m("generationConfig", object([m("media_resolution", STRING)])),
  m("safetySettings", arrayOf(OPAQUE_OBJECT)),
  m("guided_choice", STRINGS),
  m("guided_regex", STRING),
  m("guided_json", ANY),
  m("thinking", tagged("type", ["enabled", "disabled", "adaptive"], [
    m("type", STRING),
    m("budget_tokens", INT, 1 << 0),
    m("includeThoughts", BOOL, 1 << 0),
    m("display", STRING, (1 << 0) | (1 << 2)),
  ], true)),
];

const COMPLETIONS: Array<Member> = [
  m("model", STRING),
  m("stream", BOOL),
  m("prompt", nonNull(scalar(S_PROMPT))),
  m("best_of", INT),
  m("echo", BOOL),
  m("frequency_penalty", F64),
  m("logit_bias", mapOf(INT)),
  m("logprobs", INT),
  m("max_tokens", INT),
  m("n", INT),
  m("presence_penalty", F64),
  m("seed", INT),
  m("stop", ANY),
  m("suffix", STRING),
  m("temperature", F64),
  m("top_p", F64),
  m("user", STRING),
];

// EmbeddingCompletionRequest / EmbeddingChatRequest over EmbeddingBaseRequest and
// GCPVertexAIEmbeddingVendorFields; body.ts refuses `input` and `messages` together, as upstream does.
const EMBEDDINGS: Array<Member> = [
  m("model", STRING),
  m("input", nonNull(scalar(S_EMBEDDING_INPUT))),
  m("messages", MESSAGES),
  m("encoding_format", STRING),
  m("dimensions", INT),
  m("user", STRING),
  m("auto_truncate", BOOL),
  m("task_type", STRING),
  m("title", STRING),
];

// ResponseRequest: its top level only; input items, tools, tool_choice, text, reasoning and prompt
// are unions of many types whose members are not checked here.
const RESPONSES: Array<Member> = [
  m("model", STRING),
  m("stream", BOOL),
  m("background", BOOL),
  m("context_management", arrayOf(object([m("type", STRING), m("compact_threshold", INT)]))),
  m("instructions", STRING),
  m("max_output_tokens", INT),
  m("max_tool_calls", INT),
  m("parallel_tool_calls", BOOL),
  m("previous_response_id", STRING),
  m("store", BOOL),
  m("temperature", F64),
  m("top_logprobs", INT),
  m("top_p", F64),
  m("prompt_cache_key", STRING),
  m("safety_identifier", STRING),
  m("user", STRING),
  m("conversation", stringOr(object([m("id", STRING)]))),
  m("include", STRINGS),
  m("metadata", mapOf(STRING)),
  m("prompt", OPAQUE_OBJECT),
  m("prompt_cache_retention", STRING),
  m("service_tier", STRING),
  m("truncation", STRING),
  m("input", stringOr(arrayOf(ANY))),
  m("reasoning", OPAQUE_OBJECT),
  m("text", OPAQUE_OBJECT),
  m("tool_choice", ANY),
  m("tools", arrayOf(ANY)),
  m("presence_penalty", F32),
  m("frequency_penalty", F32),
];

const CHAT_COMPLETIONS_OBJECT = object(CHAT_COMPLETIONS);
const COMPLETIONS_OBJECT = object(COMPLETIONS);
const EMBEDDINGS_OBJECT = object(EMBEDDINGS);
const RESPONSES_OBJECT = object(RESPONSES);

/** The top-level object schema an endpoint's body is checked against, or null for none. */
export function requestSchema(endpoint: Endpoint): Schema | null {
  switch (endpoint) {
    case Endpoint.ChatCompletions: return CHAT_COMPLETIONS_OBJECT;
    case Endpoint.Completions: return COMPLETIONS_OBJECT;
    case Endpoint.Embeddings: return EMBEDDINGS_OBJECT;
    case Endpoint.Responses: return RESPONSES_OBJECT;
  }
  return null;
}
