// Token rate limits at the two ends of a request: admission reserves the request's estimated cost
// (estimate.ts, priced with the same cost the rule charges) in every Local budget that applies, and the end
// of the response replaces each reservation by the real cost. A refused request gets 429 with
// x-ratelimit-* headers that count what was really spent and reserved. An unshared rule's budget is kept
// per xDS route (route-key.ts), a shared one across all its routes. Budgets live behind the BudgetStore
// port (local-budget.ts), which the glue implements with proxy-wasm shared data.

import { errorJson } from "../errors";
import { HeaderSource } from "../request/route";
import { TokenUsage } from "../response/usage";
import { Cost, RateLimitRule, TokenConfig } from "./config";
import { ruleCost } from "./costs";
import { LimitHeaders } from "./limit-headers";
import { BucketState, BudgetStore, bucketKey, reserve, settle, spentIn } from "./local-budget";
import { counterName } from "./route-key";

export class Reservation {
  constructor(
    public rule: RateLimitRule,
    public key: string,
    public amount: u64,
    public windowEndSec: u64,
  ) {}
}

/** A 429: its JSON body and the full budget's figures. */
export class Refusal {
  constructor(
    public status: i32,
    public body: string,
    public limits: LimitHeaders,
  ) {}
}

const state = new BucketState();

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

/** A request's reservations (or its refusal), settled or given back in the store they were made in. */
export class Admission {
  reservations: Array<Reservation> = [];
  refusal: Refusal | null = null;

  constructor(readonly budgets: BudgetStore) {}

  /** Replaces every reservation by the real cost; returns the x-ratelimit-* figures of the tightest budget. */
  settle(costs: Array<Cost>, usage: TokenUsage | null, model: string, backend: string, route: string,
    nowSec: u64): LimitHeaders | null {
    const reservations = this.reservations;
    const spent = new Array<u64>(reservations.length);
    for (let i = 0; i < reservations.length; i++) {
      const r = reservations[i];
      settle(this.budgets, r.key, r.amount, ruleCost(r.rule, costs, usage, model, backend, route), state);
      spent[i] = state.spent;
    }
    return tightest(reservations, spent, nowSec);
  }

  /** The figures of the tightest budget as it stands now (reservations included), for a response start. */
  current(nowSec: u64): LimitHeaders | null {
    const reservations = this.reservations;
    const spent = new Array<u64>(reservations.length);
    for (let i = 0; i < reservations.length; i++) spent[i] = spentIn(this.budgets, reservations[i].key);
    return tightest(reservations, spent, nowSec);
  }

  /** Gives the reservations back: the request will not run (refused elsewhere, or failed before upstream). */
  release(): void {
    const reservations = this.reservations;
    for (let i = 0; i < reservations.length; i++) settle(this.budgets, reservations[i].key, reservations[i].amount, 0, state);
    reservations.length = 0;
  }
}

/**
 * Reserves the request's `estimate` in every applicable Local budget (the budget of `xdsRoute` for an
 * unshared rule); refuses on the first full one.
 */
export function admit(budgets: BudgetStore, config: TokenConfig, route: string, xdsRoute: string, model: string,
  backend: string, headers: HeaderSource, estimate: TokenUsage, nowSec: u64): Admission {
  const result = new Admission(budgets);
  const rules = config.rateLimits;
  if (rules.length == 0) return result;
  const costs = config.costsFor(route);
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i];
    if (rule.global || !rule.appliesTo(route)) continue;
    const client = clientKey(rule, headers);
    if (client == null) continue;
    const window = nowSec / rule.unitSeconds;
    const key = bucketKey(counterName(rule, xdsRoute), client, window);
    const amount = ruleCost(rule, costs, estimate, model, backend, route);
    const windowEnd = (window + 1) * rule.unitSeconds;
    reserve(budgets, key, amount, rule.limit, state);
    if (!state.ok) {
      result.release();
      result.refusal = refusal(rule, state.spent, amount, windowEnd - nowSec);
      return result;
    }
    result.reservations.push(new Reservation(rule, key, amount, windowEnd));
  }
  return result;
}

/** x-ratelimit-* of the budget with the fewest tokens left, `spent[i]` being budget i's count. */
function tightest(reservations: Array<Reservation>, spent: Array<u64>, nowSec: u64): LimitHeaders | null {
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
  if (best < 0) return null;
  const r = reservations[best];
  return new LimitHeaders(r.rule.limit, bestRemaining, r.windowEndSec > nowSec ? r.windowEndSec - nowSec : 0);
}

function refusal(rule: RateLimitRule, spent: u64, estimate: u64, resetSec: u64): Refusal {
  const remaining = spent >= rule.limit ? 0 : rule.limit - spent;
  const body = errorJson("RateLimitExceeded", "429",
    "token budget of rate limit " + rule.name + ": " + spent.toString() + " of " + rule.limit.toString() +
    " tokens used or reserved in this window, and this request is estimated at " + estimate.toString() +
    "; retry in " + resetSec.toString() + "s");
  return new Refusal(429, body, new LimitHeaders(rule.limit, remaining, resetSec));
}
