// Thin wrappers over assembly/gateway/tokens/admission for test/assembly/gateway/tokens/admission.test.ts: Local
// budgets in a memory BudgetStore with Envoy's shared-data semantics, which can let "another worker" write
// between a read and a write (the compare-and-swap race).
import { HeaderSource } from "../../assembly/gateway/request/route";
import { TokenUsage } from "../../assembly/gateway/response/usage";
import { Admission, admit } from "../../assembly/gateway/tokens/admission";
import { TokenConfig } from "../../assembly/gateway/tokens/config";
import { estimateUsage } from "../../assembly/gateway/tokens/estimate";
import { LimitHeaders } from "../../assembly/gateway/tokens/limit-headers";
import { BudgetEntry, BudgetStore, BudgetWrite } from "../../assembly/gateway/tokens/local-budget";
import { setOut, str } from "./logic-common/io";
import { tokenConfig } from "./logic-common/token-config";
export { alloc, free, outPtr, outLen } from "./logic-common/io";

class Entry {
  constructor(public value: u64, public cas: u32) {}
}

/** Shared data in memory: a set with a CAS other than the key's fails, cas 0 writes unconditionally. */
class MemoryBudgets extends BudgetStore {
  entries: Map<string, Entry> = new Map();
  nextCas: u32 = 1;
  /** Tokens another worker adds to the key just before the next write lands (0: none). */
  rival: u64 = 0;

  read(key: string, out: BudgetEntry): bool {
    if (!this.entries.has(key)) return false;
    const e = this.entries.get(key);
    out.tokens = e.value;
    out.cas = e.cas;
    return true;
  }

  write(key: string, tokens: u64, cas: u32): BudgetWrite {
    if (this.rival > 0) {
      const r = this.rival;
      this.rival = 0;
      this.entries.set(key, new Entry(this.spent(key) + r, this.nextCas++));
    }
    if (cas != 0 && (!this.entries.has(key) || this.entries.get(key).cas != cas)) return BudgetWrite.CasMismatch;
    this.entries.set(key, new Entry(tokens, this.nextCas++));
    return BudgetWrite.Written;
  }

  spent(key: string): u64 {
    return this.entries.has(key) ? this.entries.get(key).value : 0;
  }
}

class UserHeader extends HeaderSource {
  user: string = "";
  get(name: string): string | null {
    return name == "x-user-id" ? this.user : null;
  }
}

const budgets = new MemoryBudgets();
const headers = new UserHeader();
const estimate = new TokenUsage();
const usage = new TokenUsage();
let config: TokenConfig = new TokenConfig();
const admissions: Array<Admission> = [];

/** The token section of a plugin configuration (costs, rateLimits); false with the error in the output buffer. */
export function configure(ptr: usize, len: i32): bool {
  const c = tokenConfig(ptr, len);
  if (c == null) return false;
  config = c;
  return true;
}

/** "user\nxDS route": admits a request of route default/r; its id, or -1 with the 429 body in the output buffer. */
export function admitRequest(ptr: usize, len: i32, bodyLength: i32, requested: i64, nowSec: u64): i32 {
  const s = str(ptr, len);
  const nl = s.indexOf("\n");
  headers.user = s.substring(0, nl);
  estimateUsage(estimate, <usize>bodyLength, requested, 0);
  const a = admit(budgets, config, "default/r", s.substring(nl + 1), "m", "b", headers, estimate, nowSec);
  const refusal = a.refusal;
  if (refusal != null) {
    setOut(refusal.body);
    return -1;
  }
  admissions.push(a);
  return admissions.length - 1;
}

/** Settles admission `id` with a real total of `total` tokens; x-ratelimit-remaining in the output buffer. */
export function settleRequest(id: i32, total: u64, nowSec: u64): void {
  usage.reset();
  usage.totalTokens = total;
  setOut(remaining(admissions[id].settle(config.costsFor("default/r"), usage, "m", "b", "default/r", nowSec)));
}

/** x-ratelimit-remaining of admission `id` as the budgets stand (output buffer). */
export function currentRemaining(id: i32, nowSec: u64): void {
  setOut(remaining(admissions[id].current(nowSec)));
}

export function releaseRequest(id: i32): void {
  admissions[id].release();
}

/** The tokens counted under a shared-data key. */
export function spent(ptr: usize, len: i32): u64 {
  return budgets.spent(str(ptr, len));
}

/** Another worker adds `tokens` to whatever key is written next, just before that write. */
export function armRival(tokens: u64): void {
  budgets.rival = tokens;
}

function remaining(h: LimitHeaders | null): string {
  return h == null ? "" : h.remaining.toString();
}
