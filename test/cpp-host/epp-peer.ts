// A scripted Endpoint Picker for the differential scenarios: a real grpc-js ext_proc server on loopback that
// records every message a host's filter sends it (in full) and answers as the scenario says.
import * as grpc from "@grpc/grpc-js";
import type { ClusterConfig } from "../../src-host/dataplane-api/bootstrap.js";
import { serviceDefinitions } from "../../src-host/epp/proto.js";

/** pick: header mutation + body echo; immediate: an immediate 429; drop: UNAVAILABLE; silent: no answer. */
export type EppBehaviour = "pick" | "immediate" | "drop" | "silent";

export interface EppPeer {
  /** Every message received, as JSON (bytes as base64), then "end" when the filter half-closes. */
  received: string[];
  /** The pools' EPP clusters, pointing here in plaintext. */
  clusters(eppClusters: string[]): ClusterConfig[];
  close(): Promise<void>;
}

type Msg = Record<string, any>;
const json = (m: Msg) => JSON.stringify(m, (_k, v) => (v && v.type === "Buffer" && Array.isArray(v.data) ? Buffer.from(v.data).toString("base64") : v));

export async function startEppPeer(behaviour: EppBehaviour): Promise<EppPeer> {
  const server = new grpc.Server();
  const received: string[] = [];
  server.addService(serviceDefinitions().extProc, {
    Process(call: grpc.ServerDuplexStream<Msg, Msg>) {
      let body = Buffer.alloc(0);
      call.on("data", (m: Msg) => {
        received.push(json(m));
        if (m.request !== "request_body") return;
        body = Buffer.concat([body, Buffer.from(m.request_body.body ?? [])]);
        if (!m.request_body.end_of_stream || behaviour === "silent") return;
        if (behaviour === "drop") return void call.emit("error", { code: grpc.status.UNAVAILABLE, details: "picker going away" });
        if (behaviour === "immediate") return void call.write({ immediate_response: { status: { code: 429 }, body: Buffer.from("busy") } });
        call.write({
          request_headers: {
            response: {
              header_mutation: { set_headers: [{ header: { key: "x-gateway-destination-endpoint", raw_value: Buffer.from("10.1.2.3:8000") } }] },
              clear_route_cache: true,
            },
          },
        });
        call.write({ request_body: { response: { body_mutation: { streamed_response: { body, end_of_stream: true } } } } });
      });
      call.on("end", () => {
        received.push("end");
        call.end();
      });
      call.on("error", () => {});
    },
  });
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  return {
    received,
    clusters: (names) =>
      names.map((name) => ({ name, type: "STATIC", http2: true, connectTimeoutMs: 1000, endpoints: [{ address: "127.0.0.1", port, ready: true }] })),
    close: () => new Promise<void>((res) => server.tryShutdown(() => res())),
  };
}
