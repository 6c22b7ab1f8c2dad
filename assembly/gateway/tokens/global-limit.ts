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

import { Pair } from "../../proxy-wasm";
import { errorJson } from "../errors";
import { ProtoReader, ProtoWriter } from "../protobuf/wire";
import { HeaderSource } from "../request/route";
import { GrpcCallHandler, GrpcStatus, getCurrentTimeNanoseconds, logWarn } from "../../proxy-wasm";
import { TokenUsage } from "../response/usage";
import { Cost, RateLimitRule } from "./config";
import { ruleCost } from "./costs";
import { chargeAfterReservation, globalReservation } from "./estimate";
import { RlsCall, microsSince, recordRlsCall } from "./metrics";

export const RLS_SERVICE = "envoy.service.ratelimit.v3.RateLimitService";
export const RLS_METHOD = "ShouldRateLimit";

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
    } else if (reader.field == 2 && reader.bytesField()) {
      if (readStatus(reader.ptr, reader.len, a) == 2 && a.overIndex < 0) a.overIndex = index;
      index++;
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
    } else if (inner.field == 2 && inner.bytesField()) {
      limit = firstVarint(inner.ptr, inner.len); // RateLimit.requests_per_unit
      hasLimit = true;
    } else if (inner.field == 3) {
      remaining = inner.varintField();
    } else if (inner.field == 4 && inner.bytesField()) {
      reset = firstVarint(inner.ptr, inner.len); // Duration.seconds
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

export function globalLimitHeaders(a: RateLimitAnswer): Array<Pair> {
  if (a.remaining == u64.MAX_VALUE) return [];
  return [
    new Pair("x-ratelimit-limit", a.limit.toString()),
    new Pair("x-ratelimit-remaining", a.remaining.toString()),
    new Pair("x-ratelimit-reset", a.resetSeconds.toString()),
  ];
}

/** The 429 body: the budget that refused and what this request would have reserved in it. */
export function globalRefusalBody(check: GlobalCheck, answer: RateLimitAnswer): string {
  const i = answer.overIndex >= 0 && answer.overIndex < check.rules.length ? answer.overIndex : 0;
  const reserved = i < check.reserved.length ? check.reserved[i] : 0;
  return errorJson("RateLimitExceeded", "429", "token budget of rate limit " + check.rules[i].name +
    ": this request is estimated at " + reserved.toString() + " tokens and the window cannot hold them; retry in " +
    answer.resetSeconds.toString() + "s");
}

/** What each rule of the check reserves at admission for a request estimated at `estimate`. */
export function reservationHits(check: GlobalCheck, costs: Array<Cost>, estimate: TokenUsage, model: string,
  backend: string, route: string): Array<u64> {
  const hits = new Array<u64>();
  for (let i = 0; i < check.rules.length; i++) {
    const rule = check.rules[i];
    hits.push(globalReservation(ruleCost(rule, costs, estimate, model, backend, route), rule.limit));
  }
  check.reserved = hits;
  return hits;
}

/** What each rule still charges at the end of a 2xx response: the real cost above its reservation. */
export function settlementHits(check: GlobalCheck, costs: Array<Cost>, usage: TokenUsage, model: string,
  backend: string, route: string): Array<u64> {
  const hits = new Array<u64>();
  for (let i = 0; i < check.rules.length; i++) {
    const actual = ruleCost(check.rules[i], costs, usage, model, backend, route);
    hits.push(chargeAfterReservation(check.reserved[i], actual));
  }
  return hits;
}

/** Whether any of `hits` is above 0 (a charge worth sending). */
export function anyHits(hits: Array<u64>): bool {
  for (let i = 0; i < hits.length; i++) if (hits[i] > 0) return true;
  return false;
}

/** The charge's answer is not awaited; a failure is only logged (and counted). */
class ChargeOutcome implements GrpcCallHandler {
  /** Call token → when it was sent (ns). */
  private readonly sent: Map<u32, u64> = new Map();

  /** A charge went out as call `token` (0: it could not be started). */
  started(token: u32): void {
    if (token == 0) recordRlsCall(RlsCall.CHARGE, RlsCall.UNAVAILABLE, -1);
    else this.sent.set(token, getCurrentTimeNanoseconds());
  }

  onGrpcCallResponse(token: u32, status: GrpcStatus, size: u32): void {
    let us: i64 = -1;
    if (this.sent.has(token)) {
      us = <i64>microsSince(this.sent.get(token));
      this.sent.delete(token);
    }
    recordRlsCall(RlsCall.CHARGE, status == GrpcStatus.Ok ? RlsCall.OK : RlsCall.ERROR, us);
    if (status != GrpcStatus.Ok) logWarn("charging the rate limit service failed: grpc-status " + (<i32>status).toString());
  }
}
export const CHARGE_OUTCOME = new ChargeOutcome();
