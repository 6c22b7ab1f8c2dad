// Token rate limits at the two ends of a request: admission reserves an estimate of the request's cost in
// every Local budget that applies (input tokens from the body size, output tokens from max_tokens or what
// the model returned recently, priced with the same cost the rule charges), and the end of the response
// replaces each reservation by the real cost. A refused request gets 429 with x-ratelimit-* headers that
// count what was really spent and reserved.

import { Pair } from "../../proxy-wasm";
import { errorJson } from "../errors";
import { HeaderSource } from "../request/route";
import { JsonReader } from "../json/reader";
import { KIND_NUMBER, KIND_OBJECT } from "../json/scan";
import { TokenUsage } from "../response/usage";
import { Cost, RateLimitRule, TokenConfig } from "./config";
import { costValue } from "./costs";
import { BucketState, bucketKey, recentOutput, reserve, settle, spentIn } from "./local-budget";

/** Roughly 4 bytes of JSON per prompt token (OpenAI's rule of thumb). */
const BYTES_PER_TOKEN: u64 = 4;

export class Reservation {
  constructor(
    public rule: RateLimitRule,
    public key: string,
    public amount: u64,
    public windowEndSec: u64,
  ) {}
}

export class Refusal {
  constructor(
    public status: i32,
    public body: string,
    public headers: Array<Pair>,
  ) {}
}

const state = new BucketState();
const reader = new JsonReader(0, 0);

/** max_tokens or max_completion_tokens at the top level of a request body, or -1. */
export function requestedOutputTokens(ptr: usize, len: usize): i64 {
  reader.reset(ptr, len);
  if (reader.kind() != KIND_OBJECT || !reader.enterObject()) return -1;
  let result: i64 = -1;
  while (reader.nextMember()) {
    if ((reader.keyIs("max_tokens") || reader.keyIs("max_completion_tokens")) && reader.kind() == KIND_NUMBER) {
      result = reader.readInteger();
    } else if (!reader.skip()) {
      return -1;
    }
  }
  return result;
}

/** The bucket key of `rule` for this request, or null when its selectors do not match. */
function clientKey(rule: RateLimitRule, headers: HeaderSource): string | null {
  let key = "";
  for (let i = 0; i < rule.headers.length; i++) {
    const h = rule.headers[i];
    const value = headers.get(h.name);
    if (value == null) return null;
    if (!h.distinct && value != h.value) return null;
    key += (i > 0 ? "|" : "") + h.name + "=" + value;
  }
  return key;
}

function findCost(costs: Array<Cost>, key: string): Cost | null {
  for (let i = 0; i < costs.length; i++) if (costs[i].metadataKey == key) return costs[i];
  return null;
}

/** What `rule` charges for `usage` (request part included once). */
export function ruleCost(rule: RateLimitRule, costs: Array<Cost>, usage: TokenUsage | null, model: string,
  backend: string, route: string): u64 {
  let amount = rule.requestCost.metadataKey.length == 0 ? rule.requestCost.number : 0;
  const responseKey = rule.responseCost.metadataKey;
  if (responseKey.length == 0) return amount + rule.responseCost.number;
  if (usage == null) return amount;
  const cost = findCost(costs, responseKey);
  if (cost == null) return amount;
  const v = costValue(cost, usage, model, backend, route);
  return v > 0 ? amount + <u64>v : amount;
}

export class Admission {
  reservations: Array<Reservation> = [];
  refusal: Refusal | null = null;
}

const estimate = new TokenUsage();

/** Reserves the request's estimated cost in every applicable Local budget; refuses on the first full one. */
export function admit(config: TokenConfig, route: string, model: string, backend: string, headers: HeaderSource,
  bodyLength: usize, maxTokens: i64, nowSec: u64): Admission {
  const result = new Admission();
  const rules = config.rateLimits;
  if (rules.length == 0) return result;
  const costs = config.costsFor(route);
  estimate.reset();
  estimate.inputTokens = <u64>bodyLength / BYTES_PER_TOKEN;
  estimate.outputTokens = maxTokens >= 0 ? <u64>maxTokens : recentOutput(model);
  estimate.totalTokens = estimate.inputTokens + estimate.outputTokens;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i];
    if (rule.global || !rule.appliesTo(route)) continue;
    const client = clientKey(rule, headers);
    if (client == null) continue;
    const window = nowSec / rule.unitSeconds;
    const key = bucketKey(rule.name, client, window);
    const amount = ruleCost(rule, costs, estimate, model, backend, route);
    const windowEnd = (window + 1) * rule.unitSeconds;
    reserve(key, amount, rule.limit, state);
    if (!state.ok) {
      release(result.reservations);
      result.reservations.length = 0;
      result.refusal = refusal(rule, state.spent, amount, windowEnd - nowSec);
      return result;
    }
    result.reservations.push(new Reservation(rule, key, amount, windowEnd));
  }
  return result;
}

/** Replaces every reservation by the real cost; returns the x-ratelimit-* headers of the tightest budget. */
export function settleAll(reservations: Array<Reservation>, costs: Array<Cost>, usage: TokenUsage | null,
  model: string, backend: string, route: string, nowSec: u64): Array<Pair> {
  const spent = new Array<u64>(reservations.length);
  for (let i = 0; i < reservations.length; i++) {
    const r = reservations[i];
    settle(r.key, r.amount, ruleCost(r.rule, costs, usage, model, backend, route), state);
    spent[i] = state.spent;
  }
  return tightest(reservations, spent, nowSec);
}

/** The headers for the tightest budget as it stands now (including reservations), for a response start. */
export function currentHeaders(reservations: Array<Reservation>, nowSec: u64): Array<Pair> {
  const spent = new Array<u64>(reservations.length);
  for (let i = 0; i < reservations.length; i++) spent[i] = spentIn(reservations[i].key);
  return tightest(reservations, spent, nowSec);
}

/** x-ratelimit-* of the budget with the fewest tokens left, `spent[i]` being budget i's count. */
function tightest(reservations: Array<Reservation>, spent: Array<u64>, nowSec: u64): Array<Pair> {
  let best = -1;
  let bestRemaining: u64 = u64.MAX_VALUE;
  for (let i = 0; i < reservations.length; i++) {
    const limit = reservations[i].rule.limit;
    const remaining = spent[i] >= limit ? 0 : limit - spent[i];
    if (remaining < bestRemaining) {
      bestRemaining = remaining;
      best = i;
    }
  }
  if (best < 0) return [];
  const r = reservations[best];
  return limitHeaders(r.rule.limit, bestRemaining, r.windowEndSec > nowSec ? r.windowEndSec - nowSec : 0);
}

/** Gives back reservations of a request that will not run (refused elsewhere, or failed before upstream). */
export function release(reservations: Array<Reservation>): void {
  for (let i = 0; i < reservations.length; i++) settle(reservations[i].key, reservations[i].amount, 0, state);
}

function limitHeaders(limit: u64, remaining: u64, resetSec: u64): Array<Pair> {
  return [
    new Pair("x-ratelimit-limit", limit.toString()),
    new Pair("x-ratelimit-remaining", remaining.toString()),
    new Pair("x-ratelimit-reset", resetSec.toString()),
  ];
}

function refusal(rule: RateLimitRule, spent: u64, estimate: u64, resetSec: u64): Refusal {
  const remaining = spent >= rule.limit ? 0 : rule.limit - spent;
  const headers = limitHeaders(rule.limit, remaining, resetSec);
  headers.push(new Pair("content-type", "application/json"));
  const body = errorJson("RateLimitExceeded", "429",
    "token budget of rate limit " + rule.name + ": " + spent.toString() + " of " + rule.limit.toString() +
    " tokens used or reserved in this window, and this request is estimated at " + estimate.toString() +
    "; retry in " + resetSec.toString() + "s");
  return new Refusal(429, body, headers);
}
