// Local token budgets in proxy-wasm shared data, shared by every worker VM of the plugin (same vm_id).
//
// A bucket is one fixed window of one rule for one client key: shared-data key
// "aigw.rl|<rule>|<client key>|<window>" holding the tokens spent or reserved so far (u64 LE). Admission
// reserves an estimate of the request's cost with compare-and-swap, so concurrent requests on any worker
// see each other's reservations and a burst cannot overshoot by much more than one request's estimate;
// the end of the response replaces the estimate with the real cost. Envoy AI Gateway charges only after
// the fact, which lets a burst through whole (its issue #2394).
//
// Shared data is a port (BudgetStore): the glue implements it with proxy-wasm's shared data (filter.ts),
// the logic tests with memory, where they can interleave another worker's writes.

import { SharedData, WasmResult } from "../../proxy-wasm";

const CAS_ATTEMPTS = 64;

/** Shared data as budgets use it, with Envoy's semantics. */
export abstract class BudgetStore {
  /** The key's value and CAS, or null when it is absent. */
  abstract get(key: string): SharedData | null;
  /** Writes when `cas` is the key's current CAS (0: unconditionally); else CasMismatch. */
  abstract set(key: string, value: ArrayBuffer, cas: u32): WasmResult;
}

export class BucketState {
  /** Tokens counted in the window after the operation. */
  spent: u64 = 0;
  /** Whether the operation was applied. */
  ok: bool = false;
}

function readU64(value: ArrayBuffer | null): u64 {
  return value != null && value.byteLength >= 8 ? load<u64>(changetype<usize>(value)) : 0;
}

const scratch = new ArrayBuffer(8);

function write(budgets: BudgetStore, key: string, value: u64, cas: u32): WasmResult {
  store<u64>(changetype<usize>(scratch), value);
  return budgets.set(key, scratch, cas);
}

/**
 * The key's value and CAS, creating it as 0 first: a set with cas 0 is unconditional in Envoy, so every
 * later update must carry a real CAS. Two workers creating the same key at once both write 0, which is
 * harmless; only a reservation landing between another worker's read-absent and its create can be lost.
 */
function existing(budgets: BudgetStore, key: string): SharedData {
  let current = budgets.get(key);
  if (current == null) {
    write(budgets, key, 0, 0);
    current = budgets.get(key);
  }
  return current == null ? new SharedData(new ArrayBuffer(8), 0) : current;
}

export function bucketKey(rule: string, client: string, window: u64): string {
  return "aigw.rl|" + rule + "|" + client + "|" + window.toString();
}

/** Reserves `amount` unless the bucket would go over `limit` (then nothing changes and ok is false). */
export function reserve(budgets: BudgetStore, key: string, amount: u64, limit: u64, out: BucketState): BucketState {
  for (let i = 0; i < CAS_ATTEMPTS; i++) {
    const current = existing(budgets, key);
    const spent = readU64(current.value);
    // A request is refused once the budget is used up, or when its estimate would clearly not fit; an
    // empty bucket always admits one request so that an estimate above the whole budget is not a ban.
    if (spent >= limit || (spent > 0 && spent + amount > limit)) {
      out.spent = spent;
      out.ok = false;
      return out;
    }
    const r = write(budgets, key, spent + amount, current.cas);
    if (r == WasmResult.Ok) {
      out.spent = spent + amount;
      out.ok = true;
      return out;
    }
    if (r != WasmResult.CasMismatch) break;
  }
  out.ok = false;
  return out;
}

/** Replaces a reservation by the real cost (never below zero). */
export function settle(budgets: BudgetStore, key: string, reserved: u64, actual: u64, out: BucketState): BucketState {
  for (let i = 0; i < CAS_ATTEMPTS; i++) {
    const current = existing(budgets, key);
    const spent = readU64(current.value);
    const base = spent > reserved ? spent - reserved : 0;
    const r = write(budgets, key, base + actual, current.cas);
    if (r == WasmResult.Ok) {
      out.spent = base + actual;
      out.ok = true;
      return out;
    }
    if (r != WasmResult.CasMismatch) break;
  }
  out.ok = false;
  return out;
}

/** Tokens counted so far in a bucket. */
export function spentIn(budgets: BudgetStore, key: string): u64 {
  const current = budgets.get(key);
  return current == null ? 0 : readU64(current.value);
}

/** Recent output of a model (an exponential average), for estimating requests without max_tokens. */
export function recentOutput(budgets: BudgetStore, model: string): u64 {
  const current = budgets.get("aigw.out|" + model);
  return current == null ? 0 : readU64(current.value);
}

export function recordOutput(budgets: BudgetStore, model: string, tokens: u64): void {
  const key = "aigw.out|" + model;
  for (let i = 0; i < CAS_ATTEMPTS; i++) {
    const current = budgets.get(key);
    const prev = current == null ? tokens : readU64(current.value);
    const next = (prev * 3 + tokens) / 4;
    const r = write(budgets, key, next, current == null ? 0 : current.cas);
    if (r != WasmResult.CasMismatch) return;
  }
}
