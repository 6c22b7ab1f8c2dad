// Linear memory a request body costs the filter: a fresh VM serves one request with a body of 1, 8, 32 and
// 50 MiB (model last: the whole body is scanned) to a plain backend, to the same backend with a
// modelNameOverride rewrite, and to an InferencePool whose Endpoint Picker (a grpc-js server on loopback)
// streams the body back as the inference extension's EPP does; then the same VM serves the same request
// again. Wasm memory never shrinks and Envoy keeps one VM per worker, so a VM's growth is its high-water
// mark for good. Goal: growth ≤ 1 MiB + 1.1 × body for the first request, none for the second.
import * as grpc from "@grpc/grpc-js";
import { afterAll, expect, it } from "vitest";
import type { ClusterConfig } from "../../src-host/dataplane-api/bootstrap.js";
import { serviceDefinitions } from "../../src-host/epp/proto.js";
import type { WasmFilter } from "../../src-host/proxy-wasm/index.js";
import { TestSink, load, pluginConfig, request, until } from "../assembly/gateway/filter/helpers.js";

const MiB = 1 << 20;
const LIMIT = 64 * MiB;

type Req = Record<string, any>;

/** An EPP that picks one endpoint and streams the request body back unchanged, as GIE v1.0's does. */
async function echoEpp(): Promise<{ port: number; close(): Promise<void> }> {
  const server = new grpc.Server({ "grpc.max_receive_message_length": -1, "grpc.max_send_message_length": -1 });
  server.addService(serviceDefinitions().extProc, {
    Process(call: grpc.ServerDuplexStream<Req, Req>) {
      let headersSent = false;
      call.on("data", (m: Req) => {
        if (m.request !== "request_body") return;
        if (!headersSent) {
          headersSent = true;
          const picked = { key: "x-gateway-destination-endpoint", raw_value: Buffer.from("127.0.0.1:8000") };
          call.write({ request_headers: { response: { header_mutation: { set_headers: [{ header: picked }] } } } });
        }
        const eos = Boolean(m.request_body.end_of_stream);
        call.write({ request_body: { response: { body_mutation: { streamed_response: { body: m.request_body.body, end_of_stream: eos } } } } });
      });
      call.on("end", () => call.end());
      call.on("error", () => {});
    },
  });
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  return { port, close: () => new Promise<void>((res) => server.tryShutdown(() => res())) };
}

function chat(bytes: number): Uint8Array {
  const text = JSON.stringify({ messages: [{ role: "user", content: "x".repeat(bytes - 64) }], model: "m1" });
  return new TextEncoder().encode(text);
}

type Case = "plain" | "rewrite" | "pool";

async function filterFor(kind: Case, eppPort: number): Promise<WasmFilter> {
  const backend =
    kind === "pool"
      ? { name: "default/pool", kind: "InferencePool" as const, weight: 1, modelNameOverride: "" }
      : { name: "default/b1", kind: "AIServiceBackend" as const, weight: 1, modelNameOverride: kind === "rewrite" ? "m1-override" : "" };
  const config = pluginConfig({
    rules: [{ route: "default/r", index: 0, matches: [{ headers: [{ name: "x-ai-eg-model", type: "Exact", value: "m1" }] }], backends: [backend] }],
    pools: [
      {
        name: "default/pool",
        eppCluster: "epp",
        eppAuthority: "epp:9002",
        failureMode: "FailClose",
        bodyMode: "duplex",
        allowModeOverride: false,
        timeoutMs: 60_000,
      },
    ],
    maxRequestBodyBytes: LIMIT,
  });
  const clusters: ClusterConfig[] = [
    { name: "epp", type: "STATIC", http2: true, connectTimeoutMs: 1000, endpoints: [{ address: "127.0.0.1", port: eppPort, ready: true }] },
  ];
  const { filter } = await load({ configuration: JSON.stringify(config), workers: 1 }, { clusters, bufferLimitBytes: LIMIT });
  return filter;
}

/** One request in 1 MiB chunks as a client sends it; resolves once the upstream got all of it. */
async function serve(filter: WasmFilter, body: Uint8Array): Promise<number> {
  const sink = new TestSink().attach(filter);
  sink.stream.requestHeaders(
    request("POST", "/v1/chat/completions", [
      ["content-type", "application/json"],
      ["content-length", String(body.length)],
    ]),
    false,
  );
  for (let off = 0; off < body.length; off += MiB) {
    const end = Math.min(off + MiB, body.length);
    sink.stream.requestData(body.subarray(off, end), end === body.length);
  }
  await until(() => sink.requestEnded || sink.localReplies.length > 0, 60_000);
  expect(sink.localReplies).toEqual([]);
  const sent = sink.requestBody.reduce((n, c) => n + c.length, 0);
  sink.stream.responseHeaders(
    [
      [":status", "200"],
      ["content-type", "application/json"],
    ],
    false,
  );
  sink.stream.responseData(new TextEncoder().encode('{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}'), true);
  sink.stream.complete();
  return sent;
}

let epp: { port: number; close(): Promise<void> } | undefined;
afterAll(async () => epp?.close());

it("linear memory per request body byte: first request on a fresh VM, then the same request again", async () => {
  epp = await echoEpp();
  const rows: string[] = [];
  const failures: string[] = [];
  for (const kind of ["plain", "rewrite", "pool"] as const) {
    for (const mib of [1, 8, 32, 50]) {
      const body = chat(mib * MiB);
      const filter = await filterFor(kind, epp.port);
      const memory = filter.vms[0]!.memory;
      const before = memory.byteLength;
      const sent = await serve(filter, body);
      const first = memory.byteLength - before;
      const afterFirst = memory.byteLength;
      await serve(filter, body);
      const second = memory.byteLength - afterFirst;
      await filter.close();
      expect(sent).toBeGreaterThanOrEqual(body.length);
      const perByte = first / body.length;
      const goal = MiB + 1.1 * body.length;
      rows.push(
        `${kind.padEnd(8)} ${String(mib).padStart(3)} MiB  first +${(first / MiB).toFixed(1).padStart(6)} MiB (${perByte.toFixed(2)} per body byte)  second +${(second / MiB).toFixed(1)} MiB  ${first <= goal && second === 0 ? "ok" : "OVER"}`,
      );
      if (first > goal || second !== 0) failures.push(`${kind} ${mib} MiB`);
    }
  }
  console.log(`\nLinear memory growth of one worker VM (goal: first ≤ 1 MiB + 1.1 × body, second 0)\n${rows.join("\n")}\n`);
  expect(failures).toEqual([]);
});
