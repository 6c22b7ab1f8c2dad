// The seed example end to end: what aigw run builds from envoy/examples/inference-pool.
import { describe, expect, test } from "vitest";
import { loadConfig, type LoadedConfig } from "../../src-host/config/load-config.js";
import { ROUTE_NOT_FOUND_BODY } from "../../src-host/config/build/build-gateway.js";
import { PLUGIN_CONFIG_VERSION, type PluginConfig } from "../../src-host/config/plugin-config.js";
import { GENAI_STATS_TAGS } from "../../src-host/config/build/genai-metrics.js";

const EXAMPLE = "envoy/examples/inference-pool";
const opts = { modulePath: "build/ai-gateway.wasm", loadTime: 1_700_000_000 };
const load = (): LoadedConfig => loadConfig([EXAMPLE], opts);

const EPP_CONFIG = `apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: queue-scorer
- type: kv-cache-utilization-scorer
- type: prefix-cache-scorer
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: queue-scorer
  - pluginRef: kv-cache-utilization-scorer
  - pluginRef: prefix-cache-scorer
`;

describe("seed example", () => {
  test("loads without problems or warnings", () => {
    expect(load().warnings).toEqual([]);
  });

  test("Step 3 replaces Step 2's ConfigMap and RBAC objects in place, as kubectl apply does", () => {
    const cfg = load();
    const find = (kind: string, name: string) => cfg.objects.filter((o) => o.kind === kind && o.name === name);
    for (const [kind, name] of [
      ["ConfigMap", "plugins-config"],
      ["Role", "pod-read"],
      ["RoleBinding", "pod-read-binding"],
      ["ClusterRole", "auth-reviewer"],
      ["ClusterRoleBinding", "auth-reviewer-binding"],
    ] as const) {
      const found = find(kind, name);
      expect(found, `${kind} ${name}`).toHaveLength(1);
      expect(found[0]!.source).toBe(`${EXAMPLE}/04-custom-inferencepool.yaml`);
    }
    // The binding now names Step 3's service account.
    const binding = find("RoleBinding", "pod-read-binding")[0]!.object as unknown as { subjects: Array<{ name: string }> };
    expect(binding.subjects[0]!.name).toBe("mistral-epp");
    // Cluster-scoped objects have no namespace; namespaced ones without one get "default".
    expect(find("ClusterRole", "auth-reviewer")[0]!.namespace).toBe("");
    expect(find("InferenceObjective", "food-review")[0]!.namespace).toBe("default");
    // The position is the first apply's: plugins-config comes before everything of Step 3.
    const order = cfg.objects.map((o) => `${o.kind}/${o.name}`);
    expect(order.indexOf("ConfigMap/plugins-config")).toBeLessThan(order.indexOf("Service/mistral-upstream"));
    // Step 2: 1 + 3 + 9 objects; Step 3: 12, of which 5 replace; Step 4: 4; Step 5: 3.
    expect(cfg.objects).toHaveLength(1 + 3 + 9 + 12 - 5 + 4 + 3);
  });

  test("plugin configuration: three rules, three models, two pools, 50 MiB", () => {
    const plugin = load().plugin;
    const rule = (index: number, model: string, backend: PluginConfig["rules"][0]["backends"][0]) => ({
      route: "default/inference-pool-with-aigwroute",
      index,
      matches: [{ headers: [{ name: "x-ai-eg-model", type: "Exact", value: model }] }],
      backends: [backend],
    });
    const pool = (name: string, epp: string) => ({
      name: `default/${name}`,
      eppCluster: `epp/default/${name}`,
      eppAuthority: `${epp}.default.svc:9002`,
      failureMode: "FailClose",
      bodyMode: "duplex",
      allowModeOverride: false,
      timeoutMs: 10000,
    });
    expect(plugin).toEqual({
      version: PLUGIN_CONFIG_VERSION,
      rules: [
        rule(0, "meta-llama/Llama-3.1-8B-Instruct", { name: "default/vllm-llama3-8b-instruct", kind: "InferencePool", weight: 1, modelNameOverride: "" }),
        rule(1, "mistral:latest", { name: "default/mistral", kind: "InferencePool", weight: 1, modelNameOverride: "" }),
        rule(2, "some-cool-self-hosted-model", {
          name: "default/envoy-ai-gateway-basic-testupstream",
          kind: "AIServiceBackend",
          weight: 1,
          modelNameOverride: "",
        }),
      ],
      models: ["meta-llama/Llama-3.1-8B-Instruct", "mistral:latest", "some-cool-self-hosted-model"].map((id) => ({
        id,
        ownedBy: "Envoy AI Gateway",
        created: 1_700_000_000,
      })),
      pools: [pool("mistral", "mistral-epp"), pool("vllm-llama3-8b-instruct", "vllm-llama3-8b-instruct-epp")],
      maxRequestBodyBytes: 52428800,
      // The seed's route declares no llmRequestCosts and no BackendTrafficPolicy limits it.
      costs: [],
      rateLimits: [],
    });
  });

  test("route table: a route per rule and backend on x-ai-eg-model and x-ai-eg-backend, then route-not-found", () => {
    const gw = load().gateway;
    expect(gw.routes.virtualHosts).toHaveLength(1);
    const vh = gw.routes.virtualHosts[0]!;
    expect(vh.domains).toEqual(["*"]);
    const route = (i: number, model: string, backend: string, cluster: string) => ({
      name: `aigatewayroute/default/inference-pool-with-aigwroute/rule/${i}/match/0/backend/${backend}`,
      match: {
        prefix: "/",
        headers: [
          { name: "x-ai-eg-model", exact: model },
          { name: "x-ai-eg-backend", exact: backend },
        ],
      },
      action: { cluster },
      timeoutMs: 60000,
    });
    // Routes to a pool retry a connect failure once on another pod of the pool.
    const poolRoute = (i: number, model: string, backend: string, cluster: string) => ({
      ...route(i, model, backend, cluster),
      retryPolicy: { retryOn: "connect-failure", numRetries: 1, hostSelectionRetryMaxAttempts: 5 },
    });
    expect(vh.routes).toEqual([
      poolRoute(0, "meta-llama/Llama-3.1-8B-Instruct", "default/vllm-llama3-8b-instruct", "inferencepool/default/vllm-llama3-8b-instruct"),
      poolRoute(1, "mistral:latest", "default/mistral", "inferencepool/default/mistral"),
      route(2, "some-cool-self-hosted-model", "default/envoy-ai-gateway-basic-testupstream", "aiservicebackend/default/envoy-ai-gateway-basic-testupstream"),
      {
        name: "route-not-found",
        match: { prefix: "/" },
        action: { directResponse: { status: 404, body: ROUTE_NOT_FOUND_BODY, contentType: "text/plain" } },
        filterEnabled: true,
      },
    ]);
    expect(ROUTE_NOT_FOUND_BODY).toBe("No matching route found. It is likely because the model specified in your request is not configured in the Gateway.");
  });

  test("listener, admin, limits and the wasm filter", () => {
    const cfg = load();
    const gw = cfg.gateway;
    expect(gw.listener).toEqual({
      name: "default/inference-pool-with-aigwroute/http",
      address: { address: "127.0.0.1", port: 1975 },
      bufferLimitBytes: gw.listener.bufferLimitBytes,
      requestTimeoutMs: 60000,
    });
    expect(gw.listener.bufferLimitBytes).toBeGreaterThanOrEqual(cfg.plugin.maxRequestBodyBytes);
    expect(gw.admin).toEqual({ address: "127.0.0.1", port: 1064 });
    expect(gw.statsTags).toEqual(GENAI_STATS_TAGS);
    expect(gw.wasm).toEqual({
      name: "ai-gateway",
      rootId: "ai-gateway",
      vmId: "ai-gateway",
      modulePath: "build/ai-gateway.wasm",
      configuration: JSON.stringify(cfg.plugin),
      allowOnHeadersStopIteration: true,
      failOpen: false,
      workers: 2,
    });
  });

  test("options: port, admin port, workers and body limit", () => {
    const cfg = loadConfig([EXAMPLE], { ...opts, port: 0, adminPort: 0, workers: 4, maxRequestBodyBytes: 1024 });
    expect(cfg.gateway.listener.address.port).toBe(0);
    expect(cfg.gateway.admin.port).toBe(0);
    expect(cfg.gateway.wasm!.workers).toBe(4);
    expect(cfg.plugin.maxRequestBodyBytes).toBe(1024);
    expect(JSON.parse(cfg.gateway.wasm!.configuration).maxRequestBodyBytes).toBe(1024);
    expect(cfg.gateway.listener.bufferLimitBytes).toBeGreaterThanOrEqual(1024);
  });

  test("clusters: the backend through its Service, two ORIGINAL_DST pools, two TLS HTTP/2 EPPs", () => {
    const ep = (address: string, port: number, hostname: string) => ({ address, port, hostname, ready: false });
    expect(load().gateway.clusters).toEqual([
      {
        // Backend fqdn envoy-ai-gateway-basic-testupstream.default.svc.cluster.local:80 → Service port 80 → targetPort 8080.
        name: "aiservicebackend/default/envoy-ai-gateway-basic-testupstream",
        type: "STATIC",
        endpoints: [ep("127.10.1.1", 8080, "envoy-ai-gateway-basic-testupstream-0")],
        lbPolicy: "LEAST_REQUEST",
        connectTimeoutMs: 10000,
      },
      {
        name: "epp/default/mistral",
        type: "STATIC",
        endpoints: [ep("127.10.2.1", 9002, "mistral-epp-0")],
        lbPolicy: "LEAST_REQUEST",
        http2: true,
        connectTimeoutMs: 10000,
        tls: { insecureSkipVerify: true, sni: "mistral-epp.default.svc" },
      },
      {
        name: "epp/default/vllm-llama3-8b-instruct",
        type: "STATIC",
        endpoints: [ep("127.10.5.1", 9002, "vllm-llama3-8b-instruct-epp-0")],
        lbPolicy: "LEAST_REQUEST",
        http2: true,
        connectTimeoutMs: 10000,
        tls: { insecureSkipVerify: true, sni: "vllm-llama3-8b-instruct-epp.default.svc" },
      },
      {
        name: "inferencepool/default/mistral",
        type: "ORIGINAL_DST",
        endpoints: [0, 1, 2].map((i) => ep(`127.10.3.${i + 1}`, 8080, `mistral-upstream-${i}`)),
        originalDstHeader: "x-gateway-destination-endpoint",
        lbPolicy: "ROUND_ROBIN",
        connectTimeoutMs: 10000,
      },
      {
        name: "inferencepool/default/vllm-llama3-8b-instruct",
        type: "ORIGINAL_DST",
        endpoints: [0, 1, 2].map((i) => ep(`127.10.4.${i + 1}`, 8000, `vllm-llama3-8b-instruct-${i}`)),
        originalDstHeader: "x-gateway-destination-endpoint",
        lbPolicy: "ROUND_ROBIN",
        connectTimeoutMs: 10000,
      },
    ]);
  });

  test("workloads: 3 vllm-sim on 8000, 3 + 1 testupstream on 8080, 2 EPPs with the redefined plugins-config", () => {
    const { pods, skipped } = load().workloads;
    expect(skipped).toEqual([]);
    expect(pods.map((p) => [p.kind, p.name, p.ip, p.ports.map((x) => x.containerPort)])).toEqual([
      ["testupstream", "envoy-ai-gateway-basic-testupstream-0", "127.10.1.1", [8080]],
      ["epp", "mistral-epp-0", "127.10.2.1", [9002, 9003, 9090]],
      ["testupstream", "mistral-upstream-0", "127.10.3.1", [8080]],
      ["testupstream", "mistral-upstream-1", "127.10.3.2", [8080]],
      ["testupstream", "mistral-upstream-2", "127.10.3.3", [8080]],
      ["vllm-sim", "vllm-llama3-8b-instruct-0", "127.10.4.1", [8000]],
      ["vllm-sim", "vllm-llama3-8b-instruct-1", "127.10.4.2", [8000]],
      ["vllm-sim", "vllm-llama3-8b-instruct-2", "127.10.4.3", [8000]],
      ["epp", "vllm-llama3-8b-instruct-epp-0", "127.10.5.1", [9002, 9003, 9090]],
    ]);
    const sim = pods.find((p) => p.name === "vllm-llama3-8b-instruct-1")!;
    expect(sim).toMatchObject({
      namespace: "default",
      owner: "Deployment default/vllm-llama3-8b-instruct",
      replica: 1,
      labels: { app: "vllm-llama3-8b-instruct" },
      image: "ghcr.io/llm-d/llm-d-inference-sim:v0.4.0",
      container: "vllm-sim",
      args: ["--model", "meta-llama/Llama-3.1-8B-Instruct", "--port", "8000", "--max-loras", "2", "--lora-modules", '{"name": "food-review-1"}'],
      // valueFrom.fieldRef resolved per pod.
      env: { POD_NAME: "vllm-llama3-8b-instruct-1", NAMESPACE: "default" },
      files: {},
    });
    expect(sim.ports).toEqual([{ name: "http", containerPort: 8000, protocol: "TCP" }]);
    const up = pods.find((p) => p.name === "mistral-upstream-0")!;
    expect(up.env).toEqual({ TESTUPSTREAM_ID: "test" });
    for (const [name, pool] of [
      ["mistral-epp-0", "default/mistral"],
      ["vllm-llama3-8b-instruct-epp-0", "default/vllm-llama3-8b-instruct"],
    ]) {
      const epp = pods.find((p) => p.name === name)!;
      expect(epp.pool).toBe(pool);
      expect(epp.files).toEqual({ "/config/default-plugins.yaml": EPP_CONFIG });
      expect(epp.args).toContain("--config-file");
    }
  });

  test("readiness: pods start not ready; setPodReady updates cluster endpoints and tells Discovery", () => {
    const cfg = load();
    const pool = cfg.gateway.clusters.find((c) => c.name === "inferencepool/default/mistral")!;
    const discovery = cfg.discovery("default/mistral");
    let changes = 0;
    const off = discovery.onChange(() => changes++);
    expect(discovery.pods().find((p) => p.name === "mistral-upstream-1")!.ready).toBe(false);
    cfg.setPodReady("default", "mistral-upstream-1", true);
    expect(pool.endpoints.map((e) => e.ready)).toEqual([false, true, false]);
    expect(discovery.pods().find((p) => p.name === "mistral-upstream-1")!.ready).toBe(true);
    expect(changes).toBe(1);
    cfg.setPodReady("default", "mistral-upstream-1", true); // no change, no event
    expect(changes).toBe(1);
    cfg.setPodReady("default", "mistral-upstream-1", false);
    expect(changes).toBe(2);
    expect(pool.endpoints[1]!.ready).toBe(false);
    off();
    cfg.setPodReady("default", "mistral-upstream-0", true);
    expect(changes).toBe(2);
    // The basic test upstream is reached through its Service: its endpoint follows the pod too.
    cfg.setPodReady("default", "envoy-ai-gateway-basic-testupstream-0", true);
    expect(cfg.gateway.clusters[0]!.endpoints[0]!.ready).toBe(true);
    expect(() => cfg.setPodReady("default", "nope", true)).toThrow(/no pod default\/nope/);
  });

  test("Discovery: pool spec, pods of the namespace, bound InferenceObjectives", () => {
    const cfg = load();
    const llama = cfg.discovery("default/vllm-llama3-8b-instruct");
    expect(llama.pool()).toEqual({
      name: "vllm-llama3-8b-instruct",
      namespace: "default",
      selector: { app: "vllm-llama3-8b-instruct" },
      targetPorts: [8000],
    });
    expect(llama.objectives()).toEqual([
      { name: "base-model", priority: 2, poolName: "vllm-llama3-8b-instruct" },
      { name: "base-model-cpu", priority: 2, poolName: "vllm-llama3-8b-instruct" },
      { name: "food-review", priority: 1, poolName: "vllm-llama3-8b-instruct" },
    ]);
    expect(llama.pods()).toHaveLength(9);
    expect(llama.pods()[5]).toEqual({
      name: "vllm-llama3-8b-instruct-0",
      namespace: "default",
      ip: "127.10.4.1",
      labels: { app: "vllm-llama3-8b-instruct" },
      ready: false,
    });
    const mistral = cfg.discovery("default/mistral");
    expect(mistral.objectives()).toEqual([{ name: "mistral", priority: 10, poolName: "mistral" }]);
    expect(mistral.pool()!.targetPorts).toEqual([8080]);
    expect(() => cfg.discovery("default/nope")).toThrow(/no InferencePool default\/nope/);
  });

  test("determinism: the same input twice gives identical JSON", () => {
    const a = load();
    const b = load();
    const dump = (c: LoadedConfig) => JSON.stringify({ gateway: c.gateway, plugin: c.plugin, workloads: c.workloads });
    expect(dump(a)).toBe(dump(b));
    // Files named one by one in the same order give the same result as the directory.
    const files = [
      "01-sim-deployment.yaml",
      "02-inferenceobjective.yaml",
      "03-inferencepool-resources.yaml",
      "04-custom-inferencepool.yaml",
      "05-aiservicebackend.yaml",
      "06-aigatewayroute.yaml",
    ];
    const c = loadConfig(
      files.map((f) => `${EXAMPLE}/${f}`),
      opts,
    );
    expect(dump(c)).toBe(dump(a));
  });
});
