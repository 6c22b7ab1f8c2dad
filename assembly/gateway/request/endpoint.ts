// The client-facing endpoints the gateway routes by body `model` (Envoy AI Gateway v1.1.0 cmd/extproc/mainlib/main.go, OpenAI prefix "/"),
// looked up by exact match on `:path` with the query string stripped, as Envoy AI Gateway does.
//
// The audio transcriptions and translations take multipart/form-data (request/multipart.ts), the others
// JSON. Left out on purpose: the Anthropic and Cohere prefixes (their backends need schema translation,
// which this gateway does not do). Those paths get 404 `unsupported path: <path>`.

export enum Endpoint {
  Unsupported = 0,
  ChatCompletions,
  Completions,
  Embeddings,
  Responses,
  ResponsesInputTokens,
  ImagesGenerations,
  AudioSpeech,
  AudioTranscriptions,
  AudioTranslations,
  Tokenize,
  /** GET /v1/models: answered by the filter itself. */
  Models,
}

/** `:path` without its query string or fragment. */
export function stripQuery(path: string): string {
  const n = path.length;
  for (let i = 0; i < n; i++) {
    const c = path.charCodeAt(i);
    if (c == 0x3f || c == 0x23) return path.substring(0, i);
  }
  return path;
}

/** The endpoint of a `:path` (query string ignored). */
export function endpointOf(path: string): Endpoint {
  const p = stripQuery(path);
  if (p == "/v1/chat/completions") return Endpoint.ChatCompletions;
  if (p == "/v1/completions") return Endpoint.Completions;
  if (p == "/v1/embeddings") return Endpoint.Embeddings;
  if (p == "/v1/responses") return Endpoint.Responses;
  if (p == "/v1/responses/input_tokens") return Endpoint.ResponsesInputTokens;
  if (p == "/v1/images/generations") return Endpoint.ImagesGenerations;
  if (p == "/v1/audio/speech") return Endpoint.AudioSpeech;
  if (p == "/v1/audio/transcriptions") return Endpoint.AudioTranscriptions;
  if (p == "/v1/audio/translations") return Endpoint.AudioTranslations;
  if (p == "/tokenize") return Endpoint.Tokenize;
  if (p == "/v1/models") return Endpoint.Models;
  return Endpoint.Unsupported;
}

/** Whether the endpoint's body is multipart/form-data rather than JSON. */
export function endpointIsMultipart(e: Endpoint): bool {
  return e == Endpoint.AudioTranscriptions || e == Endpoint.AudioTranslations;
}

/** Whether `stream` (a boolean) is part of the endpoint's request schema. */
export function endpointCanStream(e: Endpoint): bool {
  return e == Endpoint.ChatCompletions || e == Endpoint.Completions || e == Endpoint.Responses ||
    e == Endpoint.ImagesGenerations;
}

/** Operation name used by Envoy AI Gateway's metrics (gen_ai.operation.name). */
export function endpointOperation(e: Endpoint): string {
  switch (e) {
    case Endpoint.ChatCompletions: return "chat";
    case Endpoint.Completions: return "completion";
    case Endpoint.Embeddings: return "embeddings";
    case Endpoint.Responses: return "responses";
    case Endpoint.ResponsesInputTokens: return "responses_input_tokens";
    case Endpoint.ImagesGenerations: return "image_generation";
    case Endpoint.AudioSpeech: return "speech";
    case Endpoint.AudioTranscriptions: return "transcription";
    case Endpoint.AudioTranslations: return "translation";
    case Endpoint.Tokenize: return "tokenize";
    case Endpoint.Models: return "models";
  }
  return "unknown";
}
