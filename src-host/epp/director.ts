// The request path of GIE v1.0.x (requestcontrol/director.go): model and prompt from the body, objective →
// priority, candidate pods (subset hint), admission (shedding), scheduling, and the destination endpoint.
import type { Datastore } from "./datastore.js";
import { hostOf } from "./scheduling/filters.js";
import type { Scheduler } from "./scheduling/scheduler.js";
import { hasFreshMetrics, type LLMRequest, type Pod, type Random } from "./scheduling/types.js";
import { isSaturated, type SaturationConfig } from "./saturation.js";
import type { GoJson } from "./go-json.js";

/** errutil codes of the EPP and the HTTP status each becomes in an ImmediateResponse. */
export const ERROR_STATUS = {
  BadRequest: 400,
  BadConfiguration: 404,
  InferencePoolResourceExhausted: 429,
  Internal: 500,
  ServiceUnavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** An error answered with an ImmediateResponse whose body is the error text. */
export class EppError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly msg: string,
  ) {
    super(`inference gateway: ${code} - ${msg}`);
  }
}

export const SUBSET_HINT_NAMESPACE = "envoy.lb.subset_hint";
export const SUBSET_HINT_KEY = "x-gateway-destination-endpoint-subset";

export interface ParsedRequest {
  headers: Map<string, string>;
  body: Record<string, GoJson>;
  /** filter_metadata of the request, as plain values. */
  metadata: Record<string, unknown>;
  objectiveKey: string;
  /** From x-gateway-model-name-rewrite; empty when absent. */
  targetModelName: string;
}

export interface Decision {
  incomingModel: string;
  targetModel: string;
  /** "ip:port[,ip:port...]" for the header and the dynamic metadata. */
  endpoint: string;
  targets: Pod[];
}

export class Director {
  constructor(
    private readonly store: Datastore,
    private readonly scheduler: Scheduler,
    private readonly saturation: SaturationConfig,
    private readonly random: Random,
    /** --metrics-staleness-threshold. */
    private readonly stalenessMs: number,
  ) {}

  /** Models known so far are reported even when the request fails (for the error counter). */
  handleRequest(req: ParsedRequest, models: { incoming: string; target: string }): Decision {
    const model = req.body["model"];
    if (typeof model !== "string") throw new EppError("BadRequest", "model not found in request body");
    models.incoming = model;
    const targetModel = req.targetModelName || model;
    models.target = targetModel;
    req.body["model"] = targetModel;
    const prompt = extractPrompt(req.body);
    const priority = this.store.objectivePriority(req.objectiveKey) ?? 0;

    const llmReq: LLMRequest = { requestId: req.headers.get("x-request-id") ?? "", targetModel, prompt, headers: req.headers };
    const candidates = this.preferFresh(this.candidates(req.metadata));
    if (candidates.length === 0) throw new EppError("ServiceUnavailable", "failed to find candidate pods for serving the request");
    // Priority >= 0 is never shed in v1.0.x; negative priorities are sheddable.
    if (priority < 0 && isSaturated(candidates, this.saturation)) {
      throw new EppError("InferencePoolResourceExhausted", "system saturated, sheddable request dropped");
    }
    const result = this.scheduler.schedule(llmReq, candidates);
    if (!result.ok) throw new EppError("InferencePoolResourceExhausted", `failed to find target pod: ${result.error}`);

    const pool = this.store.pool();
    if (!pool) throw new Error("InferencePool is not initialized in data store");
    if (pool.targetPorts.length !== 1) throw new EppError("BadRequest", "targetPorts should have length 1");
    const endpoint = result.targets.map((p) => joinHostPort(p.ip, pool.targetPorts[0])).join(",");
    this.scheduler.preRequest(result.state, llmReq, result.targets);
    return { incomingModel: model, targetModel, endpoint, targets: result.targets };
  }

  /** A uniformly random ready pod, for requests without a body (no scheduling). */
  randomEndpoint(): string {
    const pods = this.preferFresh(this.store.pods());
    if (pods.length === 0) throw new EppError("Internal", "no pods available in datastore");
    const pod = pods[Math.floor(this.random() * pods.length)];
    return joinHostPort(pod.ip, pod.port);
  }

  // The pods with fresh metrics, or all of them when none has. Upstream's saturation detector counts a pod with
  // stale metrics as one without capacity (GIE v1.0.1 pkg/epp/saturationdetector/saturationdetector.go
  // IsSaturated); scheduling takes the same view, so a pod whose scrape fails (a server that died while its Pod
  // still reads Ready) stops getting requests at its first failed scrape. Upstream still schedules such pods on
  // their last metrics until the Pod leaves the pool.
  private preferFresh(pods: Pod[]): Pod[] {
    const now = Date.now();
    const fresh = pods.filter((p) => hasFreshMetrics(p.metrics, this.stalenessMs, now));
    return fresh.length > 0 ? fresh : pods;
  }

  // All pool pods, or those whose IP appears in the subset hint. A hint that is present but empty, or that matches
  // nothing, leaves no candidates.
  private candidates(metadata: Record<string, unknown>): Pod[] {
    const all = this.store.pods();
    const ns = metadata[SUBSET_HINT_NAMESPACE];
    if (typeof ns !== "object" || ns === null || Array.isArray(ns)) return all;
    const subset = (ns as Record<string, unknown>)[SUBSET_HINT_KEY];
    if (!Array.isArray(subset)) return all;
    const ips = new Set(subset.filter((e): e is string => typeof e === "string").map((e) => hostOf(e.trim())));
    return all.filter((p) => ips.has(p.ip));
  }
}

/** The prompt the prefix scorer hashes (pkg/epp/util/request/body.go). */
export function extractPrompt(body: Record<string, GoJson>): string {
  if ("messages" in body) {
    const messages = body["messages"];
    if (!Array.isArray(messages)) throw new EppError("BadRequest", "messages is not a list");
    if (messages.length === 0) throw new EppError("BadRequest", "messages is empty");
    let prompt = "";
    for (const m of messages) {
      if (typeof m !== "object" || m === null || Array.isArray(m)) continue;
      const { content, role } = m;
      if (typeof content !== "string" || typeof role !== "string") continue;
      prompt += `<|im_start|>${role}\n${content}<|im_end|>\n`;
    }
    return prompt;
  }
  if (!("prompt" in body)) throw new EppError("BadRequest", "prompt not found in request");
  const prompt = body["prompt"];
  if (typeof prompt !== "string") throw new EppError("BadRequest", "prompt is not a string");
  return prompt;
}

/** Go's net.JoinHostPort. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
