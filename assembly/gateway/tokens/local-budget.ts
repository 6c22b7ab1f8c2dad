// Local token budgets in proxy-wasm shared data, shared by every worker VM of the plugin (same vm_id).
//
// A bucket is one fixed window of one rule for one client key: shared-data key
// "aigw.rl|<rule>|<client key>|<window>" holding the tokens spent or reserved so far (u64 LE). Admission
// reserves an estimate of the request's cost with compare-and-swap, so concurrent requests on any worker
// see each other's reservations and a burst cannot overshoot by much more than one request's estimate;
// the end of the response replaces the estimate with the real cost. Envoy AI Gateway charges only after
// the fact, which lets a burst through whole (its issue #2394).
//
// Shared data is a port (BudgetStore): the glue implements it with proxy-wasm's shared data (host-ports.ts,
// the count as u64 LE), the logic tests with memory, where they can interleave another worker's writes.

const CAS_ATTEMPTS = 64;

/** A key's token count and its CAS. */
export class BudgetEntry {
  tokens: u64 = 0;
  cas: u32 = 0;
}

/** How a write ended. */
export enum BudgetWrite {
  Written,
  /** Another write came first: read again. */
  CasMismatch,
  Failed,
}

/** Shared data as budgets use it, with Envoy's semantics: one u64 count per key. */
export abstract class BudgetStore {
  /** Reads the key's count and CAS into `out`; false when the key is absent. */
  abstract read(key: string, out: BudgetEntry): bool;
  /** Writes `tokens` when `cas` is the key's current CAS (0: unconditionally). */
  abstract write(key: string, tokens: u64, cas: u32): BudgetWrite;
}

export class BucketState {
  /** Tokens counted in the window after the operation. */
  spent: u64 = 0;
  /** Whether the operation was applied. */
  ok: bool = false;
}

const entry = new BudgetEntry();

/**
 * The key's count and CAS, creating it as 0 first: a set with cas 0 is unconditional in Envoy, so every
 * later update must carry a real CAS. Two workers creating the same key at once both write 0, which is
 * harmless; only a reservation landing between another worker's read-absent and its create can be lost.
 */
function existing(budgets: BudgetStore, key: string): BudgetEntry {
  if (!budgets.read(key, entry)) {
    budgets.write(key, 0, 0);
    if (!budgets.read(key, entry)) {
      entry.tokens = 0;
      entry.cas = 0;
    }
  }
  return entry;
}

export function bucketKey(rule: string, client: string, window: u64): string {
  return "aigw.rl|" + rule + "|" + client + "|" + window.toString();
}

/** Reserves `amount` unless the bucket would go over `limit` (then nothing changes and ok is false). */
export function reserve(budgets: BudgetStore, key: string, amount: u64, limit: u64, out: BucketState): BucketState {
  for (let i = 0; i < CAS_ATTEMPTS; i++) {
    const current = existing(budgets, key);
    const spent = current.tokens;
    // A request is refused once the budget is used up, or when its estimate would clearly not fit; an
    // empty bucket always admits one request so that an estimate above the whole budget is not a ban.
    if (spent >= limit || (spent > 0 && spent + amount > limit)) {
      out.spent = spent;
      out.ok = false;
      return out;
    }
    const r = budgets.write(key, spent + amount, current.cas);
    if (r == BudgetWrite.Written) {
      out.spent = spent + amount;
      out.ok = true;
      return out;
    }
    if (r != BudgetWrite.CasMismatch) break;
  }
  out.ok = false;
  return out;
}

/** Replaces a reservation by the real cost (never below zero). */
export function settle(budgets: BudgetStore, key: string, reserved: u64, actual: u64, out: BucketState): BucketState {
  for (let i = 0; i < CAS_ATTEMPTS; i++) {
    const current = existing(budgets, key);
    const spent = current.tokens;
    const base = spent > reserved ? spent - reserved : 0;
    const r = budgets.write(key, base + actual, current.cas);
    if (r == BudgetWrite.Written) {
      out.spent = base + actual;
      out.ok = true;
      return out;
    }
    if (r != BudgetWrite.CasMismatch) break;
  }
  out.ok = false;
  return out;
}

/** Tokens counted so far in a bucket. */
export function spentIn(budgets: BudgetStore, key: string): u64 {
  return budgets.read(key, entry) ? entry.tokens : 0;
}

/** Recent output of a model (an exponential average), for estimating requests without max_tokens. */
export function recentOutput(budgets: BudgetStore, model: string): u64 {
  return budgets.read("aigw.out|" + model, entry) ? entry.tokens : 0;
}

export function recordOutput(budgets: BudgetStore, model: string, tokens: u64): void {
  const key = "aigw.out|" + model;
  for (let i = 0; i < CAS_ATTEMPTS; i++) {
    const found = budgets.read(key, entry);
    const prev = found ? entry.tokens : tokens;
    const next = (prev * 3 + tokens) / 4;
    const r = budgets.write(key, next, found ? entry.cas : 0);
    if (r != BudgetWrite.CasMismatch) return;
  }
}
