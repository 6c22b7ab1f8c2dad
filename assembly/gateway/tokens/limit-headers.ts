// The x-ratelimit-* figures of one budget (limit, tokens remaining, seconds to the window's end); the glue
// writes them as headers. A request under several budgets reports the tightest.

export class LimitHeaders {
  constructor(
    public limit: u64,
    public remaining: u64,
    public resetSec: u64,
  ) {}
}

/** Of two budgets' figures (either may be absent), the one with fewer tokens remaining. */
export function tighterLimitHeaders(a: LimitHeaders | null, b: LimitHeaders | null): LimitHeaders | null {
  if (a == null) return b;
  if (b == null) return a;
  return b.remaining < a.remaining ? b : a;
}
