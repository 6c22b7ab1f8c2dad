// envoy.service.ratelimit.v3.RateLimitService, loaded from the Envoy protos that ship with @grpc/grpc-js-xds
// (src-host/envoy-api/protos.ts).
// That snapshot predates fields current Envoy sends and envoyproxy/ratelimit reads, so they are added to the
// loaded protobufjs Root with their published numbers (envoyproxy/envoy api/, envoyproxy/ratelimit#801):
//   extensions.common.ratelimit.v3.RateLimitDescriptor.hits_addend = 3 (google.protobuf.UInt64Value)
//   service.ratelimit.v3.RateLimitResponse.RateLimit.Unit WEEK = 7, type.v3.RateLimitUnit WEEK = 7
// Field names keep the proto's snake_case; uint64 values decode as JavaScript numbers.
import type protobuf from "protobufjs";
import type * as protoLoader from "@grpc/proto-loader";
import * as grpc from "@grpc/grpc-js";
import { addEnumValue, addField, grpcService, loadEnvoyProtos } from "../envoy-api/protos.js";

export const RLS_SERVICE = "envoy.service.ratelimit.v3.RateLimitService";

/** RateLimitResponse.Code */
export const Code = { UNKNOWN: 0, OK: 1, OVER_LIMIT: 2 } as const;
/** RateLimitResponse.RateLimit.Unit (and type.v3.RateLimitUnit, which has the same numbers). */
export const Unit = { UNKNOWN: 0, SECOND: 1, MINUTE: 2, HOUR: 3, DAY: 4, MONTH: 5, YEAR: 6, WEEK: 7 } as const;
/** Seconds per unit, as envoyproxy/ratelimit divides time (a month is 30 days, a year 365). */
export const UNIT_SECONDS: Record<number, number> = {
  [Unit.SECOND]: 1,
  [Unit.MINUTE]: 60,
  [Unit.HOUR]: 3600,
  [Unit.DAY]: 86_400,
  [Unit.WEEK]: 7 * 86_400,
  [Unit.MONTH]: 30 * 86_400,
  [Unit.YEAR]: 365 * 86_400,
};

/** Messages as proto-loader decodes them (keepCase, longs as numbers, unset fields absent). */
export interface DescriptorEntry {
  key: string;
  value: string;
}
export interface RateLimitDescriptor {
  entries?: DescriptorEntry[];
  limit?: { requests_per_unit?: number; unit?: number };
  hits_addend?: { value?: number };
}
export interface RateLimitRequest {
  domain?: string;
  descriptors?: RateLimitDescriptor[];
  hits_addend?: number;
}
export interface DescriptorStatus {
  code: number;
  current_limit?: { requests_per_unit: number; unit: number; name: string };
  limit_remaining: number;
  duration_until_reset?: { seconds: number; nanos?: number };
}
export interface RateLimitResponse {
  overall_code: number;
  statuses: DescriptorStatus[];
  response_headers_to_add: Array<{ key: string; value: string }>;
}

const loaderOptions: protoLoader.Options = { keepCase: true, longs: Number, enums: Number, defaults: false, oneofs: true };

function loadRoot(): protobuf.Root {
  const root = loadEnvoyProtos(["envoy/service/ratelimit/v3/rls.proto", "google/protobuf/wrappers.proto"]);
  addField(root, "envoy.extensions.common.ratelimit.v3.RateLimitDescriptor", "hits_addend", 3, "google.protobuf.UInt64Value");
  for (const name of ["envoy.service.ratelimit.v3.RateLimitResponse.RateLimit.Unit", "envoy.type.v3.RateLimitUnit"])
    addEnumValue(root, name, "WEEK", Unit.WEEK);
  root.resolveAll();
  return root;
}

let cached: grpc.ServiceDefinition | undefined;

/** The RateLimitService definition for grpc-js servers and clients (loaded once per process). */
export function rateLimitServiceDefinition(): grpc.ServiceDefinition {
  cached ??= grpcService(loadRoot(), RLS_SERVICE, loaderOptions);
  return cached;
}

/** A client constructor for tests and tools (`new RateLimitClient(address, credentials)`). */
export function rateLimitClientConstructor(): grpc.ServiceClientConstructor {
  return grpc.makeGenericClientConstructor(rateLimitServiceDefinition(), "RateLimitService");
}
