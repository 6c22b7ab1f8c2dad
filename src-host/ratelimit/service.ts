// The rate limit service: envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit over gRPC (HTTP/2,
// plaintext), answering as envoyproxy/ratelimit does (limiter.ts) for the Global rules of a PluginConfig,
// whose descriptors the filter builds as descriptors.ts defines.

import * as grpc from "@grpc/grpc-js";
import type { SocketAddress } from "../dataplane-api/http-filter.js";
import type { RateLimitConfig } from "../config/plugin-config.js";
import { RateLimiter, RateLimitRequestError, type ResponseHeaderNames } from "./limiter.js";
import { rateLimitServiceDefinition, type RateLimitRequest, type RateLimitResponse } from "./proto.js";

export interface RateLimitServiceOptions {
  host: string;
  /** 0 = ephemeral. */
  port: number;
  /** PluginConfig.rateLimits; Local rules are ignored (the filter holds those budgets). */
  rules: RateLimitConfig[];
  /** Clock in milliseconds since the epoch (default Date.now). */
  now?: () => number;
  /** Add RateLimit-* style headers to answers (envoyproxy/ratelimit's LIMIT_RESPONSE_HEADERS_ENABLED). */
  responseHeaders?: ResponseHeaderNames;
}

export interface RunningRateLimitService {
  address: SocketAddress;
  limiter: RateLimiter;
  close(): Promise<void>;
}

export async function startRateLimitService(opts: RateLimitServiceOptions): Promise<RunningRateLimitService> {
  const limiter = new RateLimiter(opts.rules, opts.now, opts.responseHeaders);
  const server = new grpc.Server();
  server.addService(rateLimitServiceDefinition(), {
    ShouldRateLimit(call: grpc.ServerUnaryCall<RateLimitRequest, RateLimitResponse>, callback: grpc.sendUnaryData<RateLimitResponse>) {
      try {
        callback(null, limiter.shouldRateLimit(call.request));
      } catch (err) {
        const code = err instanceof RateLimitRequestError ? err.code : grpc.status.INTERNAL;
        callback({ code, details: (err as Error).message });
      }
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${opts.host}:${opts.port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
  }).catch((err: Error) => {
    server.forceShutdown();
    throw new Error(`rate limit service: cannot listen on ${opts.host}:${opts.port}: ${err.message}`);
  });
  return {
    address: { address: opts.host, port },
    limiter,
    close: () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.forceShutdown(), 2000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
