// Global token limits through a rate limit service (envoy.service.ratelimit.v3.RateLimitService, the
// protocol of envoyproxy/ratelimit), with the descriptor scheme of src-host/ratelimit/descriptors.ts:
//
//   RateLimitRequest { domain: rule.domain,
//     descriptors: one per Global rule that applies: entries [("rule", rule.name), (header, value)...]
//                  in the rule's header order (Exact: the configured value; Distinct: the request's),
//                  hits_addend { value: n } }
//
// Admission sends n = the rule's request cost (0: only a check) and waits for the answer; the end of a 2xx
// response sends n = the real cost and does not wait. A burst can therefore overshoot a Global budget by
// the requests admitted before the first charges land (Local budgets reserve instead, local-budget.ts).

import { Pair } from "../../proxy-wasm";
import { errorJson } from "../errors";
import { ProtoReader, ProtoWriter } from "../extproc/wire";
import { HeaderSource } from "../request/route";
import { GrpcCallHandler, GrpcStatus, getCurrentTimeNanoseconds, logWarn } from "../../proxy-wasm";
import { TokenUsage } from "../response/usage";
import { Cost, RateLimitRule } from "./config";
import { costValue } from "./costs";
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

  get empty(): bool {
    return this.rules.length == 0;
  }
}

export function applicableGlobalRules(rules: Array<RateLimitRule>, route: string, headers: HeaderSource): GlobalCheck {
  const check = new GlobalCheck();
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
}

/** Decodes a RateLimitResponse; null when the bytes are not one. */
export function decodeRateLimitResponse(ptr: usize, len: i32): RateLimitAnswer | null {
  const a = new RateLimitAnswer();
  reader.reset(ptr, len);
  while (reader.next()) {
    if (reader.field == 1) {
      const code = reader.varintField();
      a.ok = code == 1;
      a.overLimit = code == 2;
    } else if (reader.field == 2 && reader.bytesField()) {
      readStatus(reader.ptr, reader.len, a);
    } else {
      reader.skip();
    }
  }
  return reader.error == 0 ? a : null;
}

// DescriptorStatus { code 1, current_limit 2 { requests_per_unit 1 }, limit_remaining 3, duration_until_reset 4 }
function readStatus(ptr: usize, len: i32, a: RateLimitAnswer): void {
  inner.reset(ptr, len);
  let limit: u64 = 0;
  let remaining: u64 = 0;
  let reset: u64 = 0;
  let hasLimit = false;
  while (inner.next()) {
    if (inner.field == 2 && inner.bytesField()) {
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

export function globalRefusalBody(check: GlobalCheck): string {
  return errorJson("RateLimitExceeded", "429", "token budget of rate limit " + check.rules[0].name + " is used up for this window");
}

/** What each rule of the check charges at the end of a 2xx response (its response cost). */
export function responseHits(check: GlobalCheck, costs: Array<Cost>, usage: TokenUsage, model: string, backend: string,
  route: string): Array<u64> {
  const hits = new Array<u64>();
  for (let i = 0; i < check.rules.length; i++) {
    const c = check.rules[i].responseCost;
    let n: u64 = c.number;
    if (c.metadataKey.length > 0) {
      n = 0;
      for (let j = 0; j < costs.length; j++) {
        if (costs[j].metadataKey != c.metadataKey) continue;
        const v = costValue(costs[j], usage, model, backend, route);
        if (v > 0) n = <u64>v;
      }
    }
    hits.push(n);
  }
  return hits;
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
