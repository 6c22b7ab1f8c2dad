// The EPP hop's added latency (`make bench`): the same chat completion, one request at a time, to the same 3
// simulated vLLM servers (zero simulated latency) through `aigw run`, once via an InferencePool — the
// filter streams the request to the EPP over gRPC and waits for its pick — and once via an ordinary
// backend. Requests of the two arms alternate so drift on a shared machine hits both alike. Beside them, the
// transport's floor: the same headers + body exchange against a grpc-js ext_proc server that answers at once.
// (Under aigw run the gateway, the EPP and the simulators share one Node event loop, so every hop's CPU
// adds to the request's latency; a real EPP is a process of its own.)
import * as grpc from "@grpc/grpc-js";
import { cpus, loadavg } from "node:os";
import { expect, it } from "vitest";
import { serviceDefinitions } from "../../src-host/epp/proto.js";
import { GATEWAY, poolWithEpp, runManifests, serviceBackend, vllmSims } from "../e2e/manifests.js";

const MODEL = "bench-llama";
const DIRECT_MODEL = "bench-llama-direct";
const ROUNDS = 300;

const MANIFESTS = `${vllmSims("vllm", 3, 8000, ["--model", MODEL, "--max-model-len", "65536", "--kv-cache-size", "8192", "--mode", "echo"])}---${serviceBackend("vllm", 8000, 8000)}---${poolWithEpp("vllm", "vllm", 8000)}---
apiVersion: aigateway.envoyproxy.io/v1alpha1
kind: AIGatewayRoute
metadata: { name: bench }
spec:
  parentRefs: [{ name: eg, kind: Gateway, group: gateway.networking.k8s.io }]
  rules:
  - matches: [{ headers: [{ type: Exact, name: x-ai-eg-model, value: ${MODEL} }] }]
    backendRefs: [{ name: vllm, group: inference.networking.k8s.io, kind: InferencePool }]
  - matches: [{ headers: [{ type: Exact, name: x-ai-eg-model, value: ${DIRECT_MODEL} }] }]
    backendRefs: [{ name: vllm, modelNameOverride: ${MODEL} }]
`;

/** A chat whose JSON body is `bytes` long (words, so the simulator tokenizes it as text). */
function chatBody(model: string, bytes: number): string {
  const skeleton = JSON.stringify({ model, messages: [{ role: "user", content: "" }], max_tokens: 1 });
  const words = "lorem ipsum dolor sit amet consectetur adipiscing elit ".repeat(Math.ceil(bytes / 56));
  return JSON.stringify({ model, messages: [{ role: "user", content: words.slice(0, Math.max(bytes - skeleton.length, 0)) }], max_tokens: 1 });
}

async function timed(url: string, body: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`status ${res.status}: ${text.slice(0, 200)}`);
  return performance.now() - t0;
}

/** p50 of a request_headers + request_body exchange with a grpc-js server that echoes the body at once. */
async function grpcEchoFloor(body: Buffer, rounds: number): Promise<number> {
  type Msg = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const def = serviceDefinitions().extProc;
  const server = new grpc.Server();
  server.addService(def, {
    Process(call: grpc.ServerDuplexStream<Msg, Msg>) {
      call.on("data", (m: Msg) => {
        if (!m.request_body?.end_of_stream) return;
        call.write({ request_headers: { response: {} } });
        call.write({ request_body: { response: { body_mutation: { streamed_response: { body: m.request_body.body, end_of_stream: true } } } } });
      });
      call.on("end", () => call.end());
    },
  });
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  const Client = grpc.makeGenericClientConstructor(def, "ExternalProcessor");
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    Process(): grpc.ClientDuplexStream<Msg, Msg>;
  };
  const once = () =>
    new Promise<number>((res, rej) => {
      const t0 = performance.now();
      const call = client.Process();
      call.on("data", (m: Msg) => {
        if (!m.request_body?.response?.body_mutation?.streamed_response?.end_of_stream) return;
        call.end();
        res(performance.now() - t0);
      });
      call.on("error", rej);
      call.write({ request_headers: { headers: { headers: [] }, end_of_stream: false } });
      call.write({ request_body: { body, end_of_stream: true } });
    });
  try {
    for (let i = 0; i < 20; i++) await once();
    const xs: number[] = [];
    for (let i = 0; i < rounds; i++) xs.push(await once());
    return quantile(xs, 0.5);
  } finally {
    client.close();
    server.forceShutdown();
  }
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

it("EPP hop: added latency per request at 1 KB and 128 KB bodies", async () => {
  const gw = await runManifests({ "gateway.yaml": GATEWAY, "bench.yaml": MANIFESTS }, { accessLog: () => {} });
  const lines: string[] = [];
  try {
    const a = gw.gateway.listenerAddress;
    const url = `http://${a.address}:${a.port}/v1/chat/completions`;
    for (const bytes of [1024, 128 * 1024]) {
      const pooled = chatBody(MODEL, bytes);
      const direct = chatBody(DIRECT_MODEL, bytes);
      for (let i = 0; i < 20; i++) await timed(url, i % 2 ? pooled : direct); // warm-up: connections, caches, JIT
      const viaPool: number[] = [];
      const viaBackend: number[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        viaPool.push(await timed(url, pooled));
        viaBackend.push(await timed(url, direct));
      }
      const [p50, b50] = [quantile(viaPool, 0.5), quantile(viaBackend, 0.5)];
      const [p90, b90] = [quantile(viaPool, 0.9), quantile(viaBackend, 0.9)];
      const floor = await grpcEchoFloor(Buffer.from(pooled), ROUNDS);
      lines.push(
        `${`${bytes / 1024} KiB`.padEnd(8)} ${b50.toFixed(2).padStart(9)} ${p50.toFixed(2).padStart(9)} ${(p50 - b50).toFixed(2).padStart(9)} ` +
          `${(p50 / b50).toFixed(2).padStart(6)}× ${b90.toFixed(2).padStart(9)} ${p90.toFixed(2).padStart(9)} ${(p90 - b90).toFixed(2).padStart(9)} ${floor.toFixed(2).padStart(10)}`,
      );
      expect(viaPool).toHaveLength(ROUNDS);
    }
  } finally {
    await gw.close();
  }
  console.log(
    `\nOne request at a time, ${ROUNDS} per arm, alternating (${cpus().length} CPUs, load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}); ms\n` +
      `${"body".padEnd(8)} ${"backend".padStart(9)} ${"pool+EPP".padStart(9)} ${"added".padStart(9)} ${"ratio".padStart(7)} ` +
      `${"p90 back".padStart(9)} ${"p90 pool".padStart(9)} ${"added".padStart(9)} ${"grpc floor".padStart(10)}\n${lines.join("\n")}\n` +
      "grpc floor: p50 of the same exchange with a grpc-js server in this process that answers at once\n",
  );
});
