// The route table, evaluated as Envoy's RouteMatcher does: the virtual host by :authority (exact domain,
// then the longest `*.suffix`, then the longest `prefix.*`, then `*`; the port ignored as Envoy Gateway's
// ignore_port_in_host_matching does), then the first route of that host whose path and header matchers
// all match (header matchers also see the pseudo-headers, so ":method" matches the method). A
// weighted-cluster action picks its cluster with the stream's random value, once, when the route is
// resolved — so the cached route keeps the same cluster until the cache is cleared.
import type { HeaderMatcher, Route, RouteConfig, VirtualHost } from "../dataplane-api/bootstrap.js";
import { getHeader } from "./headers.js";
import type { HeaderList, ResolvedRoute } from "../dataplane-api/http-filter.js";

export interface DirectResponse {
  status: number;
  body: Uint8Array;
  contentType: string;
}

/** A resolved route: what the filter sees (`resolved`) plus what the router needs. */
export interface RouteMatch {
  resolved: ResolvedRoute;
  config: Route;
  directResponse?: DirectResponse;
}

interface CompiledHeaderMatcher {
  name: string;
  test: (value: string) => boolean; // value matchers; unused for presence
  present?: boolean;
  invert: boolean;
}

interface CompiledRoute {
  config: Route;
  /** Route.match's path matcher, on the path without its query. */
  matchPath: (path: string) => boolean;
  headers: CompiledHeaderMatcher[];
  clusters?: Array<{ name: string; weight: number }>;
  totalWeight: number;
  directResponse?: DirectResponse;
}

interface CompiledVirtualHost {
  name: string;
  routes: CompiledRoute[];
}

export class RouteTable {
  private readonly exact = new Map<string, CompiledVirtualHost>();
  private readonly suffixes: Array<[string, CompiledVirtualHost]> = [];
  private readonly prefixes: Array<[string, CompiledVirtualHost]> = [];
  private wildcard?: CompiledVirtualHost;
  /** Every cluster a route may send to (for start-up warnings about unknown clusters). */
  readonly referencedClusters = new Set<string>();

  constructor(config: RouteConfig) {
    if (!config || !Array.isArray(config.virtualHosts)) throw new Error("routes.virtualHosts must be an array");
    config.virtualHosts.forEach((vh, i) => this.addVirtualHost(vh, `routes.virtualHosts[${i}]`));
    // Longest wildcard first, as Envoy prefers the most specific one.
    this.suffixes.sort((a, b) => b[0].length - a[0].length);
    this.prefixes.sort((a, b) => b[0].length - a[0].length);
  }

  /** The first matching route for these headers, or undefined (Envoy: 404 route_not_found). */
  match(headers: HeaderList, random: number): RouteMatch | undefined {
    const vh = this.virtualHostFor(getHeader(headers, ":authority") ?? "");
    if (!vh) return undefined;
    // Envoy's PathMatcher compares the path without its query and fragment, for prefix and exact alike.
    const path = pathWithoutQuery(getHeader(headers, ":path") ?? "/");
    for (const r of vh.routes) {
      if (!r.matchPath(path)) continue;
      if (!r.headers.every((m) => matchesHeader(m, headers))) continue;
      return {
        resolved: { name: r.config.name, cluster: pickCluster(r, random), metadata: r.config.metadata },
        config: r.config,
        directResponse: r.directResponse,
      };
    }
    return undefined;
  }

  private virtualHostFor(authority: string): CompiledVirtualHost | undefined {
    const host = hostWithoutPort(authority).toLowerCase();
    const exact = this.exact.get(host);
    if (exact) return exact;
    for (const [suffix, vh] of this.suffixes) if (host.length > suffix.length && host.endsWith(suffix)) return vh;
    for (const [prefix, vh] of this.prefixes) if (host.length > prefix.length && host.startsWith(prefix)) return vh;
    return this.wildcard;
  }

  private addVirtualHost(vh: VirtualHost, where: string): void {
    if (!vh.name) throw new Error(`${where}.name is required`);
    if (!Array.isArray(vh.domains) || vh.domains.length === 0) throw new Error(`${where}.domains must list at least one domain`);
    if (!Array.isArray(vh.routes)) throw new Error(`${where}.routes must be an array`);
    const compiled: CompiledVirtualHost = {
      name: vh.name,
      routes: vh.routes.map((r, i) => this.compileRoute(r, `${where}.routes[${i}]`)),
    };
    for (const raw of vh.domains) {
      const d = raw.toLowerCase();
      const taken = () => new Error(`${where}.domains: "${raw}" is already used by another virtual host`);
      if (d === "*") {
        if (this.wildcard) throw taken();
        this.wildcard = compiled;
      } else if (d.startsWith("*")) {
        if (this.suffixes.some(([s]) => s === d.slice(1))) throw taken();
        this.suffixes.push([d.slice(1), compiled]);
      } else if (d.endsWith("*")) {
        if (this.prefixes.some(([p]) => p === d.slice(0, -1))) throw taken();
        this.prefixes.push([d.slice(0, -1), compiled]);
      } else {
        if (this.exact.has(d)) throw taken();
        this.exact.set(d, compiled);
      }
    }
  }

  private compileRoute(r: Route, where: string): CompiledRoute {
    if (!r.name) throw new Error(`${where}.name is required`);
    const m = r.match ?? {};
    const out: CompiledRoute = {
      config: r,
      matchPath: compilePathMatcher(m, `${where}.match`),
      headers: (m.headers ?? []).map((h, i) => compileHeaderMatcher(h, `${where}.match.headers[${i}]`)),
      totalWeight: 0,
    };
    const a = r.action as Record<string, unknown>;
    const kinds = ["cluster", "weightedClusters", "directResponse"].filter((k) => a?.[k] !== undefined);
    if (kinds.length !== 1) throw new Error(`${where}.action: exactly one of cluster, weightedClusters, directResponse is required`);
    if ("cluster" in r.action) {
      if (!r.action.cluster) throw new Error(`${where}.action.cluster must name a cluster`);
      out.clusters = [{ name: r.action.cluster, weight: 1 }];
    } else if ("weightedClusters" in r.action) {
      const wc = r.action.weightedClusters;
      if (!Array.isArray(wc) || wc.length === 0) throw new Error(`${where}.action.weightedClusters must not be empty`);
      wc.forEach((c, i) => {
        if (!c.name) throw new Error(`${where}.action.weightedClusters[${i}].name is required`);
        if (!Number.isInteger(c.weight) || c.weight < 0) {
          throw new Error(`${where}.action.weightedClusters[${i}].weight must be a non-negative integer`);
        }
      });
      out.clusters = wc.filter((c) => c.weight > 0);
      if (out.clusters.length === 0) throw new Error(`${where}.action.weightedClusters: the weights sum to 0`);
    } else {
      const d = r.action.directResponse;
      if (!Number.isInteger(d.status) || d.status < 200 || d.status > 599) {
        throw new Error(`${where}.action.directResponse.status must be an HTTP status 200..599`);
      }
      out.directResponse = {
        status: d.status,
        body: new TextEncoder().encode(d.body ?? ""),
        contentType: d.contentType ?? "text/plain",
      };
    }
    const status = r.clusterNotFoundStatus;
    if (status !== undefined && status !== 404 && status !== 500 && status !== 503) {
      throw new Error(`${where}.clusterNotFoundStatus must be 404, 500 or 503`);
    }
    for (const c of out.clusters ?? []) {
      out.totalWeight += c.weight;
      // A route that names its answer for a missing cluster refers to one on purpose (Gateway API: invalid backends).
      if (status === undefined) this.referencedClusters.add(c.name);
    }
    return out;
  }
}

function compilePathMatcher(m: Route["match"], where: string): (path: string) => boolean {
  const given = (["prefix", "path", "pathSeparatedPrefix", "safeRegex"] as const).filter((k) => m[k] !== undefined);
  if (given.length !== 1) throw new Error(`${where}: exactly one of prefix, path, pathSeparatedPrefix and safeRegex is required`);
  if (m.prefix !== undefined) {
    const prefix = byteString(m.prefix);
    return (p) => p.startsWith(prefix);
  }
  if (m.path !== undefined) {
    const exact = byteString(m.path);
    return (p) => p === exact;
  }
  if (m.pathSeparatedPrefix !== undefined) {
    // Envoy's own constraint on the field: no query or fragment characters, no trailing "/".
    if (!/^[^?#]+[^?#/]$/.test(m.pathSeparatedPrefix)) {
      throw new Error(`${where}.pathSeparatedPrefix "${m.pathSeparatedPrefix}" must not end with "/" or hold "?" or "#"`);
    }
    const prefix = byteString(m.pathSeparatedPrefix);
    return (p) => p.startsWith(prefix) && (p.length === prefix.length || p[prefix.length] === "/");
  }
  const re = fullMatch(m.safeRegex!, `${where}.safeRegex`);
  return (p) => re.test(utf8Text(p));
}

// Header values and paths are bytes (HeaderList holds them one byte per character, as node's parser reads
// them); configuration is text. Exact and prefix matches compare the configuration's UTF-8 bytes, as
// Envoy does; regular expressions, RE2 over UTF-8 in Envoy, see the value decoded as UTF-8.
function byteString(text: string): string {
  return Buffer.from(text, "utf8").toString("latin1");
}

function utf8Text(bytes: string): string {
  return Buffer.from(bytes, "latin1").toString("utf8");
}

/** RE2 full match; JS syntax is a superset for the patterns routes use. */
function fullMatch(pattern: string, where: string): RegExp {
  try {
    return new RegExp(`^(?:${pattern})$`);
  } catch (err) {
    throw new Error(`${where} "${pattern}" is not a valid regular expression: ${(err as Error).message}`);
  }
}

function compileHeaderMatcher(h: HeaderMatcher, where: string): CompiledHeaderMatcher {
  if (!h.name) throw new Error(`${where}.name is required`);
  const kinds = [h.exact !== undefined, h.regex !== undefined, h.present !== undefined].filter(Boolean).length;
  if (kinds > 1) throw new Error(`${where}: at most one of exact, regex, present`);
  const name = h.name.toLowerCase();
  const invert = h.invert === true;
  if (h.exact !== undefined) {
    const want = byteString(h.exact);
    return { name, invert, test: (v) => v === want };
  }
  if (h.regex !== undefined) {
    const re = fullMatch(h.regex, `${where}.regex`);
    return { name, invert, test: (v) => re.test(utf8Text(v)) };
  }
  // Envoy: a matcher with no value specifier is a presence match.
  return { name, invert, present: h.present ?? true, test: () => true };
}

/** Envoy semantics: a value matcher never matches an absent header, inverted or not. */
function matchesHeader(m: CompiledHeaderMatcher, headers: HeaderList): boolean {
  const value = getHeader(headers, m.name);
  if (m.present !== undefined) return ((value !== undefined) === m.present) !== m.invert;
  if (value === undefined) return false;
  return m.test(value) !== m.invert;
}

/** Envoy's weighted-cluster choice: random % total weight, walking the clusters in order. */
function pickCluster(r: CompiledRoute, random: number): string | undefined {
  const clusters = r.clusters;
  if (!clusters) return undefined;
  if (clusters.length === 1) return clusters[0].name;
  let point = random % r.totalWeight;
  for (const c of clusters) {
    if (point < c.weight) return c.name;
    point -= c.weight;
  }
  return clusters[clusters.length - 1].name;
}

function pathWithoutQuery(path: string): string {
  const q = path.search(/[?#]/);
  return q < 0 ? path : path.slice(0, q);
}

function hostWithoutPort(authority: string): string {
  if (authority.startsWith("[")) {
    const end = authority.indexOf("]");
    return end < 0 ? authority : authority.slice(0, end + 1);
  }
  const colon = authority.lastIndexOf(":");
  return colon < 0 ? authority : authority.slice(0, colon);
}
