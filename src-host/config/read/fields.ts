// Typed reads of an object's fields. A wrong type or a missing required field is recorded as a problem
// naming the field path, and the read returns undefined (or an empty value) so that checking goes on and
// every problem of the configuration is reported at once.

import { isRecord } from "./manifests.js";
import type { AppliedObject } from "./objects.js";
import type { Problems } from "./problems.js";

export type Json = Record<string, unknown>;

export class Fields {
  constructor(
    readonly problems: Problems,
    readonly obj: AppliedObject,
  ) {}

  fail(field: string, message: string): void {
    this.problems.error(this.obj, field, message);
  }

  warn(field: string, message: string): void {
    this.problems.warn(this.obj, field, message);
  }

  record(value: unknown, field: string, required = false): Json | undefined {
    if (value === undefined || value === null) {
      if (required) this.fail(field, "required");
      return undefined;
    }
    if (!isRecord(value)) {
      this.fail(field, "must be a mapping");
      return undefined;
    }
    return value;
  }

  list(value: unknown, field: string, required = false): unknown[] {
    if (value === undefined || value === null) {
      if (required) this.fail(field, "required");
      return [];
    }
    if (!Array.isArray(value)) {
      this.fail(field, "must be a list");
      return [];
    }
    return value;
  }

  /** Like list, but each element must be a mapping; yields [element, its field path]. */
  records(value: unknown, field: string, required = false): Array<[Json, string]> {
    const out: Array<[Json, string]> = [];
    this.list(value, field, required).forEach((v, i) => {
      const r = this.record(v, `${field}[${i}]`, true);
      if (r) out.push([r, `${field}[${i}]`]);
    });
    return out;
  }

  string(value: unknown, field: string, required = false): string | undefined {
    if (value === undefined || value === null) {
      if (required) this.fail(field, "required");
      return undefined;
    }
    if (typeof value !== "string") {
      this.fail(field, `must be a string, got ${typeName(value)}`);
      return undefined;
    }
    if (required && value === "") {
      this.fail(field, "must not be empty");
      return undefined;
    }
    return value;
  }

  int(value: unknown, field: string, opts: { required?: boolean; min?: number; max?: number } = {}): number | undefined {
    if (value === undefined || value === null) {
      if (opts.required) this.fail(field, "required");
      return undefined;
    }
    if (typeof value !== "number" || !Number.isInteger(value)) {
      this.fail(field, `must be an integer, got ${typeName(value)}`);
      return undefined;
    }
    if ((opts.min !== undefined && value < opts.min) || (opts.max !== undefined && value > opts.max)) {
      this.fail(field, `must be between ${opts.min ?? "-∞"} and ${opts.max ?? "∞"}, got ${value}`);
      return undefined;
    }
    return value;
  }

  port(value: unknown, field: string, required = false): number | undefined {
    return this.int(value, field, { required, min: 1, max: 65535 });
  }

  /** A string → string map such as labels, selectors and ConfigMap data. */
  stringMap(value: unknown, field: string, required = false): Record<string, string> {
    const r = this.record(value, field, required);
    const out: Record<string, string> = {};
    if (!r) return out;
    for (const [k, v] of Object.entries(r)) {
      if (typeof v === "string") out[k] = v;
      else this.fail(`${field}.${k}`, `must be a string, got ${typeName(v)}`);
    }
    return out;
  }

  /** One of a fixed set of strings. */
  oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[], fallback: T): T {
    const s = this.string(value, field);
    if (s === undefined) return fallback;
    if ((allowed as readonly string[]).includes(s)) return s as T;
    this.fail(field, `must be one of ${allowed.join(", ")}, got "${s}"`);
    return fallback;
  }
}

function typeName(v: unknown): string {
  if (Array.isArray(v)) return "a list";
  if (v === null) return "null";
  if (typeof v === "object") return "a mapping";
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** Gateway API Duration: 1 to 4 groups of up to 5 digits with h, m, s or ms ("1h30m", "500ms"). */
export function parseDuration(f: Fields, value: unknown, field: string): number | undefined {
  if (typeof value !== "string" || !/^([0-9]{1,5}(h|m|s|ms)){1,4}$/.test(value)) {
    f.fail(field, `must be a Gateway API duration such as "60s" or "1m30s", got ${JSON.stringify(value)}`);
    return undefined;
  }
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  let ms = 0;
  for (const [, n, u] of value.matchAll(/([0-9]+)(ms|h|m|s)/g)) ms += Number(n) * unit[u!]!;
  return ms;
}
