// An oracle for the filter's request schema checks (assembly/gateway/request/schema.ts), written apart from
// it: plain recursive checks over a parsed document that keeps each number's literal text (JSON.parse
// would turn 1.0 into 1). No maintained npm package ships OpenAI's OpenAPI spec or zod schemas, so the
// field lists come from the `openai` package's request types: each table below must name every field of
// the corresponding type (the `satisfies` clauses make tsc enforce it), and gives each the kind Envoy AI
// Gateway v1.1.0 decodes it as (internal/apischema/openai/openai.go), or "unknown" where its Go types do
// not declare the field, so that it passes unchecked (nested tables, such as the responses input items and
// tools, list what the Go types declare). Beyond the schema, the oracle applies the filter's
// own rules (model a non-empty string; messages/prompt/input required).
import type { ChatCompletionCreateParamsBase } from "openai/resources/chat/completions";
import type { CompletionCreateParamsBase } from "openai/resources/completions";
import type { EmbeddingCreateParams } from "openai/resources/embeddings";
import type { ResponseCreateParamsBase } from "openai/resources/responses/responses";

/** A number as written. */
export class Num {
  constructor(readonly raw: string) {}
}
export type J = null | boolean | string | Num | J[] | { [k: string]: J };

/** On a parsed object with duplicate keys: every occurrence, in order ([key, value] pairs). */
export const ALL = Symbol("all occurrences");
type Obj = { [k: string]: J } & { [ALL]?: Array<[string, J]> };

/** Parses (already validated) JSON text into J, keeping numbers as written and duplicate keys in [ALL]. */
export function parseJ(text: string): J {
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\r\n".includes(text[i])) i++;
  };
  const value = (): J => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const o: Obj = {};
      const entries: Array<[string, J]> = [];
      ws();
      if (text[i] === "}") {
        i++;
        return o;
      }
      for (;;) {
        ws();
        const k = value() as string;
        ws();
        i++; // ':'
        const v = value();
        if (Object.hasOwn(o, k)) o[ALL] = entries;
        entries.push([k, v]);
        o[k] = v;
        ws();
        if (text[i++] === "}") return o;
      }
    }
    if (c === "[") {
      i++;
      const a: J[] = [];
      ws();
      if (text[i] === "]") {
        i++;
        return a;
      }
      for (;;) {
        a.push(value());
        ws();
        if (text[i++] === "]") return a;
      }
    }
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      const s = JSON.parse(text.slice(i, j + 1)) as string;
      i = j + 1;
      return s;
    }
    const m = /^(?:true|false|null|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)/.exec(text.slice(i, i + 400))!;
    i += m[0].length;
    return m[0] === "true" ? true : m[0] === "false" ? false : m[0] === "null" ? null : new Num(m[0]);
  };
  return value();
}

/** Every [key, value] of an object, duplicates included. */
function entriesOf(o: Obj): Array<[string, J]> {
  return o[ALL] ?? Object.entries(o);
}

/** The first occurrence of a key (what gjson reads), or undefined. */
function first(o: Obj, k: string): J | undefined {
  return entriesOf(o).find(([key]) => key === k)?.[1];
}

export function toJson(v: J): string {
  if (v instanceof Num) return v.raw;
  if (Array.isArray(v)) return "[" + v.map(toJson).join(",") + "]";
  if (v !== null && typeof v === "object") {
    return (
      "{" +
      Object.entries(v)
        .map(([k, x]) => JSON.stringify(k) + ":" + toJson(x))
        .join(",") +
      "}"
    );
  }
  return JSON.stringify(v);
}

export type T =
  | "string"
  | "bool"
  | "int"
  | "f32"
  | "f64"
  | "any"
  | "unknown"
  | "strings"
  | "prompt"
  | "input"
  | "messages"
  | "textContent"
  | { obj: Record<string, T> }
  | { arr: T }
  | { map: T }
  | { stringOr: T }
  | { nonNull: T }
  | Tagged;

/**
 * A union decoded by its `type` (read with gjson: the first occurrence). `open`: an unknown or missing tag, or
 * a value that is not an object, is kept raw (passes); `missing`: the variant an object without the tag
 * decodes as; `nonNull`: JSON null is refused (the union's UnmarshalJSON sees it and finds no type).
 */
type Tagged = { tagged: string; variants: Record<string, Record<string, T>>; open?: true; missing?: string; nonNull?: true };

const obj = (o: Record<string, T>): T => ({ obj: o });
const arr = (t: T): T => ({ arr: t });

type Table<P> = { [K in keyof Required<P>]: T };

const TEXT_PART = obj({ text: "string", type: "string" });

export const CHAT = {
  messages: "messages",
  model: "string",
  audio: obj({ voice: "string", format: "string" }),
  frequency_penalty: "f32",
  function_call: "unknown",
  functions: "unknown",
  logit_bias: { map: "int" },
  logprobs: "bool",
  max_completion_tokens: "int",
  max_tokens: "int",
  metadata: "unknown",
  modalities: arr("string"),
  moderation: "unknown",
  n: "int",
  parallel_tool_calls: "bool",
  prediction: obj({ type: "string", content: "textContent" }),
  presence_penalty: "f32",
  prompt_cache_key: "unknown",
  prompt_cache_options: "unknown",
  prompt_cache_retention: "unknown",
  reasoning_effort: "string",
  response_format: {
    tagged: "type",
    variants: {
      text: { type: "string" },
      json_object: { type: "string" },
      json_schema: { type: "string", json_schema: obj({ name: "string", description: "string", schema: "any", strict: "bool" }) },
    },
  },
  safety_identifier: "unknown",
  seed: "int",
  service_tier: "string",
  stop: "strings",
  store: "unknown",
  stream: "bool",
  stream_options: obj({ include_usage: "bool" }),
  temperature: "f64",
  tool_choice: { stringOr: obj({ type: "string", function: obj({ name: "string" }) }) },
  tools: arr(
    obj({
      type: "string",
      function: obj({ name: "string", description: "string", strict: "bool", parameters: "any" }),
    }),
  ),
  top_logprobs: "int",
  top_p: "f64",
  user: "string",
  verbosity: "string",
  web_search_options: obj({
    user_location: obj({ type: "string", approximate: obj({ city: "string", region: "string", country: "string" }) }),
    search_context_size: "string",
  }),
} satisfies Table<ChatCompletionCreateParamsBase>;

export const COMPLETIONS = {
  model: "string",
  prompt: "prompt",
  best_of: "int",
  echo: "bool",
  frequency_penalty: "f64",
  logit_bias: { map: "int" },
  logprobs: "int",
  max_tokens: "int",
  n: "int",
  presence_penalty: "f64",
  seed: "int",
  stop: "any",
  stream: "bool",
  stream_options: obj({ include_usage: "bool" }),
  suffix: "string",
  temperature: "f64",
  top_p: "f64",
  user: "string",
} satisfies Table<CompletionCreateParamsBase>;

export const EMBEDDINGS = {
  input: "input",
  model: "string",
  dimensions: "int",
  encoding_format: "string",
  user: "string",
} satisfies Table<EmbeddingCreateParams>;

// Responses (ResponseRequest and the unions under it, internal/apischema/openai/openai.go). Where the filter
// is knowingly looser than Envoy AI Gateway, the oracle follows the filter and says so (see
// openai-schema.ts): a message item's parts are the input and output parts whatever its role, and an item
// without `type` is a message even without `role`/`content`; keys that item types declare with different Go
// types are checked for the item type named only; a file_search tool's `filters` only for its `type`.
const tagged = (variants: Record<string, Record<string, T>>, extra: Partial<Tagged> = {}): Tagged => ({ tagged: "type", variants, ...extra });
const ty = { type: "string" } as const;
const INPUT_TEXT = { ...ty, text: "string" } as const;
const INPUT_IMAGE = { ...ty, detail: "string", file_id: "string", image_url: "string" } as const;
const INPUT_FILE = { ...ty, file_id: "string", file_data: "string", file_url: "string", filename: "string" } as const;
const INPUT_PART = tagged({ input_text: INPUT_TEXT, input_image: INPUT_IMAGE, input_file: INPUT_FILE }, { nonNull: true });
const TOP_LOGPROB = obj({ token: "string", bytes: arr("int"), logprob: "f64" });
const MESSAGE_PART = tagged(
  {
    input_text: INPUT_TEXT,
    input_image: INPUT_IMAGE,
    input_file: INPUT_FILE,
    output_text: {
      ...ty,
      text: "string",
      annotations: arr(
        tagged(
          {
            file_citation: { ...ty, file_id: "string", filename: "string", index: "int" },
            url_citation: { ...ty, end_index: "int", start_index: "int", title: "string", url: "string" },
            container_file_citation: { ...ty, container_id: "string", end_index: "int", file_id: "string", filename: "string", start_index: "int" },
            file_path: { ...ty, file_id: "string", index: "int" },
          },
          { nonNull: true },
        ),
      ),
      logprobs: arr(obj({ token: "string", bytes: arr("int"), logprob: "f64", top_logprobs: arr(TOP_LOGPROB) })),
    },
    refusal: { ...ty, refusal: "string" },
  },
  { nonNull: true },
);
const CUSTOM_TOOL = {
  ...ty,
  name: "string",
  description: "string",
  format: tagged({ text: ty, grammar: { ...ty, definition: "string", syntax: "string" } }, { nonNull: true }),
} as const;
const USER_LOCATION = obj({ city: "string", country: "string", region: "string", timezone: "string", type: "string" });
const APPROVAL_FILTER = obj({ read_only: "bool", tool_names: arr("string") });
const IMAGE_GENERATION_TOOL = {
  ...ty,
  output_compression: "int",
  partial_images: "int",
  input_fidelity: "string",
  background: "string",
  input_image_mask: obj({ file_id: "string", image_url: "string" }),
  model: "string",
  moderation: "string",
  output_format: "string",
  quality: "string",
  size: "string",
} as const;
const WEB_SEARCH_TOOL = { ...ty, filters: "unknown", user_location: USER_LOCATION, search_context_size: "string" } as const;
const WEB_SEARCH_PREVIEW_TOOL = { ...ty, user_location: USER_LOCATION, search_context_size: "string" } as const;
const TOOL = tagged(
  {
    function: { ...ty, strict: "bool", parameters: { map: "any" }, name: "string", description: "string" },
    file_search: {
      ...ty,
      vector_store_ids: arr("string"),
      max_num_results: "int",
      filters: obj({ type: "string" }),
      ranking_options: obj({ score_threshold: "f64", hybrid_search: obj({ embedding_weight: "f64", text_weight: "f64" }), ranker: "string" }),
    },
    computer_use_preview: { ...ty, display_height: "int", display_width: "int", environment: "string" },
    web_search: WEB_SEARCH_TOOL,
    web_search_2025_08_26: WEB_SEARCH_TOOL,
    mcp: {
      ...ty,
      server_label: "string",
      authorization: "string",
      server_description: "string",
      server_url: "string",
      allowed_tools: "any",
      headers: { map: "string" },
      connector_id: "string",
      require_approval: { stringOr: obj({ always: APPROVAL_FILTER, never: APPROVAL_FILTER }) },
    },
    code_interpreter: { ...ty, container: { stringOr: obj({ memory_limit: "string", file_ids: arr("string"), type: "string" }) } },
    image_generation: IMAGE_GENERATION_TOOL,
    custom: CUSTOM_TOOL,
    local_shell: ty,
    shell: ty,
    apply_patch: ty,
    web_search_preview: WEB_SEARCH_PREVIEW_TOOL,
    web_search_preview_2025_03_11: WEB_SEARCH_PREVIEW_TOOL,
    namespace: {
      ...ty,
      description: "string",
      name: "string",
      tools: arr(
        tagged(
          {
            function: { ...ty, name: "string", description: "string", parameters: "any", strict: "bool", defer_loading: "bool" },
            custom: CUSTOM_TOOL,
          },
          { open: true },
        ),
      ),
    },
    tool_search: { ...ty, execution: "string", description: "string", parameters: "any" },
  },
  { open: true },
);
const SAFETY_CHECK = obj({ id: "string", code: "string", message: "string" });
const TEXT_PARTS = arr(obj({ text: "string", type: "string" }));
const INPUT_ITEM = tagged(
  {
    message: { ...ty, role: "string", content: { stringOr: arr(MESSAGE_PART) } },
    file_search_call: {
      ...ty,
      id: "string",
      queries: arr("string"),
      status: "string",
      results: arr(obj({ file_id: "string", filename: "string", score: "f64", text: "string", attributes: { map: "any" } })),
    },
    computer_call: {
      ...ty,
      id: "string",
      call_id: "string",
      status: "string",
      pending_safety_checks: arr(SAFETY_CHECK),
      action: tagged(
        {
          click: { ...ty, button: "string", x: "int", y: "int" },
          double_click: { ...ty, x: "int", y: "int" },
          drag: { ...ty, path: arr(obj({ x: "int", y: "int" })) },
          keypress: { ...ty, keys: arr("string") },
          move: { ...ty, x: "int", y: "int" },
          screenshot: ty,
          scroll: { ...ty, scroll_x: "int", scroll_y: "int", x: "int", y: "int" },
          type: { ...ty, text: "string" },
          wait: ty,
        },
        { nonNull: true },
      ),
    },
    computer_call_output: { ...ty, call_id: "string", id: "string", status: "string", acknowledged_safety_checks: arr(SAFETY_CHECK) },
    web_search_call: { ...ty, id: "string", status: "string" },
    function_call: { ...ty, arguments: "string", call_id: "string", name: "string", namespace: "string", id: "string", status: "string" },
    function_call_output: {
      ...ty,
      call_id: "string",
      id: "string",
      status: "string",
      output: {
        nonNull: {
          stringOr: arr(
            tagged(
              {
                input_text: INPUT_TEXT,
                input_image: INPUT_IMAGE,
                input_file: INPUT_FILE,
                input_video: { ...ty, video_url: "string" },
              },
              { nonNull: true },
            ),
          ),
        },
      },
    },
    tool_search_call: { ...ty, id: "string", call_id: "string", execution: "string", status: "string", created_by: "string" },
    tool_search_output: { ...ty, id: "string", call_id: "string", execution: "string", status: "string", created_by: "string", tools: arr(TOOL) },
    reasoning: { ...ty, id: "string", summary: TEXT_PARTS, encrypted_content: "string", status: "string" },
    compaction: { ...ty, encrypted_content: "string", id: "string" },
    image_generation_call: { ...ty, result: "string", id: "string", status: "string" },
    code_interpreter_call: {
      ...ty,
      code: "string",
      id: "string",
      container_id: "string",
      status: "string",
      outputs: arr(tagged({ logs: { ...ty, logs: "string" }, image: { ...ty, url: "string" } }, { nonNull: true })),
    },
    local_shell_call: { ...ty, id: "string", call_id: "string", status: "string" },
    local_shell_call_output: { ...ty, id: "string", status: "string" },
    shell_call: { ...ty, call_id: "string", id: "string", status: "string" },
    shell_call_output: { ...ty, call_id: "string", id: "string", max_output_length: "int" },
    apply_patch_call: {
      ...ty,
      call_id: "string",
      status: "string",
      id: "string",
      operation: tagged(
        {
          create_file: { ...ty, diff: "string", path: "string" },
          delete_file: { ...ty, path: "string" },
          update_file: { ...ty, diff: "string", path: "string" },
        },
        { nonNull: true },
      ),
    },
    apply_patch_call_output: { ...ty, call_id: "string", status: "string", id: "string" },
    mcp_list_tools: { ...ty, id: "string", server_label: "string", error: "string" },
    mcp_approval_request: { ...ty, id: "string", arguments: "string", name: "string", server_label: "string" },
    mcp_approval_response: { ...ty, approval_request_id: "string", approve: "bool", id: "string", reason: "string" },
    mcp_call: {
      ...ty,
      id: "string",
      arguments: "string",
      name: "string",
      server_label: "string",
      approval_request_id: "string",
      error: "string",
      status: "string",
    },
    custom_tool_call_output: { ...ty, call_id: "string", id: "string" },
    custom_tool_call: { ...ty, call_id: "string", input: "string", name: "string", id: "string" },
    compaction_trigger: ty,
    item_reference: { ...ty, id: "string" },
    agent_message: {},
    agent_reasoning: {},
    additional_tools: { ...ty, id: "string", role: "string", tools: arr(TOOL) },
  },
  { missing: "message", nonNull: true },
);

export const RESPONSES = {
  // Declared by Envoy AI Gateway's ResponseRequest, not by the openai package's type.
  ...({ max_tool_calls: "int", presence_penalty: "f32", frequency_penalty: "f32" } satisfies Record<string, T>),
  ...({
    model: "string",
    input: { stringOr: arr(INPUT_ITEM) },
    background: "bool",
    context_management: arr(obj({ type: "string", compact_threshold: "int" })),
    conversation: { stringOr: obj({ id: "string" }) },
    include: arr("string"),
    instructions: "string",
    max_output_tokens: "int",
    metadata: { map: "string" },
    moderation: "unknown",
    parallel_tool_calls: "bool",
    previous_response_id: "string",
    prompt: obj({ id: "string", version: "string", variables: { map: { stringOr: INPUT_PART } } }),
    prompt_cache_key: "string",
    prompt_cache_options: "unknown",
    prompt_cache_retention: "string",
    reasoning: obj({ effort: "string", generate_summary: "string", summary: "string" }),
    safety_identifier: "string",
    service_tier: "string",
    store: "bool",
    stream: "bool",
    stream_options: obj({ include_usage: "bool" }),
    temperature: "f64",
    text: obj({
      verbosity: "string",
      format: tagged(
        {
          text: ty,
          json_object: ty,
          json_schema: { ...ty, name: "string", schema: { map: "any" }, strict: "bool", description: "string" },
        },
        { nonNull: true },
      ),
    }),
    tool_choice: {
      stringOr: tagged({
        allowed_tools: { ...ty, mode: "string", tools: arr({ map: "any" }) },
        file_search: ty,
        web_search_preview: ty,
        computer_use_preview: ty,
        web_search_preview_2025_03_11: ty,
        image_generation: ty,
        code_interpreter: ty,
        function: { ...ty, name: "string" },
        mcp: { ...ty, server_label: "string", name: "string" },
        custom: { ...ty, name: "string" },
        apply_patch: ty,
        shell: ty,
      }),
    },
    tools: arr(TOOL),
    top_logprobs: "int",
    top_p: "f64",
    truncation: "string",
    user: "string",
  } satisfies Table<ResponseCreateParamsBase>),
};

// Message structs per role (ChatCompletion*MessageParam); "content" is special-cased in checkMessage.
const MESSAGE_FIELDS: Record<string, Record<string, T>> = {
  user: { role: "string", name: "string" },
  system: { role: "string", name: "string" },
  developer: { role: "string", name: "string" },
  tool: { role: "string", tool_call_id: "string" },
  assistant: {
    role: "string",
    name: "string",
    refusal: "string",
    audio: obj({ id: "string" }),
    tool_calls: arr(obj({ id: "string", type: "string", function: obj({ arguments: "string", name: "string" }) })),
  },
};
const USER_PARTS: Record<string, Record<string, T>> = {
  text: { type: "string", text: "string" },
  image_url: { type: "string", image_url: obj({ url: "string", detail: "string" }) },
  input_audio: { type: "string", input_audio: obj({ data: "string", format: "string" }) },
  audio_url: { type: "string", audio_url: obj({ url: "string" }) },
  video_url: { type: "string", video_url: obj({ url: "string" }) },
  file: { type: "string", file: obj({ file_data: "string", file_id: "string", filename: "string" }) },
};
const ASSISTANT_PART: Record<string, T> = { type: "string", text: "string", refusal: "string", signature: "string" };

const isObj = (v: J): v is { [k: string]: J } => v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Num);

function fields(v: J, table: Record<string, T>): boolean {
  if (!isObj(v)) return false;
  return entriesOf(v).every(([k, x]) => !(k in table) || check(x, table[k]));
}

/** Whether `v` decodes as Go would decode it into `t`. */
export function check(v: J, t: T): boolean {
  if (typeof t === "object") {
    if ("tagged" in t) {
      if (v === null) return !t.nonNull;
      if (!isObj(v)) return t.open === true;
      const found = first(v, t.tagged);
      const tag = found === undefined ? t.missing : found;
      if (typeof tag !== "string" || !Object.hasOwn(t.variants, tag)) return t.open === true;
      return fields(v, t.variants[tag]);
    }
    if ("nonNull" in t) return v !== null && check(v, t.nonNull);
    if (v === null) return true;
    if ("obj" in t) return fields(v, t.obj);
    if ("arr" in t) return Array.isArray(v) && v.every((x) => check(x, t.arr));
    if ("map" in t) return isObj(v) && entriesOf(v).every(([, x]) => check(x, t.map));
    return typeof v === "string" || check(v, t.stringOr);
  }
  switch (t) {
    case "any":
    case "unknown":
      return true;
    case "prompt":
    case "input":
      return nestedUnion(v, t === "input");
    case "messages":
      return v === null || (Array.isArray(v) && v.every(checkMessage));
    case "textContent":
      return typeof v === "string" || (Array.isArray(v) && v.every((x) => check(x, TEXT_PART)));
  }
  if (v === null) return true;
  switch (t) {
    case "string":
      return typeof v === "string";
    case "bool":
      return typeof v === "boolean";
    case "strings":
      return typeof v === "string" || (Array.isArray(v) && v.every((x) => x === null || typeof x === "string"));
    case "int":
      return v instanceof Num && /^-?\d+$/.test(v.raw) && BigInt(v.raw) >= -(2n ** 63n) && BigInt(v.raw) < 2n ** 63n;
    case "f64":
      return v instanceof Num && Number.isFinite(Number(v.raw));
    case "f32":
      return v instanceof Num && Number.isFinite(Math.fround(Number(v.raw)));
  }
  return false;
}

function nestedUnion(v: J, objects: boolean): boolean {
  if (typeof v === "string") return true;
  // Every `content` must decode; the last one must not be empty.
  const content = (c: J) => c === null || typeof c === "string" || (Array.isArray(c) && c.every((e) => e === null || typeof e === "string"));
  const item = (x: J) =>
    isObj(x) &&
    fields(x, { task_type: "string", title: "string" }) &&
    entriesOf(x).every(([k, c]) => k !== "content" || content(c)) &&
    (typeof x.content === "string" || Array.isArray(x.content)) &&
    x.content.length > 0;
  if (objects && isObj(v)) return item(v);
  if (!Array.isArray(v)) return false;
  if (v.length === 0) return true;
  const first = v[0];
  if (typeof first === "string") return v.every((x) => x === null || typeof x === "string");
  if (first instanceof Num) return v.every((x) => check(x, "int"));
  if (Array.isArray(first)) return v.every((x) => check(x, { arr: "int" }));
  if (objects && isObj(first)) return v.every(item);
  return false;
}

function checkMessage(m: J): boolean {
  if (!isObj(m)) return false;
  const role = first(m, "role");
  if (typeof role !== "string" || !(role in MESSAGE_FIELDS)) return false;
  if (!fields(m, MESSAGE_FIELDS[role])) return false;
  return entriesOf(m).every(([k, c]) => k !== "content" || checkContent(role, c));
}

function checkContent(role: string, c: J): boolean {
  if (typeof c === "string") return true;
  switch (role) {
    case "user":
      return (
        c === null ||
        (Array.isArray(c) &&
          c.every((p) => {
            const type = isObj(p) ? first(p, "type") : undefined;
            return typeof type === "string" && type in USER_PARTS && fields(p, USER_PARTS[type]);
          }))
      );
    case "assistant":
      return c === null || (Array.isArray(c) && c.every((p) => p === null || fields(p, ASSISTANT_PART))) || fields(c, ASSISTANT_PART);
    default:
      return Array.isArray(c) && c.every((p) => check(p, TEXT_PART));
  }
}

/**
 * Whether the filter should accept `body` for the endpoint of `table`: Envoy AI Gateway's decoding of every
 * occurrence of every field, plus the filter's own rules on the last occurrence (JSON.parse's reading):
 * `model` a non-empty string without control characters; messages (non-empty), prompt or input present;
 * for embeddings, not both input and messages.
 */
export function accepts(body: J, table: Record<string, T>): boolean {
  if (!isObj(body)) return false;
  const model = body.model;
  if (typeof model !== "string" || model.length === 0 || /[\x00-\x1f\x7f]/.test(model)) return false;
  if (!fields(body, table)) return false;
  if (table.messages === "messages" && table.input === undefined && !(Array.isArray(body.messages) && body.messages.length > 0)) return false;
  if (table.prompt === "prompt" && (body.prompt === undefined || body.prompt === null)) return false;
  if (table.input === "input") {
    const hasMessages = "messages" in body;
    if ("input" in body && hasMessages) return false;
    if (!hasMessages && (body.input === undefined || body.input === null)) return false;
  }
  return true;
}
