// The filter's plugin configuration, read once at configure: the contract version checked, the document
// checked against its shape, parsed with json-as into the classes of plugin-config.ts (generated from
// contract/plugin-config.mjs), validated, and compiled into a FilterConfig (header matchers with their
// regexes compiled, pools resolved, the /v1/models body built) and a TokenConfig (tokens/config.ts).
//
// json-as aborts the module on malformed input or a field of the wrong type, so the document is first
// checked with the project's own JSON reader against the expected shape: every problem then comes back as
// a message naming the field (e.g. `rules[0].backends[1].weight: must be an integer between 0 and …`) for
// the glue to log before failing proxy_on_configure. Unknown keys are ignored; a known key given twice is
// an error. `httpRoutes` may be left out (no HTTPRoutes).

import { JSON } from "json-as";
import { JsonReader } from "./json/reader";
import { checkShape } from "./json/shape";
import { KIND_OBJECT, KIND_STRING } from "./json/scan";
import {
  BackendConfig, HTTPRouteRuleConfig, ModelInfo, PLUGIN_CONFIG_FIELDS, PLUGIN_CONFIG_VERSION, PluginConfig, PoolConfig, RuleConfig,
} from "./plugin-config";
import { compileRegex, Regex } from "./regex";
import { hasControlChar } from "./request/body";
import { ModelsListing } from "./request/models";
import { TokenConfig, compileTokenConfig } from "./tokens/config";

const MAX_BODY_LIMIT: i64 = 0x7fffffff; // bodies are addressed with i32 offsets in linear memory
const MAX_WEIGHT: i64 = 0xffffffff; // Envoy weights are uint32

// --- the compiled form the request path uses ---

export enum BackendKind {
  AIServiceBackend = 0,
  InferencePool = 1,
}

export class Backend {
  constructor(
    /** "namespace/name": the value of x-ai-eg-backend. */
    public name: string,
    public kind: BackendKind,
    public weight: i64,
    /** Non-empty: rewrite body `model` to this (for a pool, after its EPP's pick). */
    public modelNameOverride: string,
    /** The pool's settings, for kind InferencePool. */
    public pool: PoolConfig | null,
  ) {}

  /** A BackendSecurityPolicy's header (lowercase) and value, set on the request once it goes upstream; "" for none. */
  credentialHeader: string = "";
  credentialValue: string = "";
}

/** One header condition: `name` (lowercase) must be present and equal `exact`, or fully match `regex`. */
export class HeaderMatcher {
  constructor(
    public name: string,
    public exact: string,
    public regex: Regex | null,
  ) {}

  matches(value: string): bool {
    const re = this.regex;
    return re != null ? re.matches(value) : value == this.exact;
  }
}

export class Rule {
  /** Inner arrays are ANDed header conditions; the rule matches when any of them does (or when empty). */
  matches: Array<Array<HeaderMatcher>> = [];
  backends: Array<Backend> = [];
  totalWeight: i64 = 0;
  /** Host names ("*.suffix" wildcards) the rule serves; empty = every host. */
  hostnames: Array<string> = [];

  constructor(
    /** "namespace/name" of the AIGatewayRoute. */
    public route: string,
    public index: i32,
  ) {}

  /** "namespace/name/rule/<index>", for logs and errors. */
  get name(): string {
    return this.route + "/rule/" + this.index.toString();
  }
}

/** A cluster an HTTPRoute rule may pick, with the pool whose Endpoint Picker chooses its endpoint. */
export class PlainBackend {
  constructor(
    public cluster: string,
    public pool: PoolConfig | null,
  ) {}
}

/** An HTTPRoute rule: its requests get no AI processing. */
export class PlainRule {
  backends: Array<PlainBackend> = [];

  constructor(public name: string) {}

  /** The pool behind `cluster` (the cluster the route picked), or null for a Service or an unknown cluster. */
  poolOf(cluster: string): PoolConfig | null {
    const b = this.backends;
    for (let i = 0; i < b.length; i++) if (unchecked(b[i]).cluster == cluster) return unchecked(b[i]).pool;
    return null;
  }
}

/** "httproute/<ns>/<name>/rule/<i>/match/<j>[/<host>]" → "httproute/<ns>/<name>/rule/<i>", or "" for other names. */
export function plainRuleKey(routeName: string): string {
  const cut = routeName.lastIndexOf("/match/");
  return cut < 0 ? "" : routeName.substring(0, cut);
}

export class FilterConfig {
  rules: Array<Rule> = [];
  /** HTTPRoute rules by name; empty when there are none (then route names are never read). */
  plainRules: Map<string, PlainRule> = new Map<string, PlainRule>();
  pools: Map<string, PoolConfig> = new Map<string, PoolConfig>();
  models: Array<ModelInfo> = [];
  maxRequestBodyBytes: i64 = 0;
  /** The GET /v1/models answers by Host, built once. */
  modelsListing: ModelsListing = new ModelsListing();
  /** Whether any rule is limited to host names (only then is :authority read to match rules). */
  hostScoped: bool = false;
}

/** The result of loading a configuration: both compiled parts, or an error naming the problem. */
export class ConfigResult {
  constructor(
    public config: FilterConfig | null,
    public tokens: TokenConfig | null,
    public error: string,
  ) {}
}

function invalid(error: string): ConfigResult {
  return new ConfigResult(null, null, "invalid plugin configuration: " + error);
}

/**
 * Parses, validates and compiles the plugin configuration (UTF-8 bytes at ptr/len), once. `env` is the VM's
 * environment (Envoy's vm_config.environment_variables), where backend credentials are read.
 */
export function loadPluginConfig(ptr: usize, len: usize, env: Map<string, string> | null = null): ConfigResult {
  // Checked first: a document of another contract may fail the shape check in ways that hide why.
  const version = contractVersion(ptr, len);
  if (version != null && version != PLUGIN_CONFIG_VERSION) {
    return invalid("contract version " + (version.length > 0 ? q(version) : "(none)") + " of the configuration differs from " +
      q(PLUGIN_CONFIG_VERSION) + " of this module: build both from the same release");
  }
  const canonical = new Array<string>();
  const shapeError = checkShape(ptr, len, PLUGIN_CONFIG_FIELDS, canonical);
  if (shapeError.length > 0) return invalid(shapeError);
  const doc = JSON.parse<PluginConfig>(canonical.join(""));
  const c = new Compiler(env);
  const config = c.compile(doc);
  if (config == null) return invalid(c.error);
  const tokens = compileTokenConfig(doc);
  if (tokens.config == null) return invalid(tokens.error);
  return new ConfigResult(config, tokens.config, "");
}

/**
 * The document's top-level `version`: "" when it has none, null when the document or the version is not
 * readable as such (the shape check then says why).
 */
function contractVersion(ptr: usize, len: usize): string | null {
  const r = new JsonReader(ptr, len);
  if (r.kind() != KIND_OBJECT) return null;
  r.enterObject();
  while (r.nextMember()) {
    if (r.keyIs("version")) return r.kind() == KIND_STRING ? r.readString() : null;
    if (!r.skip()) return null;
  }
  return r.ok() ? "" : null;
}

// --- semantic validation and compilation ---

class Compiler {
  error: string = "";

  constructor(private env: Map<string, string> | null) {}

  compile(doc: PluginConfig): FilterConfig | null {
    const g = new FilterConfig();
    if (doc.maxRequestBodyBytes <= 0 || doc.maxRequestBodyBytes > MAX_BODY_LIMIT) {
      return this.fail<FilterConfig>("maxRequestBodyBytes: must be between 1 and " + MAX_BODY_LIMIT.toString() + ", got " +
        doc.maxRequestBodyBytes.toString());
    }
    g.maxRequestBodyBytes = doc.maxRequestBodyBytes;

    for (let i = 0; i < doc.pools.length; i++) {
      const p = doc.pools[i];
      const at = "pools[" + i.toString() + "]";
      if (p.name.length == 0) return this.fail<FilterConfig>(at + ".name: must not be empty");
      if (g.pools.has(p.name)) return this.fail<FilterConfig>(at + ".name: duplicate pool " + q(p.name));
      if (p.eppCluster.length == 0) return this.fail<FilterConfig>(at + ".eppCluster: must not be empty");
      if (p.eppAuthority.length == 0) return this.fail<FilterConfig>(at + ".eppAuthority: must not be empty");
      if (p.failureMode != "FailOpen" && p.failureMode != "FailClose") {
        return this.fail<FilterConfig>(at + '.failureMode: must be "FailOpen" or "FailClose", got ' + q(p.failureMode));
      }
      if (p.bodyMode != "duplex" && p.bodyMode != "buffered") {
        return this.fail<FilterConfig>(at + '.bodyMode: must be "duplex" or "buffered", got ' + q(p.bodyMode));
      }
      if (p.timeoutMs <= 0) return this.fail<FilterConfig>(at + ".timeoutMs: must be > 0, got " + p.timeoutMs.toString());
      g.pools.set(p.name, p);
    }

    for (let i = 0; i < doc.rules.length; i++) {
      const rule = this.compileRule(doc.rules[i], "rules[" + i.toString() + "]", g);
      if (rule == null) return null;
      g.rules.push(rule);
      if (rule.hostnames.length > 0) g.hostScoped = true;
    }

    for (let i = 0; i < doc.httpRoutes.length; i++) {
      const rule = this.compilePlainRule(doc.httpRoutes[i], "httpRoutes[" + i.toString() + "]", g);
      if (rule == null) return null;
      g.plainRules.set(rule.name, rule);
    }

    for (let i = 0; i < doc.models.length; i++) {
      const m = doc.models[i];
      const at = "models[" + i.toString() + "]";
      if (m.id.length == 0) return this.fail<FilterConfig>(at + ".id: must not be empty");
      if (m.created < 0) return this.fail<FilterConfig>(at + ".created: must be >= 0");
      const hostError = checkHostnames(m.hostnames, at + ".hostnames");
      if (hostError.length > 0) return this.fail<FilterConfig>(hostError);
      g.models.push(m);
    }
    g.modelsListing = new ModelsListing(g.models);
    return g;
  }

  private compileRule(r: RuleConfig, at: string, g: FilterConfig): Rule | null {
    if (r.route.length == 0) return this.fail<Rule>(at + ".route: must not be empty");
    const rule = new Rule(r.route, <i32>r.index);
    const hostError = checkHostnames(r.hostnames, at + ".hostnames");
    if (hostError.length > 0) return this.fail<Rule>(hostError);
    rule.hostnames = r.hostnames;
    for (let j = 0; j < r.matches.length; j++) {
      const headers = r.matches[j].headers;
      const all = new Array<HeaderMatcher>();
      for (let k = 0; k < headers.length; k++) {
        const h = headers[k];
        const hat = at + ".matches[" + j.toString() + "].headers[" + k.toString() + "]";
        if (h.name.length == 0) return this.fail<Rule>(hat + ".name: must not be empty");
        const name = h.name.toLowerCase();
        if (h.type == "Exact") {
          all.push(new HeaderMatcher(name, h.value, null));
        } else if (h.type == "RegularExpression") {
          const re = compileRegex(h.value);
          if (re.regex == null) return this.fail<Rule>(hat + ".value: " + re.error);
          all.push(new HeaderMatcher(name, "", re.regex));
        } else {
          return this.fail<Rule>(hat + '.type: must be "Exact" or "RegularExpression", got ' + q(h.type));
        }
      }
      rule.matches.push(all);
    }
    if (r.backends.length == 0) return this.fail<Rule>(at + ".backends: at least one backend is required");
    for (let j = 0; j < r.backends.length; j++) {
      const b = r.backends[j];
      const bat = at + ".backends[" + j.toString() + "]";
      if (b.name.length == 0) return this.fail<Rule>(bat + ".name: must not be empty");
      if (b.weight < 0 || b.weight > MAX_WEIGHT) {
        return this.fail<Rule>(bat + ".weight: must be an integer between 0 and " + MAX_WEIGHT.toString() + ", got " + b.weight.toString());
      }
      if (hasControlChar(b.modelNameOverride)) return this.fail<Rule>(bat + ".modelNameOverride: must not contain control characters");
      let backend: Backend;
      if (b.kind == "AIServiceBackend") {
        backend = new Backend(b.name, BackendKind.AIServiceBackend, b.weight, b.modelNameOverride, null);
      } else if (b.kind == "InferencePool") {
        if (!g.pools.has(b.name)) return this.fail<Rule>(bat + ".name: no pool " + q(b.name) + " in pools");
        // The override applies once the EPP has picked (the EPP sees the client's model).
        backend = new Backend(b.name, BackendKind.InferencePool, b.weight, b.modelNameOverride, g.pools.get(b.name));
      } else {
        return this.fail<Rule>(bat + '.kind: must be "AIServiceBackend" or "InferencePool", got ' + q(b.kind));
      }
      if (b.credential.length > 0 || b.credentialEnv.length > 0) {
        const e = this.credential(b, backend);
        if (e.length > 0) return this.fail<Rule>(bat + e);
      }
      rule.backends.push(backend);
      rule.totalWeight += b.weight;
    }
    return rule;
  }

  /**
   * The backend's credential from the environment variable the configuration names (Envoy AI Gateway v1.1.0
   * internal/backendauth: the key trimmed, "Authorization: Bearer <key>" or "x-api-key: <key>"). Errors name
   * the variable, never its value.
   */
  private credential(b: BackendConfig, backend: Backend): string {
    let header: string;
    if (b.credential == "APIKey") header = "authorization";
    else if (b.credential == "AnthropicAPIKey") header = "x-api-key";
    else return '.credential: must be "APIKey" or "AnthropicAPIKey", got ' + q(b.credential);
    const name = b.credentialEnv;
    const env = this.env;
    if (name.length == 0) return ".credentialEnv: must name an environment variable";
    if (env == null || !env.has(name)) return ".credentialEnv: " + q(name) + " is not in the VM's environment (vm_config.environment_variables)";
    const key = env.get(name).trim();
    if (key.length == 0 || hasControlChar(key)) return ".credentialEnv: " + q(name) + " must hold a key without control characters";
    backend.credentialHeader = header;
    backend.credentialValue = header == "authorization" ? "Bearer " + key : key;
    return "";
  }

  private compilePlainRule(r: HTTPRouteRuleConfig, at: string, g: FilterConfig): PlainRule | null {
    // Route names are this name plus "/match/<j>...": the name itself cannot hold that part.
    if (r.name.length == 0 || r.name.indexOf("/match/") >= 0) {
      return this.fail<PlainRule>(at + '.name: must be "httproute/<namespace>/<name>/rule/<index>", got ' + q(r.name));
    }
    if (g.plainRules.has(r.name)) return this.fail<PlainRule>(at + ".name: duplicate rule " + q(r.name));
    const rule = new PlainRule(r.name);
    for (let j = 0; j < r.backends.length; j++) {
      const b = r.backends[j];
      const bat = at + ".backends[" + j.toString() + "]";
      if (b.cluster.length == 0) return this.fail<PlainRule>(bat + ".cluster: must not be empty");
      let pool: PoolConfig | null = null;
      if (b.pool.length > 0) {
        if (!g.pools.has(b.pool)) return this.fail<PlainRule>(bat + ".pool: no pool " + q(b.pool) + " in pools");
        pool = g.pools.get(b.pool);
      }
      rule.backends.push(new PlainBackend(b.cluster, pool));
    }
    return rule;
  }

  /** Records the problem; null for whatever was being compiled. */
  private fail<T>(message: string): T | null {
    this.error = message;
    return null;
  }
}

/** Host names as the builder writes them: lower case, a wildcard only as a leading "*." label. */
function checkHostnames(hosts: string[], at: string): string {
  for (let i = 0; i < hosts.length; i++) {
    const h = hosts[i];
    const rest = h.startsWith("*.") ? h.substring(2) : h;
    if (rest.length == 0 || rest.indexOf("*") >= 0 || rest.toLowerCase() != rest || hasControlChar(rest)) {
      return at + "[" + i.toString() + ']: must be a lower-case host name or "*." and one, got ' + q(h);
    }
  }
  return "";
}

function q(s: string): string {
  return '"' + s + '"';
}
