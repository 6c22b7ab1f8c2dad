// The request schemas Envoy AI Gateway v1.1.0 decodes bodies into (internal/apischema/openai/openai.go and
// union.go), as tables for schema.ts: per endpoint, the top-level members (`stream_options` aside, which
// body.ts reads itself). Go types map to S_* kinds: string types (enums
// included: Go does not check their values) → S_STRING, bool → S_BOOL, int/int64 → S_INT, float32 →
// S_F32, float64 → S_F64, structs → object, json.RawMessage and `any` → S_ANY; pointer fields take null.
// Every JSON endpoint has a table (internal/endpointspec/endpointspec.go decodes each body into its type).

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

// ResponseRequest and the unions under it. Each union's UnmarshalJSON reads `type` with gjson and decodes
// the variant's struct; the tables follow its switch. `open` unions keep what they do not know raw (tools);
// the others reject an unknown or missing type. Where variants declare the same key with different Go
// types (an input item's `output`, `action`, `content`, `tools`), the key is checked for the variant(s)
// named and passes unchecked in the others, since a member has one schema.

/** The bits of `names` among `variants` (for a member's variant mask); names not among them are ignored. */
function bits(variants: Array<string>, names: Array<string>): u32 {
  let b: u32 = 0;
  for (let i = 0; i < names.length; i++) {
    const v = variants.indexOf(names[i]);
    if (v >= 0) b |= <u32>1 << v;
  }
  return b;
}
/** Unknown or missing tags, and values that are not objects, pass unchecked (Go keeps them raw). */
function open(s: Schema): Schema {
  s.openTags = true;
  return s;
}

// ResponseInputContentUnionParam (and the custom tool output's list items): input_text, input_image,
// input_file; the function call output's list adds input_video.
const INPUT_PART_TYPES = ["input_text", "input_image", "input_file", "input_video"];
/** The members of the input parts (and output_text's `text`) among the part `types`. */
function partMembers(types: Array<string>): Array<Member> {
  return [
    m("type", STRING),
    m("text", STRING, bits(types, ["input_text", "output_text"])),
    m("detail", STRING, bits(types, ["input_image"])),
    m("file_id", STRING, bits(types, ["input_image", "input_file"])),
    m("image_url", STRING, bits(types, ["input_image"])),
    m("file_data", STRING, bits(types, ["input_file"])),
    m("file_url", STRING, bits(types, ["input_file"])),
    m("filename", STRING, bits(types, ["input_file"])),
    m("video_url", STRING, bits(types, ["input_video"])),
  ];
}
function inputParts(video: bool): Schema {
  const types = video ? INPUT_PART_TYPES : INPUT_PART_TYPES.slice(0, 3);
  return tagged("type", types, partMembers(types), false);
}
const INPUT_PART = inputParts(false);

// A message's content parts: the input parts, and for assistant messages (ResponseOutputMessage) the
// output parts. Both are accepted whatever the role (the role's own set is not told apart here).
const ANNOTATION_TYPES = ["file_citation", "url_citation", "container_file_citation", "file_path"];
const ANNOTATION = tagged("type", ANNOTATION_TYPES, [
  m("type", STRING),
  m("file_id", STRING, bits(ANNOTATION_TYPES, ["file_citation", "container_file_citation", "file_path"])),
  m("filename", STRING, bits(ANNOTATION_TYPES, ["file_citation", "container_file_citation"])),
  m("index", INT, bits(ANNOTATION_TYPES, ["file_citation", "file_path"])),
  m("end_index", INT, bits(ANNOTATION_TYPES, ["url_citation", "container_file_citation"])),
  m("start_index", INT, bits(ANNOTATION_TYPES, ["url_citation", "container_file_citation"])),
  m("title", STRING, bits(ANNOTATION_TYPES, ["url_citation"])),
  m("url", STRING, bits(ANNOTATION_TYPES, ["url_citation"])),
  m("container_id", STRING, bits(ANNOTATION_TYPES, ["container_file_citation"])),
], false);
const TOP_LOGPROB = object([m("token", STRING), m("bytes", arrayOf(INT)), m("logprob", F64)]);
const MESSAGE_PART_TYPES = ["input_text", "input_image", "input_file", "output_text", "refusal"];
const MESSAGE_PART = tagged("type", MESSAGE_PART_TYPES, partMembers(MESSAGE_PART_TYPES).concat([
  m("annotations", arrayOf(ANNOTATION), bits(MESSAGE_PART_TYPES, ["output_text"])),
  m("logprobs", arrayOf(object([
    m("token", STRING), m("bytes", arrayOf(INT)), m("logprob", F64), m("top_logprobs", arrayOf(TOP_LOGPROB)),
  ])), bits(MESSAGE_PART_TYPES, ["output_text"])),
  m("refusal", STRING, bits(MESSAGE_PART_TYPES, ["refusal"])),
]), false);

// ResponseToolUnion (open: an unknown tool type is kept raw).
const TOOL_TYPES = [
  "function", "file_search", "computer_use_preview", "web_search", "web_search_2025_08_26", "mcp",
  "code_interpreter", "image_generation", "custom", "local_shell", "shell", "web_search_preview",
  "web_search_preview_2025_03_11", "apply_patch", "namespace", "tool_search",
];
const CUSTOM_FORMAT = tagged("type", ["text", "grammar"], [
  m("type", STRING), m("definition", STRING, 1 << 1), m("syntax", STRING, 1 << 1),
], false);
const USER_LOCATION = object([
  m("city", STRING), m("country", STRING), m("region", STRING), m("timezone", STRING), m("type", STRING),
]);
const APPROVAL_FILTER = object([m("read_only", BOOL), m("tool_names", STRINGS)]);
const FUNCTION_LIKE = bits(TOOL_TYPES, ["function"]);
const CUSTOM_TOOL = bits(TOOL_TYPES, ["custom"]);
const WEB_SEARCH = bits(TOOL_TYPES, ["web_search", "web_search_2025_08_26"]);
const WEB_SEARCH_PREVIEW = bits(TOOL_TYPES, ["web_search_preview", "web_search_preview_2025_03_11"]);
const IMAGE_GENERATION = bits(TOOL_TYPES, ["image_generation"]);
const MCP = bits(TOOL_TYPES, ["mcp"]);
// NamespaceToolToolUnionParam: a function or a custom tool; another type decodes as a function, which is
// not checked here.
const NAMESPACE_TOOL = open(tagged("type", ["function", "custom"], [
  m("type", STRING),
  m("name", STRING),
  m("description", STRING),
  m("strict", BOOL, 1 << 0),
  m("defer_loading", BOOL, 1 << 0),
  m("format", CUSTOM_FORMAT, 1 << 1),
], true));
const TOOL = open(tagged("type", TOOL_TYPES, [
  m("type", STRING),
  m("name", STRING, FUNCTION_LIKE | CUSTOM_TOOL | bits(TOOL_TYPES, ["namespace"])),
  m("description", STRING, FUNCTION_LIKE | CUSTOM_TOOL | bits(TOOL_TYPES, ["namespace", "tool_search"])),
  m("strict", BOOL, FUNCTION_LIKE),
  m("parameters", mapOf(ANY), FUNCTION_LIKE),
  m("format", CUSTOM_FORMAT, CUSTOM_TOOL),
  m("vector_store_ids", STRINGS, bits(TOOL_TYPES, ["file_search"])),
  m("max_num_results", INT, bits(TOOL_TYPES, ["file_search"])),
  // FileSearchToolFiltersUnionParam: a compound filter for "and"/"or", else a comparison filter; only
  // `type`, which both declare, is checked.
  m("filters", object([m("type", STRING)]), bits(TOOL_TYPES, ["file_search"])),
  m("ranking_options", object([
    m("score_threshold", F64),
    m("hybrid_search", object([m("embedding_weight", F64), m("text_weight", F64)])),
    m("ranker", STRING),
  ]), bits(TOOL_TYPES, ["file_search"])),
  m("display_height", INT, bits(TOOL_TYPES, ["computer_use_preview"])),
  m("display_width", INT, bits(TOOL_TYPES, ["computer_use_preview"])),
  m("environment", STRING, bits(TOOL_TYPES, ["computer_use_preview"])),
  m("user_location", USER_LOCATION, WEB_SEARCH | WEB_SEARCH_PREVIEW),
  m("search_context_size", STRING, WEB_SEARCH | WEB_SEARCH_PREVIEW),
  m("server_label", STRING, MCP),
  m("authorization", STRING, MCP),
  m("server_description", STRING, MCP),
  m("server_url", STRING, MCP),
  m("connector_id", STRING, MCP),
  m("headers", mapOf(STRING), MCP),
  // ToolMcpAllowedToolsUnionParam: []string or a filter object.
  m("allowed_tools", ANY, MCP),
  // ToolMcpRequireApprovalUnionParam: a filter object or a string.
  m("require_approval", stringOr(object([m("always", APPROVAL_FILTER), m("never", APPROVAL_FILTER)])), MCP),
  // ToolCodeInterpreterContainerUnionParam: a string or {memory_limit, file_ids, type}.
  m("container", stringOr(object([m("memory_limit", STRING), m("file_ids", STRINGS), m("type", STRING)])),
    bits(TOOL_TYPES, ["code_interpreter"])),
  m("output_compression", INT, IMAGE_GENERATION),
  m("partial_images", INT, IMAGE_GENERATION),
  m("input_fidelity", STRING, IMAGE_GENERATION),
  m("background", STRING, IMAGE_GENERATION),
  m("input_image_mask", object([m("file_id", STRING), m("image_url", STRING)]), IMAGE_GENERATION),
  m("model", STRING, IMAGE_GENERATION),
  m("moderation", STRING, IMAGE_GENERATION),
  m("output_format", STRING, IMAGE_GENERATION),
  m("quality", STRING, IMAGE_GENERATION),
  m("size", STRING, IMAGE_GENERATION),
  m("tools", arrayOf(NAMESPACE_TOOL), bits(TOOL_TYPES, ["namespace"])),
  m("execution", STRING, bits(TOOL_TYPES, ["tool_search"])),
], true));
const TOOLS = arrayOf(TOOL);

// ResponseInputItemUnionParam: an item without `type` is a message (EasyInputMessageParam, or
// ResponseOutputMessage for the assistant role).
const ITEM_TYPES = [
  "message", "file_search_call", "computer_call", "computer_call_output", "web_search_call", "function_call",
  "function_call_output", "tool_search_call", "tool_search_output", "reasoning", "compaction",
  "image_generation_call", "code_interpreter_call", "local_shell_call", "local_shell_call_output", "shell_call",
  "shell_call_output", "apply_patch_call", "apply_patch_call_output", "mcp_list_tools", "mcp_approval_request",
  "mcp_approval_response", "mcp_call", "custom_tool_call_output", "custom_tool_call", "compaction_trigger",
  "item_reference", "agent_message", "agent_reasoning", "additional_tools",
];
function items(names: Array<string>): u32 {
  return bits(ITEM_TYPES, names);
}
// Which item structs declare which keys (agent_message and agent_reasoning are kept raw).
const WITH_ID = items([
  "file_search_call", "computer_call", "computer_call_output", "web_search_call", "function_call",
  "function_call_output", "tool_search_call", "tool_search_output", "reasoning", "compaction",
  "image_generation_call", "code_interpreter_call", "local_shell_call", "local_shell_call_output", "shell_call",
  "shell_call_output", "apply_patch_call", "apply_patch_call_output", "mcp_list_tools", "mcp_approval_request",
  "mcp_approval_response", "mcp_call", "custom_tool_call_output", "custom_tool_call", "item_reference",
  "additional_tools",
]);
const WITH_STATUS = items([
  "file_search_call", "computer_call", "computer_call_output", "web_search_call", "function_call",
  "function_call_output", "tool_search_call", "tool_search_output", "reasoning", "image_generation_call",
  "code_interpreter_call", "local_shell_call", "local_shell_call_output", "shell_call", "apply_patch_call",
  "apply_patch_call_output", "mcp_call",
]);
const WITH_CALL_ID = items([
  "computer_call", "computer_call_output", "function_call", "function_call_output", "tool_search_call",
  "tool_search_output", "local_shell_call", "shell_call", "shell_call_output", "apply_patch_call",
  "apply_patch_call_output", "custom_tool_call_output", "custom_tool_call",
]);
const COMPUTER_ACTION_TYPES = ["click", "double_click", "drag", "keypress", "move", "screenshot", "scroll", "type", "wait"];
const XY = bits(COMPUTER_ACTION_TYPES, ["click", "double_click", "move", "scroll"]);
const COMPUTER_ACTION = tagged("type", COMPUTER_ACTION_TYPES, [
  m("type", STRING),
  m("button", STRING, bits(COMPUTER_ACTION_TYPES, ["click"])),
  m("x", INT, XY),
  m("y", INT, XY),
  m("path", arrayOf(object([m("x", INT), m("y", INT)])), bits(COMPUTER_ACTION_TYPES, ["drag"])),
  m("keys", STRINGS, bits(COMPUTER_ACTION_TYPES, ["keypress"])),
  m("scroll_x", INT, bits(COMPUTER_ACTION_TYPES, ["scroll"])),
  m("scroll_y", INT, bits(COMPUTER_ACTION_TYPES, ["scroll"])),
  m("text", STRING, bits(COMPUTER_ACTION_TYPES, ["type"])),
], false);
const SAFETY_CHECK = object([m("id", STRING), m("code", STRING), m("message", STRING)]);
const TEXT_PARTS = arrayOf(object([m("text", STRING), m("type", STRING)]));
const INPUT_ITEM = tagged("type", ITEM_TYPES, [
  m("type", STRING),
  m("id", STRING, WITH_ID),
  m("status", STRING, WITH_STATUS),
  m("call_id", STRING, WITH_CALL_ID),
  // EasyInputMessageContentUnionParam: a string (null decodes as "") or a list of parts.
  m("content", stringOr(arrayOf(MESSAGE_PART)), items(["message"])),
  m("role", STRING, items(["message", "additional_tools"])),
  m("queries", STRINGS, items(["file_search_call"])),
  m("results", arrayOf(object([
    m("file_id", STRING), m("filename", STRING), m("score", F64), m("text", STRING),
    // ResponseFileSearchToolCallResultAttributeUnionParam: a string, a number or a boolean.
    m("attributes", mapOf(ANY)),
  ])), items(["file_search_call"])),
  m("action", COMPUTER_ACTION, items(["computer_call"])),
  m("pending_safety_checks", arrayOf(SAFETY_CHECK), items(["computer_call"])),
  m("acknowledged_safety_checks", arrayOf(SAFETY_CHECK), items(["computer_call_output"])),
  // ResponseInputItemFunctionCallOutputOutputUnionParam: a string or a list of parts, not null.
  m("output", nonNull(stringOr(arrayOf(inputParts(true)))), items(["function_call_output"])),
  m("arguments", STRING, items(["function_call", "mcp_approval_request", "mcp_call"])),
  m("name", STRING, items(["function_call", "mcp_approval_request", "mcp_call", "custom_tool_call"])),
  m("namespace", STRING, items(["function_call"])),
  m("execution", STRING, items(["tool_search_call", "tool_search_output"])),
  m("created_by", STRING, items(["tool_search_call", "tool_search_output"])),
  m("tools", TOOLS, items(["tool_search_output", "additional_tools"])),
  m("summary", TEXT_PARTS, items(["reasoning"])),
  m("encrypted_content", STRING, items(["reasoning", "compaction"])),
  m("result", STRING, items(["image_generation_call"])),
  m("code", STRING, items(["code_interpreter_call"])),
  m("container_id", STRING, items(["code_interpreter_call"])),
  m("outputs", arrayOf(tagged("type", ["logs", "image"], [
    m("type", STRING), m("logs", STRING, 1 << 0), m("url", STRING, 1 << 1),
  ], false)), items(["code_interpreter_call"])),
  m("operation", tagged("type", ["create_file", "delete_file", "update_file"], [
    m("type", STRING), m("diff", STRING, 0b101), m("path", STRING),
  ], false), items(["apply_patch_call"])),
  m("max_output_length", INT, items(["shell_call_output"])),
  m("server_label", STRING, items(["mcp_list_tools", "mcp_approval_request", "mcp_call"])),
  m("error", STRING, items(["mcp_list_tools", "mcp_call"])),
  m("approval_request_id", STRING, items(["mcp_approval_response", "mcp_call"])),
  m("approve", BOOL, items(["mcp_approval_response"])),
  m("reason", STRING, items(["mcp_approval_response"])),
  m("input", STRING, items(["custom_tool_call"])),
], false);
INPUT_ITEM.missingVariant = 0;

// ResponseFormatTextConfigUnionParam (text.format).
const TEXT_FORMAT = nonNull(tagged("type", ["text", "json_schema", "json_object"], [
  m("type", STRING),
  m("name", STRING, 1 << 1),
  m("schema", mapOf(ANY), 1 << 1),
  m("strict", BOOL, 1 << 1),
  m("description", STRING, 1 << 1),
], false));

// ResponseToolChoiceUnion: a mode string (null decodes as ""), or an object with a known type.
const TOOL_CHOICE_TYPES = [
  "allowed_tools", "file_search", "web_search_preview", "computer_use_preview", "web_search_preview_2025_03_11",
  "image_generation", "code_interpreter", "function", "mcp", "custom", "apply_patch", "shell",
];
const TOOL_CHOICE = stringOr(tagged("type", TOOL_CHOICE_TYPES, [
  m("type", STRING),
  m("mode", STRING, bits(TOOL_CHOICE_TYPES, ["allowed_tools"])),
  m("tools", arrayOf(mapOf(ANY)), bits(TOOL_CHOICE_TYPES, ["allowed_tools"])),
  m("name", STRING, bits(TOOL_CHOICE_TYPES, ["function", "mcp", "custom"])),
  m("server_label", STRING, bits(TOOL_CHOICE_TYPES, ["mcp"])),
], false));

// ResponsePromptVariableUnionParam: a string, or an input_text/input_image/input_file part.
const PROMPT = object([
  m("id", STRING),
  m("version", STRING),
  m("variables", mapOf(stringOr(INPUT_PART))),
]);

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
  // ResponseNewParamsConversationUnion: a string (null decodes as "") or {id}.
  m("conversation", stringOr(object([m("id", STRING)]))),
  m("include", STRINGS),
  m("metadata", mapOf(STRING)),
  m("prompt", PROMPT),
  m("prompt_cache_retention", STRING),
  m("service_tier", STRING),
  m("truncation", STRING),
  // ResponseNewParamsInputUnion: a string (null decodes as "") or a list of items.
  m("input", stringOr(arrayOf(INPUT_ITEM))),
  m("reasoning", object([m("effort", STRING), m("generate_summary", STRING), m("summary", STRING)])),
  m("text", object([m("verbosity", STRING), m("format", TEXT_FORMAT)])),
  m("tool_choice", TOOL_CHOICE),
  m("tools", TOOLS),
  m("presence_penalty", F32),
  m("frequency_penalty", F32),
];

// ImageGenerationRequest.
const IMAGES_GENERATIONS: Array<Member> = [
  m("model", STRING),
  m("stream", BOOL),
  m("prompt", STRING),
  m("n", INT),
  m("quality", STRING),
  m("response_format", STRING),
  m("size", STRING),
  m("style", STRING),
  m("user", STRING),
  m("output_format", STRING),
  m("background", STRING),
  m("moderation", STRING),
  m("output_compression", INT),
  m("partial_images", INT),
];

// SpeechRequest.
const AUDIO_SPEECH: Array<Member> = [
  m("model", STRING),
  m("input", STRING),
  m("voice", STRING),
  m("instructions", STRING),
  m("response_format", STRING),
  m("speed", F64),
  m("stream_format", STRING),
];

// tokenize.RequestUnion (internal/apischema/openai/tokenize/tokenize.go) decodes a ChatRequest when the
// body has `messages`, else a CompletionRequest. The members both declare alike are checked, and
// `prompt` (a string: with `messages` beside it the request is refused anyway); the ChatRequest's own
// members (add_generation_prompt, tools, chat_template, ...) are not, as the choice is made by a key's
// presence, which these tables do not express.
const TOKENIZE: Array<Member> = [
  m("model", STRING),
  m("prompt", STRING),
  m("messages", MESSAGES),
  m("add_special_tokens", BOOL),
  m("return_token_strs", BOOL),
];

const CHAT_COMPLETIONS_OBJECT = object(CHAT_COMPLETIONS);
const COMPLETIONS_OBJECT = object(COMPLETIONS);
const EMBEDDINGS_OBJECT = object(EMBEDDINGS);
const RESPONSES_OBJECT = object(RESPONSES);
const IMAGES_GENERATIONS_OBJECT = object(IMAGES_GENERATIONS);
const AUDIO_SPEECH_OBJECT = object(AUDIO_SPEECH);
const TOKENIZE_OBJECT = object(TOKENIZE);

/** The top-level object schema an endpoint's body is checked against, or null for none. */
export function requestSchema(endpoint: Endpoint): Schema | null {
  switch (endpoint) {
    case Endpoint.ChatCompletions: return CHAT_COMPLETIONS_OBJECT;
    case Endpoint.Completions: return COMPLETIONS_OBJECT;
    case Endpoint.Embeddings: return EMBEDDINGS_OBJECT;
    case Endpoint.Responses:
    case Endpoint.ResponsesInputTokens: return RESPONSES_OBJECT;
    case Endpoint.ImagesGenerations: return IMAGES_GENERATIONS_OBJECT;
    case Endpoint.AudioSpeech: return AUDIO_SPEECH_OBJECT;
    case Endpoint.Tokenize: return TOKENIZE_OBJECT;
  }
  return null;
}
