// The data plane's own statistics, in Envoy's names (`cluster.<name>.upstream_rq_total`, ...), behind a
// small interface so the process can hand in a shared store that also holds the wasm filter's metrics.
// The built-in store renders Prometheus text the way Envoy's admin does: tags are extracted from the names
// (Envoy's default extractors for the names the data plane emits, then config.statsTags), and names are
// prefixed with `envoy_`.
import type { StatsTag } from "./config.js";

export interface Counter {
  inc(delta?: number): void;
}
export interface Gauge {
  add(delta: number): void;
}

export interface GatewayStats {
  counter(name: string): Counter;
  gauge(name: string): Gauge;
  /** Prometheus text exposition (admin /metrics, /stats/prometheus). */
  prometheus(): string;
  /** Envoy's /stats text: `name: value` per line. */
  text(): string;
}

interface Extractor {
  tag: string;
  re: RegExp;
}

/** Envoy's well-known tag extractors for the stats this data plane emits (well_known_names.cc). */
const DEFAULT_TAGS: Array<[string, string]> = [
  ["envoy.cluster_name", "^cluster\\.(([^.]+)\\.)"],
  ["envoy.http_conn_manager_prefix", "^http\\.(([^.]+)\\.)"],
  ["envoy.listener_address", "^listener\\.(((?:[_.0-9]*|[_\\[\\]a-fA-F0-9]*))\\.)"],
  ["envoy.response_code", "_rq(_(\\d{3}))$"],
  ["envoy.response_code_class", "_rq_((\\d))xx$"],
];

interface Stat {
  kind: "counter" | "gauge";
  value: number;
}

class Store implements GatewayStats {
  private readonly stats = new Map<string, Stat>();
  private readonly extractors: Extractor[];

  constructor(statsTags: StatsTag[]) {
    this.extractors = [...DEFAULT_TAGS, ...statsTags.map((t) => [t.tagName, t.regex] as [string, string])].map(
      ([tag, regex]) => {
        try {
          return { tag, re: new RegExp(regex) };
        } catch (err) {
          throw new Error(`statsTags: regex for "${tag}" is invalid: ${(err as Error).message}`);
        }
      },
    );
  }

  counter(name: string): Counter {
    const s = this.get(name, "counter");
    return {
      inc: (delta = 1) => {
        s.value += delta;
      },
    };
  }

  gauge(name: string): Gauge {
    const s = this.get(name, "gauge");
    return {
      add: (delta) => {
        s.value += delta;
      },
    };
  }

  text(): string {
    return [...this.stats.keys()]
      .sort()
      .map((name) => `${name}: ${this.stats.get(name)!.value}\n`)
      .join("");
  }

  prometheus(): string {
    const families = new Map<string, { kind: string; samples: string[] }>();
    for (const name of [...this.stats.keys()].sort()) {
      const stat = this.stats.get(name)!;
      const { base, tags } = this.extract(name);
      const metric = `envoy_${sanitize(base)}`;
      let family = families.get(metric);
      if (!family) families.set(metric, (family = { kind: stat.kind, samples: [] }));
      const labels = tags.map(([k, v]) => `${sanitize(k)}="${escapeLabel(v)}"`).join(",");
      family.samples.push(`${metric}${labels ? `{${labels}}` : ""} ${stat.value}`);
    }
    let out = "";
    for (const [metric, f] of families) out += `# TYPE ${metric} ${f.kind}\n${f.samples.join("\n")}\n`;
    return out;
  }

  private get(name: string, kind: Stat["kind"]): Stat {
    let s = this.stats.get(name);
    if (!s) this.stats.set(name, (s = { kind, value: 0 }));
    else if (s.kind !== kind) throw new Error(`stat "${name}" is a ${s.kind}, not a ${kind}`);
    return s;
  }

  /** Envoy's TagExtractor: group 1 is cut from the name, group 2 (or 1) is the value. */
  private extract(name: string): { base: string; tags: Array<[string, string]> } {
    const tags: Array<[string, string]> = [];
    let base = name;
    for (const { tag, re } of this.extractors) {
      const m = re.exec(base);
      if (!m || m[1] === undefined) continue;
      tags.push([tag, m[2] ?? m[1]]);
      const start = m.index + m[0].indexOf(m[1]);
      base = base.slice(0, start) + base.slice(start + m[1].length);
    }
    return { base, tags };
  }
}

function sanitize(s: string): string {
  return s.replace(/[^a-zA-Z0-9_]/g, "_");
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

export function createGatewayStats(statsTags: StatsTag[]): GatewayStats {
  return new Store(statsTags);
}
