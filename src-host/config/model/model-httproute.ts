// Typed view of a Gateway API HTTPRoute (gateway.networking.k8s.io/v1), the way the inference extension
// routes to an InferencePool: path, header and method matches; Service and InferencePool backendRefs with
// weights; rule timeouts. What aigw run cannot honour is refused (filters, query parameter matches: a
// request would be routed differently than written); fields it can leave out are warned about.

import { Fields, parseDuration, type Json } from "../read/fields.js";
import type { AppliedObject } from "../read/objects.js";
import { INFERENCE_GROUP } from "../read/objects.js";
import type { Problems } from "../read/problems.js";
import { readCreatedAt, readHostnames, readParentRefs, type HeaderMatchModel, type RouteBaseModel } from "./model-gateway.js";

/** Gateway API limits (HTTPRoute CRD validation). */
export const MAX_HTTPROUTE_RULES = 16;
const MAX_MATCHES = 64;
const MAX_HEADERS = 16;
const MAX_WEIGHT = 1_000_000;
const METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"] as const;

export interface HTTPPathMatchModel {
  type: "Exact" | "PathPrefix" | "RegularExpression";
  value: string;
}

export interface HTTPMatchModel {
  path: HTTPPathMatchModel;
  headers: HeaderMatchModel[];
  method?: (typeof METHODS)[number];
}

export interface HTTPBackendRefModel {
  kind: "Service" | "InferencePool";
  namespace: string;
  name: string;
  /** Service port (required for a Service; ignored for an InferencePool, whose targetPorts decide). */
  port?: number;
  weight: number;
  field: string;
}

export interface HTTPRuleModel {
  index: number;
  field: string;
  /** Never empty: a rule without matches matches PathPrefix "/". */
  matches: HTTPMatchModel[];
  backendRefs: HTTPBackendRefModel[];
  timeoutMs?: number;
}

export interface HTTPRouteModel extends RouteBaseModel {
  /** Lower-case host names, "*." wildcards allowed; empty = the listener's. */
  hostnames: string[];
  rules: HTTPRuleModel[];
}

export function readHTTPRoute(obj: AppliedObject, problems: Problems): HTTPRouteModel {
  const f = new Fields(problems, obj);
  const spec = f.record(obj.object.spec, "spec", true) ?? {};
  warnIgnored(f, spec, "spec", ["parentRefs", "hostnames", "rules"]);
  const hostnames = readHostnames(f, spec.hostnames);
  const ruleList = f.records(spec.rules, "spec.rules");
  if (ruleList.length > MAX_HTTPROUTE_RULES) f.fail("spec.rules", `Gateway API allows at most ${MAX_HTTPROUTE_RULES} rules, got ${ruleList.length}`);
  // Gateway API: no rules is one rule that matches everything and has no backend.
  const rules = ruleList.length === 0 ? [defaultRule()] : ruleList.map(([r, rf], index) => readRule(f, r, rf, index, obj.namespace));
  return {
    obj,
    f,
    namespace: obj.namespace,
    name: obj.name,
    createdAt: readCreatedAt(f, obj),
    parentRefs: readParentRefs(f, spec.parentRefs, "spec.parentRefs", obj.namespace),
    hostnames,
    rules,
  };
}

function defaultRule(): HTTPRuleModel {
  return { index: 0, field: "spec.rules", matches: [{ path: { type: "PathPrefix", value: "/" }, headers: [] }], backendRefs: [] };
}

function warnIgnored(f: Fields, r: Json, field: string, known: readonly string[]): void {
  for (const k of Object.keys(r)) if (!known.includes(k)) f.warn(`${field}.${k}`, "ignored by aigw run");
}

function readRule(f: Fields, r: Json, field: string, index: number, namespace: string): HTTPRuleModel {
  warnIgnored(f, r, field, ["name", "matches", "filters", "backendRefs", "timeouts"]);
  f.string(r.name, `${field}.name`);
  if (r.filters !== undefined) f.fail(`${field}.filters`, "not supported by aigw run");
  const matchList = f.records(r.matches, `${field}.matches`);
  if (matchList.length > MAX_MATCHES) f.fail(`${field}.matches`, `Gateway API allows at most ${MAX_MATCHES}, got ${matchList.length}`);
  const matches = matchList.map(([m, mf]) => readMatch(f, m, mf));
  if (matches.length === 0) matches.push({ path: { type: "PathPrefix", value: "/" }, headers: [] });
  const backendRefs: HTTPBackendRefModel[] = [];
  for (const [b, bf] of f.records(r.backendRefs, `${field}.backendRefs`)) {
    const ref = readBackendRef(f, b, bf, namespace);
    if (ref) backendRefs.push(ref);
  }
  const rule: HTTPRuleModel = { index, field, matches, backendRefs };
  const timeouts = f.record(r.timeouts, `${field}.timeouts`);
  if (timeouts) {
    warnIgnored(f, timeouts, `${field}.timeouts`, ["request"]);
    if (timeouts.request !== undefined) {
      const ms = parseDuration(f, timeouts.request, `${field}.timeouts.request`);
      if (ms !== undefined) rule.timeoutMs = ms;
    }
  }
  return rule;
}

function readMatch(f: Fields, m: Json, field: string): HTTPMatchModel {
  warnIgnored(f, m, field, ["path", "headers", "queryParams", "method"]);
  if (m.queryParams !== undefined) f.fail(`${field}.queryParams`, "not supported by aigw run");
  const p = f.record(m.path, `${field}.path`) ?? {};
  const type = f.oneOf(p.type, `${field}.path.type`, ["Exact", "PathPrefix", "RegularExpression"], "PathPrefix");
  const value = f.string(p.value, `${field}.path.value`) ?? "/";
  if (type === "RegularExpression") {
    try {
      new RegExp(value);
    } catch (err) {
      f.fail(`${field}.path.value`, `not a valid regular expression: ${(err as Error).message}`);
    }
  } else if (!value.startsWith("/") || /[?#]/.test(value) || /\/\/|\/\.\.?(\/|$)/.test(value)) {
    f.fail(`${field}.path.value`, `must be an absolute path without "//", "/./", "/../", "?" or "#", got "${value}"`);
  }
  const headers: HeaderMatchModel[] = [];
  const headerList = f.records(m.headers, `${field}.headers`);
  if (headerList.length > MAX_HEADERS) f.fail(`${field}.headers`, `Gateway API allows at most ${MAX_HEADERS}, got ${headerList.length}`);
  for (const [h, hf] of headerList) {
    const htype = f.oneOf(h.type, `${hf}.type`, ["Exact", "RegularExpression"], "Exact");
    const name = f.string(h.name, `${hf}.name`, true);
    const hvalue = f.string(h.value, `${hf}.value`, true);
    if (name === undefined || hvalue === undefined) continue;
    // Gateway API: of equivalent header names only the first counts.
    if (headers.some((x) => x.name === name.toLowerCase())) {
      f.warn(`${hf}.name`, `header "${name}" is already matched by an earlier entry: ignored`);
      continue;
    }
    headers.push({ name: name.toLowerCase(), type: htype, value: hvalue });
  }
  const match: HTTPMatchModel = { path: { type, value }, headers };
  // A wrong method is an error, so the fallback never serves.
  if (m.method !== undefined) match.method = f.oneOf(m.method, `${field}.method`, METHODS, "GET");
  return match;
}

function readBackendRef(f: Fields, b: Json, field: string, routeNamespace: string): HTTPBackendRefModel | undefined {
  warnIgnored(f, b, field, ["group", "kind", "name", "namespace", "port", "weight", "filters"]);
  if (b.filters !== undefined) f.fail(`${field}.filters`, "not supported by aigw run");
  const name = f.string(b.name, `${field}.name`, true);
  const group = f.string(b.group, `${field}.group`) ?? "";
  const kind = f.string(b.kind, `${field}.kind`) ?? "Service";
  const port = f.port(b.port, `${field}.port`);
  const weight = f.int(b.weight, `${field}.weight`, { min: 0, max: MAX_WEIGHT }) ?? 1;
  let resolved: HTTPBackendRefModel["kind"] | undefined;
  if (group === "" && kind === "Service") {
    resolved = "Service";
    if (port === undefined && b.port === undefined) f.fail(`${field}.port`, "required for a Service backend");
  } else if (group === INFERENCE_GROUP && kind === "InferencePool") {
    resolved = "InferencePool"; // the port is ignored: the pool's targetPorts decide (GIE conformance)
  } else {
    f.fail(field, `must be a Service (group "") or an InferencePool (group ${INFERENCE_GROUP}), got ${group ? `${group}/` : ""}${kind}`);
  }
  if (name === undefined || resolved === undefined || (resolved === "Service" && port === undefined)) return undefined;
  const ref: HTTPBackendRefModel = {
    kind: resolved,
    namespace: f.string(b.namespace, `${field}.namespace`) ?? routeNamespace,
    name,
    weight,
    field,
  };
  if (resolved === "Service") ref.port = port;
  return ref;
}
