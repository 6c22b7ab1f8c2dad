// The proxy-wasm glue of the gateway: a root context holding the compiled configuration and one HTTP
// context per request. All decisions live in request/decide.ts; this file only moves bytes and headers
// between Envoy and those decisions, in the order Envoy allows:
//
//   on_request_headers → StopIteration (Envoy ≥ 1.35 with allow_on_headers_stop_iteration keeps the headers
//                        mutable while the body is read); GET /v1/models and unsupported paths answered here
//   on_request_body    → StopIterationAndBuffer until end of stream, then decide on the whole body:
//                        overwrite x-ai-eg-model, set x-ai-eg-backend, maybe edit the body in place,
//                        clear_route_cache, and continue — or ask the pool's Endpoint Picker first (epp.ts).
//   on_request_trailers → the body is complete (Envoy calls this after the last data, which did not carry
//                        end of stream): the same decision, the trailers held until it is made.
//
// The body is read once, when complete, into the VM's body arena (body-read.ts); edits are written into
// Envoy's buffer in ranges and the EPP gets the body in slices, so no copy of it is ever built. A
// multipart form (the audio endpoints) is scanned as it arrives instead: each callback reads only what
// its scan has not consumed, so an uploaded file passes through a few bytes at a time; at its end only the
// bytes an edit or the EPP needs are read.
//
// A route of an HTTPRoute (its name, xds.route_name, is one of config.plainRules) is plain: no AI processing
// at all. To a Service it just continues; to an InferencePool it asks the pool's Endpoint Picker, with the
// headers alone when the request has no body, else with the buffered body, and follows its answer.

import {
  BufferType, FilterDataStatus, FilterHeadersStatus, FilterTrailersStatus, GrpcCallHandler, GrpcStatus, GrpcStream,
  GrpcStreamHandler, HttpContext, Pair, StreamType, continueStream,
  RootContext, clearRouteCache, getBufferBytes, getBufferLength, getCurrentTimeNanoseconds, getPropertyString,
  logError, logWarn, requestHeaders, responseHeaders, sendLocalResponseString, setBufferBytesUnsafe,
} from "../proxy-wasm";
import { readBody } from "./body-read";
import { Piece } from "./byte-buffer";
import { Backend, BackendKind, FilterConfig, PlainRule, loadPluginConfig, plainRuleKey } from "./config";
import { BACKEND_HEADER, DESTINATION_ENDPOINT_HEADER, MODEL_HEADER, MODEL_REWRITE_HEADER, PoolConfig } from "./plugin-config";
import { CONTENT_TYPE_JSON, LocalReply, badRequest, errorJson } from "./errors";
import { RequestFacts, scanRequestBody } from "./request/body";
import {
  RequestDecision, bodyTooLarge, contentLength, decideOnBody, decideOnForm, decideOnHeaders, openForm, scanForm,
} from "./request/decide";
import { FormScan } from "./request/multipart";
import { Endpoint, endpointIsMultipart } from "./request/endpoint";
import { HeaderSource, firstMatch } from "./request/route";
import { BodyEdits, planRewrite } from "./request/rewrite";
import { EppExchange, EppOwner, eppNeedsTick, expireEppExchanges } from "./epp";
import { BUDGETS, COST_EXPORT, GrpcRateLimitService, METRICS, limitHeaderPairs } from "./host-ports";
import { Admission, admit } from "./tokens/admission";
import { TokenConfig } from "./tokens/config";
import { exportCosts } from "./tokens/costs";
import { OutputLimit, estimateUsage, requestedOutputTokens } from "./tokens/estimate";
import { LimitHeaders, tighterLimitHeaders } from "./tokens/limit-headers";
import { recentOutput, recordOutput } from "./tokens/local-budget";
import { xdsRouteName } from "./tokens/route-key";
import { requestHost } from "./request/host";
import { UsageTracker } from "./tokens/usage-tracker";
import {
  GlobalCheck, RateLimitAnswer, applicableGlobalRules, decodeRateLimitResponse, globalLimitHeaders, globalRefusalBody,
  sendReservation, sendSettlement,
} from "./tokens/global-limit";
import { GenAiLabels, RlsCall } from "./telemetry/metrics";
import { endpointOperation, stripQuery } from "./request/endpoint";
import { TokenUsage } from "./response/usage";
import { ResponseTiming } from "./response/timing";
import { USAGE_OUTPUT } from "./response/usage";
import { backendErrorBody, wrapsBackendError } from "./response/backend-error";

const EXT_PROC_SERVICE = "envoy.service.ext_proc.v3.ExternalProcessor";
const EXT_PROC_METHOD = "Process";
const ROUTE_NAME: Array<string> = ["xds", "route_name"];
const CLUSTER_NAME: Array<string> = ["xds", "cluster_name"];
/**
 * The request's :path as the client sent it, set on every request the filter routes (Envoy AI Gateway
 * v1.1.0 internal/extproc/processor_impl.go, overwriting a client's value): x-ai-eg-original-path, and
 * x-envoy-original-path beside it as that file also sets.
 */
const ORIGINAL_PATH_HEADER = "x-ai-eg-original-path";
const ENVOY_ORIGINAL_PATH_HEADER = "x-envoy-original-path";

/** How an Endpoint Picker exchange started. */
enum EppStart {
  /** The request waits for the answer. */
  Waiting,
  /** No stream, FailOpen: the request goes on now. */
  Continue,
  /** No stream, FailClose: answered 503. */
  Refused,
}

function dataStatus(s: EppStart): FilterDataStatus {
  return s == EppStart.Waiting ? FilterDataStatus.StopIterationAndBuffer
    : s == EppStart.Continue ? FilterDataStatus.Continue : FilterDataStatus.StopIterationNoBuffer;
}

/** The HTTPRoute rule of the request's route, or null (an AIGatewayRoute route or the catch-all). */
function plainRuleOf(config: FilterConfig): PlainRule | null {
  const route = getPropertyString(ROUTE_NAME);
  if (route == null) return null;
  const key = plainRuleKey(route);
  return key.length > 0 && config.plainRules.has(key) ? config.plainRules.get(key) : null;
}

/** The pool the request's route sends to: the rule's only backend, else the one of the cluster the route picked. */
function plainPool(rule: PlainRule): PoolConfig | null {
  const backends = rule.backends;
  if (backends.length == 0) return null;
  if (backends.length == 1) return unchecked(backends[0]).pool;
  const cluster = getPropertyString(CLUSTER_NAME);
  return cluster == null ? null : rule.poolOf(cluster);
}

function trailersStatus(s: FilterDataStatus): FilterTrailersStatus {
  return s == FilterDataStatus.Continue ? FilterTrailersStatus.Continue : FilterTrailersStatus.StopIteration;
}

export const ROOT_ID = "ai-gateway";

export class GatewayRoot extends RootContext {
  config: FilterConfig | null = null;
  tokens: TokenConfig = new TokenConfig();
  /** Reused by every request of this VM: the scan results hold no pointers past a decision. */
  readonly facts: RequestFacts = new RequestFacts();

  onConfigure(pluginConfigurationSize: u32): bool {
    const bytes = this.getPluginConfiguration();
    const result = loadPluginConfig(changetype<usize>(bytes), <usize>bytes.byteLength, process.env);
    const config = result.config;
    if (config == null) {
      logError(result.error);
      return false;
    }
    this.config = config;
    this.tokens = result.tokens!;
    return true;
  }

  createHttpContext(contextId: u32): HttpContext {
    return new FilterStream(contextId, this);
  }

  /** The tick period set now; 0 when the tick is stopped. */
  private tickMs: u32 = 0;

  /**
   * Starts the tick unless it runs already: setting the period restarts the host's timer (Envoy's
   * Wasm::setTickPeriod in source/extensions/common/wasm/wasm.cc, our host alike), so re-arming it per
   * request would postpone every deadline check for as long as requests come faster than the period.
   */
  armTick(periodMs: u32): void {
    if (this.tickMs == periodMs) return;
    this.tickMs = periodMs;
    this.setTickPeriod(periodMs);
  }

  /** Endpoint-picker deadlines (and throttled warnings) are checked on a tick that runs only while needed. */
  onTick(): void {
    expireEppExchanges();
    if (!eppNeedsTick()) this.armTick(0);
  }
}

function nowSeconds(): u64 {
  return getCurrentTimeNanoseconds() / 1_000_000_000;
}

/** The metrics' clock: whole microseconds. */
function nowMicros(): f64 {
  return <f64>(getCurrentTimeNanoseconds() / 1000);
}

/** The request headers as the rules read them (only while Envoy still holds them). */
class RequestHeaderSource extends HeaderSource {
  get(name: string): string | null {
    return requestHeaders.get(name);
  }
}
const REQUEST_HEADERS = new RequestHeaderSource();

/** Reused by every request of this VM: read and used within one admission. */
const OUTPUT_LIMIT = new OutputLimit();
const ESTIMATE = new TokenUsage();

/** A budget's x-ratelimit-* on the response (none when there are no figures). */
function setLimitHeaders(limits: LimitHeaders | null): void {
  if (limits == null) return;
  const headers = limitHeaderPairs(limits);
  for (let i = 0; i < headers.length; i++) responseHeaders.replace(headers[i].key, headers[i].value);
}

/** Body edits written into Envoy's request buffer range by range, and the content-length they make. */
function writeEdits(edits: BodyEdits, ptr: usize, len: usize): void {
  const writes = edits.frontWrites(ptr);
  for (let i = 0; i < writes.length; i++) {
    const w = writes[i];
    setBufferBytesUnsafe(BufferType.HttpRequestBody, 0, w.drain, w.piece.ptr, w.piece.len);
  }
  requestHeaders.replace("content-length", edits.editedLength(len).toString());
}

export class FilterStream extends HttpContext implements EppOwner, GrpcCallHandler {
  private endpoint: Endpoint = Endpoint.Unsupported;
  private path: string = "";
  private epp: EppExchange | null = null;
  /** The chosen backend, when a BackendSecurityPolicy gives it a credential. */
  private credential: Backend | null = null;
  /** The chosen pool's modelNameOverride, applied to the body once its EPP has picked; "" for none. */
  private poolOverride: string = "";
  /** An HTTPRoute's request: no AI processing. */
  private plain: bool = false;
  /** The pool of a plain request with a body, asked once the body is complete. */
  private plainPool: PoolConfig | null = null;
  /** A multipart endpoint's form, scanned as the body arrives. */
  private form: FormScan | null = null;
  /** Request facts the response side needs. */
  private route: string = "";
  private backendName: string = "";
  private model: string = "";
  private upstreamModel: string = "";
  private admission: Admission | null = null;
  private globalCheck: GlobalCheck | null = null;
  /** The rate limit service, once a Global rule applies. */
  private rls: GrpcRateLimitService | null = null;
  private globalAnswer: RateLimitAnswer | null = null;
  /** The decision a Global check interrupted. */
  private decision: RequestDecision | null = null;
  private tracker: UsageTracker | null = null;
  private status: i32 = 0;
  /** A non-JSON error from upstream (or from Envoy after the request went on): rewritten in OpenAI's shape. */
  private wrapError: bool = false;
  private finished: bool = false;
  private readonly timing: ResponseTiming = new ResponseTiming();
  /** When the admission check went to the rate limit service (µs). */
  private rlsCheckSent: f64 = 0;

  constructor(contextId: u32, private gateway: GatewayRoot) {
    super(contextId, gateway);
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    const config = this.gateway.config!;
    // Routing headers only this filter may set: a client's own would pick a backend or an endpoint.
    requestHeaders.remove(BACKEND_HEADER);
    requestHeaders.remove(DESTINATION_ENDPOINT_HEADER);
    // The EPP serves the model this header names: a client's own would pick the model behind routing,
    // costs and budgets. (x-gateway-inference-objective and -fairness-id are the client's to set.)
    requestHeaders.remove(MODEL_REWRITE_HEADER);
    if (config.plainRules.size > 0) {
      const rule = plainRuleOf(config);
      if (rule != null) return this.startPlain(rule, endOfStream);
    }
    const path = requestHeaders.get(":path");
    this.path = path == null ? "" : path;
    const decision = decideOnHeaders(config, this.path, contentLength(requestHeaders.get("content-length")), requestHeaders.get(":authority"));
    this.endpoint = decision.endpoint;
    const reply = decision.reply;
    if (reply != null) return this.answer(reply);
    if (endOfStream) {
      // A body-model endpoint without a body: decide on an empty body (a clear 400).
      return this.decide(0, 0) == FilterDataStatus.Continue ? FilterHeadersStatus.Continue : FilterHeadersStatus.StopIteration;
    }
    return FilterHeadersStatus.StopIteration;
  }

  onRequestBody(bodySize: u32, endOfStream: bool): FilterDataStatus {
    if (this.epp != null) return FilterDataStatus.StopIterationAndBuffer;
    if (this.plain && this.plainPool == null) return FilterDataStatus.Continue; // an HTTPRoute to a Service
    const tooLarge = bodyTooLarge(this.gateway.config!, <i64>bodySize);
    if (tooLarge != null) {
      this.answer(tooLarge);
      return FilterDataStatus.StopIterationNoBuffer;
    }
    if (!endOfStream) {
      if (endpointIsMultipart(this.endpoint)) this.feedForm(bodySize, false);
      return FilterDataStatus.StopIterationAndBuffer;
    }
    return this.bodyComplete(bodySize);
  }

  /** Trailers end a body whose last data did not carry end of stream: decide now, hold them until then. */
  onRequestTrailers(numTrailers: u32): FilterTrailersStatus {
    if (this.epp != null || this.globalCheck != null) return FilterTrailersStatus.StopIteration;
    if (this.plain && this.plainPool == null) return FilterTrailersStatus.Continue;
    const size = getBufferLength(BufferType.HttpRequestBody);
    const tooLarge = bodyTooLarge(this.gateway.config!, <i64>size);
    if (tooLarge != null) {
      this.answer(tooLarge);
      return FilterTrailersStatus.StopIteration;
    }
    return trailersStatus(this.bodyComplete(size));
  }

  /** The whole request body is buffered (`size` bytes): ask the plain route's pool, or decide. */
  private bodyComplete(size: u32): FilterDataStatus {
    const plainPool = this.plainPool;
    if (plainPool == null && endpointIsMultipart(this.endpoint)) {
      const root = this.gateway;
      const d = decideOnForm(root.config!, this.endpoint, this.feedForm(size, true), size, REQUEST_HEADERS, Math.random(), root.facts);
      return this.decided(d, 0, 0, size);
    }
    const body = readBody(BufferType.HttpRequestBody, 0, size);
    if (plainPool != null) return dataStatus(this.askEpp(plainPool, [body], body.len, false));
    return this.decide(body.ptr, body.len);
  }

  /** Hands the form's scan the buffered body (`size` bytes) from where it still needs it. */
  private feedForm(size: u32, endOfStream: bool): FormScan {
    let form = this.form;
    if (form == null) this.form = form = openForm(this.endpoint, requestHeaders.get("content-type"), this.path);
    if (!form.finished) {
      const from = <u32>form.keep;
      const bytes = readBody(BufferType.HttpRequestBody, from, size - from);
      form.feed(bytes.ptr, <usize>from, bytes.len, endOfStream);
    }
    return form;
  }

  onResponseHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    const epp = this.epp;
    if (epp != null) {
      epp.sendResponseHeaders();
      if (endOfStream) epp.sendResponseBody(0, 0, true);
    }
    if (this.backendName.length == 0) return FilterHeadersStatus.Continue; // a plain route, or a reply of the filter's own
    const status = responseHeaders.get(":status");
    this.status = status == null ? 0 : I32.parseInt(status);
    const admission = this.admission;
    const local = admission != null ? admission.current(nowSeconds()) : null;
    setLimitHeaders(tighterLimitHeaders(local, this.globalHeaders()));
    const contentType = responseHeaders.get("content-type");
    // Only a response the filter did not write itself (its own replies are final) and that has a body.
    this.wrapError = !endOfStream && this.timing.started && wrapsBackendError(this.status, contentType);
    const tracker = new UsageTracker();
    // An error to rewrite is read whole, whatever its content-type says.
    tracker.start(this.wrapError ? null : contentType, responseHeaders.get("content-encoding"));
    this.tracker = tracker;
    if (endOfStream) {
      this.finish();
      return FilterHeadersStatus.Continue;
    }
    // Held: content-type and content-length change with the body.
    if (this.wrapError) return FilterHeadersStatus.StopIteration;
    // A JSON answer under a token budget: hold its headers until the body says what it really cost, so
    // x-ratelimit-remaining counts spent tokens rather than the estimate.
    if (admission != null && admission.reservations.length > 0 && tracker.buffered) return FilterHeadersStatus.StopIteration;
    return FilterHeadersStatus.Continue;
  }

  onResponseBody(bodySize: u32, endOfStream: bool): FilterDataStatus {
    const tracker = this.tracker;
    if (tracker != null) this.timing.bodyBytes(nowMicros(), bodySize);
    // A JSON answer is read whole: Envoy buffers it (body_size is cumulative) until the end.
    if (tracker != null && tracker.buffered && !endOfStream) return FilterDataStatus.StopIterationAndBuffer;
    this.responseData(readBody(BufferType.HttpResponseBody, 0, bodySize), endOfStream);
    return FilterDataStatus.Continue;
  }

  /** Trailers end the response: a buffered JSON answer is read whole now, a stream just ends. */
  onResponseTrailers(numTrailers: u32): FilterTrailersStatus {
    const tracker = this.tracker;
    const buffered = tracker != null && tracker.buffered;
    this.responseData(buffered ? readBody(BufferType.HttpResponseBody, 0, getBufferLength(BufferType.HttpResponseBody)) : new Piece(0, 0), true);
    return FilterTrailersStatus.Continue;
  }

  /** Response bytes for usage and the EPP: a stream's chunk, or (`end`, not streaming) the whole JSON answer. */
  private responseData(chunk: Piece, end: bool): void {
    const tracker = this.tracker;
    const epp = this.epp;
    if (tracker == null) {
      // A plain route to a pool: the EPP still learns the response, chunk by chunk.
      if (epp != null && epp.reporting) epp.sendResponseBody(chunk.ptr, chunk.len, end);
      return;
    }
    if (!tracker.buffered) {
      tracker.chunk(chunk.ptr, chunk.len);
      if (epp != null) epp.sendResponseBody(chunk.ptr, chunk.len, end);
      if (end) {
        tracker.finishStream();
        this.finish();
      }
      return;
    }
    if (this.status >= 200 && this.status < 300) tracker.body(chunk.ptr, chunk.len);
    if (this.wrapError) this.rewriteError(chunk);
    if (epp != null) epp.sendResponseBody(chunk.ptr, chunk.len, true);
    this.finish();
  }

  /** The buffered error body, wrapped as Envoy AI Gateway's OpenAIBackendError (decompressed first when gzip'd). */
  private rewriteError(body: Piece): void {
    const text = this.tracker!.decoded(body.ptr, body.len);
    if (text == null) return; // a gzip body that does not inflate: passed on as it came
    const wrapped = backendErrorBody(this.status.toString(), text.ptr, text.len);
    setBufferBytesUnsafe(BufferType.HttpResponseBody, 0, <u32>body.len, changetype<usize>(wrapped), <usize>wrapped.byteLength);
    if (text.ptr != body.ptr) responseHeaders.remove("content-encoding");
    responseHeaders.replace("content-type", CONTENT_TYPE_JSON);
    responseHeaders.replace("content-length", wrapped.byteLength.toString());
  }

  onLog(): void {
    // A request that never got a complete response gives its reservations back.
    const admission = this.admission;
    if (admission != null && !this.finished) admission.release();
    // Like Envoy AI Gateway, only a request that went upstream is measured: the filter's own replies
    // (400, 404, 429, EPP failures) are not GenAI requests of a backend.
    if (this.backendName.length == 0 || !this.timing.started) return;
    const timing = this.timing;
    if (!this.finished) {
      timing.responseEnded(nowMicros());
      METRICS.recordDuration(this.labels(false), <u64>timing.duration(), true);
    }
    const endpoint = getPropertyString(["upstream", "address"]);
    METRICS.recordBackendRequest(this.backendName, endpoint == null ? "" : endpoint, <u64>timing.duration(), !this.succeeded());
  }

  /** x-ratelimit-* of the Global answer at admission (its reservation included), or none. */
  private globalHeaders(): LimitHeaders | null {
    const answer = this.globalAnswer;
    return answer != null ? globalLimitHeaders(answer) : null;
  }

  private succeeded(): bool {
    return this.finished && this.status >= 200 && this.status < 300;
  }

  /** Envoy AI Gateway's labels: the response model falls back to the request's only on a success. */
  private labels(ok: bool): GenAiLabels {
    const l = new GenAiLabels();
    l.op = endpointOperation(this.endpoint);
    l.provider = "openai";
    l.originalModel = this.model;
    l.requestModel = this.upstreamModel;
    const tracker = this.tracker;
    l.responseModel = tracker != null && tracker.usage.model.length > 0 ? tracker.usage.model : ok ? this.upstreamModel : "";
    return l;
  }

  /** The request goes upstream now: the GenAI durations start here (EppOwner). */
  upstreamStarting(): void {
    this.timing.upstreamStarted(nowMicros());
    const poolModel = this.poolOverride;
    if (poolModel.length > 0) this.overridePoolModel(poolModel);
    // After the EPP's exchange: the key goes to the backend only. A client's own Authorization never does.
    const credential = this.credential;
    if (credential != null) {
      requestHeaders.remove("authorization");
      requestHeaders.replace(credential.credentialHeader, credential.credentialValue);
    }
  }

  onDelete(): void {
    const epp = this.epp;
    if (epp != null) epp.abandon();
  }

  /** End of the response: costs, filter state, budgets. */
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    const tracker = this.tracker;
    const ok = this.status >= 200 && this.status < 300 && tracker != null;
    const usage = ok ? tracker!.usage : null;
    const root = this.gateway;
    const timing = this.timing;
    timing.responseEnded(nowMicros());
    const labels = this.labels(ok);
    if (this.backendName.length > 0 && timing.started) METRICS.recordDuration(labels, <u64>timing.duration(), !ok);
    const costs = root.tokens.costsFor(this.route);
    if (usage != null) {
      const model = this.upstreamModel;
      exportCosts(COST_EXPORT, costs, usage, model, this.backendName, this.route);
      // Only admission estimates read a model's recent output: no rate limits, no shared-data round trip.
      if (usage.has(USAGE_OUTPUT) && root.tokens.rateLimits.length > 0) recordOutput(BUDGETS, model, usage.outputTokens);
      METRICS.recordUsage(labels, usage);
      // Streams only, as Envoy AI Gateway: both are defined by the first and the last output event.
      const ttft = timing.timeToFirstToken();
      if (tracker!.streaming && ttft >= 0) {
        METRICS.recordTimeToFirstToken(labels, <u64>ttft);
        const tpot = timing.timePerOutputToken(usage.outputTokens);
        if (tpot >= 0) METRICS.recordTimePerOutputToken(labels, <u64>Math.round(tpot));
      }
    }
    const check = this.globalCheck;
    if (check != null && usage != null) {
      sendSettlement(this.rls!, check, costs, usage, this.upstreamModel, this.backendName, this.route);
    }
    const admission = this.admission;
    if (admission != null && admission.reservations.length > 0) {
      const settled = admission.settle(costs, usage, this.upstreamModel, this.backendName, this.route, nowSeconds());
      const limits = tighterLimitHeaders(settled, this.globalHeaders());
      if (tracker != null && tracker.buffered) setLimitHeaders(limits);
    }
  }

  openEppStream(pool: PoolConfig, handler: GrpcStreamHandler): GrpcStream | null {
    return this.openGrpcStream(pool.eppCluster, EXT_PROC_SERVICE, EXT_PROC_METHOD, null, handler);
  }

  armTick(periodMs: u32): void {
    this.gateway.armTick(periodMs);
  }

  private decide(ptr: usize, len: usize): FilterDataStatus {
    const root = this.gateway;
    const d = decideOnBody(root.config!, this.endpoint, this.path, ptr, len, REQUEST_HEADERS, Math.random(),
      root.tokens.anyCost, root.facts);
    return this.decided(d, ptr, len, len);
  }

  /** Acts on a decision for a body of `len` bytes, of which the first `held` are at `ptr` (none for a form). */
  private decided(d: RequestDecision, ptr: usize, held: usize, len: usize): FilterDataStatus {
    const root = this.gateway;
    const reply = d.reply;
    if (reply != null) {
      this.answer(reply);
      return FilterDataStatus.StopIterationNoBuffer;
    }
    const limited = root.tokens.rateLimits.length > 0;
    // A budget reserves what the request may produce: its output limit must be one a server can honour.
    const outputLimit = limited ? requestedOutputTokens(ptr, held, OUTPUT_LIMIT) : null;
    if (outputLimit != null && outputLimit.error.length > 0) {
      this.answer(badRequest(stripQuery(this.path), outputLimit.error));
      return FilterDataStatus.StopIterationNoBuffer;
    }
    const backend = d.backend!;
    this.route = d.rule!.route;
    this.backendName = backend.name;
    if (backend.credentialHeader.length > 0) this.credential = backend;
    if (backend.kind == BackendKind.InferencePool) this.poolOverride = backend.modelNameOverride;
    this.model = d.model;
    this.upstreamModel = d.upstreamModel;
    // Before any budget reads them: a client's own x-ai-eg-model must not pick its bucket either.
    requestHeaders.replace(MODEL_HEADER, d.model);
    requestHeaders.replace(BACKEND_HEADER, backend.name);
    requestHeaders.replace(ORIGINAL_PATH_HEADER, this.path);
    requestHeaders.replace(ENVOY_ORIGINAL_PATH_HEADER, this.path);
    // The route follows these headers from now on, also for the filter's own replies (429, EPP failures).
    clearRouteCache();
    if (outputLimit != null) {
      // The xDS route the request was decided for: unshared budgets count per route (tokens/route-key.ts).
      const rule = d.rule!;
      const xdsRoute = xdsRouteName(rule, firstMatch(rule, REQUEST_HEADERS), requestHost(REQUEST_HEADERS.get(":authority")));
      const requested = outputLimit.tokens;
      const estimate = estimateUsage(ESTIMATE, len, requested, requested >= 0 ? 0 : recentOutput(BUDGETS, d.upstreamModel));
      const admission = admit(BUDGETS, root.tokens, this.route, xdsRoute, d.upstreamModel, backend.name, REQUEST_HEADERS,
        estimate, nowSeconds());
      const refusal = admission.refusal;
      if (refusal != null) {
        const headers = limitHeaderPairs(refusal.limits);
        headers.push(new Pair("content-type", "application/json"));
        sendLocalResponseString(<u32>refusal.status, "token_rate_limited", refusal.body, headers);
        return FilterDataStatus.StopIterationNoBuffer;
      }
      this.admission = admission;
      const check = applicableGlobalRules(root.tokens.rateLimits, this.route, xdsRoute, REQUEST_HEADERS);
      if (!check.empty) {
        this.globalCheck = check;
        this.decision = d;
        const rls = new GrpcRateLimitService(this, root, this);
        this.rls = rls;
        const service = check.rules[0];
        this.rlsCheckSent = nowMicros();
        if (sendReservation(rls, check, root.tokens.costsFor(this.route), estimate, d.upstreamModel, backend.name, this.route)) {
          return FilterDataStatus.StopIterationAndBuffer;
        }
        METRICS.recordRlsCall(RlsCall.CHECK, RlsCall.UNAVAILABLE, -1);
        if (service.failureModeDeny) {
          this.refuseGlobal(500, "the rate limit service cannot be called (cluster " + service.rlsCluster + ")", null);
          return FilterDataStatus.StopIterationNoBuffer;
        }
        check.unreserved();
        logWarn("rate limit service unavailable (cluster " + service.rlsCluster + "); failure mode allow");
      }
    }
    return this.forward(d, ptr, held, len);
  }

  /** The rate limit service's answer to the admission check (the request waits for it). */
  onGrpcCallResponse(token: u32, status: GrpcStatus, size: u32): void {
    const check = this.globalCheck!;
    const rule = check.rules[0];
    let answer: RateLimitAnswer | null = null;
    if (status == GrpcStatus.Ok) {
      const bytes = getBufferBytes(BufferType.GrpcReceiveBuffer, 0, size);
      answer = bytes == null ? null : decodeRateLimitResponse(changetype<usize>(bytes), bytes.byteLength);
    }
    METRICS.recordRlsCall(RlsCall.CHECK, answer == null || (!answer.ok && !answer.overLimit) ? RlsCall.ERROR
      : answer.overLimit ? RlsCall.OVER_LIMIT : RlsCall.OK, <i64>max(0, nowMicros() - this.rlsCheckSent));
    if (answer == null || (!answer.ok && !answer.overLimit)) {
      if (rule.failureModeDeny) {
        this.refuseGlobal(500, "the rate limit service failed (grpc-status " + (<i32>status).toString() + ")", null);
        return;
      }
      check.unreserved();
      logWarn("rate limit service failed (grpc-status " + (<i32>status).toString() + "); failure mode allow");
    } else if (answer.overLimit) {
      this.refuseGlobal(429, globalRefusalBody(check, answer), globalLimitHeaders(answer));
      return;
    } else {
      this.globalAnswer = answer;
    }
    // The body is read again: nothing of it was kept while the service answered (of a form, only what
    // forward needs).
    const len = getBufferLength(BufferType.HttpRequestBody);
    const body = readBody(BufferType.HttpRequestBody, 0, this.form != null ? 0 : len);
    if (this.forward(this.decision!, body.ptr, body.len, len) == FilterDataStatus.Continue) continueStream(StreamType.Request);
  }

  /** 429 (`reason` is then the body) or a service failure under failure mode deny. */
  private refuseGlobal(status: i32, reason: string, limits: LimitHeaders | null): void {
    const admission = this.admission;
    if (admission != null) admission.release();
    this.admission = null;
    const headers = limitHeaderPairs(limits);
    headers.push(new Pair("content-type", "application/json"));
    const body = status == 429 ? reason : errorJson("RateLimitServiceError", status.toString(), reason);
    sendLocalResponseString(<u32>status, status == 429 ? "token_rate_limited" : "rate_limit_service_failed", body, headers);
  }

  /** The request goes on to its backend: body edits, then the pool's EPP or straight to routing. */
  private forward(d: RequestDecision, ptr: usize, held: usize, len: usize): FilterDataStatus {
    const backend = d.backend!;
    const edits = d.edits;
    const pool = backend.kind == BackendKind.InferencePool;
    if (held < len) {
      // A form scanned as it arrived: read now only what the model's edit or the Endpoint Picker needs.
      const need = pool ? len : edits != null ? <usize>edits.reach : 0;
      if (need > held) ptr = readBody(BufferType.HttpRequestBody, 0, <u32>need).ptr;
    }
    let pieces: Array<Piece>;
    let length = len;
    if (edits != null) {
      // Written into Envoy's buffer range by range; the EPP gets the same pieces.
      writeEdits(edits, ptr, len);
      pieces = edits.pieces(ptr, len);
      length = edits.editedLength(len);
    } else {
      pieces = [new Piece(ptr, len)];
    }
    if (pool) return dataStatus(this.askEpp(backend.pool!, pieces, length, false));
    this.upstreamStarting(); // the route cache was cleared when the routing headers were set (decide)
    return FilterDataStatus.Continue;
  }

  /** Opens the exchange with the pool's Endpoint Picker and sends the request (`bodiless`: headers only). */
  private askEpp(pool: PoolConfig, pieces: Array<Piece>, length: usize, bodiless: bool): EppStart {
    const epp = new EppExchange(this, pool, this.contextId);
    if (epp.start(pieces, length, bodiless, this.gateway.config!.maxRequestBodyBytes)) {
      this.epp = epp;
      return EppStart.Waiting;
    }
    // The stream could not even be opened: the failure mode decides, right now.
    return epp.failedBeforeStart() ? EppStart.Continue : EppStart.Refused;
  }

  /** The EPP sent back another body: account the model it names, which is what the upstream will serve. */
  /**
   * A pool's modelNameOverride on the body that goes upstream (the EPP's, when it sent one back): `model`
   * rewritten in Envoy's buffer. x-ai-eg-model keeps the client's model, which the route matched.
   */
  private overridePoolModel(newModel: string): void {
    const body = readBody(BufferType.HttpRequestBody, 0, getBufferLength(BufferType.HttpRequestBody));
    const facts = this.gateway.facts;
    if (!scanRequestBody(this.endpoint, body.ptr, body.len, facts)) return; // an EPP's body that is no request: as sent
    const edits = planRewrite(facts, newModel, false);
    if (edits != null) writeEdits(edits, body.ptr, body.len);
    this.upstreamModel = newModel;
  }

  bodyReplaced(length: u32): void {
    if (this.plain) return;
    const body = readBody(BufferType.HttpRequestBody, 0, length);
    const facts = this.gateway.facts;
    const ok = endpointIsMultipart(this.endpoint)
      ? scanForm(this.endpoint, requestHeaders.get("content-type"), this.path, body.ptr, body.len, facts) == null
      : scanRequestBody(this.endpoint, body.ptr, body.len, facts);
    if (ok) this.upstreamModel = facts.model;
  }

  /** An HTTPRoute's request: a Service's just continues; a pool's waits for its Endpoint Picker. */
  private startPlain(rule: PlainRule, endOfStream: bool): FilterHeadersStatus {
    this.plain = true;
    const pool = plainPool(rule);
    if (pool == null) return FilterHeadersStatus.Continue;
    if (endOfStream) {
      return this.askEpp(pool, [], 0, true) == EppStart.Continue ? FilterHeadersStatus.Continue : FilterHeadersStatus.StopIteration;
    }
    this.plainPool = pool;
    const tooLarge = bodyTooLarge(this.gateway.config!, contentLength(requestHeaders.get("content-length")));
    return tooLarge != null ? this.answer(tooLarge) : FilterHeadersStatus.StopIteration;
  }

  /** Sends one of the filter's own answers; the callback's return value becomes "stop" in Envoy. */
  answer(reply: LocalReply): FilterHeadersStatus {
    const headers: Array<Pair> = [new Pair("content-type", reply.contentType)];
    sendLocalResponseString(<u32>reply.status, "ai_gateway_" + reply.status.toString(), reply.body, headers);
    return FilterHeadersStatus.StopIteration;
  }
}
