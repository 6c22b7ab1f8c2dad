// A scripted Endpoint Picker for filter tests: a grpc-js ext_proc server on loopback that answers like
// GIE's EPP (headers-only requests at once, others after the body's end, the body streamed back), or
// refuses every request with an immediate response.
import * as grpc from "@grpc/grpc-js";
import type { PoolConfig } from "../../../../src-host/config/plugin-config.js";
import type { ClusterConfig } from "../../../../src-host/dataplane-api/bootstrap.js";
import { serviceDefinitions } from "../../../../src-host/epp/proto.js";

type Msg = Record<string, any>;

/** An Endpoint Picker that answers like GIE's: headers-only requests at once, others after the body's end. */
export interface Picker {
  port: number;
  /** What arrived, one line per message: "request_headers eos=true", "request_body 5 eos=true", ... */
  log: string[];
  /** The request headers of each request_headers message, name → value. */
  headers: Array<Map<string, string>>;
  close(): Promise<void>;
}

export async function startPicker(
  endpoint: string,
  opts: { body?: (b: Buffer) => Buffer; immediate?: { code: number; text: string }; replyChunks?: (length: number) => number[] } = {},
): Promise<Picker> {
  const server = new grpc.Server();
  const picker: Picker = { port: 0, log: [], headers: [], close: async () => {} };
  const pick = {
    header_mutation: { set_headers: [{ header: { key: "x-gateway-destination-endpoint", raw_value: Buffer.from(endpoint) } }] },
    clear_route_cache: true,
  };
  server.addService(serviceDefinitions().extProc, {
    Process(call: grpc.ServerDuplexStream<Msg, Msg>) {
      const chunks: Buffer[] = [];
      call.on("data", (m: Msg) => {
        const part = m[m.request as string];
        if (m.request === "request_headers" || m.request === "response_headers") {
          picker.log.push(`${m.request} eos=${Boolean(part.end_of_stream)}`);
          if (m.request === "request_headers") {
            picker.headers.push(new Map(part.headers.headers.map((h: Msg) => [h.key as string, Buffer.from(h.raw_value ?? []).toString()])));
          }
          if (m.request === "request_headers" && part.end_of_stream) call.write({ request_headers: { response: pick } });
          return;
        }
        const body = Buffer.from(part.body ?? []);
        picker.log.push(`${m.request} ${body.length} eos=${Boolean(part.end_of_stream)}`);
        if (m.request !== "request_body") return;
        chunks.push(body);
        if (!part.end_of_stream) return;
        if (opts.immediate) {
          call.write({ immediate_response: { status: { code: opts.immediate.code }, body: Buffer.from(opts.immediate.text) } });
          return;
        }
        const out = (opts.body ?? ((b) => b))(Buffer.concat(chunks));
        call.write({ request_headers: { response: pick } });
        // The body goes back in the chunk sizes asked for (default: one message), the last with end of stream.
        const sizes = opts.replyChunks?.(out.length) ?? [out.length];
        let at = 0;
        sizes.forEach((n, i) => {
          const last = i === sizes.length - 1;
          const body = out.subarray(at, last ? out.length : at + n);
          at += n;
          call.write({ request_body: { response: { body_mutation: { streamed_response: { body, end_of_stream: last } } } } });
        });
      });
      call.on("end", () => call.end());
      call.on("error", () => {});
    },
  });
  picker.port = await new Promise<number>((res, rej) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  picker.close = () => new Promise<void>((res) => server.tryShutdown(() => res()));
  return picker;
}

export function poolConfig(name: string, failureMode: "FailOpen" | "FailClose" = "FailClose"): PoolConfig {
  return { name, eppCluster: `epp/${name}`, eppAuthority: "epp:9002", failureMode, bodyMode: "duplex", allowModeOverride: false, timeoutMs: 5000 };
}

export function eppCluster(pool: string, port: number, ready = true): ClusterConfig {
  return { name: `epp/${pool}`, type: "STATIC", http2: true, connectTimeoutMs: 1000, endpoints: [{ address: "127.0.0.1", port, ready }] };
}
