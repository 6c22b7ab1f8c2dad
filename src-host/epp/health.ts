// grpc.health.v1.Health implementations.
//  - The probe server on --grpc-health-port (cmd/epp/runner/health.go without leader election): Check answers
//    SERVING once the InferencePool has synced and NOT_SERVING before, whatever service name is asked.
//  - With --health-checking, grpc-go's standard health server on the ext_proc port: "" and the ext_proc service
//    are SERVING, other names NOT_FOUND.
// Watch is not implemented upstream either (grpc-js answers UNIMPLEMENTED for it).
import * as grpc from "@grpc/grpc-js";
import { EXT_PROC_SERVICE, ServingStatus } from "./proto.js";

type CheckCall = grpc.ServerUnaryCall<{ service?: string }, { status: number }>;
type CheckCallback = grpc.sendUnaryData<{ status: number }>;

export function probeHealthImpl(synced: () => boolean): grpc.UntypedServiceImplementation {
  return {
    Check(_call: CheckCall, callback: CheckCallback) {
      callback(null, { status: synced() ? ServingStatus.SERVING : ServingStatus.NOT_SERVING });
    },
  };
}

export function extProcHealthImpl(): grpc.UntypedServiceImplementation {
  return {
    Check(call: CheckCall, callback: CheckCallback) {
      const service = call.request.service ?? "";
      if (service === "" || service === EXT_PROC_SERVICE) callback(null, { status: ServingStatus.SERVING });
      else callback({ code: grpc.status.NOT_FOUND, details: "unknown service" });
    },
  };
}
