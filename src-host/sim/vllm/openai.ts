// OpenAI request parsing and response shapes as vLLM (and llm-d-inference-sim) produce them.
import { randomUUID } from "node:crypto";
import type { FinishReason } from "./text-gen.js";

/** An error answered as vLLM does: `{"object":"error","message",...,"code"}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = status === 404 ? "NotFoundError" : "BadRequestError",
  ) {
    super(message);
  }

  body(): string {
    return JSON.stringify({ object: "error", message: this.message, type: this.type, param: null, code: this.status });
  }
}

export type EndpointKind = "chat" | "completion";

export interface CompletionRequest {
  kind: EndpointKind;
  model: string;
  /** The text whose tokens are the prompt (chat: every message, each behind its role). */
  promptText: string;
  /** Token ids when a completion prompt was given as ids; they stand for themselves as tokens. */
  promptTokenIds: number[] | undefined;
  /** What echo mode answers: the prompt, or the last user message for chat. */
  echoText: string;
  maxTokens: number | undefined;
  stream: boolean;
  includeUsage: boolean;
}

export function parseCompletionRequest(kind: EndpointKind, body: Buffer): CompletionRequest {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString("utf8"));
  } catch (err) {
    throw new ApiError(400, `failed to parse the request body: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new ApiError(400, "the request body must be a JSON object");
  const r = doc as Record<string, unknown>;

  const model = r.model ?? "";
  if (typeof model !== "string") throw new ApiError(400, "model must be a string");
  const stream = r.stream ?? false;
  if (typeof stream !== "boolean") throw new ApiError(400, "stream must be a boolean");
  let includeUsage = false;
  if (r.stream_options !== undefined && r.stream_options !== null) {
    if (!stream) throw new ApiError(400, "Stream options can only be defined when `stream=True`.");
    const opts = r.stream_options;
    if (typeof opts !== "object" || Array.isArray(opts)) throw new ApiError(400, "stream_options must be an object");
    const iu = (opts as Record<string, unknown>).include_usage ?? false;
    if (typeof iu !== "boolean") throw new ApiError(400, "stream_options.include_usage must be a boolean");
    includeUsage = iu;
  }
  const maxTokens = tokenLimit(kind === "chat" ? (r.max_completion_tokens ?? r.max_tokens) : r.max_tokens);

  if (kind === "chat") {
    const { promptText, echoText } = chatPrompt(r.messages);
    return { kind, model, promptText, promptTokenIds: undefined, echoText, maxTokens, stream, includeUsage };
  }
  const prompt = completionPrompt(r.prompt);
  return { kind, model, ...prompt, maxTokens, stream, includeUsage };
}

function tokenLimit(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v)) throw new ApiError(400, "max_tokens must be an integer");
  if (v <= 0) throw new ApiError(400, "Max completion tokens and max tokens should be positive");
  return v;
}

function chatPrompt(messages: unknown): { promptText: string; echoText: string } {
  if (!Array.isArray(messages) || messages.length === 0) throw new ApiError(400, "messages must be a non-empty array");
  let promptText = "";
  let echoText = "";
  messages.forEach((m: unknown, i) => {
    if (typeof m !== "object" || m === null) throw new ApiError(400, `messages[${i}] must be an object`);
    const { role, content } = m as Record<string, unknown>;
    if (typeof role !== "string") throw new ApiError(400, `messages[${i}].role must be a string`);
    const text = contentText(content, i);
    promptText += `${role}: ${text}\n`;
    if (role === "user") echoText = text;
  });
  return { promptText, echoText };
}

/** A message's text: a string, or the text parts of a content array (other parts carry no tokens here). */
function contentText(content: unknown, i: number): string {
  if (content === undefined || content === null) return "";
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) throw new ApiError(400, `messages[${i}].content must be a string or an array of parts`);
  return content
    .map((part: unknown) => {
      const p = part as Record<string, unknown> | null;
      return p && p.type === "text" && typeof p.text === "string" ? p.text : "";
    })
    .filter((t) => t !== "")
    .join(" ");
}

function completionPrompt(prompt: unknown): Pick<CompletionRequest, "promptText" | "promptTokenIds" | "echoText"> {
  let p = prompt;
  if (Array.isArray(p) && p.length === 1 && (typeof p[0] === "string" || Array.isArray(p[0]))) p = p[0];
  if (typeof p === "string") {
    if (p === "") throw new ApiError(400, "The prompt cannot be empty.");
    return { promptText: p, promptTokenIds: undefined, echoText: p };
  }
  if (Array.isArray(p) && p.length > 0 && p.every((t) => Number.isInteger(t))) {
    const ids = p as number[];
    return { promptText: "", promptTokenIds: ids, echoText: ids.join(" ") };
  }
  if (Array.isArray(p) && p.length > 1) throw new ApiError(400, "the simulator answers one prompt per request");
  throw new ApiError(400, "prompt must be a non-empty string or an array of token ids");
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export function usage(prompt: number, completion: number): Usage {
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/** Builds the response objects of one request; they all share its id and creation time. */
export class ResponseShapes {
  readonly id: string;
  readonly created = Math.floor(Date.now() / 1000);

  constructor(
    readonly kind: EndpointKind,
    readonly model: string,
  ) {
    this.id = (kind === "chat" ? "chatcmpl-" : "cmpl-") + randomUUID();
  }

  private base(object: string) {
    return { id: this.id, object, created: this.created, model: this.model };
  }

  complete(text: string, finishReason: FinishReason, u: Usage): object {
    if (this.kind === "chat") {
      return {
        ...this.base("chat.completion"),
        choices: [{ index: 0, message: { role: "assistant", content: text }, logprobs: null, finish_reason: finishReason }],
        usage: u,
      };
    }
    return { ...this.base("text_completion"), choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason }], usage: u };
  }

  /** The chat stream's first chunk: the assistant role, no content yet. */
  roleChunk(): object {
    return { ...this.base("chat.completion.chunk"), choices: [{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }] };
  }

  /** A streamed piece of text; the last one carries the finish reason. */
  chunk(text: string, finishReason: FinishReason | null): object {
    if (this.kind === "chat") {
      const delta = text === "" ? {} : { content: text };
      return { ...this.base("chat.completion.chunk"), choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }] };
    }
    return { ...this.base("text_completion"), choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason }] };
  }

  /** The usage chunk sent with `stream_options.include_usage`: no choices. */
  usageChunk(u: Usage): object {
    return { ...this.base(this.kind === "chat" ? "chat.completion.chunk" : "text_completion"), choices: [], usage: u };
  }
}
