// Envoy's published API: the .proto files @grpc/grpc-js-xds ships under deps/ (envoy-api, xds, googleapis,
// protoc-gen-validate), loaded into protobufjs with the proto's snake_case field names. The one loader for
// the EPP's ext_proc service, the rate limit service and `aigw translate`'s schema check. The snapshot
// predates some fields current Envoy uses: callers declare those with addField / addEnumValue, citing the
// published number, and a declaration that contradicts the snapshot fails.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import protobuf from "protobufjs";

/** protobufjs builds these in; they are not files. */
const BUILTIN = new Set(["any", "duration", "timestamp", "empty", "struct", "wrappers", "field_mask"].map((n) => `google/protobuf/${n}.proto`));

/** Whether an import names one of protobufjs' built-in well-known types. */
export function isBuiltinProto(target: string): boolean {
  return BUILTIN.has(target);
}

const require = createRequire(import.meta.url);

/** The snapshot's deps/ directory. */
export function envoyProtoDir(): string {
  return join(dirname(require.resolve("@grpc/grpc-js-xds/package.json")), "deps");
}

let includes: string[] | undefined;

/** Where an import such as "envoy/config/core/v3/base.proto" lives; undefined when the snapshot lacks it. */
export function locateProto(target: string): string | undefined {
  const deps = envoyProtoDir();
  // protobufjs ships google/protobuf/descriptor.proto, which the annotation protos import.
  includes ??= [...["envoy-api", "xds", "googleapis", "protoc-gen-validate"].map((d) => join(deps, d)), dirname(require.resolve("protobufjs/package.json"))];
  for (const dir of includes) {
    const path = join(dir, target);
    if (existsSync(path)) return path;
  }
  return undefined;
}

/** A protobufjs Root with these files (import paths) and what they import, not yet resolved. */
export function loadEnvoyProtos(files: readonly string[]): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (BUILTIN.has(target) ? target : (locateProto(target) ?? target));
  root.loadSync([...files], { keepCase: true });
  return root;
}

/** Declares a field newer than the snapshot; one the snapshot has must carry the same number. */
export function addField(root: protobuf.Root, typeName: string, name: string, id: number, type: string, oneof?: string): void {
  const t = root.lookupType(typeName);
  const existing = t.fields[name];
  if (existing) {
    if (existing.id !== id) throw new Error(`${typeName}.${name} is field ${existing.id} in the snapshot, declared here as ${id}`);
    return;
  }
  const field = new protobuf.Field(name, id, type);
  t.add(field);
  if (oneof !== undefined) t.oneofs[oneof]!.add(field);
}

/** Declares an enum value newer than the snapshot; one the snapshot has must carry the same number. */
export function addEnumValue(root: protobuf.Root, enumName: string, name: string, value: number): void {
  const e = root.lookupEnum(enumName);
  const existing = e.values[name];
  if (existing === undefined) e.add(name, value);
  else if (existing !== value) throw new Error(`${enumName}.${name} is ${existing} in the snapshot, declared here as ${value}`);
}

/** A gRPC service of a resolved Root, as grpc-js servers and clients take it. */
export function grpcService(root: protobuf.Root, service: string, options: protoLoader.Options): grpc.ServiceDefinition {
  const def = protoLoader.fromJSON(root.toJSON(), options)[service];
  if (!def || "format" in def) throw new Error(`service ${service} missing from the loaded protos`);
  return def as grpc.ServiceDefinition;
}
