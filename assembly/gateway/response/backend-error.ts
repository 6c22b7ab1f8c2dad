// Upstream errors in OpenAI's shape, as Envoy AI Gateway v1.1.0 does for OpenAI backends
// (internal/translator/openai_openai.go convertErrorOpenAIToOpenAIError, called for every status outside
// 2xx by internal/extproc/processor_impl.go ProcessResponseBody): a body whose content-type does not
// contain "application/json" (case-sensitive, as Go's strings.Contains) — a backend's text error, or
// Envoy's own "no healthy upstream" — becomes
//   {"type":"error","error":{"type":"OpenAIBackendError","code":"<status>","message":"<body>"}}
// with content-type application/json; a JSON error body passes through as it is.

import { errorJson } from "../errors";

/** Whether a response with this status and content-type has its body wrapped. */
export function wrapsBackendError(status: i32, contentType: string | null): bool {
  if (status >= 200 && status < 300) return false;
  return contentType == null || !contentType.includes("application/json");
}

/** The wrapped body: the original bytes (decoded as UTF-8) as the message, the status as the code. */
export function backendErrorBody(status: string, ptr: usize, len: usize): string {
  return errorJson("OpenAIBackendError", status, String.UTF8.decodeUnsafe(ptr, len));
}
