// The production module's Endpoint Picker exchange through the host's gRPC streams, against a real
// grpc-js ext_proc server on loopback (plain and TLS without verification).
import * as grpc from "@grpc/grpc-js";
import { generate } from "selfsigned";
import { afterEach, describe, expect, it } from "vitest";
import type { ClusterConfig } from "../../../../src-host/dataplane-api/bootstrap.js";
import { serviceDefinitions } from "../../../../src-host/epp/proto.js";
import { watchHttp2Clients } from "../../../http2-watch.js";
import { TestSink, bytes, load, pluginConfig, request, until } from "./helpers.js";

type Req = Record<string, any>;
type Behaviour = "pick" | "override" | "immediate" | "silent" | "drop";

interface EppServer {
  port: number;
  received: string[];
  metadata: grpc.Metadata[];
  close(): Promise<void>;
}

async function startEpp(
  behaviour: Behaviour,
  tls?: { cert: string; key: string },
  immediate: { code: number; text: string } = { code: 429, text: "busy" },
  port = 0,
): Promise<EppServer> {
  const server = new grpc.Server();
  const state: EppServer = { port: 0, received: [], metadata: [], close: async () => {} };
  server.addService(serviceDefinitions().extProc, {
    Process(call: grpc.ServerDuplexStream<Req, Req>) {
      state.metadata.push(call.metadata);
      let body = Buffer.alloc(0);
      call.on("data", (m: Req) => {
        const kind = m.request as string;
        if (kind === "request_body") {
          body = Buffer.concat([body, Buffer.from(m.request_body.body ?? [])]);
          state.received.push(`request_body eos=${Boolean(m.request_body.end_of_stream)}`);
        } else if (kind === "request_headers") {
          const path = m.request_headers.headers.headers.find((h: Req) => h.key === ":path");
          state.received.push(`request_headers ${Buffer.from(path.raw_value).toString()}`);
        } else {
          state.received.push(kind);
        }
        if (kind !== "request_body" || !m.request_body.end_of_stream) return;
        if (behaviour === "silent") return;
        if (behaviour === "drop") {
          call.emit("error", { code: grpc.status.UNAVAILABLE, details: "picker going away" });
          return;
        }
        if (behaviour === "immediate") {
          call.write({ immediate_response: { status: { code: immediate.code }, body: Buffer.from(immediate.text) } });
          return;
        }
        const picked = { key: "x-gateway-destination-endpoint", raw_value: Buffer.from("10.1.2.3:8000") };
        // "override": response headers SKIP; the body mode, left out, is NONE (the whole mode is replaced).
        const mode_override = behaviour === "override" ? { response_header_mode: "SKIP" } : undefined;
        call.write({ request_headers: { response: { header_mutation: { set_headers: [{ header: picked }] }, clear_route_cache: true } }, mode_override });
        const rewritten = Buffer.from(JSON.stringify({ ...JSON.parse(body.toString()), epp: true }));
        call.write({ request_body: { response: { body_mutation: { streamed_response: { body: rewritten, end_of_stream: true } } } } });
      });
      call.on("end", () => {
        state.received.push("end");
        call.end();
      });
      call.on("error", () => {});
    },
  });
  const creds = tls
    ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(tls.cert), private_key: Buffer.from(tls.key) }], false)
    : grpc.ServerCredentials.createInsecure();
  state.port = await new Promise<number>((res, rej) => server.bindAsync(`127.0.0.1:${port}`, creds, (e, p) => (e ? rej(e) : res(p))));
  state.close = () => new Promise<void>((res) => server.tryShutdown(() => res()));
  return state;
}

function poolSetup(
  port: number,
  opts: {
    tls?: boolean;
    ready?: boolean;
    failureMode?: "FailOpen" | "FailClose";
    timeoutMs?: number;
    bodyMode?: "duplex" | "buffered";
    allowModeOverride?: boolean;
  } = {},
) {
  const config = pluginConfig({
    rules: [
      {
        route: "default/r",
        index: 0,
        matches: [{ headers: [{ name: "x-ai-eg-model", type: "Exact", value: "m1" }] }],
        backends: [{ name: "default/pool", kind: "InferencePool", weight: 1, modelNameOverride: "" }],
      },
    ],
    pools: [
      {
        name: "default/pool",
        eppCluster: "epp-cluster",
        eppAuthority: "epp.default.svc:9002",
        failureMode: opts.failureMode ?? "FailClose",
        bodyMode: opts.bodyMode ?? "duplex",
        allowModeOverride: opts.allowModeOverride ?? false,
        timeoutMs: opts.timeoutMs ?? 5000,
      },
    ],
  });
  const cluster: ClusterConfig = {
    name: "epp-cluster",
    type: "STATIC",
    http2: true,
    connectTimeoutMs: 1000,
    endpoints: [{ address: "127.0.0.1", port, ready: opts.ready ?? true }],
    ...(opts.tls ? { tls: { insecureSkipVerify: true } } : {}),
  };
  return { configuration: JSON.stringify(config), clusters: [cluster] };
}

const CHAT = JSON.stringify({ model: "m1", messages: [{ role: "user", content: "hello" }] });

/** The upstream's answer to a chat request, as the filter sees it: headers, then a small JSON body. */
function answerChat(sink: TestSink): void {
  sink.stream.responseHeaders(
    [
      [":status", "200"],
      ["content-type", "application/json"],
    ],
    false,
  );
  sink.stream.responseData(bytes('{"choices":[]}'), true);
}

describe("EPP over a gRPC stream", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  for (const tls of [false, true]) {
    it(`forwards the request to the endpoint the EPP picked, with the EPP's body (${tls ? "TLS, no verification" : "plaintext"})`, async () => {
      const pems = tls ? await generate([{ name: "commonName", value: "epp.test" }], { keyType: "ec", curve: "P-256", algorithm: "sha256" }) : undefined;
      const epp = await startEpp("pick", pems ? { cert: pems.cert, key: pems.private } : undefined);
      cleanups.push(() => epp.close());
      const setup = poolSetup(epp.port, { tls });
      const { filter } = await load({ configuration: setup.configuration }, { clusters: setup.clusters });
      cleanups.push(() => filter.close());

      const sink = new TestSink().attach(filter);
      sink.stream.requestHeaders(request("POST", "/v1/chat/completions", [["content-type", "application/json"]]), false);
      sink.stream.requestData(bytes(CHAT), true);
      expect(sink.requestHeaders).toBeUndefined(); // waiting for the EPP
      await until(() => sink.requestEnded);

      expect(epp.received.slice(0, 2)).toEqual(["request_headers /v1/chat/completions", "request_body eos=true"]);
      expect(sink.header("x-gateway-destination-endpoint")).toBe("10.1.2.3:8000");
      expect(sink.header("x-ai-eg-backend")).toBe("default/pool");
      expect(JSON.parse(sink.requestText())).toEqual({ ...JSON.parse(CHAT), epp: true });
      expect(sink.header("content-length")).toBe(String(sink.requestText().length));
      expect(sink.routeCacheCleared).toBeGreaterThanOrEqual(1);

      // Response phase: the EPP is told the response headers and body.
      answerChat(sink);
      expect(sink.responseEnded).toBe(true);
      await until(() => epp.received.includes("response_body"));
      expect(epp.received).toContain("response_headers");
      sink.stream.complete();
    });
  }

  it("a finished exchange ends without a reset (half-close, the EPP ends it with OK); an abandoned one is reset", async () => {
    const epp = await startEpp("pick");
    cleanups.push(() => epp.close());
    const setup = poolSetup(epp.port);
    const watch = watchHttp2Clients();
    cleanups.push(async () => watch.stop());
    const { filter } = await load({ configuration: setup.configuration }, { clusters: setup.clusters });
    cleanups.push(() => filter.close());

    for (let i = 0; i < 20; i++) {
      const sink = new TestSink().attach(filter);
      sink.stream.requestHeaders(request("POST", "/v1/chat/completions", [["content-type", "application/json"]]), false);
      sink.stream.requestData(bytes(CHAT), true);
      await until(() => sink.requestEnded);
      answerChat(sink);
      sink.stream.complete(); // on_log, on_done, on_delete before the EPP has ended the stream
    }
    await until(() => epp.received.filter((r) => r === "end").length === 20);
    await new Promise((r) => setTimeout(r, 50));
    expect({ streams: watch.streams, resets: watch.resets, goaways: watch.goaways }).toEqual({ streams: 20, resets: 0, goaways: 0 });

    // A client that goes away while the request waits for the response: the exchange is abandoned, reset.
    const sink = new TestSink().attach(filter);
    sink.stream.requestHeaders(request("POST", "/v1/chat/completions", [["content-type", "application/json"]]), false);
    sink.stream.requestData(bytes(CHAT), true);
    await until(() => sink.requestEnded);
    sink.stream.complete();
    await until(() => watch.resets === 1);
  });

  // The v1.0 EPP's immediate answers: 400 (bad request), 429 (shed), 503 (no ready endpoint).
  for (const [code, text] of [
    [400, "model not found"],
    [429, "busy"],
    [503, "no pods available"],
  ] as const) {
    it(`relays the EPP's immediate response ${code} as a local reply`, async () => {
      const epp = await startEpp("immediate", undefined, { code, text });
      cleanups.push(() => epp.close());
      const setup = poolSetup(epp.port);
      const { filter } = await load({ configuration: setup.configuration }, { clusters: setup.clusters });
      cleanups.push(() => filter.close());
      const sink = new TestSink().attach(filter);
      sink.stream.requestHeaders(request("POST", "/v1/chat/completions"), false);
      sink.stream.requestData(bytes(CHAT), true);
      await until(() => sink.localReplies.length > 0);
      expect(sink.localReplies[0]!.status).toBe(code);
      expect(sink.localReplies[0]!.body).toBe(text);
      expect(sink.localReplies[0]!.details).toBe("endpoint_picker_immediate_response");
      expect(sink.requestHeaders).toBeUndefined();
      sink.stream.complete();
    });
  }

  it("FailClose: no ready EPP endpoint gives 503; FailOpen continues without a destination", async () => {
    const closed = poolSetup(1, { ready: false });
    const a = await load({ configuration: closed.configuration }, { clusters: closed.clusters });
    cleanups.push(() => a.filter.close());
    const s1 = new TestSink().attach(a.filter);
    s1.stream.requestHeaders(request("POST", "/v1/chat/completions"), false);
    s1.stream.requestData(bytes(CHAT), true);
    await until(() => s1.localReplies.length > 0);
    expect(s1.localReplies[0]!.status).toBe(503);
    expect(s1.localReplies[0]!.details).toBe("endpoint_picker_failed");
    expect(s1.localReplies[0]!.body).toContain("no healthy upstream");
    s1.stream.complete();

    const open = poolSetup(1, { ready: false, failureMode: "FailOpen" });
    const b = await load({ configuration: open.configuration }, { clusters: open.clusters });
    cleanups.push(() => b.filter.close());
    const s2 = new TestSink().attach(b.filter);
    s2.stream.requestHeaders(request("POST", "/v1/chat/completions"), false);
    s2.stream.requestData(bytes(CHAT), true);
    await until(() => s2.requestEnded);
    expect(s2.header("x-gateway-destination-endpoint")).toBeUndefined();
    expect(s2.requestText()).toBe(CHAT);
    s2.stream.complete();
  });

  it("repeated EPP failures are logged once per VM and cause, then counted out on the tick", async () => {
    // The module's clock is the test's: the period is the throttle's promise, not how fast this machine
    // sends 300 requests (under load that took longer than the period, and the count went out early).
    let nowNs = 1_700_000_000_000_000_000n;
    const closed = poolSetup(1, { ready: false });
    const { filter, logs } = await load({ configuration: closed.configuration }, { clusters: closed.clusters, clock: () => nowNs });
    cleanups.push(() => filter.close());
    const N = 300;
    for (let i = 0; i < N; i++) {
      const s = new TestSink().attach(filter);
      s.stream.requestHeaders(request("POST", "/v1/chat/completions"), false);
      s.stream.requestData(bytes(CHAT), true);
      await until(() => s.localReplies.length > 0);
      expect(s.localReplies[0]!.status).toBe(503);
      s.stream.complete();
    }
    const warned = () => logs.filter((l) => l.message.includes("endpoint picker for pool default/pool failed")).map((l) => l.message);
    // Two worker VMs (streams alternate between them), each with its own throttle: one line each so far.
    expect(warned()).toHaveLength(2);
    for (const line of warned()) expect(line).toMatch(/no healthy upstream\); FailClose: 503$/);
    // Just before the period is over the root's tick (every 20 ms) has nothing to report.
    nowNs += 4_999_999_999n;
    await new Promise((r) => setTimeout(r, 100));
    expect(warned()).toHaveLength(2);
    // Once it is over, the tick reports the rest of each VM, with the count.
    nowNs += 1n;
    await until(() => warned().length === 4);
    expect(warned().slice(2)).toEqual([0, 1].map(() => expect.stringMatching(/no healthy upstream\); FailClose: 503 \[149 times in the last 5 s\]$/)));
    await new Promise((r) => setTimeout(r, 100));
    expect(warned()).toHaveLength(4);
  });

  it("an EPP that comes back is reached by the next request: no reconnect backoff", async () => {
    const epp = await startEpp("pick");
    const setup = poolSetup(epp.port);
    const { filter } = await load({ configuration: setup.configuration }, { clusters: setup.clusters });
    cleanups.push(() => filter.close());
    const attempt = async (): Promise<number> => {
      const s = new TestSink().attach(filter);
      s.stream.requestHeaders(request("POST", "/v1/chat/completions"), false);
      s.stream.requestData(bytes(CHAT), true);
      await until(() => s.requestEnded || s.localReplies.length > 0);
      s.stream.complete();
      return s.requestEnded ? 200 : s.localReplies[0]!.status;
    };
    expect(await attempt()).toBe(200);
    await epp.close();
    for (let i = 0; i < 5; i++) expect(await attempt()).toBe(503);
    const back = await startEpp("pick", undefined, undefined, epp.port);
    cleanups.push(() => back.close());
    // Envoy's connection pool connects for the next request: the first one after the EPP is back succeeds.
    expect(await attempt()).toBe(200);
  });

  async function send(behaviour: Behaviour, opts: Parameters<typeof poolSetup>[1], body = CHAT) {
    const epp = await startEpp(behaviour);
    cleanups.push(() => epp.close());
    const setup = poolSetup(epp.port, opts);
    const { filter } = await load({ configuration: setup.configuration }, { clusters: setup.clusters });
    cleanups.push(() => filter.close());
    const sink = new TestSink().attach(filter);
    sink.stream.requestHeaders(request("POST", "/v1/chat/completions"), false);
    sink.stream.requestData(bytes(body), true);
    return { epp, sink };
  }

  it("a silent EPP: the deadline applies the failure mode on the request's own stream", async () => {
    const closed = await send("silent", { timeoutMs: 200 });
    await until(() => closed.sink.localReplies.length > 0);
    expect(closed.sink.localReplies[0]!.status).toBe(503);
    expect(closed.sink.localReplies[0]!.body).toContain("no answer from the endpoint picker within 200ms");
    closed.sink.stream.complete();

    const open = await send("silent", { timeoutMs: 200, failureMode: "FailOpen" });
    await until(() => open.sink.requestEnded);
    expect(open.sink.header("x-gateway-destination-endpoint")).toBeUndefined();
    expect(open.sink.requestText()).toBe(CHAT);
    open.sink.stream.complete();
  });

  it("the deadline tick is armed once while exchanges wait, not per request (setting the period restarts the host's timer)", async () => {
    const epp = await startEpp("silent");
    cleanups.push(() => epp.close());
    const setup = poolSetup(epp.port, { timeoutMs: 300 });
    // The module's clock is the test's: deadlines and the failure log's 5 s period pass when the test says so.
    let nowNs = 1_000_000_000_000n;
    const { filter } = await load({ configuration: setup.configuration }, { clusters: setup.clusters, clock: () => nowNs });
    cleanups.push(() => filter.close());
    const periods = filter.vms.map((vm) => {
      const calls: number[] = [];
      const set = vm.setTickPeriod.bind(vm);
      vm.setTickPeriod = (root, ms) => {
        calls.push(ms);
        set(root, ms);
      };
      return calls;
    });
    const send = (n: number) =>
      Array.from({ length: n }, () => {
        const sink = new TestSink().attach(filter);
        sink.stream.requestHeaders(request("POST", "/v1/chat/completions"), false);
        sink.stream.requestData(bytes(CHAT), true);
        return sink;
      });
    // Re-arming per request would keep a VM that starts exchanges faster than the period from ever checking deadlines.
    const first = send(10);
    expect(periods).toEqual([[20], [20]]);
    nowNs += 300_000_000n;
    await until(() => first.every((s) => s.localReplies.length > 0));
    expect(first.map((s) => s.localReplies[0]!.status)).toEqual(Array(10).fill(503));
    // The tick runs on while the failures' count waits to be logged, and stops once it is.
    expect(periods).toEqual([[20], [20]]);
    nowNs += 5_000_000_000n;
    await until(() => periods.every((p) => p.at(-1) === 0));
    const second = send(2);
    expect(periods).toEqual([
      [20, 0, 20],
      [20, 0, 20],
    ]);
    nowNs += 300_000_000n;
    await until(() => second.every((s) => s.localReplies.length > 0));
    for (const s of [...first, ...second]) s.stream.complete();
  });

  it("an EPP that drops the stream: 503 under FailClose, naming the gRPC status", async () => {
    const { sink } = await send("drop", {});
    await until(() => sink.localReplies.length > 0);
    expect(sink.localReplies[0]!.status).toBe(503);
    expect(sink.localReplies[0]!.body).toContain("grpc-status 14");
    sink.stream.complete();
  });

  it("sends a large body as 62,000-byte chunks in duplex mode and as one message in buffered mode", async () => {
    const big = JSON.stringify({ model: "m1", messages: [{ role: "user", content: "x".repeat(150_000) }] });
    const duplex = await send("pick", {}, big);
    await until(() => duplex.sink.requestEnded);
    expect(duplex.epp.received.filter((r) => r.startsWith("request_body"))).toEqual([
      "request_body eos=false",
      "request_body eos=false",
      "request_body eos=true",
    ]);
    expect(JSON.parse(duplex.sink.requestText()).epp).toBe(true);
    duplex.sink.stream.complete();

    const buffered = await send("pick", { bodyMode: "buffered" }, big);
    await until(() => buffered.sink.requestEnded);
    expect(buffered.epp.received.filter((r) => r.startsWith("request_body"))).toEqual(["request_body eos=true"]);
    buffered.sink.stream.complete();
  });

  it("honours the EPP's mode_override only when the pool allows it", async () => {
    for (const allowModeOverride of [true, false]) {
      const { epp, sink } = await send("override", { allowModeOverride });
      await until(() => sink.requestEnded);
      expect(sink.header("x-gateway-destination-endpoint")).toBe("10.1.2.3:8000");
      answerChat(sink);
      expect(sink.responseEnded).toBe(true);
      await until(() => epp.received.includes("end"));
      const responsePhase = epp.received.filter((r) => r.startsWith("response_"));
      expect(responsePhase).toEqual(allowModeOverride ? [] : ["response_headers", "response_body"]);
      sink.stream.complete();
    }
  });
});
