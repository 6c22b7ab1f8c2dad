// The filter's own answers, in Envoy AI Gateway's shapes (v1.1.0): JSON errors
// {"type":"error","error":{"type":…,"code":"<status>","message":…}} and its two plain-text 404s.

export const CONTENT_TYPE_JSON = "application/json";
export const CONTENT_TYPE_TEXT = "text/plain";

export const NO_MATCHING_ROUTE_TEXT =
  "No matching route found. It is likely because the model specified in your request is not configured in the Gateway.";

/** A response the filter sends itself instead of forwarding the request. */
export class LocalReply {
  constructor(
    public status: i32,
    public contentType: string,
    public body: string,
  ) {}
}

/** 400 for a body that is not valid JSON for the endpoint or has a field of the wrong type. */
export function badRequest(path: string, detail: string): LocalReply {
  return new LocalReply(400, CONTENT_TYPE_JSON,
    errorJson("BadRequest", "400", "malformed request: failed to parse JSON for " + path + ": " + detail));
}

/** 400 for a body the endpoint cannot take (Envoy AI Gateway's "malformed request: <detail>"). */
export function malformedRequest(detail: string): LocalReply {
  return new LocalReply(400, CONTENT_TYPE_JSON, errorJson("BadRequest", "400", "malformed request: " + detail));
}

/** 404 for a path that is not an AI endpoint (Envoy AI Gateway answers `unsupported path: <path>`). */
export function unsupportedPath(path: string): LocalReply {
  return new LocalReply(404, CONTENT_TYPE_TEXT, "unsupported path: " + path);
}

/** 404 of the catch-all `route-not-found` rule: no rule matches the request's model. */
export function noMatchingRoute(): LocalReply {
  return new LocalReply(404, CONTENT_TYPE_TEXT, NO_MATCHING_ROUTE_TEXT);
}

/** 413 when the request body exceeds the configured limit. */
export function payloadTooLarge(limit: i64): LocalReply {
  return new LocalReply(413, CONTENT_TYPE_JSON,
    errorJson("PayloadTooLarge", "413", "request body exceeds the limit of " + limit.toString() + " bytes"));
}

/** 500 when the matched rule has no backend with a positive weight (Gateway API: all weights 0 → 500). */
export function noBackendAvailable(rule: string): LocalReply {
  return new LocalReply(500, CONTENT_TYPE_JSON,
    errorJson("InternalServerError", "500", "no backend with a positive weight in rule " + rule));
}

/** `{"type":"error","error":{"type":<type>,"code":<code>,"message":<message>}}`, every value escaped. */
export function errorJson(type: string, code: string, message: string): string {
  return '{"type":"error","error":{"type":' + jsonQuote(type) + ',"code":' + jsonQuote(code) +
    ',"message":' + jsonQuote(message) + "}}";
}

/** `s` as a JSON string literal (RFC 8259): quotes, backslashes and control characters escaped. */
export function jsonQuote(s: string): string {
  const n = s.length;
  let plain = true;
  for (let i = 0; i < n; i++) {
    if (needsEscape(<u32>s.charCodeAt(i))) {
      plain = false;
      break;
    }
  }
  if (plain) return '"' + s + '"';
  const parts = new Array<string>();
  let from = 0;
  for (let i = 0; i < n; i++) {
    const c = <u32>s.charCodeAt(i);
    if (!needsEscape(c)) continue;
    // A surrogate is only escaped when it is not part of a valid pair (UTF-8 cannot carry it).
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = <u32>s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
        continue;
      }
    }
    if (i > from) parts.push(s.substring(from, i));
    parts.push(escapeChar(c));
    from = i + 1;
  }
  if (from < n) parts.push(s.substring(from));
  return '"' + parts.join("") + '"';
}

// @ts-ignore: decorator
@inline
function needsEscape(c: u32): bool {
  return c < 0x20 || c == 0x22 || c == 0x5c || (c >= 0xd800 && c <= 0xdfff);
}

function escapeChar(c: u32): string {
  switch (c) {
    case 0x22: return '\\"';
    case 0x5c: return "\\\\";
    case 0x08: return "\\b";
    case 0x0c: return "\\f";
    case 0x0a: return "\\n";
    case 0x0d: return "\\r";
    case 0x09: return "\\t";
  }
  const hex = c.toString(16);
  return "\\u" + "0000".substring(hex.length) + hex;
}
