// gRPC definitions the EPP serves: Envoy's ext_proc service, loaded from the published protos that ship with
// @grpc/grpc-js-xds, and the standard gRPC health service.
//
// That Envoy snapshot predates a few fields the GIE EPP (v1.0.x) relies on, so they are added to the loaded
// protobufjs Root here, with the field numbers published in envoyproxy/data-plane-api
// (envoy/service/ext_proc/v3/external_processor.proto and .../ext_proc/v3/processing_mode.proto):
//   BodyMutation.streamed_response = 3 (in oneof `mutation`), StreamedBodyResponse {1 body, 2 end_of_stream}
//   ProcessingRequest.protocol_config = 11, ProtocolConfiguration {1 request_body_mode, 2 response_body_mode,
//     3 send_body_without_waiting_for_header_response}
//   ProcessingMode.BodySendMode FULL_DUPLEX_STREAMED = 4, GRPC = 5
// grpc/health/v1/health.proto is not shipped in node_modules, so it is declared from its published numbers.
// Field names keep the proto's snake_case, except google.protobuf.Struct/Value/ListValue, which come from
// protobufjs' bundled well-known types in camelCase (structValue, stringValue, listValue, ...).
import { createRequire } from "node:module";
import { accessSync, constants } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import protobuf from "protobufjs";
import * as protoLoader from "@grpc/proto-loader";
import * as grpc from "@grpc/grpc-js";

const loaderOptions: protoLoader.Options = { keepCase: true, longs: Number, defaults: false, oneofs: true };

const EXT_PROC_PKG = "envoy.service.ext_proc.v3";
export const EXT_PROC_SERVICE = `${EXT_PROC_PKG}.ExternalProcessor`;
export const HEALTH_SERVICE = "grpc.health.v1.Health";

function envoyIncludeDirs(): string[] {
  const require = createRequire(import.meta.url);
  // The package has no "exports" map; its main file lives under build/src/, the protos under deps/.
  const main = require.resolve("@grpc/grpc-js-xds");
  let root = dirname(main);
  while (!root.endsWith("grpc-js-xds")) {
    const up = dirname(root);
    if (up === root) throw new Error(`cannot locate @grpc/grpc-js-xds from ${main}`);
    root = up;
  }
  const deps = join(root, "deps");
  return ["envoy-api", "googleapis", "xds", "protoc-gen-validate"].map((d) => join(deps, d));
}

function loadEnvoyRoot(): protobuf.Root {
  const includeDirs = envoyIncludeDirs();
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    if (isAbsolute(target)) return target;
    for (const dir of includeDirs) {
      const full = join(dir, target);
      try {
        accessSync(full, constants.R_OK);
        return full;
      } catch {
        // try the next include dir
      }
    }
    // google/protobuf/*.proto resolve to protobufjs' bundled well-known types.
    return target;
  };
  root.loadSync("envoy/service/ext_proc/v3/external_processor.proto", { keepCase: true });
  addNewerExtProcFields(root);
  root.resolveAll();
  return root;
}

function addNewerExtProcFields(root: protobuf.Root): void {
  const pkg = root.lookup(EXT_PROC_PKG) as protobuf.Namespace;

  const streamed = new protobuf.Type("StreamedBodyResponse")
    .add(new protobuf.Field("body", 1, "bytes"))
    .add(new protobuf.Field("end_of_stream", 2, "bool"));
  pkg.add(streamed);
  const bodyMutation = root.lookupType(`${EXT_PROC_PKG}.BodyMutation`);
  const streamedField = new protobuf.Field("streamed_response", 3, "StreamedBodyResponse");
  bodyMutation.add(streamedField);
  bodyMutation.oneofs["mutation"].add(streamedField);

  const modeEnum = root.lookupEnum("envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.BodySendMode");
  if (modeEnum.values["FULL_DUPLEX_STREAMED"] === undefined) modeEnum.add("FULL_DUPLEX_STREAMED", 4);
  if (modeEnum.values["GRPC"] === undefined) modeEnum.add("GRPC", 5);

  const bodyMode = "envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.BodySendMode";
  const protocolConfig = new protobuf.Type("ProtocolConfiguration")
    .add(new protobuf.Field("request_body_mode", 1, bodyMode))
    .add(new protobuf.Field("response_body_mode", 2, bodyMode))
    .add(new protobuf.Field("send_body_without_waiting_for_header_response", 3, "bool"));
  pkg.add(protocolConfig);
  root.lookupType(`${EXT_PROC_PKG}.ProcessingRequest`).add(new protobuf.Field("protocol_config", 11, "ProtocolConfiguration"));
}

function healthRoot(): protobuf.Root {
  const root = new protobuf.Root();
  const ns = root.define("grpc.health.v1");
  ns.add(new protobuf.Type("HealthCheckRequest").add(new protobuf.Field("service", 1, "string")));
  const status = new protobuf.Enum("ServingStatus", { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 });
  const response = new protobuf.Type("HealthCheckResponse");
  response.add(status);
  response.add(new protobuf.Field("status", 1, "ServingStatus"));
  ns.add(response);
  const service = new protobuf.Service("Health")
    .add(new protobuf.Method("Check", "rpc", "HealthCheckRequest", "HealthCheckResponse"))
    .add(new protobuf.Method("Watch", "rpc", "HealthCheckRequest", "HealthCheckResponse", false, true));
  ns.add(service);
  root.resolveAll();
  return root;
}

function serviceFrom(root: protobuf.Root, name: string): grpc.ServiceDefinition {
  const def = protoLoader.fromJSON(root.toJSON(), loaderOptions)[name];
  if (!def || "format" in def) throw new Error(`service ${name} missing from loaded protos`);
  return def as grpc.ServiceDefinition;
}

let cached: { extProc: grpc.ServiceDefinition; health: grpc.ServiceDefinition } | undefined;

/** Service definitions for grpc-js servers and clients (loaded once per process). */
export function serviceDefinitions(): { extProc: grpc.ServiceDefinition; health: grpc.ServiceDefinition } {
  cached ??= { extProc: serviceFrom(loadEnvoyRoot(), EXT_PROC_SERVICE), health: serviceFrom(healthRoot(), HEALTH_SERVICE) };
  return cached;
}

/** Client constructors built from the same definitions, for tests and tools that talk to an EPP. */
export function clientConstructors(): {
  ExternalProcessor: grpc.ServiceClientConstructor;
  Health: grpc.ServiceClientConstructor;
} {
  const defs = serviceDefinitions();
  return {
    ExternalProcessor: grpc.makeGenericClientConstructor(defs.extProc, "ExternalProcessor"),
    Health: grpc.makeGenericClientConstructor(defs.health, "Health"),
  };
}

/** HealthCheckResponse.ServingStatus values. */
export const ServingStatus = { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } as const;
