// Envoy's ext_proc messages from the data-plane-api snapshot shipped in @grpc/grpc-js-xds, loaded with
// protobufjs, plus the fields newer than that snapshot (declared here from their published numbers):
// BodyMutation.streamed_response = 3 (StreamedBodyResponse{body=1, end_of_stream=2}) and
// ProcessingRequest.protocol_config = 11 (ProtocolConfiguration{request_body_mode=1, response_body_mode=2,
// send_body_without_waiting_for_header_response=3}), and the BodySendMode values BUFFERED_PARTIAL = 3,
// FULL_DUPLEX_STREAMED = 4, GRPC = 5.
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { join, dirname } from "node:path";
import protobuf from "protobufjs";

const require = createRequire(import.meta.url);
const deps = join(dirname(require.resolve("@grpc/grpc-js-xds/package.json")), "deps");
const includeDirs = [
  ...["envoy-api", "xds", "googleapis", "protoc-gen-validate"].map((d) => join(deps, d)),
  dirname(require.resolve("protobufjs/package.json")), // google/protobuf/descriptor.proto
];

export function loadExtProcRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const dir of includeDirs) {
      const p = join(dir, target);
      if (existsSync(p)) return p;
    }
    return target; // the other google/protobuf/*.proto are built into protobufjs
  };
  root.loadSync("envoy/service/ext_proc/v3/external_processor.proto", { keepCase: true });
  const ns = root.lookup("envoy.service.ext_proc.v3") as protobuf.Namespace;
  if (!root.lookupType("envoy.service.ext_proc.v3.BodyMutation").fields.streamed_response) {
    ns.add(new protobuf.Type("StreamedBodyResponse").add(new protobuf.Field("body", 1, "bytes")).add(new protobuf.Field("end_of_stream", 2, "bool")));
    const bodyMutation = root.lookupType("envoy.service.ext_proc.v3.BodyMutation");
    const streamed = new protobuf.Field("streamed_response", 3, "StreamedBodyResponse");
    bodyMutation.add(streamed);
    bodyMutation.oneofs.mutation.add(streamed);
  }
  if (!root.lookupType("envoy.service.ext_proc.v3.ProcessingRequest").fields.protocol_config) {
    ns.add(
      new protobuf.Type("ProtocolConfiguration")
        .add(new protobuf.Field("request_body_mode", 1, "envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.BodySendMode"))
        .add(new protobuf.Field("response_body_mode", 2, "envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.BodySendMode"))
        .add(new protobuf.Field("send_body_without_waiting_for_header_response", 3, "bool")),
    );
    root.lookupType("envoy.service.ext_proc.v3.ProcessingRequest").add(new protobuf.Field("protocol_config", 11, "ProtocolConfiguration"));
  }
  const bodySendMode = root.lookupEnum("envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.BodySendMode");
  for (const [name, id] of [
    ["BUFFERED_PARTIAL", 3],
    ["FULL_DUPLEX_STREAMED", 4],
    ["GRPC", 5],
  ] as const) {
    if (bodySendMode.values[name] === undefined) bodySendMode.add(name, id);
  }
  root.resolveAll();
  return root;
}
