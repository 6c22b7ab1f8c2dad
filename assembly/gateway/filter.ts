// The proxy-wasm glue of the gateway: a root context holding the compiled configuration and one HTTP
// context per request. All decisions live in request/decide.ts; this file only moves bytes and headers
// between Envoy and those decisions, in the order Envoy allows:
//
//   on_request_headers → StopIteration (Envoy ≥ 1.35 with allow_on_headers_stop_iteration keeps the headers
//                        mutable while the body is read); GET /v1/models and unsupported paths answered here
//   on_request_body    → StopIterationAndBuffer until end of stream, then decide on the whole body:
//                        overwrite x-ai-eg-model, set x-ai-eg-backend, maybe replace the body,
//                        clear_route_cache, and continue — or ask the pool's Endpoint Picker first (epp.ts).

import {
  BufferType, FilterDataStatus, FilterHeadersStatus, GrpcStream, GrpcStreamHandler, HttpContext, Pair,
  RootContext, clearRouteCache, getBufferBytes, logError, replaceBuffer, requestHeaders, sendLocalResponseString,
} from "../proxy-wasm";
import { BACKEND_HEADER, BackendKind, GatewayConfig, MODEL_HEADER, PoolConfig, loadPluginConfig } from "./config";
import { LocalReply } from "./errors";
import { RequestFacts } from "./request/body";
import { bodyTooLarge, decideOnBody, decideOnHeaders } from "./request/decide";
import { Endpoint } from "./request/endpoint";
import { HeaderSource } from "./request/route";
import { EppExchange, EppOwner, eppExchangesWaiting, expireEppExchanges } from "./epp";

const EXT_PROC_SERVICE = "envoy.service.ext_proc.v3.ExternalProcessor";
const EXT_PROC_METHOD = "Process";

export const ROOT_ID = "ai-gateway";

export class GatewayRoot extends RootContext {
  config: GatewayConfig | null = null;
  /** Reused by every request of this VM: the scan results hold no pointers past a decision. */
  readonly facts: RequestFacts = new RequestFacts();

  onConfigure(pluginConfigurationSize: u32): bool {
    const bytes = this.getPluginConfiguration();
    const result = loadPluginConfig(changetype<usize>(bytes), <usize>bytes.byteLength);
    const config = result.config;
    if (config == null) {
      logError(result.error);
      return false;
    }
    this.config = config;
    return true;
  }

  createHttpContext(contextId: u32): HttpContext {
    return new GatewayStream(contextId, this);
  }

  /** Endpoint-picker deadlines are checked on a tick that runs only while some request waits. */
  onTick(): void {
    expireEppExchanges();
    if (!eppExchangesWaiting()) this.setTickPeriod(0);
  }
}

/** The request headers as the rules read them (only while Envoy still holds them). */
class RequestHeaderSource extends HeaderSource {
  get(name: string): string | null {
    return requestHeaders.get(name);
  }
}
const REQUEST_HEADERS = new RequestHeaderSource();

export class GatewayStream extends HttpContext implements EppOwner {
  private endpoint: Endpoint = Endpoint.Unsupported;
  private path: string = "";
  private epp: EppExchange | null = null;

  constructor(contextId: u32, private gateway: GatewayRoot) {
    super(contextId, gateway);
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    const config = this.gateway.config!;
    // Internal routing header: only this filter may set it.
    requestHeaders.remove(BACKEND_HEADER);
    const path = requestHeaders.get(":path");
    this.path = path == null ? "" : path;
    const length = requestHeaders.get("content-length");
    const decision = decideOnHeaders(config, this.path, length == null ? -1 : I64.parseInt(length));
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
    const tooLarge = bodyTooLarge(this.gateway.config!, <i64>bodySize);
    if (tooLarge != null) {
      this.answer(tooLarge);
      return FilterDataStatus.StopIterationNoBuffer;
    }
    if (!endOfStream) return FilterDataStatus.StopIterationAndBuffer;
    const body = getBufferBytes(BufferType.HttpRequestBody, 0, bodySize);
    if (body == null) return this.decide(0, 0);
    return this.decide(changetype<usize>(body), <usize>body.byteLength);
  }

  onResponseHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    const epp = this.epp;
    if (epp != null) {
      epp.sendResponseHeaders();
      if (endOfStream) epp.sendResponseBody(0, 0, true);
    }
    return FilterHeadersStatus.Continue;
  }

  onResponseBody(bodySize: u32, endOfStream: bool): FilterDataStatus {
    const epp = this.epp;
    if (epp != null) {
      const chunk = bodySize > 0 ? getBufferBytes(BufferType.HttpResponseBody, 0, bodySize) : null;
      if (chunk != null) epp.sendResponseBody(changetype<usize>(chunk), <usize>chunk.byteLength, endOfStream);
      else if (endOfStream) epp.sendResponseBody(0, 0, true);
    }
    return FilterDataStatus.Continue;
  }

  onDelete(): void {
    const epp = this.epp;
    if (epp != null) epp.abandon();
  }

  openEppStream(pool: PoolConfig, handler: GrpcStreamHandler): GrpcStream | null {
    return this.openGrpcStream(pool.eppCluster, EXT_PROC_SERVICE, EXT_PROC_METHOD, null, handler);
  }

  armTick(periodMs: u32): void {
    this.gateway.setTickPeriod(periodMs);
  }

  private decide(ptr: usize, len: usize): FilterDataStatus {
    const root = this.gateway;
    const d = decideOnBody(root.config!, this.endpoint, this.path, ptr, len, REQUEST_HEADERS, Math.random(), false, root.facts);
    const reply = d.reply;
    if (reply != null) {
      this.answer(reply);
      return FilterDataStatus.StopIterationNoBuffer;
    }
    const backend = d.backend!;
    requestHeaders.replace(MODEL_HEADER, d.model);
    requestHeaders.replace(BACKEND_HEADER, backend.name);
    const newBody = d.body;
    if (newBody != null) {
      replaceBuffer(BufferType.HttpRequestBody, newBody);
      requestHeaders.replace("content-length", newBody.byteLength.toString());
    }
    if (backend.kind == BackendKind.InferencePool) {
      const epp = new EppExchange(this, backend.pool!);
      if (epp.start(newBody != null ? changetype<usize>(newBody) : ptr, newBody != null ? <usize>newBody.byteLength : len)) {
        this.epp = epp;
        return FilterDataStatus.StopIterationAndBuffer;
      }
      // The stream could not even be opened: the failure mode decides, right now.
      return epp.failedBeforeStart() ? FilterDataStatus.Continue : FilterDataStatus.StopIterationNoBuffer;
    }
    clearRouteCache();
    return FilterDataStatus.Continue;
  }

  /** Sends one of the filter's own answers; the callback's return value becomes "stop" in Envoy. */
  answer(reply: LocalReply): FilterHeadersStatus {
    const headers: Array<Pair> = [new Pair("content-type", reply.contentType)];
    sendLocalResponseString(<u32>reply.status, "ai_gateway_" + reply.status.toString(), reply.body, headers);
    return FilterHeadersStatus.StopIteration;
  }
}
