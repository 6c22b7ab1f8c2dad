// A planned "ratelimit" pod (a Deployment of envoyproxy/ratelimit, or the embedded one) started as this
// service on the pod's own address. Of the image's environment it honours GRPC_PORT and the response header
// settings; its descriptors and limits come from the plugin's Global rules, not from its own configuration.

import type { RateLimitConfig } from "../config/plugin-config.js";
import { rateLimitGrpcPort, type PlannedPod } from "../config/build/workloads.js";
import { DEFAULT_RESPONSE_HEADERS, type ResponseHeaderNames } from "./limiter.js";
import { startRateLimitService, type RunningRateLimitService } from "./service.js";

export async function startRateLimitPod(pod: PlannedPod, rules: RateLimitConfig[], now?: () => number): Promise<RunningRateLimitService> {
  if (pod.kind !== "ratelimit") throw new Error(`${pod.namespace}/${pod.name} is a ${pod.kind} pod, not a rate limit service`);
  return startRateLimitService({ host: pod.ip, port: rateLimitGrpcPort(pod.env), rules, now, responseHeaders: responseHeaders(pod.env) });
}

/** envoyproxy/ratelimit's LIMIT_RESPONSE_HEADERS_ENABLED (a Go bool) and header name settings. */
function responseHeaders(env: Record<string, string>): ResponseHeaderNames | undefined {
  if (!["1", "t", "T", "true", "TRUE", "True"].includes(env.LIMIT_RESPONSE_HEADERS_ENABLED ?? "")) return undefined;
  return {
    limit: env.LIMIT_LIMIT_HEADER || DEFAULT_RESPONSE_HEADERS.limit,
    remaining: env.LIMIT_REMAINING_HEADER || DEFAULT_RESPONSE_HEADERS.remaining,
    reset: env.LIMIT_RESET_HEADER || DEFAULT_RESPONSE_HEADERS.reset,
  };
}
