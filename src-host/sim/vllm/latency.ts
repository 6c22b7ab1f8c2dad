// Time to first token and inter-token latency, following llm-d-inference-sim's latency calculators:
// `constant` uses --time-to-first-token; `per-token` uses --prefill-overhead plus
// --prefill-time-per-token for every prompt token the prefix cache did not hold; unset picks `constant`
// when a time-to-first-token is given and `per-token` otherwise. --time-factor-under-load stretches the
// GPU-bound times linearly from 1 (one running sequence) to the factor (max-num-seqs running).
import type { Prng } from "./prng.js";
import type { SimConfig } from "./flags.js";

export class Latency {
  constructor(
    private readonly config: SimConfig,
    private readonly prng: Prng,
  ) {}

  /** Prefill time in ms for `uncached` prompt tokens, with `running` sequences in flight. */
  timeToFirstToken(uncached: number, running: number): number {
    const c = this.config;
    const constant = c.latencyCalculator === "constant" || (c.latencyCalculator === "" && (c.timeToFirstToken > 0 || c.timeToFirstTokenStdDev > 0));
    const base = constant
      ? this.jitter(c.timeToFirstToken, c.timeToFirstTokenStdDev)
      : this.jitter(c.prefillOverhead + uncached * c.prefillTimePerToken, c.prefillTimeStdDev);
    return base * this.loadFactor(running);
  }

  interTokenLatency(running: number): number {
    const c = this.config;
    return this.jitter(c.interTokenLatency, c.interTokenLatencyStdDev) * this.loadFactor(running);
  }

  private loadFactor(running: number): number {
    const { maxNumSeqs, timeFactorUnderLoad } = this.config;
    if (maxNumSeqs <= 1 || timeFactorUnderLoad === 1) return 1;
    const share = Math.min(Math.max(running - 1, 0) / (maxNumSeqs - 1), 1);
    return 1 + (timeFactorUnderLoad - 1) * share;
  }

  /** A Gaussian sample around `mean`, clamped to ±70% of it, as upstream does. */
  private jitter(mean: number, sd: number): number {
    if (sd <= 0 || mean <= 0) return Math.max(mean, 0);
    const v = mean + sd * this.prng.gaussian();
    return Math.min(Math.max(v, 0.3 * mean), 1.7 * mean);
  }
}
