// Envoy's tag extraction (TagProducerImpl): every regex is matched against the full stat name; its first
// capture group is cut out of the name and the tag value is the second group if the regex has one, else
// the first. Custom stats_tags come first; a default extractor is skipped when a custom tag has its name.
import type { StatsTag } from "../dataplane-api/bootstrap.js";

/** Envoy's default extractors (source/common/config/well_known_names.cc) for the stats an HTTP data plane
 * emits; the protocol-specific ones (dynamo, mongo, ...) are left out. */
export const DEFAULT_STATS_TAGS: readonly StatsTag[] = [
  { tagName: "envoy.response_code", regex: "_rq(_(\\d{3}))$" },
  { tagName: "envoy.response_code_class", regex: "_rq_(\\d)xx$" },
  { tagName: "envoy.virtual_cluster_name", regex: "^vhost(?=\\.).*?\\.vcluster\\.((.*?)\\.)\\w+?$" },
  { tagName: "envoy.cluster_name", regex: "^cluster\\.(([^\\.]+)\\.).*" },
  { tagName: "envoy.http_conn_manager_prefix", regex: "^listener(?=\\.).*?\\.http\\.((.*?)\\.)" },
  { tagName: "envoy.http_conn_manager_prefix", regex: "^http\\.((.*?)\\.)" },
  { tagName: "envoy.listener_address", regex: "^listener\\.(((?:[_.\\d]*|[_\\[\\]aAbBcCdDeEfF\\d]*))\\.)" },
  { tagName: "envoy.virtual_host", regex: "^vhost\\.((.*?)\\.)" },
  { tagName: "envoy.worker_id", regex: "^listener_manager\\.((worker_\\d+)\\.)" },
];

export interface ExtractedName {
  /** The name with every extracted part removed (Envoy's tag-extracted name). */
  name: string;
  tags: Array<[name: string, value: string]>;
}

interface Extractor {
  tagName: string;
  re: RegExp;
}

export class TagExtractor {
  private readonly extractors: Extractor[];
  private readonly cache = new Map<string, ExtractedName>();

  constructor(tags: readonly StatsTag[], defaultTags = true) {
    const custom = new Set(tags.map((t) => t.tagName));
    const all = defaultTags ? [...tags, ...DEFAULT_STATS_TAGS.filter((t) => !custom.has(t.tagName))] : [...tags];
    this.extractors = all.map((t) => {
      let re: RegExp;
      try {
        re = new RegExp(t.regex, "d");
      } catch (err) {
        throw new Error(`stats tag "${t.tagName}": invalid regex ${JSON.stringify(t.regex)}: ${(err as Error).message}`);
      }
      return { tagName: t.tagName, re };
    });
  }

  extract(name: string): ExtractedName {
    const hit = this.cache.get(name);
    if (hit) return hit;
    const remove: Array<[number, number]> = [];
    const tags: Array<[string, string]> = [];
    for (const { tagName, re } of this.extractors) {
      const m = re.exec(name);
      if (!m || m.length < 2 || !m.indices?.[1]) continue;
      tags.push([tagName, (m.length > 2 ? m[2] : m[1]) ?? ""]);
      remove.push(m.indices[1]);
    }
    let out = "";
    let at = 0;
    for (const [start, end] of remove.sort((a, b) => a[0] - b[0])) {
      if (start > at) out += name.slice(at, start);
      at = Math.max(at, end);
    }
    out += name.slice(at);
    const result = { name: out, tags };
    this.cache.set(name, result);
    return result;
  }
}
