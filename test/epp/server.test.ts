// The EPP process surface: TLS, health, the metrics endpoint, discovery changes, and conformance-style steering.
import { afterEach, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { startEpp, type RunningEpp } from "../../src-host/epp/epp.js";
import { DEFAULT_CONFIG_TEXT } from "../../src-host/epp/scheduling/config.js";
import { clientConstructors } from "../../src-host/epp/proto.js";
import { generate } from "selfsigned";
import {
  ExtProcStream,
  TestDiscovery,
  bodyMsg,
  extProcClient,
  fetchText,
  headerMap,
  headersMsg,
  healthCheck,
  healthClient,
  poolSpec,
  startModelServers,
  startTestEpp,
  until,
  vllmMetrics,
  type ModelServers,
} from "./helpers.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(
  texts: string[],
  args: string[] = [],
  discoveryPool = true,
): Promise<{ servers: ModelServers; discovery: TestDiscovery; epp: RunningEpp }> {
  const servers = await startModelServers(texts);
  cleanups.push(() => servers.close());
  const discovery = new TestDiscovery(discoveryPool ? poolSpec(servers.port) : undefined, servers.pods);
  const epp = await startTestEpp(discovery, args);
  cleanups.push(() => epp.close());
  return { servers, discovery, epp };
}

function client(address: string, secure = false): grpc.Client {
  const c = extProcClient(address, secure);
  cleanups.push(() => c.close());
  return c;
}

async function route(c: grpc.Client, headers: Record<string, string> = {}): Promise<string> {
  const s = new ExtProcStream(c).send(
    headersMsg({ ":path": "/v1/completions", ...headers }),
    bodyMsg('{"model":"m","prompt":"Write as if you were a critic: San Francisco"}', true),
  );
  const r = await s.next();
  s.end();
  if (r.immediate_response) return `${r.immediate_response.status.code} ${r.immediate_response.body?.toString()}`;
  return headerMap(r.request_headers!.response.header_mutation!.set_headers).get("x-gateway-destination-endpoint")!;
}

describe("serving", () => {
  it("speaks TLS with a self-signed certificate by default", async () => {
    const servers = await startModelServers([vllmMetrics({})]);
    cleanups.push(() => servers.close());
    const discovery = new TestDiscovery(poolSpec(servers.port), servers.pods);
    const epp = await startTestEpp(discovery, ["--secure-serving=true"]);
    cleanups.push(() => epp.close());
    expect(epp.secure).toBe(true);
    expect(await route(client(epp.grpcAddress, true))).toBe(`${servers.ips[0]}:${servers.port}`);
    // A plaintext client cannot talk to it.
    const plain = client(epp.grpcAddress, false);
    const s = new ExtProcStream(plain).send(headersMsg({}, true));
    expect((await s.status).code).toBe(grpc.status.UNAVAILABLE);
  });

  it("runs with the seed manifest's arguments and mounted ConfigMap (TLS on by default)", async () => {
    const servers = await startModelServers([vllmMetrics({})]);
    cleanups.push(() => servers.close());
    const discovery = new TestDiscovery(poolSpec(servers.port, { name: "vllm-llama3-8b-instruct" }), servers.pods);
    const seedArgs = [
      "--pool-name",
      "vllm-llama3-8b-instruct",
      "--pool-namespace",
      "default",
      "--v",
      "4",
      "--zap-encoder",
      "json",
      "--grpc-port",
      "9002",
      "--grpc-health-port",
      "9003",
      "--config-file",
      "/config/default-plugins.yaml",
    ];
    const logs: string[] = [];
    const epp = await startEpp({
      args: [...seedArgs, "--grpc-port=0", "--grpc-health-port=0", "--metrics-port=0"], // later flags win, as in Go
      files: { "/config/default-plugins.yaml": DEFAULT_CONFIG_TEXT },
      discovery,
      log: (l) => logs.push(l),
    });
    cleanups.push(() => epp.close());
    expect(epp.secure).toBe(true);
    const h = healthClient(epp.healthAddress);
    cleanups.push(() => h.close());
    expect((await healthCheck(h, "inference-extension")).status).toBe(1);
    expect(await route(client(epp.grpcAddress, true))).toBe(`${servers.ips[0]}:${servers.port}`);
    expect(logs.map((l) => JSON.parse(l) as { msg: string }).some((l) => l.msg === "EPP serving")).toBe(true);
  });

  it("serves the certificate from --cert-path", async () => {
    const pems = await generate([{ name: "commonName", value: "epp.test" }], { keyType: "ec", curve: "P-256", algorithm: "sha256" });
    const servers = await startModelServers([vllmMetrics({})]);
    cleanups.push(() => servers.close());
    const discovery = new TestDiscovery(poolSpec(servers.port), servers.pods);
    const files = { "/certs/tls.crt": pems.cert, "/certs/tls.key": pems.private };
    const epp = await startTestEpp(discovery, ["--secure-serving=true", "--cert-path=/certs"], { files });
    cleanups.push(() => epp.close());
    // Verification on, trusting only that certificate (host name not checked: the target is an IP).
    const trusting = new (clientConstructors().ExternalProcessor)(
      epp.grpcAddress,
      grpc.credentials.createSsl(Buffer.from(pems.cert), null, null, { checkServerIdentity: () => undefined }),
      { "grpc.ssl_target_name_override": "epp.test" },
    );
    cleanups.push(() => trusting.close());
    expect(await route(trusting)).toBe(`${servers.ips[0]}:${servers.port}`);
    // The same client refuses an EPP that generated its own certificate.
    const other = await startTestEpp(discovery, ["--secure-serving=true"]);
    cleanups.push(() => other.close());
    const refusing = new (clientConstructors().ExternalProcessor)(
      other.grpcAddress,
      grpc.credentials.createSsl(Buffer.from(pems.cert), null, null, { checkServerIdentity: () => undefined }),
      { "grpc.ssl_target_name_override": "epp.test" },
    );
    cleanups.push(() => refusing.close());
    expect((await new ExtProcStream(refusing).send(headersMsg({}, true)).status).code).toBe(grpc.status.UNAVAILABLE);
    await expect(startTestEpp(discovery, ["--secure-serving=true", "--cert-path=/nowhere"])).rejects.toThrow(
      /failed to load TLS certificate from --cert-path \/nowhere/,
    );
  });

  it("scrapes --model-server-metrics-path", async () => {
    const servers = await startModelServers([vllmMetrics({ waiting: 8 }), vllmMetrics({ waiting: 0 })], { app: "vllm" }, "/custom");
    cleanups.push(() => servers.close());
    const epp = await startTestEpp(new TestDiscovery(poolSpec(servers.port), servers.pods), ["--model-server-metrics-path=/custom"]);
    cleanups.push(() => epp.close());
    await until(() => servers.scrapes(0) > 1 && servers.scrapes(1) > 1, "scrapes of /custom");
    expect(await route(client(epp.grpcAddress))).toBe(`${servers.ips[1]}:${servers.port}`);
  });

  it("reports NOT_SERVING until the pool is known, then SERVING; names are not checked", async () => {
    const { servers, discovery, epp } = await setup([vllmMetrics({})], [], false);
    const h = healthClient(epp.healthAddress);
    cleanups.push(() => h.close());
    expect((await healthCheck(h, "inference-extension")).status).toBe(2);
    // Requests before the pool syncs find no pods.
    expect(await route(client(epp.grpcAddress))).toBe("503 inference gateway: ServiceUnavailable - failed to find candidate pods for serving the request");
    discovery.update({ pool: poolSpec(servers.port, { name: "other-pool" }) });
    expect((await healthCheck(h)).status).toBe(2);
    discovery.update({ pool: poolSpec(servers.port) });
    expect((await healthCheck(h, "inference-extension")).status).toBe(1);
    expect((await healthCheck(h, "anything")).status).toBe(1);
  });

  it("registers the standard health service on the ext_proc port with --health-checking", async () => {
    const { epp } = await setup([vllmMetrics({})], ["--health-checking"]);
    const h = healthClient(epp.grpcAddress);
    cleanups.push(() => h.close());
    expect((await healthCheck(h, "")).status).toBe(1);
    expect((await healthCheck(h, "envoy.service.ext_proc.v3.ExternalProcessor")).status).toBe(1);
    await expect(healthCheck(h, "other")).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it("exposes upstream's metric names on the metrics port", async () => {
    const { servers, epp } = await setup(
      [vllmMetrics({ waiting: 2, kv: 0.5 }), vllmMetrics({ waiting: 4, kv: 0.25 })],
      ["--refresh-prometheus-metrics-interval=50ms"],
    );
    const c = client(epp.grpcAddress);
    await servers.rescraped();
    await route(c);
    await route(c, { "x-gateway-model-name-rewrite": "m2" });
    const s = new ExtProcStream(c).send(headersMsg({}), bodyMsg("nope", true));
    await s.next();
    // Pool gauges refresh every 50 ms; the running gauge drops when the streams close.
    let { status, text } = await fetchText(`http://${epp.metricsAddress}/metrics`);
    for (let i = 0; i < 100 && !(text.includes('inference_pool_ready_pods{name="pool"} 2') && text.includes('running_requests{model_name="m"} 0')); i++) {
      await new Promise((r) => setTimeout(r, 20));
      ({ status, text } = await fetchText(`http://${epp.metricsAddress}/metrics`));
    }
    expect(status).toBe(200);
    for (const name of [
      "inference_model_request_total",
      "inference_model_request_error_total",
      "inference_model_request_duration_seconds",
      "inference_model_request_sizes",
      "inference_model_response_sizes",
      "inference_model_input_tokens",
      "inference_model_output_tokens",
      "inference_model_normalized_time_per_output_token_seconds",
      "inference_model_running_requests",
      "inference_pool_average_kv_cache_utilization",
      "inference_pool_average_queue_size",
      "inference_pool_ready_pods",
      "inference_pool_per_pod_queue_size",
      "inference_extension_scheduler_e2e_duration_seconds",
      "inference_extension_plugin_duration_seconds",
      "inference_extension_prefix_indexer_size",
      "inference_extension_prefix_indexer_hit_ratio",
      "inference_extension_prefix_indexer_hit_bytes",
      "inference_extension_info",
    ]) {
      expect(text, name).toContain(`# TYPE ${name} `);
    }
    expect(text).toContain('inference_model_request_total{model_name="m",target_model_name="m"} 1');
    expect(text).toContain('inference_model_request_total{model_name="m",target_model_name="m2"} 1');
    expect(text).toContain('inference_model_request_error_total{model_name="",target_model_name="",error_code="BadRequest"} 1');
    expect(text).toContain('inference_pool_ready_pods{name="pool"} 2');
    expect(text).toContain('inference_pool_average_kv_cache_utilization{name="pool"} 0.375');
    expect(text).toContain('inference_pool_average_queue_size{name="pool"} 3');
    expect(text).toContain('inference_pool_per_pod_queue_size{name="pool",model_server_pod="pod-1"} 4');
    expect(text).toMatch(/inference_model_running_requests\{model_name="m"\} 0/);
    expect((await fetchText(`http://${epp.metricsAddress}/other`)).status).toBe(404);
  });
});

describe("pool membership", () => {
  it("follows discovery: unready pods, other labels and removed pods are not candidates", async () => {
    const { servers, discovery, epp } = await setup([vllmMetrics({}), vllmMetrics({}), vllmMetrics({})]);
    const c = client(epp.grpcAddress);
    const ep = (i: number) => `${servers.ips[i]}:${servers.port}`;
    const [p0, p1, p2] = servers.pods;
    discovery.update({ pods: [p0, { ...p1, ready: false }, { ...p2, labels: { app: "other" } }] });
    for (let i = 0; i < 5; i++) expect(await route(c)).toBe(ep(0));
    discovery.update({ pods: [{ ...p1 }] });
    await until(() => servers.scrapes(1) > 0, "scrape of pod-1");
    for (let i = 0; i < 5; i++) expect(await route(c)).toBe(ep(1));
    discovery.update({ pods: [] });
    expect(await route(c)).toMatch(/^503 /);
    const s = new ExtProcStream(c).send(headersMsg({ ":method": "GET" }, true));
    const r = await s.next();
    expect(r.immediate_response!.status.code).toBe(500);
    expect(r.immediate_response!.body!.toString()).toBe("inference gateway: Internal - no pods available in datastore");
  });

  it("scrapes every ready pod on the refresh interval and routes on what it reads", async () => {
    const { servers, epp } = await setup([vllmMetrics({ waiting: 9, kv: 0.9 }), vllmMetrics({ waiting: 0, kv: 0.1 })], ["--refresh-metrics-interval=25ms"]);
    const before = [servers.scrapes(0), servers.scrapes(1)];
    await new Promise((r) => setTimeout(r, 300));
    expect(servers.scrapes(0) - before[0]).toBeGreaterThanOrEqual(4);
    expect(servers.scrapes(1) - before[1]).toBeGreaterThanOrEqual(4);
    const c = client(epp.grpcAddress);
    for (let i = 0; i < 4; i++) expect(await route(c)).toBe(`${servers.ips[1]}:${servers.port}`);
    servers.setMetrics(0, vllmMetrics({ waiting: 0, kv: 0 }));
    servers.setMetrics(1, vllmMetrics({ waiting: 9, kv: 0.9, kvName: "vllm:kv_cache_usage_perc" }));
    await servers.rescraped();
    // The prompt is shorter than one prefix block, so only queue and KV decide: now pod-0.
    expect(await route(c)).toBe(`${servers.ips[0]}:${servers.port}`);
  });
});

describe("failed scrapes", () => {
  it("a pod whose scrape fails is stale at once and not picked while another has fresh metrics; it returns when it answers", async () => {
    const { servers, epp } = await setup([vllmMetrics({ waiting: 0, kv: 0 }), vllmMetrics({ waiting: 9, kv: 0.9 }), vllmMetrics({ waiting: 9, kv: 0.9 })]);
    const c = client(epp.grpcAddress);
    const ep = (i: number) => `${servers.ips[i]}:${servers.port}`;
    await servers.rescraped();
    for (let i = 0; i < 3; i++) expect(await route(c)).toBe(ep(0));
    // pod-0's server dies (its scrape fails) while its Pod still reads Ready; the staleness threshold (2 s) has
    // not passed, so only the failed scrape can tell.
    servers.setMetrics(0, 503);
    await servers.rescraped(1);
    for (let i = 0; i < 6; i++) expect(await route(c)).not.toBe(ep(0));
    servers.setMetrics(0, vllmMetrics({ waiting: 0, kv: 0 }));
    await servers.rescraped();
    expect(await route(c)).toBe(ep(0));
  });

  it("when every pod's scrape fails, all of them stay candidates", async () => {
    const { servers, epp } = await setup([vllmMetrics({}), vllmMetrics({})]);
    const c = client(epp.grpcAddress);
    servers.setMetrics(0, 500);
    servers.setMetrics(1, 500);
    await servers.rescraped();
    expect(servers.ips.map((ip) => `${ip}:${servers.port}`)).toContain(await route(c));
  });
});

describe("conformance-style steering", () => {
  it("header-based-testing-filter sends traffic only to the selected endpoints", async () => {
    const config = "apiVersion: inference.networking.x-k8s.io/v1alpha1\nkind: EndpointPickerConfig\nplugins:\n- type: header-based-testing-filter\n";
    const { servers, epp } = await setup([vllmMetrics({}), vllmMetrics({}), vllmMetrics({})], ["--config-text", config]);
    const c = client(epp.grpcAddress);
    for (const allowed of [[1], [0, 2], [0, 1, 2]]) {
      const header = allowed.map((i) => servers.ips[i]).join(",");
      const seen = new Set<string>();
      for (let i = 0; i < 30; i++) seen.add(await route(c, { "test-epp-endpoint-selection": header }));
      for (const ep of seen) expect(allowed.map((i) => `${servers.ips[i]}:${servers.port}`)).toContain(ep);
    }
    expect(await route(c)).toBe("429 inference gateway: InferencePoolResourceExhausted - failed to find target pod: failed to run scheduler profile 'default'");
  });
});
