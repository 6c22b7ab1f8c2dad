// The request path of the filter as two decisions, free of any proxy-wasm call so that the glue stays thin:
//
//   on request headers:  decideOnHeaders(config, path, contentLength, authority)
//       reply set  → send it (404 unsupported path, 200 /v1/models, 413) and stop
//       else       → buffer the body (StopIteration), checking bodyTooLarge() as chunks arrive
//   on the full body:    decideOnBody(config, endpoint, path, ptr, len, headers, random, forceIncludeUsage, facts)
//       reply set  → send it (400 bad body, 404 no matching route, 500 no weighted backend) and stop
//       else       → set x-ai-eg-model: upstreamModel and x-ai-eg-backend: backend.name (overwriting any
//                    client value), apply `edits` to the body when set, clear_route_cache, continue.
//
// Envoy AI Gateway routes on the body's model and only then applies the chosen backend's
// modelNameOverride to the body and to x-ai-eg-model; `model` and `upstreamModel` keep both.

import { Backend, BackendKind, FilterConfig, Rule } from "../config";
import { MODEL_HEADER } from "../plugin-config";
import {
  badRequest, CONTENT_TYPE_JSON, LocalReply, malformedRequest, noBackendAvailable, noMatchingRoute, payloadTooLarge, unsupportedPath,
} from "../errors";
import { RequestFacts, scanRequestBody } from "./body";
import { Endpoint, endpointIsMultipart, endpointOf, stripQuery } from "./endpoint";
import { FormScan, isMultipartFormData, multipartBoundary } from "./multipart";
import { BodyEdits, planRewrite } from "./rewrite";
import { findRule, HeaderOverlay, HeaderSource, pickBackend } from "./route";

export class HeadersDecision {
  constructor(
    public endpoint: Endpoint,
    /** When set, the filter answers with it and the request goes no further. */
    public reply: LocalReply | null,
  ) {}
}

/** `contentLength` < 0 when the request has none (chunked); `authority` scopes /v1/models. */
export function decideOnHeaders(config: FilterConfig, path: string, contentLength: i64, authority: string | null = null): HeadersDecision {
  const endpoint = endpointOf(path);
  if (endpoint == Endpoint.Unsupported) return new HeadersDecision(endpoint, unsupportedPath(stripQuery(path)));
  if (endpoint == Endpoint.Models) {
    return new HeadersDecision(endpoint, new LocalReply(200, CONTENT_TYPE_JSON, config.modelsListing.bodyFor(authority)));
  }
  return new HeadersDecision(endpoint, bodyTooLarge(config, contentLength));
}

/**
 * A content-length header's value: -1 when absent or not a plain decimal number (the body's own size is
 * checked as it arrives then), saturated at i64.MAX_VALUE so that no number too large wraps into a small one.
 */
export function contentLength(value: string | null): i64 {
  if (value == null || value.length == 0) return -1;
  let n: i64 = 0;
  for (let i = 0; i < value.length; i++) {
    const d = <i64>(value.charCodeAt(i) - 48);
    if (d < 0 || d > 9) return -1;
    n = n > (i64.MAX_VALUE - d) / 10 ? i64.MAX_VALUE : n * 10 + d;
  }
  return n;
}

/** 413 when `size` bytes exceed the configured limit (for content-length and for the bytes buffered so far). */
export function bodyTooLarge(config: FilterConfig, size: i64): LocalReply | null {
  return size > config.maxRequestBodyBytes ? payloadTooLarge(config.maxRequestBodyBytes) : null;
}

export class RequestDecision {
  /** When set, the filter answers with it and the request goes no further. */
  reply: LocalReply | null = null;
  /** The body's model: what the rules matched as x-ai-eg-model. */
  model: string = "";
  /** The model the upstream gets: the backend's modelNameOverride, or `model`. */
  upstreamModel: string = "";
  rule: Rule | null = null;
  backend: Backend | null = null;
  /** The edits that make the body the upstream gets, or null to keep the client's unchanged. */
  edits: BodyEdits | null = null;
}

/**
 * Decides a buffered request: validates the body, matches the rules with x-ai-eg-model taken from the body
 * (a client's own x-ai-eg-model never counts), picks a backend with `random` in [0, 1), and rewrites the
 * body for modelNameOverride and, when `forceIncludeUsage` (token costs configured) on a streaming chat
 * request, for stream_options.include_usage. `facts` is filled in for the caller (reusable).
 */
export function decideOnBody(config: FilterConfig, endpoint: Endpoint, path: string, ptr: usize, len: usize,
  headers: HeaderSource, random: f64, forceIncludeUsage: bool, facts: RequestFacts): RequestDecision {
  const d = new RequestDecision();
  const tooLarge = bodyTooLarge(config, <i64>len);
  if (tooLarge != null) {
    d.reply = tooLarge;
    return d;
  }
  const contentType = headers.get("content-type");
  const multipart = endpointIsMultipart(endpoint);
  if (multipart || isMultipartFormData(contentType)) {
    const error = scanForm(endpoint, contentType, path, ptr, len, facts);
    if (error != null) {
      d.reply = malformedRequest(error);
      return d;
    }
  } else if (!scanRequestBody(endpoint, ptr, len, facts)) {
    d.reply = badRequest(stripQuery(path), facts.error);
    return d;
  }
  return routeOn(config, endpoint, d, headers, random, forceIncludeUsage, facts);
}

/**
 * Decides a multipart request whose form `scan` has read as the body arrived (`len` bytes in all): as
 * decideOnBody, without the body in the VM.
 */
export function decideOnForm(config: FilterConfig, endpoint: Endpoint, scan: FormScan, len: usize, headers: HeaderSource,
  random: f64, facts: RequestFacts): RequestDecision {
  const d = new RequestDecision();
  const tooLarge = bodyTooLarge(config, <i64>len);
  if (tooLarge != null) {
    d.reply = tooLarge;
    return d;
  }
  if (!scan.result(facts, len)) {
    d.reply = malformedRequest(facts.error);
    return d;
  }
  return routeOn(config, endpoint, d, headers, random, false, facts);
}

/** The route, backend and body edits of a request whose body `facts` describe. */
function routeOn(config: FilterConfig, endpoint: Endpoint, d: RequestDecision, headers: HeaderSource, random: f64,
  forceIncludeUsage: bool, facts: RequestFacts): RequestDecision {
  d.model = facts.model;
  d.upstreamModel = facts.model;
  const rule = findRule(config, new HeaderOverlay(MODEL_HEADER, facts.model, headers));
  if (rule == null) {
    d.reply = noMatchingRoute();
    return d;
  }
  d.rule = rule;
  const backend = pickBackend(rule, random);
  if (backend == null) {
    d.reply = noBackendAvailable(rule.name);
    return d;
  }
  d.backend = backend;
  // A pool's override waits for its EPP's pick (Envoy AI Gateway v1.1.0 internal/extproc/processor_impl.go
  // SetBackend, in the upstream filter): the EPP sees the client's model.
  const overrideModel = backend.kind == BackendKind.InferencePool ? "" : backend.modelNameOverride;
  if (overrideModel.length > 0) d.upstreamModel = overrideModel;
  if (endpointIsMultipart(endpoint)) {
    // The form field's value is replaced as it is (no JSON quoting); the rest of the body stays as it came.
    if (overrideModel.length > 0 && overrideModel != facts.model) {
      const edits = new BodyEdits();
      edits.add(facts.modelSpan.start, facts.modelSpan.end, overrideModel);
      d.edits = edits;
    }
    return d;
  }
  const forceUsage = forceIncludeUsage && endpoint == Endpoint.ChatCompletions;
  d.edits = planRewrite(facts, overrideModel.length > 0 ? overrideModel : null, forceUsage);
  return d;
}

/**
 * A multipart/form-data body into `facts`: null when it holds a model and a file, else the message of the
 * 400 (Envoy AI Gateway v1.1.0: the audio endpoints take only multipart bodies, the others only JSON).
 */
export function scanForm(endpoint: Endpoint, contentType: string | null, path: string, ptr: usize, len: usize, facts: RequestFacts): string | null {
  if (!endpointIsMultipart(endpoint)) return "multipart body not supported for this endpoint";
  const scan = openForm(endpoint, contentType, path);
  scan.feed(ptr, 0, len, true);
  return scan.result(facts, len) ? null : facts.error;
}

/** The scan of a multipart endpoint's form, already failed when the content-type rules the form out. */
export function openForm(endpoint: Endpoint, contentType: string | null, path: string): FormScan {
  if (!isMultipartFormData(contentType)) return FormScan.refused("expected multipart/form-data content type for " + stripQuery(path));
  const boundary = multipartBoundary(contentType!);
  if (boundary.error.length > 0) return FormScan.refused("failed to parse multipart form data: " + boundary.error);
  return new FormScan(boundary.value, endpoint == Endpoint.AudioTranscriptions);
}
