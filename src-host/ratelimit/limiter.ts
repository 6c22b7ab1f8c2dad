// ShouldRateLimit as envoyproxy/ratelimit answers it, with in-memory counters:
// - each descriptor is looked up on its own: its `limit` override if present, else the Global rule it is a
//   descriptor of (descriptors.ts); a descriptor without a limit is OK with no current_limit;
// - hits: the descriptor's hits_addend when set (0 = check only), else max(1, request hits_addend);
// - fixed windows aligned to the clock: the counter key holds floor(now / unit) * unit, so a window ends
//   at the next multiple of the unit (in UTC seconds); every hit is counted, even over the limit;
// - OVER_LIMIT when the counter after the hits exceeds requests_per_unit; limit_remaining is
//   limit - counter (0 when over); duration_until_reset is unit - now % unit seconds;
// - overall_code OVER_LIMIT when any descriptor is; an empty domain or descriptor list is an error.
// With response headers enabled (LIMIT_RESPONSE_HEADERS_ENABLED), the descriptor closest to its limit
// (an over-limit one first) is reported in RateLimit-Limit / -Remaining / -Reset.

import type { RateLimitConfig } from "../config/plugin-config.js";
import { matchesRule, RULE_DESCRIPTOR_KEY } from "./descriptors.js";
import { Code, Unit, UNIT_SECONDS, type DescriptorStatus, type RateLimitRequest, type RateLimitResponse } from "./proto.js";

export interface ResponseHeaderNames {
  limit: string;
  remaining: string;
  reset: string;
}

/** envoyproxy/ratelimit's defaults (LIMIT_LIMIT_HEADER, LIMIT_REMAINING_HEADER, LIMIT_RESET_HEADER). */
export const DEFAULT_RESPONSE_HEADERS: ResponseHeaderNames = { limit: "RateLimit-Limit", remaining: "RateLimit-Remaining", reset: "RateLimit-Reset" };

/** A request the service refuses; `code` is the gRPC status code. */
export class RateLimitRequestError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const GRPC_UNKNOWN = 2;
const GRPC_INVALID_ARGUMENT = 3;
const SWEEP_INTERVAL_SECONDS = 60;

interface Limit {
  requestsPerUnit: number;
  unit: number;
  name: string;
}

export class RateLimiter {
  /** domain → rule name → rule */
  private readonly rules = new Map<string, Map<string, { rule: RateLimitConfig; unit: number }>>();
  private readonly counters = new Map<string, { count: number; expires: number }>();
  private nextSweep = 0;

  constructor(
    rules: RateLimitConfig[],
    private readonly now: () => number = Date.now,
    private readonly headers?: ResponseHeaderNames,
  ) {
    for (const rule of rules) {
      if (rule.type !== "Global") continue; // Local budgets live in the filter
      const unit = unitOf(rule.unitSeconds);
      if (unit === undefined) throw new Error(`rate limit rule ${rule.name}: unit of ${rule.unitSeconds} s is not a rate limit unit`);
      let byName = this.rules.get(rule.domain);
      if (!byName) this.rules.set(rule.domain, (byName = new Map()));
      if (byName.has(rule.name)) throw new Error(`rate limit rule ${rule.name} is defined twice in domain ${rule.domain}`);
      byName.set(rule.name, { rule, unit });
    }
  }

  shouldRateLimit(req: RateLimitRequest): RateLimitResponse {
    const domain = req.domain ?? "";
    const descriptors = req.descriptors ?? [];
    if (domain === "") throw new RateLimitRequestError(GRPC_UNKNOWN, "rate limit domain must not be empty");
    if (descriptors.length === 0) throw new RateLimitRequestError(GRPC_UNKNOWN, "rate limit descriptor list must not be empty");
    const now = Math.floor(this.now() / 1000);
    this.sweep(now);
    const requestHits = Math.max(1, req.hits_addend ?? 0);

    const statuses: DescriptorStatus[] = [];
    let over = false;
    let closest: DescriptorStatus | undefined;
    for (const [i, d] of descriptors.entries()) {
      const entries = d.entries ?? [];
      const limit = this.limitOf(domain, d, i);
      if (!limit) {
        statuses.push({ code: Code.OK, limit_remaining: 0 });
        continue;
      }
      const hits = d.hits_addend ? (d.hits_addend.value ?? 0) : requestHits;
      const divider = UNIT_SECONDS[limit.unit]!;
      const windowStart = Math.floor(now / divider) * divider;
      const key = JSON.stringify([domain, entries.map((e) => [e.key, e.value]), divider, windowStart]);
      const counter = this.counters.get(key);
      const after = (counter?.count ?? 0) + hits;
      if (hits > 0) {
        if (counter) counter.count = after;
        else this.counters.set(key, { count: after, expires: windowStart + divider });
      }
      const isOver = after > limit.requestsPerUnit;
      const status: DescriptorStatus = {
        code: isOver ? Code.OVER_LIMIT : Code.OK,
        current_limit: { requests_per_unit: limit.requestsPerUnit, unit: limit.unit, name: limit.name },
        limit_remaining: isOver ? 0 : limit.requestsPerUnit - after,
        duration_until_reset: { seconds: divider - (now % divider) },
      };
      statuses.push(status);
      if (isOver) {
        over = true;
        closest = status;
      } else if (!over && (!closest || status.limit_remaining < closest.limit_remaining)) {
        closest = status;
      }
    }
    const response: RateLimitResponse = { overall_code: over ? Code.OVER_LIMIT : Code.OK, statuses, response_headers_to_add: [] };
    if (this.headers && closest?.current_limit) {
      response.response_headers_to_add.push(
        { key: this.headers.limit, value: String(closest.current_limit.requests_per_unit) },
        { key: this.headers.remaining, value: String(closest.limit_remaining) },
        { key: this.headers.reset, value: String(closest.duration_until_reset!.seconds) },
      );
    }
    return response;
  }

  /** Counters currently held (for tests and diagnostics). */
  get size(): number {
    return this.counters.size;
  }

  private limitOf(domain: string, d: NonNullable<RateLimitRequest["descriptors"]>[number], index: number): Limit | undefined {
    const entries = d.entries ?? [];
    const first = entries[0];
    const found = first?.key === RULE_DESCRIPTOR_KEY ? this.rules.get(domain)?.get(first.value) : undefined;
    const matched = found && matchesRule(found.rule, entries) ? found : undefined;
    if (d.limit) {
      const unit = d.limit.unit ?? Unit.UNKNOWN;
      if (UNIT_SECONDS[unit] === undefined) {
        throw new RateLimitRequestError(GRPC_INVALID_ARGUMENT, `descriptors[${index}].limit: unit ${unit} is not a rate limit unit`);
      }
      return { requestsPerUnit: d.limit.requests_per_unit ?? 0, unit, name: matched?.rule.name ?? "" };
    }
    return matched ? { requestsPerUnit: matched.rule.limit, unit: matched.unit, name: matched.rule.name } : undefined;
  }

  private sweep(now: number): void {
    if (now < this.nextSweep) return;
    this.nextSweep = now + SWEEP_INTERVAL_SECONDS;
    for (const [key, c] of this.counters) if (c.expires <= now) this.counters.delete(key);
  }
}

function unitOf(seconds: number): number | undefined {
  for (const [unit, s] of Object.entries(UNIT_SECONDS)) if (s === seconds) return Number(unit);
  return undefined;
}
