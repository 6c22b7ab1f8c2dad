// A minimal Prometheus registry (counters, gauges, histograms with labels) rendering the text exposition format.

type Labels = readonly string[];

abstract class Metric {
  protected readonly series = new Map<string, { labels: Labels; state: number[] }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

  abstract readonly type: "counter" | "gauge" | "histogram";

  protected entry(labels: Labels, init: () => number[]): number[] {
    if (labels.length !== this.labelNames.length) {
      throw new Error(`${this.name}: expected ${this.labelNames.length} label values, got ${labels.length}`);
    }
    const key = JSON.stringify(labels);
    let e = this.series.get(key);
    if (!e) {
      e = { labels: [...labels], state: init() };
      this.series.set(key, e);
    }
    return e.state;
  }

  reset(): void {
    this.series.clear();
  }

  protected labelText(labels: Labels, extra?: [string, string]): string {
    const parts = this.labelNames.map((n, i) => `${n}="${escapeLabel(labels[i])}"`);
    if (extra) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
    return parts.length ? `{${parts.join(",")}}` : "";
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`, `# TYPE ${this.name} ${this.type}`];
    for (const { labels, state } of this.series.values()) this.renderSeries(labels, state, lines);
    return lines.join("\n") + "\n";
  }

  protected abstract renderSeries(labels: Labels, state: number[], lines: string[]): void;
}

export class Counter extends Metric {
  readonly type = "counter" as const;
  inc(labels: Labels = [], by = 1): void {
    this.entry(labels, () => [0])[0] += by;
  }
  protected renderSeries(labels: Labels, state: number[], lines: string[]): void {
    lines.push(`${this.name}${this.labelText(labels)} ${formatNumber(state[0])}`);
  }
}

export class Gauge extends Metric {
  readonly type = "gauge" as const;
  set(labels: Labels, value: number): void {
    this.entry(labels, () => [0])[0] = value;
  }
  add(labels: Labels, by: number): void {
    this.entry(labels, () => [0])[0] += by;
  }
  protected renderSeries(labels: Labels, state: number[], lines: string[]): void {
    lines.push(`${this.name}${this.labelText(labels)} ${formatNumber(state[0])}`);
  }
}

export class Histogram extends Metric {
  readonly type = "histogram" as const;
  constructor(name: string, help: string, labelNames: readonly string[], readonly buckets: readonly number[]) {
    super(name, help, labelNames);
  }
  /** state = [count per bucket..., count, sum] */
  observe(labels: Labels, value: number): void {
    const s = this.entry(labels, () => new Array(this.buckets.length + 2).fill(0));
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]) s[i]++;
    s[this.buckets.length]++;
    s[this.buckets.length + 1] += value;
  }
  protected renderSeries(labels: Labels, state: number[], lines: string[]): void {
    this.buckets.forEach((le, i) => {
      lines.push(`${this.name}_bucket${this.labelText(labels, ["le", formatNumber(le)])} ${state[i]}`);
    });
    const count = state[this.buckets.length];
    lines.push(`${this.name}_bucket${this.labelText(labels, ["le", "+Inf"])} ${count}`);
    lines.push(`${this.name}_sum${this.labelText(labels)} ${formatNumber(state[this.buckets.length + 1])}`);
    lines.push(`${this.name}_count${this.labelText(labels)} ${count}`);
  }
}

export class Registry {
  private readonly metrics: Metric[] = [];
  register<M extends Metric>(m: M): M {
    if (this.metrics.some((x) => x.name === m.name)) throw new Error(`metric ${m.name} registered twice`);
    this.metrics.push(m);
    return m;
  }
  render(): string {
    return this.metrics.map((m) => m.render()).join("");
  }
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function formatNumber(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}
