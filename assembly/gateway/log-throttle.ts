// Repeated warnings, throttled per cause. The first occurrence of a cause is logged at once; later ones
// within the period are only counted, and the count goes out with the cause's next line once the period is
// over, or from flush() (the root's tick) if the cause stops recurring. Envoy throttles its repeated
// warnings the same way, at most one line per period per call site (ENVOY_LOG_PERIODIC, envoyproxy/envoy
// v1.35 source/common/common/logger.h); here the suppressed occurrences are counted, so the log still says
// how many there were. Pure logic: the caller passes the clock and logs the lines returned.

/** Causes tracked at most; further ones share one entry (causes can carry values a peer chose). */
export const MAX_CAUSES: i32 = 64;
const OTHER_CAUSE = "\u0000other";

class Cause {
  suppressed: u32 = 0;
  lastMessage: string = "";
  constructor(public windowStartNs: u64) {}
}

export class LogThrottle {
  private causes: Map<string, Cause> = new Map();
  private pendingCount: i32 = 0;

  constructor(private periodNs: u64) {}

  /** An occurrence of `cause` at `nowNs`: the line to log now, or "" when it is only counted. */
  admit(cause: string, message: string, nowNs: u64): string {
    if (!this.causes.has(cause) && this.causes.size >= MAX_CAUSES - 1) cause = OTHER_CAUSE;
    if (!this.causes.has(cause)) {
      this.causes.set(cause, new Cause(nowNs));
      return message;
    }
    const c = this.causes.get(cause);
    // A clock that went back restarts the window rather than opening it early.
    if (nowNs < c.windowStartNs) c.windowStartNs = nowNs;
    if (nowNs - c.windowStartNs < this.periodNs) {
      if (c.suppressed == 0) this.pendingCount++;
      c.suppressed++;
      c.lastMessage = message;
      return "";
    }
    return this.report(c, message, nowNs, " more");
  }

  /** The lines of causes with counted occurrences whose period is over. */
  flush(nowNs: u64): Array<string> {
    const lines = new Array<string>();
    if (this.pendingCount == 0) return lines;
    const causes = this.causes.values();
    for (let i = 0, n = causes.length; i < n; i++) {
      const c = unchecked(causes[i]);
      if (c.suppressed > 0 && nowNs >= c.windowStartNs && nowNs - c.windowStartNs >= this.periodNs) {
        lines.push(this.report(c, c.lastMessage, nowNs, " times"));
      }
    }
    return lines;
  }

  /** Whether counted occurrences wait for flush(). */
  get pending(): bool {
    return this.pendingCount > 0;
  }

  /** `message` with the count of the cause's suppressed occurrences; a new window starts. */
  private report(c: Cause, message: string, nowNs: u64, counted: string): string {
    const n = c.suppressed;
    const seconds = (nowNs - c.windowStartNs) / 1_000_000_000;
    c.windowStartNs = nowNs;
    c.lastMessage = "";
    if (n == 0) return message;
    c.suppressed = 0;
    this.pendingCount--;
    return message + " [" + n.toString() + counted + " in the last " + seconds.toString() + " s]";
  }
}
