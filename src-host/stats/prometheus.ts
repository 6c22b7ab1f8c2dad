// Prometheus text exposition as Envoy's admin handler writes it (prometheus_stats.cc): names are the
// tag-extracted names with every character outside [a-zA-Z0-9_] replaced by `_`; Envoy's own stats get
// the `envoy_` prefix, while stats in a custom namespace (`wasmcustom.`) lose the namespace and get no
// prefix, and are skipped when the result starts with a digit. Series without tags print `{}`.
import type { StatsTag } from "../dataplane-api/bootstrap.js";
import type { Counter, Gauge, Histogram } from "./stat.js";
import { TagExtractor } from "./tags.js";

/** Stat name prefixes Envoy registers as custom namespaces; the wasm filter's metrics live in this one. */
export const CUSTOM_STAT_NAMESPACES: readonly string[] = ["wasmcustom"];

export interface PrometheusOptions {
  /** Envoy's use_all_default_tags (default true). */
  defaultTags?: boolean;
}

const sanitize = (s: string): string => s.replace(/[^a-zA-Z0-9_]/g, "_");
/** A label value in the text exposition format: backslash, newline and double quote escaped. */
export const escapeLabelValue = (s: string): string => s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
const num = (n: number): string => (Number.isFinite(n) ? String(n) : n > 0 ? "+Inf" : n < 0 ? "-Inf" : "NaN");

function stripNamespace(name: string): string | undefined {
  for (const ns of CUSTOM_STAT_NAMESPACES) if (name.startsWith(ns + ".")) return name.slice(ns.length + 1);
  return undefined;
}

/** The Prometheus metric name for a tag-extracted stat name, or undefined when Envoy would skip it. */
export function prometheusName(extractedName: string): string | undefined {
  const custom = stripNamespace(extractedName);
  if (custom === undefined) return "envoy_" + sanitize(extractedName);
  const name = sanitize(custom);
  return name === "" || /^[0-9]/.test(name) ? undefined : name;
}

/** What the renderings read: every stat by kind (the store). */
export interface StatSource {
  counters(): Iterable<Counter>;
  gauges(): Iterable<Gauge>;
  histograms(): Iterable<Histogram>;
}

interface Series {
  labels: string;
  lines: string[];
}

export function renderPrometheus(store: StatSource, tags: readonly StatsTag[], options: PrometheusOptions = {}): string {
  const extractor = new TagExtractor(tags, options.defaultTags ?? true);
  const groups = new Map<string, { type: string; series: Series[] }>();
  const add = (statName: string, type: string, render: (metric: string, labels: string) => string[]) => {
    const extracted = extractor.extract(statName);
    const metric = prometheusName(extracted.name);
    if (metric === undefined) return;
    const labels = extracted.tags.map(([k, v]) => `${sanitize(k)}="${escapeLabelValue(v)}"`).join(",");
    let group = groups.get(metric);
    if (!group) groups.set(metric, (group = { type, series: [] }));
    if (group.type !== type) return; // a name already used by another stat type: Prometheus cannot hold both
    group.series.push({ labels, lines: render(metric, labels) });
  };
  for (const c of store.counters()) add(c.name, "counter", (m, l) => [`${m}{${l}} ${num(c.value)}`]);
  for (const g of store.gauges()) add(g.name, "gauge", (m, l) => [`${m}{${l}} ${num(g.value)}`]);
  for (const h of store.histograms()) {
    add(h.name, "histogram", (m, l) => {
      const prefix = l ? l + "," : "";
      const lines: string[] = [];
      let cumulative = 0;
      h.buckets.forEach((bound, i) => {
        cumulative += h.counts[i]!;
        lines.push(`${m}_bucket{${prefix}le="${num(bound)}"} ${cumulative}`);
      });
      lines.push(`${m}_bucket{${prefix}le="+Inf"} ${h.count}`);
      lines.push(`${m}_sum{${l}} ${num(h.sum)}`);
      lines.push(`${m}_count{${l}} ${h.count}`);
      return lines;
    });
  }
  let out = "";
  for (const metric of [...groups.keys()].sort()) {
    const group = groups.get(metric)!;
    out += `# TYPE ${metric} ${group.type}\n`;
    for (const s of group.series.sort((a, b) => (a.labels < b.labels ? -1 : a.labels > b.labels ? 1 : 0))) {
      out += s.lines.join("\n") + "\n";
    }
  }
  return out;
}

/** Envoy's /stats text: `name: value` sorted by name, custom namespaces stripped; histograms summarized. */
export function renderText(store: StatSource): string {
  const lines: Array<[string, string]> = [];
  const shown = (name: string) => stripNamespace(name) ?? name;
  for (const c of store.counters()) lines.push([shown(c.name), String(c.value)]);
  for (const g of store.gauges()) lines.push([shown(g.name), String(g.value)]);
  const histograms: Array<[string, string]> = [];
  for (const h of store.histograms()) {
    histograms.push([shown(h.name), h.count === 0 ? "No recorded values" : `count=${h.count} sum=${num(h.sum)}`]);
  }
  const byName = (a: [string, string], b: [string, string]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
  return [...lines.sort(byName), ...histograms.sort(byName)].map(([n, v]) => `${n}: ${v}\n`).join("");
}
