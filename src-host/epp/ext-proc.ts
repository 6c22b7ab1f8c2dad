// One ext_proc stream (= one HTTP request), answered as the GIE v1.0.x EPP does (pkg/epp/handlers/server.go):
//  - request_headers (not end of stream): remembered, nothing sent yet;
//  - request_body chunks: buffered until end_of_stream, then the body is parsed, the request scheduled, and the
//    replies go out in order: the request_headers reply (destination header, Content-Length, every incoming header
//    set back, dynamic_metadata envoy.lb), then the re-serialised body as streamed_response chunks ≤ 62,000 bytes;
//  - request_headers with end_of_stream (no body): a random ready pod, headers reply only;
//  - response_headers: all headers set back plus x-went-into-resp-headers: true;
//  - response_body: streamed (text/event-stream) chunks pass through at once, usage read from SSE; otherwise the body
//    is buffered to end of stream, usage read, and the re-serialised JSON sent back;
//  - trailers: ignored. An EppError becomes an ImmediateResponse and ends the stream; other errors end it with
//    gRPC status UNKNOWN (the data plane's failure mode applies). A client half-close ends the stream cleanly.
import { randomUUID } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { ERROR_STATUS, EppError, type Director } from "./director.js";
import type { EppMetrics } from "./epp-metrics.js";
import { marshalGo, unmarshalObject } from "./go-json.js";
import { V, type Logger } from "./logger.js";

/** Chunk size of streamed body replies ("certain Envoy implementations set a max limit of 64Kb per chunk"). */
export const BODY_BYTE_LIMIT = 62_000;

export const DESTINATION_ENDPOINT_KEY = "x-gateway-destination-endpoint";
export const DESTINATION_ENDPOINT_NAMESPACE = "envoy.lb";
export const OBJECTIVE_HEADER = "x-gateway-inference-objective";
export const MODEL_REWRITE_HEADER = "x-gateway-model-name-rewrite";
export const FAIRNESS_ID_HEADER = "x-gateway-inference-fairness-id";
const REQUEST_ID_HEADER = "x-request-id";

// Message shapes as proto-loader decodes them (keepCase; google.protobuf.Struct/Value use protobufjs' camelCase).
interface HeaderValue {
  key?: string;
  value?: string;
  raw_value?: Buffer;
}
interface HttpHeaders {
  headers?: { headers?: HeaderValue[] };
  end_of_stream?: boolean;
}
interface HttpBody {
  body?: Buffer;
  end_of_stream?: boolean;
}
interface StructPb {
  fields?: Record<string, ValuePb>;
}
interface ValuePb {
  nullValue?: number;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: StructPb;
  listValue?: { values?: ValuePb[] };
}
export interface ProcessingRequest {
  request_headers?: HttpHeaders;
  response_headers?: HttpHeaders;
  request_body?: HttpBody;
  response_body?: HttpBody;
  request_trailers?: unknown;
  response_trailers?: unknown;
  metadata_context?: { filter_metadata?: Record<string, StructPb> };
}
type ProcessingResponse = Record<string, unknown>;

export interface ExtProcDeps {
  director: Director;
  metrics: EppMetrics;
  log: Logger;
}

const enum State {
  RequestReceived,
  HeaderRequestResponseComplete,
  BodyRequestResponsesComplete,
  ResponseReceived,
  HeaderResponseResponseComplete,
  BodyResponseResponsesComplete,
}

export function handleProcessStream(call: grpc.ServerDuplexStream<ProcessingRequest, ProcessingResponse>, deps: ExtProcDeps): void {
  new StreamHandler(call, deps).run();
}

class StreamHandler {
  private state = State.RequestReceived;
  private readonly headers = new Map<string, string>();
  private objectiveKey = "";
  private targetModelName = "";
  private metadata: Record<string, unknown> = {};
  private requestBody: Buffer[] = [];
  private responseBody: Buffer[] = [];
  private readonly models = { incoming: "", target: "" };
  private receivedAt = 0;
  private reqHeaderResp?: ProcessingResponse;
  private reqBodyResps: ProcessingResponse[] = [];
  private respHeaderResp?: ProcessingResponse;
  private respBodyResps: ProcessingResponse[] = [];
  private streaming = false;
  private sseTail = "";
  private usage = { prompt: 0, completion: 0 };
  private responseSize = 0;
  private modelServerError = false;
  private running = false;
  private finished = false;

  constructor(
    private readonly call: grpc.ServerDuplexStream<ProcessingRequest, ProcessingResponse>,
    private readonly deps: ExtProcDeps,
  ) {}

  run(): void {
    this.call.on("data", (msg: ProcessingRequest) => this.onMessage(msg));
    this.call.on("end", () => this.finish()); // client half-close (io.EOF upstream): a clean end
    this.call.on("cancelled", () => this.cleanup());
    this.call.on("error", () => this.cleanup());
    this.call.on("close", () => this.cleanup());
  }

  private onMessage(msg: ProcessingRequest): void {
    if (this.finished) return;
    if (msg.metadata_context?.filter_metadata) this.metadata = metadataToJs(msg.metadata_context.filter_metadata);
    try {
      if (msg.request_headers) this.onRequestHeaders(msg.request_headers);
      else if (msg.request_body) this.onRequestBody(msg.request_body);
      else if (msg.response_headers) this.onResponseHeaders(msg.response_headers);
      else if (msg.response_body) this.onResponseBody(msg.response_body);
      // request_trailers / response_trailers: unused, no reply.
      this.sendPending();
    } catch (err) {
      this.fail(err);
    }
  }

  private onRequestHeaders(h: HttpHeaders): void {
    this.receivedAt = Date.now();
    const list = h.headers?.headers ?? [];
    // x-request-id is read from raw_value only, case-insensitively; generated when absent.
    const idHeader = list.find((x) => (x.key ?? "").toLowerCase() === REQUEST_ID_HEADER);
    const requestId = idHeader?.raw_value?.toString("utf8") ?? "";
    if (requestId === "") this.headers.set(REQUEST_ID_HEADER, randomUUID());
    if (h.end_of_stream) {
      // No body: a random pod, no scheduling, and none of the incoming headers are kept.
      const endpoint = this.deps.director.randomEndpoint();
      this.reqHeaderResp = this.requestHeadersReply(endpoint, 0);
      return;
    }
    for (const x of list) {
      const key = x.key ?? "";
      const value = x.raw_value !== undefined ? x.raw_value.toString("utf8") : (x.value ?? "");
      this.headers.set(key, value);
      // The EPP consumes these three and drops them from its map (they are not removed from the request).
      if (key === FAIRNESS_ID_HEADER) this.headers.delete(key);
      else if (key === OBJECTIVE_HEADER) {
        this.objectiveKey = value;
        this.headers.delete(key);
      } else if (key === MODEL_REWRITE_HEADER) {
        this.targetModelName = value;
        this.headers.delete(key);
      }
    }
  }

  private onRequestBody(b: HttpBody): void {
    if (b.body?.length) this.requestBody.push(b.body);
    if (!b.end_of_stream) return;
    const raw = Buffer.concat(this.requestBody);
    this.requestBody = [];
    const parsed = unmarshalObject(raw);
    if (!parsed.ok) {
      this.deps.log.info(V.DEBUG, "Error unmarshaling request body", { error: parsed.error });
      throw new EppError("BadRequest", "Error unmarshaling request body");
    }
    const decision = this.deps.director.handleRequest(
      { headers: this.headers, body: parsed.value, metadata: this.metadata, objectiveKey: this.objectiveKey, targetModelName: this.targetModelName },
      this.models,
    );
    const out = Buffer.from(marshalGo(parsed.value), "utf8");
    this.reqHeaderResp = this.requestHeadersReply(decision.endpoint, out.length);
    this.reqBodyResps = chunked(out, true).map((c) => ({ request_body: { response: c } }));
    this.deps.metrics.requestTotal.labels(decision.incomingModel, decision.targetModel).inc();
    this.deps.metrics.requestSizes.labels(decision.incomingModel, decision.targetModel).observe(out.length);
    this.deps.log.info(V.VERBOSE, "Request handled", {
      objectiveKey: this.objectiveKey,
      incomingModelName: decision.incomingModel,
      targetModel: decision.targetModel,
      endpoint: decision.endpoint,
    });
  }

  private onResponseHeaders(h: HttpHeaders): void {
    const set: { header: { key: string; raw_value: Buffer } }[] = [{ header: { key: "x-went-into-resp-headers", raw_value: Buffer.from("true") } }];
    const seen = new Map<string, string>();
    for (const x of h.headers?.headers ?? []) {
      const key = x.key ?? "";
      const value = x.raw_value !== undefined ? x.raw_value.toString("utf8") : (x.value ?? "");
      if (key === ":status" && value !== "200") this.modelServerError = true;
      if (key === "content-type" && value.includes("text/event-stream")) this.streaming = true;
      seen.set(key, value);
    }
    for (const [key, value] of seen) set.push({ header: { key, raw_value: Buffer.from(value, "utf8") } });
    this.state = State.ResponseReceived;
    this.respHeaderResp = { response_headers: { response: { header_mutation: { set_headers: set } } } };
  }

  private onResponseBody(b: HttpBody): void {
    const chunk = b.body ?? Buffer.alloc(0);
    this.responseSize += chunk.length;
    if (this.streaming) {
      this.readSseUsage(chunk.toString("utf8"));
      this.respBodyResps.push(...chunked(chunk, !!b.end_of_stream).map((c) => ({ response_body: { response: c } })));
      if (b.end_of_stream) this.responseComplete();
      return;
    }
    if (chunk.length) this.responseBody.push(chunk);
    if (!b.end_of_stream) return;
    const raw = Buffer.concat(this.responseBody);
    this.responseBody = [];
    const parsed = unmarshalObject(raw);
    let out = raw;
    if (parsed.ok) {
      const usage = parsed.value["usage"];
      if (usage && typeof usage === "object" && !Array.isArray(usage)) this.takeUsage(usage as Record<string, unknown>);
      out = Buffer.from(marshalGo(parsed.value), "utf8");
      this.responseSize = out.length;
    } else {
      // Not JSON (e.g. an upstream error page): passed through unchanged.
      this.deps.log.info(V.DEBUG, "Error unmarshalling response body", { error: parsed.error });
    }
    this.respBodyResps.push(...chunked(out, true).map((c) => ({ response_body: { response: c } })));
    this.responseComplete();
  }

  // SSE "data: {...}" lines may carry usage (with stream_options.include_usage); keep the last one seen. Lines can
  // span chunks, so the unterminated tail is carried over.
  private readSseUsage(text: string): void {
    const lines = (this.sseTail + text).split("\n");
    this.sseTail = lines.pop() ?? "";
    if (this.sseTail.length > 1 << 20) this.sseTail = ""; // not SSE after all
    for (const line of lines) {
      if (!line.startsWith("data: ")) continue;
      const content = line.slice(6).trim();
      if (content === "[DONE]" || !content.includes('"usage"')) continue;
      const parsed = unmarshalObject(Buffer.from(content, "utf8"));
      const usage = parsed.ok ? parsed.value["usage"] : undefined;
      if (usage && typeof usage === "object" && !Array.isArray(usage)) this.takeUsage(usage as Record<string, unknown>);
    }
  }

  private takeUsage(u: Record<string, unknown>): void {
    const n = (v: unknown) => (typeof v === "number" ? Math.trunc(v) : 0);
    this.usage = { prompt: n(u["prompt_tokens"]), completion: n(u["completion_tokens"]) };
  }

  private responseComplete(): void {
    const labels = [this.models.incoming, this.models.target];
    const m = this.deps.metrics;
    const seconds = (Date.now() - this.receivedAt) / 1000;
    if (this.receivedAt > 0 && seconds > 0) {
      m.requestDuration.labels(...labels).observe(seconds);
      if (this.usage.completion > 0) m.normalizedTimePerOutputToken.labels(...labels).observe(seconds / this.usage.completion);
    }
    m.responseSizes.labels(...labels).observe(this.responseSize);
    if (this.usage.prompt > 0) m.inputTokens.labels(...labels).observe(this.usage.prompt);
    if (this.usage.completion > 0) m.outputTokens.labels(...labels).observe(this.usage.completion);
  }

  private requestHeadersReply(endpoint: string, bodyLength: number): ProcessingResponse {
    const set = [{ header: { key: DESTINATION_ENDPOINT_KEY, raw_value: Buffer.from(endpoint, "utf8") } }];
    if (bodyLength > 0) set.push({ header: { key: "Content-Length", raw_value: Buffer.from(String(bodyLength)) } });
    for (const [key, value] of this.headers) set.push({ header: { key, raw_value: Buffer.from(value, "utf8") } });
    return {
      request_headers: { response: { clear_route_cache: true, header_mutation: { set_headers: set } } },
      dynamic_metadata: {
        fields: { [DESTINATION_ENDPOINT_NAMESPACE]: { structValue: { fields: { [DESTINATION_ENDPOINT_KEY]: { stringValue: endpoint } } } } },
      },
    };
  }

  // Replies for each direction go out in order headers → body, and only once the previous step was sent.
  private sendPending(): void {
    if (this.state === State.RequestReceived && this.reqHeaderResp) {
      this.call.write(this.reqHeaderResp);
      this.reqHeaderResp = undefined;
      this.state = State.HeaderRequestResponseComplete;
    }
    if (this.state === State.HeaderRequestResponseComplete && this.reqBodyResps.length) {
      for (const r of this.reqBodyResps) this.call.write(r);
      this.reqBodyResps = [];
      this.state = State.BodyRequestResponsesComplete;
      this.running = true;
      this.deps.metrics.runningRequests.labels(this.models.incoming).inc();
    }
    if (this.state === State.ResponseReceived && this.respHeaderResp) {
      this.call.write(this.respHeaderResp);
      this.respHeaderResp = undefined;
      this.state = State.HeaderResponseResponseComplete;
    }
    if (this.state === State.HeaderResponseResponseComplete && this.respBodyResps.length) {
      for (const r of this.respBodyResps) {
        this.call.write(r);
        if (
          (r.response_body as { response: { body_mutation: { streamed_response: { end_of_stream: boolean } } } }).response.body_mutation.streamed_response
            .end_of_stream
        ) {
          this.state = State.BodyResponseResponsesComplete;
        }
      }
      this.respBodyResps = [];
    }
  }

  private fail(err: unknown): void {
    if (err instanceof EppError) {
      this.deps.log.info(V.DEFAULT, "Failed to process request", { error: err.message });
      this.deps.metrics.requestErrorTotal.labels(this.models.incoming, this.models.target, err.code).inc();
      this.call.write({ immediate_response: { status: { code: ERROR_STATUS[err.code] }, body: Buffer.from(err.message, "utf8") } });
      this.finish();
      return;
    }
    const message = err instanceof Error ? err.message : String(err);
    this.deps.log.error("Failed to process request", err);
    this.deps.metrics.requestErrorTotal.labels(this.models.incoming, this.models.target, "Unknown").inc();
    this.cleanup();
    this.call.emit("error", { code: grpc.status.UNKNOWN, details: `failed to handle request: ${message}` });
  }

  private finish(): void {
    if (this.finished) return;
    this.cleanup();
    this.call.end();
  }

  private cleanup(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.modelServerError) this.deps.metrics.requestErrorTotal.labels(this.models.incoming, this.models.target, "ModelServerError").inc();
    if (this.running) this.deps.metrics.runningRequests.labels(this.models.incoming).dec();
  }
}

function chunked(body: Buffer, eos: boolean): { body_mutation: { streamed_response: { body: Buffer; end_of_stream: boolean } } }[] {
  const out = [];
  if (body.length === 0) return [{ body_mutation: { streamed_response: { body, end_of_stream: eos } } }];
  for (let i = 0; i < body.length; i += BODY_BYTE_LIMIT) {
    const end = Math.min(i + BODY_BYTE_LIMIT, body.length);
    out.push({ body_mutation: { streamed_response: { body: body.subarray(i, end), end_of_stream: eos && end >= body.length } } });
  }
  return out;
}

function metadataToJs(fm: Record<string, StructPb>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fm)) out[k] = structToJs(v);
  return out;
}

function structToJs(s: StructPb): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s.fields ?? {})) out[k] = valueToJs(v);
  return out;
}

function valueToJs(v: ValuePb): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.numberValue !== undefined) return v.numberValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.structValue !== undefined) return structToJs(v.structValue);
  if (v.listValue !== undefined) return (v.listValue.values ?? []).map(valueToJs);
  return null;
}
