// Global token limits through a rate limit service (envoy.service.ratelimit.v3.RateLimitService, the
// protocol of envoyproxy/ratelimit), with the descriptor scheme of src-host/ratelimit/descriptors.ts:
//
//   RateLimitRequest { domain: rule.domain,
//     descriptors: one per Global rule that applies: entries [("rule", rule.name), ("route", xDS route)
//                  unless the rule is shared, (header, value)...] in the rule's header order (Exact: the
//                  configured value; Distinct: the request's), hits_addend { value: n } }
//
// Admission reserves: n = the rule's cost of the request's estimate (estimate.ts), at most the limit, and
// waits for the answer, so concurrent requests see each other's reservations in the service's counter. The
// end of a 2xx response sends n = what the real cost exceeds the reservation by, and does not wait; the
// service cannot take hits back, so what an estimate over-counts stays counted for the window.
//
// The calls themselves are the RateLimitService port, which the glue implements with proxy-wasm gRPC calls
// (host-ports.ts).

import { errorJson } from "../errors";
import { ProtoReader, ProtoWriter } from "../protobuf/wire";
import { HeaderSource } from "../request/route";
import { TokenUsage } from "../response/usage";
import { Cost, RateLimitRule } from "./config";
import { ruleCost } from "./costs";
import { chargeAfterReservation, globalReservation } from "./estimate";
import { LimitHeaders } from "./limit-headers";

export const RLS_SERVICE = "envoy.service.ratelimit.v3.RateLimitService";
export const RLS_METHOD = "ShouldRateLimit";

/** The rate limit service as admission and settlement call it (the rule's cluster, a RateLimitRequest). */
export abstract class RateLimitService {
  /** Sends the admission check, whose answer the request waits for; false when it could not be started. */
  abstract check(cluster: string, request: ArrayBuffer, timeoutMs: u32): bool;
  /** Sends a charge that nobody waits for and that outlives the request. */
  abstract charge(cluster: string, request: ArrayBuffer, timeoutMs: u32): void;
}

const writer = new ProtoWriter(512);
const reader = new ProtoReader();
const inner = new ProtoReader();
const leaf = new ProtoReader();

/** The Global rules that apply to a request, with the header values their descriptors carry. */
export class GlobalCheck {
  rules: Array<RateLimitRule> = [];
  values: Array<Array<string>> = [];
  /** What admission reserved per rule (hits_addend). */
  reserved: Array<u64> = [];

  constructor(
    /** The request's xDS route: the counter of every unshared rule (route-key.ts). */
    public xdsRoute: string,
  ) {}

  /** The service was not reached: nothing is reserved, the end of the response charges the whole cost. */
  unreserved(): void {
    for (let i = 0; i < this.reserved.length; i++) this.reserved[i] = 0;
  }

  get empty(): bool {
    return this.rules.length == 0;
  }
}

export function applicableGlobalRules(rules: Array<RateLimitRule>, route: string, xdsRoute: string,
  headers: HeaderSource): GlobalCheck {
  const check = new GlobalCheck(xdsRoute);
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i];
    if (!rule.global || !rule.appliesTo(route)) continue;
    const values = new Array<string>();
    let applies = true;
    for (let j = 0; j < rule.headers.length; j++) {
      const h = rule.headers[j];
      const v = headers.get(h.name);
      if (v == null || v.length == 0 || (!h.distinct && v != h.value)) {
        applies = false;
        break;
      }
      values.push(h.distinct ? v : h.value);
    }
    if (!applies) continue;
    check.rules.push(rule);
    check.values.push(values);
  }
  return check;
}

/** RateLimitRequest for the check's rules; `hits[i]` is what descriptor i adds. */
export function encodeRateLimitRequest(check: GlobalCheck, hits: Array<u64>): ArrayBuffer {
  writer.reset();
  writer.stringField(1, check.rules[0].domain);
  for (let i = 0; i < check.rules.length; i++) {
    const rule = check.rules[i];
    const d = writer.begin(2);
    entry(1, "rule", rule.name);
    if (!rule.shared) entry(1, "route", check.xdsRoute);
    for (let j = 0; j < rule.headers.length; j++) entry(1, rule.headers[j].name, check.values[i][j]);
    const addend = writer.begin(3); // google.protobuf.UInt64Value: present even when 0 (a pure check)
    writer.uintField(1, hits[i]);
    writer.end(addend);
    writer.end(d);
  }
  return writer.toArrayBuffer();
}

function entry(field: u32, key: string, value: string): void {
  const e = writer.begin(field);
  writer.stringField(1, key);
  writer.stringField(2, value);
  writer.end(e);
}

/** What the service answered: over limit or not, and the tightest descriptor's figures. */
export class RateLimitAnswer {
  ok: bool = false;
  overLimit: bool = false;
  limit: u64 = 0;
  remaining: u64 = u64.MAX_VALUE;
  resetSeconds: u64 = 0;
  /** The first descriptor over its limit, or -1. */
  overIndex: i32 = -1;
}

/** Decodes a RateLimitResponse; null when the bytes are not one. */
export function decodeRateLimitResponse(ptr: usize, len: i32): RateLimitAnswer | null {
  const a = new RateLimitAnswer();
  reader.reset(ptr, len);
  let index = 0;
  while (reader.next()) {
    if (reader.field == 1) {
      const code = reader.varintField();
      a.ok = code == 1;
      a.overLimit = code == 2;
    } else if (reader.field == 2) {
      // bytesField skips a statuses field of another wire type, as an unknown field.
      if (reader.bytesField()) {
        if (readStatus(reader.ptr, reader.len, a) == 2 && a.overIndex < 0) a.overIndex = index;
        index++;
      }
    } else {
      reader.skip();
    }
  }
  return reader.error == 0 ? a : null;
}

// DescriptorStatus { code 1, current_limit 2 { requests_per_unit 1 }, limit_remaining 3, duration_until_reset 4 }
function readStatus(ptr: usize, len: i32, a: RateLimitAnswer): u64 {
  inner.reset(ptr, len);
  let code: u64 = 0;
  let limit: u64 = 0;
  let remaining: u64 = 0;
  let reset: u64 = 0;
  let hasLimit = false;
  while (inner.next()) {
    if (inner.field == 1) {
      code = inner.varintField();
    } else if (inner.field == 2) {
      if (inner.bytesField()) {
        limit = firstVarint(inner.ptr, inner.len); // RateLimit.requests_per_unit
        hasLimit = true;
      }
    } else if (inner.field == 3) {
      remaining = inner.varintField();
    } else if (inner.field == 4) {
      if (inner.bytesField()) reset = firstVarint(inner.ptr, inner.len); // Duration.seconds
    } else {
      inner.skip();
    }
  }
  if (hasLimit && remaining < a.remaining) {
    a.limit = limit;
    a.remaining = remaining;
    a.resetSeconds = reset;
  }
  return code;
}

/** Field 1 of a small message as a varint (0 when absent). */
function firstVarint(ptr: usize, len: i32): u64 {
  leaf.reset(ptr, len);
  let v: u64 = 0;
  while (leaf.next()) {
    if (leaf.field == 1) v = leaf.varintField();
    else leaf.skip();
  }
  return v;
}

/** The tightest descriptor's figures, or null when the answer had none. */
export function globalLimitHeaders(a: RateLimitAnswer): LimitHeaders | null {
  return a.remaining == u64.MAX_VALUE ? null : new LimitHeaders(a.limit, a.remaining, a.resetSeconds);
}

/** The 429 body: the budget that refused and what this request would have reserved in it. */
export function globalRefusalBody(check: GlobalCheck, answer: RateLimitAnswer): string {
  const i = answer.overIndex >= 0 && answer.overIndex < check.rules.length ? answer.overIndex : 0;
  const reserved = i < check.reserved.length ? check.reserved[i] : 0;
  return errorJson("RateLimitExceeded", "429", "token budget of rate limit " + check.rules[i].name +
    ": this request is estimated at " + reserved.toString() + " tokens and the window cannot hold them; retry in " +
    answer.resetSeconds.toString() + "s");
}

/**
 * Admission: reserves in the service what each rule of the check charges for a request estimated at
 * `estimate`; false when the check could not be sent.
 */
export function sendReservation(service: RateLimitService, check: GlobalCheck, costs: Array<Cost>, estimate: TokenUsage,
  model: string, backend: string, route: string): bool {
  const hits = new Array<u64>();
  for (let i = 0; i < check.rules.length; i++) {
    const rule = check.rules[i];
    hits.push(globalReservation(ruleCost(rule, costs, estimate, model, backend, route), rule.limit));
  }
  check.reserved = hits;
  const first = check.rules[0];
  return service.check(first.rlsCluster, encodeRateLimitRequest(check, hits), first.timeoutMs);
}

/**
 * The end of a 2xx response: charges what each rule's real cost exceeds its reservation by (a reservation
 * above it stays counted); nothing is sent when no rule has more to charge.
 */
export function sendSettlement(service: RateLimitService, check: GlobalCheck, costs: Array<Cost>, usage: TokenUsage,
  model: string, backend: string, route: string): void {
  const hits = new Array<u64>();
  let any = false;
  for (let i = 0; i < check.rules.length; i++) {
    const hit = chargeAfterReservation(check.reserved[i], ruleCost(check.rules[i], costs, usage, model, backend, route));
    hits.push(hit);
    if (hit > 0) any = true;
  }
  if (!any) return;
  const first = check.rules[0];
  service.charge(first.rlsCluster, encodeRateLimitRequest(check, hits), first.timeoutMs);
}
