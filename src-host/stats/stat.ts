// One stat of each kind, as Envoy keeps them: a counter, a gauge, a histogram with fixed buckets.

/** Envoy's default histogram buckets (`stats_config.histogram_bucket_settings` absent). */
export const DEFAULT_HISTOGRAM_BUCKETS: readonly number[] = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
];

export class Counter {
  value = 0;
  constructor(readonly name: string) {}
  /** Adds delta (default 1); counters only grow. */
  inc(delta = 1): void {
    if (delta > 0) this.value += delta;
  }
  add(delta: number): void {
    this.inc(delta);
  }
}

export class Gauge {
  value = 0;
  constructor(readonly name: string) {}
  set(value: number): void {
    this.value = value;
  }
  add(delta: number): void {
    this.value += delta;
  }
  sub(delta: number): void {
    this.value -= delta;
  }
}

export class Histogram {
  /** counts[i] = values ≤ buckets[i] (not cumulative); the last slot counts values above every bound. */
  readonly counts: number[];
  count = 0;
  sum = 0;
  constructor(
    readonly name: string,
    readonly buckets: readonly number[],
  ) {
    this.counts = new Array<number>(buckets.length + 1).fill(0);
  }
  record(value: number): void {
    let i = 0;
    while (i < this.buckets.length && value > this.buckets[i]!) i++;
    this.counts[i]!++;
    this.count++;
    this.sum += value;
  }
}
