// --target envoy on the seed example: the bootstrap field by field, the plugin configuration being the one
// the Node host runs, the golden file, the checked-in envoy/envoy.yaml, determinism and error reporting.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { DEFAULT_ADMIN_PORT, DEFAULT_PORT } from "../../src-host/config/build/build-gateway.js";
import { loadConfig } from "../../src-host/config/load-config.js";
import { ConfigError } from "../../src-host/config/read/problems.js";
import { StatsStore } from "../../src-host/stats/index.js";
import { checkBootstrap } from "../../src-host/translate/envoy-schema.js";
import { BUILT_MODULE, DEFAULT_INPUT, ROOT, translate } from "../../src-host/translate/translate.js";
import { loadWasmFilter } from "../../src-host/proxy-wasm/index.js";
import type { WasmFilterConfig } from "../../src-host/dataplane-api/bootstrap.js";
import { POOL_RETRY_POLICY_XDS, clustersOf, expectGolden, hcmOf, seedBootstrap, seedWith, tempDir } from "./helpers.js";

const seed = loadConfig([DEFAULT_INPUT], { modulePath: "/etc/envoy/ai-gateway.wasm", adminPort: 9901, loadTime: 0 });

describe("the seed example's bootstrap", () => {
  const doc = seedBootstrap();
  const hcm = hcmOf(doc);
  const clusters = clustersOf(doc);

  test("the listener: the Gateway's port as aigw run maps it, buffer limit above the filter's", () => {
    const l = doc.static_resources.listeners[0];
    expect(l.name).toBe("default/inference-pool-with-aigwroute/http");
    expect(l.address.socket_address).toEqual({ address: "127.0.0.1", port_value: 1975 });
    expect(l.per_connection_buffer_limit_bytes).toBeGreaterThan(seed.plugin.maxRequestBodyBytes);
    expect(doc.admin.address.socket_address).toEqual({ address: "127.0.0.1", port_value: 9901 });
  });

  test("the wasm filter comes before the router, with V8, the module path, root and VM ids and stop-iteration allowed", () => {
    expect(hcm.http_filters.map((f: { name: string }) => f.name)).toEqual(["envoy.filters.http.wasm", "envoy.filters.http.router"]);
    const wasm = hcm.http_filters[0].typed_config;
    expect(wasm["@type"]).toBe("type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm");
    expect(wasm.config).toMatchObject({
      name: "ai-gateway",
      root_id: "ai-gateway",
      vm_config: { vm_id: "ai-gateway", runtime: "envoy.wasm.runtime.v8", code: { local: { filename: "/etc/envoy/ai-gateway.wasm" } } },
      allow_on_headers_stop_iteration: true,
    });
    expect(wasm.config.configuration["@type"]).toBe("type.googleapis.com/google.protobuf.StringValue");
    expect(wasm.config.fail_open).toBeUndefined();
  });

  test("the plugin configuration is exactly the JSON the Node host runs (aigw run's options do not change it)", () => {
    const value = hcm.http_filters[0].typed_config.config.configuration.value;
    expect(value).toBe(seed.gateway.wasm!.configuration);
    const asRun = loadConfig([DEFAULT_INPUT], { port: DEFAULT_PORT, adminPort: DEFAULT_ADMIN_PORT, modulePath: BUILT_MODULE, loadTime: 0 });
    expect(value).toBe(asRun.gateway.wasm!.configuration);
    expect(JSON.parse(value)).toEqual(seed.plugin);
  });

  test("the production module accepts that configuration (proxy_on_configure), and refuses a broken one", async () => {
    const w = hcm.http_filters[0].typed_config.config;
    const config: WasmFilterConfig = {
      name: w.name,
      rootId: w.root_id,
      vmId: w.vm_config.vm_id,
      modulePath: BUILT_MODULE,
      configuration: w.configuration.value,
      allowOnHeadersStopIteration: w.allow_on_headers_stop_iteration,
      failOpen: false,
      workers: 1,
    };
    const load = (c: WasmFilterConfig) =>
      loadWasmFilter({
        config: c,
        clusters: seed.gateway.clusters,
        bufferLimitBytes: doc.static_resources.listeners[0].per_connection_buffer_limit_bytes,
        stats: new StatsStore(),
        log: () => {},
      });
    const filter = await load(config);
    expect(filter.failed(0)).toBe(false); // configured and running
    await filter.close();
    const broken = w.configuration.value.replace('"maxRequestBodyBytes":', '"maxRequestBodyBytes":"');
    await expect(load({ ...config, configuration: broken })).rejects.toThrow(/proxy_on_configure returned false/);
  });

  test("routes match x-ai-eg-model and x-ai-eg-backend, then the 404 catch-all", () => {
    const routes = hcm.route_config.virtual_hosts[0].routes;
    expect(routes.map((r: { name: string }) => r.name)).toEqual(seed.gateway.routes.virtualHosts[0]!.routes.map((r) => r.name));
    expect(routes[1].match).toEqual({
      prefix: "/",
      headers: [
        { name: "x-ai-eg-model", string_match: { exact: "mistral:latest" } },
        { name: "x-ai-eg-backend", string_match: { exact: "default/mistral" } },
      ],
    });
    expect(routes[1].route).toEqual({
      cluster: "inferencepool/default/mistral",
      timeout: "60s",
      // A connect failure to the pod the EPP picked is retried once on another pod of the pool.
      retry_policy: POOL_RETRY_POLICY_XDS,
    });
    expect(routes[3]).toMatchObject({ name: "route-not-found", match: { prefix: "/" }, direct_response: { status: 404 } });
    expect(routes[3].route).toBeUndefined();
  });

  test("a cluster per AIServiceBackend, per pool (override_host on the EPP's header, round robin without it), per EPP", () => {
    expect([...clusters.keys()]).toEqual(seed.gateway.clusters.map((c) => c.name));
    const backend = clusters.get("aiservicebackend/default/envoy-ai-gateway-basic-testupstream")!;
    expect(backend).toMatchObject({ type: "STATIC", lb_policy: "LEAST_REQUEST", connect_timeout: "10s" });
    const pool = clusters.get("inferencepool/default/vllm-llama3-8b-instruct")!;
    expect(pool.type).toBe("STATIC");
    expect(pool.lb_policy).toBeUndefined();
    const oh = pool.load_balancing_policy.policies[0].typed_extension_config;
    expect(oh.name).toBe("envoy.load_balancing_policies.override_host");
    expect(oh.typed_config.override_host_sources).toEqual([{ header: "x-gateway-destination-endpoint" }]);
    expect(oh.typed_config.fallback_policy.policies[0].typed_extension_config.name).toBe("envoy.load_balancing_policies.round_robin");
    expect(pool.load_assignment.endpoints[0].lb_endpoints.map((e: any) => e.endpoint.address.socket_address.port_value)).toEqual([8000, 8000, 8000]);
    const epp = clusters.get("epp/default/mistral")!;
    expect(epp.typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"].explicit_http_config).toEqual({
      http2_protocol_options: {},
    });
    expect(epp.transport_socket.typed_config.common_tls_context).toEqual({ alpn_protocols: ["h2"] }); // no validation: self-signed EPP
    for (const c of clusters.values()) expect(c.per_connection_buffer_limit_bytes, c.name).toBeGreaterThan(seed.plugin.maxRequestBodyBytes);
  });

  test("stats tags are the gateway's, turning the filter's metric names into labels", () => {
    expect(doc.stats_config.stats_tags).toEqual(seed.gateway.statsTags.map((t) => ({ tag_name: t.tagName, regex: t.regex })));
    expect(seed.gateway.statsTags.length).toBeGreaterThan(0);
  });

  test("golden file (reviewed once; any change shows up here)", () => {
    expectGolden("envoy.yaml", translate({ outDir: tempDir() }).files[0]!.content);
  });

  test("deterministic", () => {
    expect(translate({}).files[0]!.content).toBe(translate({}).files[0]!.content);
  });
});

describe("envoy/envoy.yaml and envoy/docker-compose.yaml", () => {
  test("are the Docker variant of the seed example, up to date (regenerate: make envoy-config)", () => {
    const files = translate({ docker: true, outDir: join(ROOT, "envoy") }).files;
    expect(files.map((f) => f.name)).toEqual(["envoy.yaml", "docker-compose.yaml"]);
    for (const f of files) {
      expect(readFileSync(join(ROOT, "envoy", f.name), "utf8"), `envoy/${f.name} is stale: make envoy-config`).toBe(f.content);
    }
    expect(checkBootstrap(parse(files[0]!.content))).toEqual([]);
  });
});

describe("options and errors", () => {
  test("ports, workers and the module path are honoured", () => {
    const doc = parse(translate({ port: 8080, adminPort: 19000, workers: 4, modulePath: "/plugins/aigw.wasm" }).files[0]!.content);
    expect(doc.static_resources.listeners[0].address.socket_address.port_value).toBe(8080);
    expect(doc.admin.address.socket_address.port_value).toBe(19000);
    expect(hcmOf(doc).http_filters[0].typed_config.config.vm_config.code.local.filename).toBe("/plugins/aigw.wasm");
    expect(translate({ workers: 4 }).files[0]!.content).toMatch(/--concurrency 4/);
  });

  test("a manifest mistake names the file, the object and the field", () => {
    const route = readFileSync(join(DEFAULT_INPUT, "06-aigatewayroute.yaml"), "utf8").replace(
      "- name: envoy-ai-gateway-basic-testupstream",
      "- name: no-such-backend",
    );
    const dir = seedWith({ "06-aigatewayroute.yaml": route });
    let err: unknown;
    try {
      translate({ paths: [dir] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toContainEqual(
      `${join(dir, "06-aigatewayroute.yaml")}: AIGatewayRoute default/inference-pool-with-aigwroute: spec.rules[2].backendRefs[0]: AIServiceBackend default/no-such-backend not found`,
    );
  });

  test("target-specific options are refused on the other target", () => {
    expect(() => translate({ code: { type: "Image", url: "r/x:1" } })).toThrow(/apply to --target envoy-gateway only/);
    expect(() => translate({ target: "envoy-gateway", docker: true })).toThrow(/--docker applies to --target envoy only/);
    expect(() => translate({ target: "envoy-gateway" })).toThrow(/--wasm-image REF or --wasm-http URL/);
  });
});
