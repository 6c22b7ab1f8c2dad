// Envoy's v3 API as published (the .proto files @grpc/grpc-js-xds ships under deps/), and a checker that
// walks a YAML/JSON document against it field by field, the way Envoy's own loader reads a bootstrap
// (protobuf JSON mapping, unknown fields rejected): unknown and deprecated fields, wrong JSON types, enum
// names, Duration strings, Any @type URLs (resolved and the rest of the Any checked against that type),
// two members of one oneof, and the common protoc-gen-validate rules (required message, required oneof,
// string min_len, repeated min_items, numeric bounds). protobufjs's fromObject would silently drop what
// it does not know, so nothing here goes through it.
//
// The snapshot predates Envoy 1.35; declareNewerApi() adds what the bootstrap uses from later versions.

import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import protobuf from "protobufjs";
import { addField, envoyProtoDir, isBuiltinProto, loadEnvoyProtos, locateProto } from "../envoy-api/protos.js";

type PbType = protobuf.Type;
type PbField = protobuf.Field;

export interface EnvoySchema {
  root: protobuf.Root;
  /** Proto files of the snapshot left out because an import is missing (none of them is used here). */
  skipped: string[];
}

let cached: EnvoySchema | undefined;

/** Loads (once per process) every v3 proto of the snapshot plus the newer declarations. */
export function envoySchema(): EnvoySchema {
  cached ??= loadSchema();
  return cached;
}

function loadSchema(): EnvoySchema {
  const deps = envoyProtoDir();
  const loadable = new Map<string, boolean>();
  const canLoad = (file: string, seen: Set<string>): boolean => {
    const known = loadable.get(file);
    if (known !== undefined) return known;
    if (isBuiltinProto(file) || seen.has(file)) return true;
    seen.add(file);
    const path = locateProto(file);
    const ok =
      path !== undefined && [...readFileSync(path, "utf8").matchAll(/^import\s+(?:public\s+|weak\s+)?"([^"]+)";/gm)].every((m) => canLoad(m[1]!, seen));
    loadable.set(file, ok);
    return ok;
  };
  const apiDir = join(deps, "envoy-api");
  const all = walkProtos(join(apiDir, "envoy"))
    .map((p) => relative(apiDir, p).split(sep).join("/"))
    .filter((p) => p.includes("/v3/"))
    .sort();
  const files = all.filter((f) => canLoad(f, new Set()));
  const root = loadEnvoyProtos(files);
  declareNewerApi(root);
  root.resolveAll();
  return { root, skipped: all.filter((f) => !files.includes(f)) };
}

function walkProtos(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walkProtos(p, out);
    else if (name.endsWith(".proto")) out.push(p);
  }
  return out;
}

// envoyproxy/envoy api/envoy/extensions/load_balancing_policies/override_host/v3/override_host.proto
// (added in Envoy 1.35.0 by PR #38757), field numbers and rules as published there.
const OVERRIDE_HOST_PROTO = `
syntax = "proto3";
package envoy.extensions.load_balancing_policies.override_host.v3;
message OverrideHost {
  message OverrideHostSource {
    string header = 1;
    envoy.type.metadata.v3.MetadataKey metadata = 2;
  }
  repeated OverrideHostSource override_host_sources = 1 [(validate.rules).repeated = {min_items: 1}];
  envoy.type.metadata.v3.MetadataKey selected_host_key = 2;
  envoy.config.cluster.v3.LoadBalancingPolicy fallback_policy = 3 [(validate.rules).message = {required: true}];
}
`;

/** API the bootstrap uses that is newer than the snapshot. Each entry cites where its number comes from. */
function declareNewerApi(root: protobuf.Root): void {
  // envoy.extensions.wasm.v3.PluginConfig.allow_on_headers_stop_iteration = 9, a google.protobuf.BoolValue:
  // Envoy 1.35.0 (PR #40213, api/envoy/extensions/wasm/v3/wasm.proto); the number is the one envoyproxy/gateway
  // issue #8382 quotes ("field 9 of extensions.wasm.v3.PluginConfig"), BoolValue per Envoy's
  // PROTOBUF_GET_WRAPPED_OR_DEFAULT(config, allow_on_headers_stop_iteration, ...) in wasm context.cc.
  addField(root, "envoy.extensions.wasm.v3.PluginConfig", "allow_on_headers_stop_iteration", 9, "google.protobuf.BoolValue");
  if (!root.lookup("envoy.extensions.load_balancing_policies.override_host.v3.OverrideHost")) {
    protobuf.parse(OVERRIDE_HOST_PROTO, root, { keepCase: true });
  }
}

// ---------------------------------------------------------------------------------------------------------
// The checker.

const WRAPPERS: Record<string, string> = {
  ".google.protobuf.DoubleValue": "double",
  ".google.protobuf.FloatValue": "float",
  ".google.protobuf.Int64Value": "int64",
  ".google.protobuf.UInt64Value": "uint64",
  ".google.protobuf.Int32Value": "int32",
  ".google.protobuf.UInt32Value": "uint32",
  ".google.protobuf.BoolValue": "bool",
  ".google.protobuf.StringValue": "string",
  ".google.protobuf.BytesValue": "bytes",
};

/** Well-known types whose JSON form is not an object of fields; inside an Any they sit under "value". */
const SPECIAL_JSON = new Set([
  ...Object.keys(WRAPPERS),
  ".google.protobuf.Duration",
  ".google.protobuf.Timestamp",
  ".google.protobuf.FieldMask",
  ".google.protobuf.Struct",
  ".google.protobuf.Value",
  ".google.protobuf.ListValue",
]);

/** Fields that name a cluster: "<message full name>.<field>". */
const CLUSTER_REFERENCES = new Set([
  ".envoy.config.route.v3.RouteAction.cluster",
  ".envoy.config.route.v3.WeightedCluster.ClusterWeight.name",
  ".envoy.config.core.v3.GrpcService.EnvoyGrpc.cluster_name",
  ".envoy.config.core.v3.HttpUri.cluster",
]);

interface Walk {
  problems: string[];
  /** Cluster names referenced, with where. */
  references: Array<{ cluster: string; at: string }>;
}

/** Problems of `value` read as the message `typeName` (e.g. "envoy.config.cluster.v3.Cluster"); [] if none. */
export function checkMessage(typeName: string, value: unknown, at = ""): string[] {
  const walk: Walk = { problems: [], references: [] };
  messageValue(envoySchema().root.lookupType(typeName), value, at, walk);
  return walk.problems;
}

/**
 * Problems of a bootstrap document: everything checkMessage finds, duplicate cluster names, and every cluster
 * that a route (of a route table that validates its clusters), a gRPC service, an HTTP URI or the ai-gateway
 * plugin configuration (pools[].eppCluster, Global rateLimits[].rlsCluster) names without static_resources
 * defining it.
 */
export function checkBootstrap(doc: unknown): string[] {
  const walk: Walk = { problems: [], references: [] };
  messageValue(envoySchema().root.lookupType("envoy.config.bootstrap.v3.Bootstrap"), doc, "", walk);
  const clusters = new Set<string>();
  const list = (doc as { static_resources?: { clusters?: unknown } })?.static_resources?.clusters;
  if (Array.isArray(list)) {
    list.forEach((c, i) => {
      const name = (c as { name?: unknown })?.name;
      if (typeof name !== "string") return;
      if (clusters.has(name)) walk.problems.push(`static_resources.clusters[${i}].name: cluster "${name}" is defined twice`);
      clusters.add(name);
    });
  }
  for (const r of walk.references) {
    if (!clusters.has(r.cluster)) walk.problems.push(`${r.at}: no cluster named "${r.cluster}" in static_resources.clusters`);
  }
  return walk.problems;
}

function join2(at: string, key: string): string {
  return at === "" ? key : `${at}.${key}`;
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function messageValue(type: PbType, value: unknown, at: string, w: Walk): void {
  const full = type.fullName;
  if (SPECIAL_JSON.has(full) || full === ".google.protobuf.Any" || full === ".google.protobuf.Empty") {
    wellKnown(type, value, at, w);
    return;
  }
  if (!isPlainObject(value)) {
    w.problems.push(`${at || "(document)"}: expected a ${type.name} message (a map), got ${show(value)}`);
    return;
  }
  // Envoy checks a route table's clusters unless validate_clusters is false (an HTTPRoute's invalid
  // backends name a cluster that does not exist on purpose, and get cluster_not_found_response_code).
  if (full === ".envoy.config.route.v3.RouteConfiguration" && value.validate_clusters === false) {
    const before = w.references.length;
    fields(type, value, at, w);
    w.references.length = before;
    return;
  }
  fields(type, value, at, w);
}

/** The fields of a message given as a map (also the non-"@type" part of an Any). */
function fields(type: PbType, value: Record<string, unknown>, at: string, w: Walk, skip?: string): void {
  const seen = new Map<string, string>();
  for (const [key, v] of Object.entries(value)) {
    if (key === skip) continue;
    const field = type.fields[key] ?? Object.values(type.fields).find((f) => jsonName(f.name) === key);
    const here = join2(at, key);
    if (!field) {
      w.problems.push(`${here}: unknown field of ${type.fullName.slice(1)}`);
      continue;
    }
    const twice = seen.get(field.name);
    if (twice !== undefined) {
      w.problems.push(`${here}: field ${field.name} is also given as "${twice}"`);
      continue;
    }
    seen.set(field.name, key);
    if (field.options?.deprecated === true) {
      w.problems.push(`${here}: deprecated field of ${type.fullName.slice(1)}`);
    }
    fieldValue(type, field, v, here, w);
  }
  for (const oneof of type.oneofsArray) {
    const set = oneof.oneof.filter((name) => seen.has(name));
    if (set.length > 1) {
      w.problems.push(`${at || "(document)"}: ${set.join(" and ")} are members of oneof ${oneof.name}; at most one may be set`);
    } else if (set.length === 0 && oneof.options?.["(validate.required)"] === true) {
      w.problems.push(`${at || "(document)"}: one of ${oneof.oneof.join(", ")} is required (oneof ${oneof.name})`);
    }
  }
  for (const field of type.fieldsArray) {
    if (!seen.has(field.name)) absentRules(field, join2(at, field.name), w);
  }
}

function jsonName(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function fieldValue(parent: PbType, field: PbField, v: unknown, at: string, w: Walk): void {
  if (v === null) {
    w.problems.push(`${at}: null (Envoy reads it as unset; leave the field out)`);
    return;
  }
  field.resolve();
  if (field instanceof protobuf.MapField) {
    if (!isPlainObject(v)) {
      w.problems.push(`${at}: expected a map, got ${show(v)}`);
      return;
    }
    for (const [k, item] of Object.entries(v)) {
      mapKey(field.keyType, k, `${at}[${JSON.stringify(k)}]`, w);
      singleValue(field, item, `${at}[${JSON.stringify(k)}]`, w);
    }
    return;
  }
  if (field.repeated) {
    if (!Array.isArray(v)) {
      w.problems.push(`${at}: expected a list, got ${show(v)}`);
      return;
    }
    const min = field.options?.["(validate.rules).repeated.min_items"];
    if (typeof min === "number" && v.length < min) w.problems.push(`${at}: needs at least ${min} item(s)`);
    v.forEach((item, i) => singleValue(field, item, `${at}[${i}]`, w));
    return;
  }
  singleValue(field, v, at, w);
  if (typeof v === "string" && CLUSTER_REFERENCES.has(`${parent.fullName}.${field.name}`)) w.references.push({ cluster: v, at });
  if (parent.fullName === ".envoy.extensions.wasm.v3.PluginConfig" && field.name === "configuration") pluginReferences(v, at, w);
}

function singleValue(field: PbField, v: unknown, at: string, w: Walk): void {
  if (v === null) {
    w.problems.push(`${at}: null (leave the element out)`);
    return;
  }
  const t = field.resolvedType;
  if (t instanceof protobuf.Type) messageValue(t, v, at, w);
  else if (t instanceof protobuf.Enum) enumValue(t, v, at, w);
  else {
    scalar(field.type, v, at, w);
    scalarRules(field, v, at, w);
  }
}

function enumValue(e: protobuf.Enum, v: unknown, at: string, w: Walk): void {
  if (typeof v === "string") {
    if (!(v in e.values)) w.problems.push(`${at}: "${v}" is not a value of enum ${e.name} (${Object.keys(e.values).join(", ")})`);
  } else if (typeof v === "number" && Number.isInteger(v)) {
    if (!(v in e.valuesById)) w.problems.push(`${at}: ${v} is not a value of enum ${e.name}`);
  } else {
    w.problems.push(`${at}: expected an enum ${e.name} name, got ${show(v)}`);
  }
}

const INT_RANGE: Record<string, [bigint, bigint]> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  sint32: [-(2n ** 31n), 2n ** 31n - 1n],
  sfixed32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  fixed32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  sint64: [-(2n ** 63n), 2n ** 63n - 1n],
  sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  fixed64: [0n, 2n ** 64n - 1n],
};

function scalar(type: string, v: unknown, at: string, w: Walk): void {
  const bad = (what: string): void => {
    w.problems.push(`${at}: expected ${what}, got ${show(v)}`);
  };
  switch (type) {
    case "string":
      if (typeof v !== "string") bad("a string");
      return;
    case "bool":
      if (typeof v !== "boolean") bad("true or false");
      return;
    case "bytes":
      if (typeof v !== "string" || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(v)) bad("base64 bytes");
      return;
    case "double":
    case "float":
      if (typeof v === "number" || (typeof v === "string" && (/^(NaN|-?Infinity)$/.test(v) || (v.trim() !== "" && Number.isFinite(Number(v)))))) return;
      bad("a number");
      return;
  }
  const range = INT_RANGE[type];
  if (!range) {
    w.problems.push(`${at}: scalar type ${type} is not known to the checker`);
    return;
  }
  let n: bigint | undefined;
  if (typeof v === "number" && Number.isSafeInteger(v)) n = BigInt(v);
  else if (typeof v === "string" && /^-?\d+$/.test(v)) n = BigInt(v);
  if (n === undefined) {
    bad(`an integer (${type})`);
    return;
  }
  if (n < range[0] || n > range[1]) w.problems.push(`${at}: ${v} is out of range for ${type}`);
}

function mapKey(keyType: string, k: string, at: string, w: Walk): void {
  if (keyType === "string") return;
  if (keyType === "bool") {
    if (k !== "true" && k !== "false") w.problems.push(`${at}: map key must be true or false`);
    return;
  }
  scalar(keyType, k, at, w);
}

/** protoc-gen-validate rules on a present scalar. */
function scalarRules(field: PbField, v: unknown, at: string, w: Walk): void {
  const o = field.options ?? {};
  if ((v === "" || v === 0) && ignoresEmpty(o)) return;
  if (typeof v === "string") {
    const min = o["(validate.rules).string.min_len"] ?? o["(validate.rules).string.min_bytes"];
    if (typeof min === "number" && v.length < min) w.problems.push(`${at}: must be at least ${min} character(s) long`);
    return;
  }
  const n = typeof v === "number" ? v : typeof v === "string" && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : undefined;
  if (n === undefined) return;
  for (const [rule, ok] of [
    ["gt", (x: number, b: number) => x > b],
    ["gte", (x: number, b: number) => x >= b],
    ["lt", (x: number, b: number) => x < b],
    ["lte", (x: number, b: number) => x <= b],
  ] as const) {
    const bound = o[`(validate.rules).${field.type}.${rule}`];
    if (typeof bound === "number" && !ok(n, bound)) w.problems.push(`${at}: ${n} violates ${rule} ${bound}`);
  }
}

/** Rules that fail on an absent field: required messages, minimum lengths and counts, bounds on 0. */
function absentRules(field: PbField, at: string, w: Walk): void {
  const o = field.options ?? {};
  if (field.partOf || ignoresEmpty(o)) return; // oneof members are validated only when set
  if (o["(validate.rules).message.required"] === true) {
    w.problems.push(`${at}: required`);
    return;
  }
  if (field.repeated || field instanceof protobuf.MapField) {
    const min = o["(validate.rules).repeated.min_items"] ?? o["(validate.rules).map.min_pairs"];
    if (typeof min === "number" && min > 0) w.problems.push(`${at}: required (at least ${min} item(s))`);
    return;
  }
  field.resolve();
  if (field.resolvedType) return;
  if (field.type === "string" && typeof (o["(validate.rules).string.min_len"] ?? o["(validate.rules).string.min_bytes"]) === "number") {
    const min = (o["(validate.rules).string.min_len"] ?? o["(validate.rules).string.min_bytes"]) as number;
    if (min > 0) w.problems.push(`${at}: required (at least ${min} character(s))`);
    return;
  }
  if (field.type !== "string" && field.type !== "bool" && field.type !== "bytes") scalarRules(field, 0, `${at} (unset, so 0)`, w);
}

function ignoresEmpty(options: Record<string, unknown>): boolean {
  return Object.entries(options).some(([k, x]) => k.startsWith("(validate.rules).") && k.endsWith(".ignore_empty") && x === true);
}

const DURATION = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

function wellKnown(type: PbType, v: unknown, at: string, w: Walk): void {
  const full = type.fullName;
  const wrapped = WRAPPERS[full];
  if (wrapped) {
    scalar(wrapped, v, at, w);
    return;
  }
  switch (full) {
    case ".google.protobuf.Duration": {
      const m = typeof v === "string" ? DURATION.exec(v) : null;
      if (!m) w.problems.push(`${at}: expected a Duration like "10s" or "0.250s", got ${show(v)}`);
      else if (BigInt(m[2]!) > 315_576_000_000n) w.problems.push(`${at}: Duration ${v} is out of range`);
      return;
    }
    case ".google.protobuf.Timestamp":
      if (typeof v !== "string" || !TIMESTAMP.test(v)) w.problems.push(`${at}: expected an RFC 3339 timestamp, got ${show(v)}`);
      return;
    case ".google.protobuf.FieldMask":
      if (typeof v !== "string") w.problems.push(`${at}: expected a field mask string, got ${show(v)}`);
      return;
    case ".google.protobuf.Struct":
      if (!isPlainObject(v)) w.problems.push(`${at}: expected a map (Struct), got ${show(v)}`);
      else jsonValue(v, at, w);
      return;
    case ".google.protobuf.ListValue":
      if (!Array.isArray(v)) w.problems.push(`${at}: expected a list (ListValue), got ${show(v)}`);
      else jsonValue(v, at, w);
      return;
    case ".google.protobuf.Value":
      jsonValue(v, at, w);
      return;
    case ".google.protobuf.Empty":
      if (!isPlainObject(v) || Object.keys(v).length > 0) w.problems.push(`${at}: expected {} (Empty), got ${show(v)}`);
      return;
    case ".google.protobuf.Any":
      anyValue(v, at, w);
      return;
  }
}

/** Struct/Value content: any JSON value (no undefined, functions or non-finite numbers). */
function jsonValue(v: unknown, at: string, w: Walk): void {
  if (v === null || typeof v === "string" || typeof v === "boolean") return;
  if (typeof v === "number") {
    if (!Number.isFinite(v)) w.problems.push(`${at}: ${v} is not a JSON number`);
    return;
  }
  if (Array.isArray(v)) {
    v.forEach((x, i) => jsonValue(x, `${at}[${i}]`, w));
    return;
  }
  if (isPlainObject(v)) {
    for (const [k, x] of Object.entries(v)) jsonValue(x, join2(at, k), w);
    return;
  }
  w.problems.push(`${at}: ${show(v)} is not a JSON value`);
}

function anyValue(v: unknown, at: string, w: Walk): void {
  if (!isPlainObject(v)) {
    w.problems.push(`${at}: expected an Any (a map with "@type"), got ${show(v)}`);
    return;
  }
  const url = v["@type"];
  if (typeof url !== "string") {
    w.problems.push(`${at}: an Any needs "@type"`);
    return;
  }
  const slash = url.lastIndexOf("/");
  const name = slash < 0 ? "" : url.slice(slash + 1);
  const found = name === "" ? null : envoySchema().root.lookup(name);
  if (!(found instanceof protobuf.Type)) {
    w.problems.push(`${join2(at, "@type")}: ${JSON.stringify(url)} names no message type of the Envoy API`);
    return;
  }
  const here = `${at}(${found.name})`;
  if (SPECIAL_JSON.has(found.fullName)) {
    for (const k of Object.keys(v)) {
      if (k !== "@type" && k !== "value") w.problems.push(`${join2(here, k)}: unknown field (an Any of ${found.name} holds only "value")`);
    }
    if (!("value" in v)) w.problems.push(`${here}: an Any of ${found.name} needs "value"`);
    else wellKnown(found, v.value, join2(here, "value"), w);
    return;
  }
  fields(found, v, here, w, "@type");
}

/** The ai-gateway plugin configuration (a JSON StringValue) names the clusters of its EPPs and rate limiter. */
function pluginReferences(v: unknown, at: string, w: Walk): void {
  if (!isPlainObject(v) || !String(v["@type"] ?? "").endsWith("/google.protobuf.StringValue") || typeof v.value !== "string") return;
  let doc: unknown;
  try {
    doc = JSON.parse(v.value);
  } catch {
    return; // another plugin's configuration: not JSON, nothing to check
  }
  if (!isPlainObject(doc)) return;
  const here = `${at}.value`;
  if (Array.isArray(doc.pools)) {
    doc.pools.forEach((p, i) => {
      const c = isPlainObject(p) ? p.eppCluster : undefined;
      if (typeof c === "string") w.references.push({ cluster: c, at: `${here}: pools[${i}].eppCluster` });
    });
  }
  if (Array.isArray(doc.rateLimits)) {
    doc.rateLimits.forEach((r, i) => {
      if (isPlainObject(r) && r.type === "Global" && typeof r.rlsCluster === "string") {
        w.references.push({ cluster: r.rlsCluster, at: `${here}: rateLimits[${i}].rlsCluster` });
      }
    });
  }
}
