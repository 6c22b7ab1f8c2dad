// gRPC definitions the EPP serves: Envoy's ext_proc service, loaded from the published protos that ship with
// @grpc/grpc-js-xds (src-host/envoy-api/protos.ts), and the standard gRPC health service.
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
import protobuf from "protobufjs";
import type * as protoLoader from "@grpc/proto-loader";
import * as grpc from "@grpc/grpc-js";
import { addEnumValue, addField, grpcService, loadEnvoyProtos } from "../envoy-api/protos.js";

const loaderOptions: protoLoader.Options = { keepCase: true, longs: Number, defaults: false, oneofs: true };

const EXT_PROC_PKG = "envoy.service.ext_proc.v3";
export const EXT_PROC_SERVICE = `${EXT_PROC_PKG}.ExternalProcessor`;
export const HEALTH_SERVICE = "grpc.health.v1.Health";

function loadExtProcRoot(): protobuf.Root {
  const root = loadEnvoyProtos(["envoy/service/ext_proc/v3/external_processor.proto"]);
  addNewerExtProcFields(root);
  root.resolveAll();
  return root;
}

function addNewerExtProcFields(root: protobuf.Root): void {
  const pkg = root.lookup(EXT_PROC_PKG) as protobuf.Namespace;

  if (!pkg.get("StreamedBodyResponse")) {
    pkg.add(new protobuf.Type("StreamedBodyResponse").add(new protobuf.Field("body", 1, "bytes")).add(new protobuf.Field("end_of_stream", 2, "bool")));
  }
  addField(root, `${EXT_PROC_PKG}.BodyMutation`, "streamed_response", 3, "StreamedBodyResponse", "mutation");

  const bodyMode = "envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.BodySendMode";
  addEnumValue(root, bodyMode, "FULL_DUPLEX_STREAMED", 4);
  addEnumValue(root, bodyMode, "GRPC", 5);

  if (!pkg.get("ProtocolConfiguration")) {
    pkg.add(
      new protobuf.Type("ProtocolConfiguration")
        .add(new protobuf.Field("request_body_mode", 1, bodyMode))
        .add(new protobuf.Field("response_body_mode", 2, bodyMode))
        .add(new protobuf.Field("send_body_without_waiting_for_header_response", 3, "bool")),
    );
  }
  addField(root, `${EXT_PROC_PKG}.ProcessingRequest`, "protocol_config", 11, "ProtocolConfiguration");
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

let cached: { extProc: grpc.ServiceDefinition; health: grpc.ServiceDefinition } | undefined;

/** Service definitions for grpc-js servers and clients (loaded once per process). */
export function serviceDefinitions(): { extProc: grpc.ServiceDefinition; health: grpc.ServiceDefinition } {
  cached ??= { extProc: grpcService(loadExtProcRoot(), EXT_PROC_SERVICE, loaderOptions), health: grpcService(healthRoot(), HEALTH_SERVICE, loaderOptions) };
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
