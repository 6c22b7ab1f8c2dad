// Typed views of the Gateway API, Inference Extension, Envoy AI Gateway and Envoy Gateway kinds:
// GatewayClass, Gateway, ReferenceGrant, InferencePool, InferenceObjective, AIGatewayRoute,
// AIServiceBackend and Backend.

import { Fields, parseDuration } from "../read/fields.js";
import { loopbackProblem } from "./loopback.js";
import type { AppliedObject } from "../read/objects.js";
import { AIGW_GROUP, ENVOY_GATEWAY_GROUP, GATEWAY_API_GROUP, INFERENCE_GROUP } from "../read/objects.js";
import type { Problems } from "../read/problems.js";
import { MODEL_HEADER } from "../plugin-config.js";
import { GATEWAY_CONFIG_ANNOTATION, readCosts, type CostModel } from "./model-policy.js";

export const BODY_MODE_ANNOTATION = "aigateway.envoyproxy.io/processing-body-mode";
export const ALLOW_MODE_OVERRIDE_ANNOTATION = "aigateway.envoyproxy.io/allow-mode-override";
/** Envoy AI Gateway's limit (one of 16 slots is its generated route-not-found rule). */
export const MAX_RULES_PER_ROUTE = 15;
/** Gateway API limit on a route's hostnames (HTTPRoute and AIGatewayRoute CRD validation). */
const MAX_HOSTNAMES = 16;
/** RFC 1123 host name, optionally with a leading "*." label (HTTPRoute CRD pattern). */
const HOSTNAME = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export interface ListenerModel {
  name: string;
  port: number;
  hostname?: string;
  /** allowedRoutes.namespaces.from */
  routesFrom: "Same" | "All";
  field: string;
}

export interface GatewayModel {
  obj: AppliedObject;
  f: Fields;
  namespace: string;
  name: string;
  className: string;
  listeners: ListenerModel[];
  /** The GatewayConfig (same namespace) named by the aigateway.envoyproxy.io/gateway-config annotation. */
  gatewayConfig?: string;
}

export interface ReferenceGrantModel {
  namespace: string;
  from: Array<{ group: string; kind: string; namespace: string }>;
  to: Array<{ group: string; kind: string; name?: string }>;
}

export interface PoolModel {
  obj: AppliedObject;
  f: Fields;
  namespace: string;
  name: string;
  selector: Record<string, string>;
  targetPorts: number[];
  /** endpointPickerRef: a Service in the pool's namespace and its (Service) port. */
  epp: { service: string; port: number; failureMode: "FailOpen" | "FailClose" };
  bodyMode: "duplex" | "buffered";
  allowModeOverride: boolean;
}

export interface ObjectiveModel {
  obj: AppliedObject;
  namespace: string;
  name: string;
  priority: number;
  poolGroup: string;
  poolKind: string;
  poolName: string;
}

export interface HeaderMatchModel {
  /** Lower-cased: header names match case-insensitively. */
  name: string;
  type: "Exact" | "RegularExpression";
  value: string;
}

export interface RouteBackendRefModel {
  kind: "AIServiceBackend" | "InferencePool";
  namespace: string;
  name: string;
  weight: number;
  modelNameOverride: string;
  field: string;
}

export interface RuleModel {
  index: number;
  field: string;
  /** OR of matches; each match is an AND of header matches. */
  matches: HeaderMatchModel[][];
  backendRefs: RouteBackendRefModel[];
  timeoutMs?: number;
  /** streamIdleTimeout: Envoy route retry_policy.per_try_idle_timeout (Envoy AI Gateway v1.1.0 extension server). */
  streamIdleTimeoutMs?: number;
  modelsOwnedBy?: string;
  /** Unix seconds. */
  modelsCreatedAt?: number;
}

export interface ParentRefModel {
  group: string;
  kind: string;
  namespace: string;
  name: string;
  sectionName?: string;
  port?: number;
  field: string;
}

/** What routes of every kind have: identity, age and the Gateways they attach to. */
export interface RouteBaseModel {
  obj: AppliedObject;
  f: Fields;
  namespace: string;
  name: string;
  /** metadata.creationTimestamp in unix seconds, when given. */
  createdAt?: number;
  parentRefs: ParentRefModel[];
}

/** An AIGatewayRoute. */
export interface RouteModel extends RouteBaseModel {
  /** Lower-case host names, "*." wildcards allowed; empty = the listener's (as HTTPRoute hostnames). */
  hostnames: string[];
  rules: RuleModel[];
  /** spec.llmRequestCosts */
  costs: CostModel[];
}

export interface AIServiceBackendModel {
  obj: AppliedObject;
  f: Fields;
  namespace: string;
  name: string;
  /** Envoy Gateway Backend, or a Service with a port. */
  backendRef: { kind: "Backend" | "Service"; namespace: string; name: string; port?: number; field: string };
}

export type BackendEndpointModel = { ip: string; port: number; field: string } | { fqdn: string; port: number; field: string };

export interface BackendModel {
  obj: AppliedObject;
  f: Fields;
  namespace: string;
  name: string;
  endpoints: BackendEndpointModel[];
  http2: boolean;
}

export function readGateway(obj: AppliedObject, problems: Problems): GatewayModel {
  const f = new Fields(problems, obj);
  const spec = f.record(obj.object.spec, "spec", true) ?? {};
  const className = f.string(spec.gatewayClassName, "spec.gatewayClassName", true) ?? "";
  const listeners: ListenerModel[] = [];
  for (const [l, field] of f.records(spec.listeners, "spec.listeners", true)) {
    const name = f.string(l.name, `${field}.name`, true);
    const port = f.port(l.port, `${field}.port`, true);
    const protocol = f.string(l.protocol, `${field}.protocol`, true);
    if (protocol !== undefined && protocol !== "HTTP") {
      f.fail(`${field}.protocol`, `${protocol} listeners are not supported by aigw run (only HTTP)`);
    }
    const allowed = f.record(l.allowedRoutes, `${field}.allowedRoutes`) ?? {};
    const namespaces = f.record(allowed.namespaces, `${field}.allowedRoutes.namespaces`) ?? {};
    const from = f.oneOf(namespaces.from, `${field}.allowedRoutes.namespaces.from`, ["Same", "All", "Selector"], "Same");
    if (from === "Selector") f.fail(`${field}.allowedRoutes.namespaces.from`, "Selector is not supported by aigw run");
    if (name === undefined || port === undefined || protocol !== "HTTP") continue;
    listeners.push({
      name,
      port,
      hostname: f.string(l.hostname, `${field}.hostname`),
      routesFrom: from === "All" ? "All" : "Same",
      field,
    });
  }
  const gw: GatewayModel = { obj, f, namespace: obj.namespace, name: obj.name, className, listeners };
  const annotations = f.stringMap(obj.object.metadata.annotations, "metadata.annotations");
  const configName = annotations[GATEWAY_CONFIG_ANNOTATION];
  if (configName !== undefined && configName === "") f.fail(`metadata.annotations.${GATEWAY_CONFIG_ANNOTATION}`, "must name a GatewayConfig");
  else if (configName !== undefined) gw.gatewayConfig = configName;
  return gw;
}

export function readReferenceGrant(obj: AppliedObject, problems: Problems): ReferenceGrantModel {
  const f = new Fields(problems, obj);
  const spec = f.record(obj.object.spec, "spec", true) ?? {};
  return {
    namespace: obj.namespace,
    from: f.records(spec.from, "spec.from", true).map(([r, rf]) => ({
      group: f.string(r.group, `${rf}.group`) ?? "",
      kind: f.string(r.kind, `${rf}.kind`, true) ?? "",
      namespace: f.string(r.namespace, `${rf}.namespace`, true) ?? "",
    })),
    to: f.records(spec.to, "spec.to", true).map(([r, rf]) => ({
      group: f.string(r.group, `${rf}.group`) ?? "",
      kind: f.string(r.kind, `${rf}.kind`, true) ?? "",
      name: f.string(r.name, `${rf}.name`),
    })),
  };
}

export function readInferencePool(obj: AppliedObject, problems: Problems): PoolModel {
  const f = new Fields(problems, obj);
  const spec = f.record(obj.object.spec, "spec", true) ?? {};
  const selectorSpec = f.record(spec.selector, "spec.selector", true) ?? {};
  const selector = f.stringMap(selectorSpec.matchLabels, "spec.selector.matchLabels", true);
  if (spec.selector !== undefined && Object.keys(selector).length === 0 && selectorSpec.matchLabels !== undefined) {
    f.fail("spec.selector.matchLabels", "must select at least one label");
  }
  const targetPorts: number[] = [];
  const ports = f.records(spec.targetPorts, "spec.targetPorts", true);
  if (spec.targetPorts !== undefined && (ports.length < 1 || ports.length > 8)) {
    f.fail("spec.targetPorts", `must hold 1 to 8 ports, got ${ports.length}`);
  }
  for (const [p, pf] of ports) {
    const n = f.port(p.number, `${pf}.number`, true);
    if (n !== undefined) targetPorts.push(n);
  }
  const ref = f.record(spec.endpointPickerRef, "spec.endpointPickerRef", true) ?? {};
  const group = f.string(ref.group, "spec.endpointPickerRef.group") ?? "";
  const kind = f.string(ref.kind, "spec.endpointPickerRef.kind") ?? "Service";
  if (group !== "" || kind !== "Service") {
    f.fail("spec.endpointPickerRef", `only a core Service is supported as Endpoint Picker, got ${group ? `${group}/` : ""}${kind}`);
  }
  const service = f.string(ref.name, "spec.endpointPickerRef.name", spec.endpointPickerRef !== undefined) ?? "";
  const portRef = f.record(ref.port, "spec.endpointPickerRef.port", spec.endpointPickerRef !== undefined) ?? {};
  const port = f.port(portRef.number, "spec.endpointPickerRef.port.number", ref.port !== undefined) ?? 0;
  const failureMode = f.oneOf(ref.failureMode, "spec.endpointPickerRef.failureMode", ["FailOpen", "FailClose"], "FailClose");

  const annotations = f.stringMap(obj.object.metadata.annotations, "metadata.annotations");
  const modeValue = annotations[BODY_MODE_ANNOTATION];
  // Envoy AI Gateway: "buffered" selects BUFFERED, anything else FULL_DUPLEX_STREAMED.
  if (modeValue !== undefined && modeValue !== "duplex" && modeValue !== "buffered") {
    f.warn(`metadata.annotations.${BODY_MODE_ANNOTATION}`, `unknown value "${modeValue}", using "duplex"`);
  }
  return {
    obj,
    f,
    namespace: obj.namespace,
    name: obj.name,
    selector,
    targetPorts,
    epp: { service, port, failureMode },
    bodyMode: modeValue === "buffered" ? "buffered" : "duplex",
    allowModeOverride: annotations[ALLOW_MODE_OVERRIDE_ANNOTATION] === "true",
  };
}

export function readInferenceObjective(obj: AppliedObject, problems: Problems): ObjectiveModel {
  const f = new Fields(problems, obj);
  const spec = f.record(obj.object.spec, "spec", true) ?? {};
  const poolRef = f.record(spec.poolRef, "spec.poolRef", true) ?? {};
  return {
    obj,
    namespace: obj.namespace,
    name: obj.name,
    priority: f.int(spec.priority, "spec.priority") ?? 0,
    poolGroup: f.string(poolRef.group, "spec.poolRef.group") ?? INFERENCE_GROUP,
    poolKind: f.string(poolRef.kind, "spec.poolRef.kind") ?? "InferencePool",
    poolName: f.string(poolRef.name, "spec.poolRef.name", true) ?? "",
  };
}

export function readAIGatewayRoute(obj: AppliedObject, problems: Problems): RouteModel {
  const f = new Fields(problems, obj);
  const spec = f.record(obj.object.spec, "spec", true) ?? {};
  const schema = f.record(spec.schema, "spec.schema");
  if (schema && schema.name !== "OpenAI") {
    f.fail("spec.schema.name", `schema ${JSON.stringify(schema.name)} is not supported by aigw run (only OpenAI)`);
  }
  if (spec.filterConfig !== undefined) f.warn("spec.filterConfig", "ignored by aigw run");

  // targetRefs is the deprecated (v0.2) way to attach to a Gateway; it has the same shape.
  const refsField = spec.parentRefs !== undefined || spec.targetRefs === undefined ? "spec.parentRefs" : "spec.targetRefs";
  const parentRefs = readParentRefs(f, spec[refsField.slice(5)], refsField, obj.namespace);

  const rules = f.records(spec.rules, "spec.rules", true).map(([r, rf], index) => readRule(f, r, rf, index, obj.namespace));
  if (rules.length > MAX_RULES_PER_ROUTE) {
    f.warn(
      "spec.rules",
      `Envoy AI Gateway accepts at most ${MAX_RULES_PER_ROUTE} rules per route (aigw run serves all ${rules.length}); split the route to stay portable`,
    );
  }
  const costs = readCosts(f, spec.llmRequestCosts, "spec.llmRequestCosts");
  const hostnames = readHostnames(f, spec.hostnames);
  return { obj, f, namespace: obj.namespace, name: obj.name, createdAt: readCreatedAt(f, obj), parentRefs, hostnames, rules, costs };
}

/** spec.hostnames of an HTTPRoute or AIGatewayRoute (Gateway API Hostname: lower case, a leading "*." allowed). */
export function readHostnames(f: Fields, value: unknown): string[] {
  const hostnames: string[] = [];
  const listed = f.list(value, "spec.hostnames");
  if (listed.length > MAX_HOSTNAMES) f.fail("spec.hostnames", `Gateway API allows at most ${MAX_HOSTNAMES}, got ${listed.length}`);
  listed.forEach((h, i) => {
    const name = f.string(h, `spec.hostnames[${i}]`, true);
    if (name === undefined) return;
    if (!HOSTNAME.test(name)) f.fail(`spec.hostnames[${i}]`, `"${name}" is not a lower-case host name (a leading "*." is allowed)`);
    else hostnames.push(name);
  });
  return hostnames;
}

/** A route's parentRefs (Gateway API ParentReference: group and kind default to a Gateway, namespace to the route's). */
export function readParentRefs(f: Fields, value: unknown, field: string, routeNamespace: string): ParentRefModel[] {
  return f.records(value, field, true).map(([p, pf]) => ({
    group: f.string(p.group, `${pf}.group`) ?? GATEWAY_API_GROUP,
    kind: f.string(p.kind, `${pf}.kind`) ?? "Gateway",
    namespace: f.string(p.namespace, `${pf}.namespace`) ?? routeNamespace,
    name: f.string(p.name, `${pf}.name`, true) ?? "",
    sectionName: f.string(p.sectionName, `${pf}.sectionName`),
    port: f.port(p.port, `${pf}.port`),
    field: pf,
  }));
}

/** metadata.creationTimestamp in unix seconds, when given (routes of equal precedence: the oldest wins). */
export function readCreatedAt(f: Fields, obj: AppliedObject): number | undefined {
  const ts = obj.object.metadata.creationTimestamp;
  return ts === undefined ? undefined : parseTimestamp(f, ts, "metadata.creationTimestamp");
}

function readRule(f: Fields, r: Record<string, unknown>, field: string, index: number, namespace: string): RuleModel {
  const matches: HeaderMatchModel[][] = [];
  for (const [m, mf] of f.records(r.matches, `${field}.matches`)) {
    for (const k of Object.keys(m)) {
      if (k !== "headers") f.fail(`${mf}.${k}`, "not supported (AIGatewayRoute matches on headers only)");
    }
    const headers: HeaderMatchModel[] = [];
    for (const [h, hf] of f.records(m.headers, `${mf}.headers`)) {
      const type = f.oneOf(h.type, `${hf}.type`, ["Exact", "RegularExpression"], "Exact");
      const name = f.string(h.name, `${hf}.name`, true);
      const value = f.string(h.value, `${hf}.value`, true);
      if (name !== undefined && value !== undefined) headers.push({ name: name.toLowerCase(), type, value });
    }
    matches.push(headers);
  }
  const backendRefs: RouteBackendRefModel[] = [];
  for (const [b, bf] of f.records(r.backendRefs, `${field}.backendRefs`, true)) {
    const ref = readRouteBackendRef(f, b, bf, namespace);
    if (ref) backendRefs.push(ref);
  }
  if (Array.isArray(r.backendRefs) && r.backendRefs.length === 0) f.fail(`${field}.backendRefs`, "must name at least one backend");
  const pools = backendRefs.filter((b) => b.kind === "InferencePool");
  if (pools.length > 1) f.fail(`${field}.backendRefs`, "at most one InferencePool per rule");
  if (pools.length > 0 && pools.length < backendRefs.length) {
    f.fail(`${field}.backendRefs`, "an InferencePool cannot be mixed with AIServiceBackends in one rule");
  }
  const rule: RuleModel = { index, field, matches, backendRefs };
  const timeouts = f.record(r.timeouts, `${field}.timeouts`);
  if (timeouts?.request !== undefined) {
    const ms = parseDuration(f, timeouts.request, `${field}.timeouts.request`);
    if (ms !== undefined) rule.timeoutMs = ms;
  }
  if (r.streamIdleTimeout !== undefined) {
    // A zero duration sets nothing, as Envoy AI Gateway skips a timeout <= 0.
    const ms = parseDuration(f, r.streamIdleTimeout, `${field}.streamIdleTimeout`);
    if (ms !== undefined && ms > 0) rule.streamIdleTimeoutMs = ms;
  }
  const ownedBy = f.string(r.modelsOwnedBy, `${field}.modelsOwnedBy`);
  if (ownedBy !== undefined) rule.modelsOwnedBy = ownedBy;
  if (r.modelsCreatedAt !== undefined) {
    const at = parseTimestamp(f, r.modelsCreatedAt, `${field}.modelsCreatedAt`);
    if (at !== undefined) rule.modelsCreatedAt = at;
  }
  return rule;
}

function readRouteBackendRef(f: Fields, b: Record<string, unknown>, field: string, routeNamespace: string): RouteBackendRefModel | undefined {
  const name = f.string(b.name, `${field}.name`, true);
  const group = f.string(b.group, `${field}.group`);
  const kind = f.string(b.kind, `${field}.kind`);
  let resolved: RouteBackendRefModel["kind"] | undefined;
  if (kind === "InferencePool") {
    if (group === INFERENCE_GROUP) resolved = "InferencePool";
    else f.fail(`${field}.group`, `an InferencePool backend needs group ${INFERENCE_GROUP}, got ${JSON.stringify(group ?? "")}`);
  } else if (kind === undefined || kind === "AIServiceBackend") {
    if (group === undefined || group === AIGW_GROUP) resolved = "AIServiceBackend";
    else f.fail(`${field}.group`, `an AIServiceBackend backend needs group ${AIGW_GROUP}, got "${group}"`);
  } else {
    f.fail(`${field}.kind`, `must be AIServiceBackend or InferencePool, got "${kind}"`);
  }
  const weight = f.int(b.weight, `${field}.weight`, { min: 0 }) ?? 1;
  const modelNameOverride = f.string(b.modelNameOverride, `${field}.modelNameOverride`) ?? "";
  const priority = f.int(b.priority, `${field}.priority`, { min: 0 });
  if (priority !== undefined && priority !== 0) f.warn(`${field}.priority`, "priority fallback is not applied by aigw run");
  for (const k of ["headerMutation", "bodyMutation"]) {
    if (b[k] !== undefined) f.fail(`${field}.${k}`, "not supported by aigw run");
  }
  if (name === undefined || resolved === undefined) return undefined;
  return {
    kind: resolved,
    namespace: f.string(b.namespace, `${field}.namespace`) ?? routeNamespace,
    name,
    weight,
    modelNameOverride,
    field,
  };
}

export function readAIServiceBackend(obj: AppliedObject, problems: Problems): AIServiceBackendModel {
  const f = new Fields(problems, obj);
  const spec = f.record(obj.object.spec, "spec", true) ?? {};
  const schema = f.record(spec.schema, "spec.schema", true);
  if (schema) {
    const name = f.string(schema.name, "spec.schema.name", true);
    if (name !== undefined && name !== "OpenAI") {
      f.fail("spec.schema.name", `schema "${name}" is not supported by aigw run (only OpenAI)`);
    }
  }
  if (spec.headerMutation !== undefined || spec.bodyMutation !== undefined) {
    f.fail("spec", "headerMutation and bodyMutation are not supported by aigw run");
  }
  const ref = f.record(spec.backendRef, "spec.backendRef", true) ?? {};
  // backendRef is a Gateway API BackendObjectReference: group "" and kind Service unless said otherwise.
  const group = f.string(ref.group, "spec.backendRef.group") ?? "";
  const kind = f.string(ref.kind, "spec.backendRef.kind") ?? "Service";
  let refKind: "Backend" | "Service" = "Backend";
  if (kind === "Backend" && group === ENVOY_GATEWAY_GROUP) refKind = "Backend";
  else if (kind === "Service" && group === "") refKind = "Service";
  else f.fail("spec.backendRef", `must be an Envoy Gateway Backend (${ENVOY_GATEWAY_GROUP}) or a Service, got ${group ? `${group}/` : ""}${kind}`);
  const port = f.port(ref.port, "spec.backendRef.port", refKind === "Service");
  return {
    obj,
    f,
    namespace: obj.namespace,
    name: obj.name,
    backendRef: {
      kind: refKind,
      namespace: f.string(ref.namespace, "spec.backendRef.namespace") ?? obj.namespace,
      name: f.string(ref.name, "spec.backendRef.name", true) ?? "",
      port,
      field: "spec.backendRef",
    },
  };
}

export function readBackend(obj: AppliedObject, problems: Problems): BackendModel {
  const f = new Fields(problems, obj);
  const spec = f.record(obj.object.spec, "spec", true) ?? {};
  if (spec.type !== undefined && spec.type !== "Endpoints") f.fail("spec.type", `${JSON.stringify(spec.type)} is not supported by aigw run`);
  if (spec.tls !== undefined) f.fail("spec.tls", "upstream TLS is not supported by aigw run");
  const endpoints: BackendEndpointModel[] = [];
  for (const [e, ef] of f.records(spec.endpoints, "spec.endpoints", true)) {
    if (e.ip !== undefined) {
      const ip = f.record(e.ip, `${ef}.ip`) ?? {};
      const address = f.string(ip.address, `${ef}.ip.address`, true);
      const port = f.port(ip.port, `${ef}.ip.port`, true);
      const problem = address === undefined ? undefined : loopbackProblem(address);
      if (problem) f.fail(`${ef}.ip.address`, problem);
      else if (address !== undefined && port !== undefined) endpoints.push({ ip: address, port, field: `${ef}.ip` });
    } else if (e.fqdn !== undefined) {
      const fqdn = f.record(e.fqdn, `${ef}.fqdn`) ?? {};
      const hostname = f.string(fqdn.hostname, `${ef}.fqdn.hostname`, true);
      const port = f.port(fqdn.port, `${ef}.fqdn.port`, true);
      if (hostname !== undefined && port !== undefined) endpoints.push({ fqdn: hostname.toLowerCase().replace(/\.$/, ""), port, field: `${ef}.fqdn` });
    } else {
      f.fail(ef, "only ip and fqdn endpoints are supported by aigw run");
    }
  }
  const appProtocols = f.list(spec.appProtocols, "spec.appProtocols");
  for (const [i, p] of appProtocols.entries()) {
    if (p !== "gateway.envoyproxy.io/h2c") f.fail(`spec.appProtocols[${i}]`, `${JSON.stringify(p)} is not supported by aigw run`);
  }
  return { obj, f, namespace: obj.namespace, name: obj.name, endpoints, http2: appProtocols.length > 0 };
}

function parseTimestamp(f: Fields, value: unknown, field: string): number | undefined {
  // The yaml package keeps timestamps as strings (YAML 1.2 core schema); accept Date for safety.
  const ms = value instanceof Date ? value.getTime() : typeof value === "string" ? Date.parse(value) : NaN;
  if (!Number.isFinite(ms)) {
    f.fail(field, `must be an RFC 3339 timestamp such as "2025-01-01T00:00:00Z", got ${JSON.stringify(value)}`);
    return undefined;
  }
  return Math.floor(ms / 1000);
}

/** Whether a header match selects models that /v1/models lists. */
export function isModelListing(m: HeaderMatchModel): boolean {
  return m.type === "Exact" && m.name === MODEL_HEADER;
}
