// envoy/docker-compose.yaml against envoy/envoy.yaml: every address Envoy dials is a Compose service on a port
// it exposes, the EPPs get the pools' real addresses in a file our EPP reads, the module and config are
// mounted where the bootstrap expects them; and Global rate limits become an envoyproxy/ratelimit config.
import { existsSync, readFileSync } from "node:fs";
import { isIP } from "node:net";
import { join, resolve } from "node:path";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { splitCliArgs } from "../../src-host/epp/cli.js";
import { parseEppFlags } from "../../src-host/epp/flags.js";
import { parseEndpointsFile } from "../../src-host/epp/file-discovery.js";
import { COMPOSE_DYNAMIC_RANGE, COMPOSE_SUBNET, EPP_ENDPOINTS_PATH } from "../../src-host/translate/docker.js";
import { BUILT_MODULE, ROOT, translate } from "../../src-host/translate/translate.js";
import { clustersOf, hcmOf, seedWith, tempDir } from "./helpers.js";

type Obj = Record<string, any>;
const ENVOY_DIR = join(ROOT, "envoy");
const bootstrap: Obj = parse(readFileSync(join(ENVOY_DIR, "envoy.yaml"), "utf8"));
const compose: Obj = parse(readFileSync(join(ENVOY_DIR, "docker-compose.yaml"), "utf8"));
const services: Record<string, Obj> = compose.services;

function inSubnet(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split("/") as [string, string];
  const n = (a: string) => a.split(".").reduce((x, o) => x * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(bits));
  return Math.floor(n(ip) / size) === Math.floor(n(base) / size);
}

/** The service Envoy reaches at `address`: by Compose service name, or by its fixed address. */
function serviceAt(address: string): [string, Obj] | undefined {
  if (isIP(address) === 0) return services[address] ? [address, services[address]!] : undefined;
  return Object.entries(services).find(([, s]) => s.networks?.aigw?.ipv4_address === address);
}

describe("envoy/docker-compose.yaml", () => {
  test("every cluster address in envoy/envoy.yaml is a Compose service exposing that port", () => {
    let checked = 0;
    for (const c of bootstrap.static_resources.clusters) {
      for (const e of c.load_assignment.endpoints[0].lb_endpoints) {
        const { address, port_value } = e.endpoint.address.socket_address;
        const found = serviceAt(address);
        expect(found, `${c.name}: ${address}`).toBeDefined();
        expect(found![1].expose, `${c.name}: ${address}:${port_value}`).toContain(String(port_value));
        checked++;
      }
    }
    expect(checked).toBe(9);
  });

  test("pool clusters use fixed addresses on the network, the others service names (STRICT_DNS)", () => {
    for (const c of bootstrap.static_resources.clusters) {
      const addresses = c.load_assignment.endpoints[0].lb_endpoints.map((e: Obj) => e.endpoint.address.socket_address.address);
      const pool = c.load_balancing_policy !== undefined;
      expect(
        addresses.every((a: string) => (isIP(a) !== 0) === pool),
        c.name,
      ).toBe(true);
      expect(c.type, c.name).toBe(pool ? "STATIC" : "STRICT_DNS");
    }
  });

  test("fixed addresses are unique, in the subnet, and outside the range Docker hands out", () => {
    const ips = Object.values(services)
      .map((s) => s.networks?.aigw?.ipv4_address)
      .filter((ip): ip is string => ip !== undefined);
    expect(ips.length).toBe(9);
    expect(new Set(ips).size).toBe(ips.length);
    expect(compose.networks.aigw.ipam.config).toEqual([{ subnet: COMPOSE_SUBNET, ip_range: COMPOSE_DYNAMIC_RANGE }]);
    for (const ip of ips) {
      expect(inSubnet(ip, COMPOSE_SUBNET), ip).toBe(true);
      expect(inSubnet(ip, COMPOSE_DYNAMIC_RANGE), ip).toBe(false);
    }
  });

  test("Envoy: the official image with envoy.yaml and the built module mounted where the bootstrap reads them", () => {
    const envoy = services.envoy!;
    expect(envoy.image).toMatch(/^docker\.io\/envoyproxy\/envoy:v1\.(3[5-9]|[4-9]\d)/);
    const mounts = new Map<string, string>(envoy.volumes.map((v: string) => v.split(":").slice(0, 2).reverse() as [string, string]));
    expect(resolve(ENVOY_DIR, mounts.get("/etc/envoy/envoy.yaml")!)).toBe(join(ENVOY_DIR, "envoy.yaml"));
    expect(resolve(ENVOY_DIR, mounts.get("/etc/envoy/ai-gateway.wasm")!)).toBe(BUILT_MODULE);
    expect(hcmOf(bootstrap).http_filters[0].typed_config.config.vm_config.code.local.filename).toBe("/etc/envoy/ai-gateway.wasm");
    expect(envoy.command).toEqual(["envoy", "-c", "/etc/envoy/envoy.yaml", "--concurrency", "2"]);
    const listener = bootstrap.static_resources.listeners[0].address.socket_address;
    const admin = bootstrap.admin.address.socket_address;
    expect([listener.address, admin.address]).toEqual(["0.0.0.0", "0.0.0.0"]);
    expect(envoy.ports).toEqual([`${listener.port_value}:${listener.port_value}`, `${admin.port_value}:${admin.port_value}`]);
    expect(envoy.depends_on).toEqual(expect.arrayContaining(Object.keys(services).filter((s) => s !== "envoy" && s !== "redis")));
  });

  test("the model servers run the real images of the manifests", () => {
    expect(services["vllm-llama3-8b-instruct-0"]!.image).toBe("ghcr.io/llm-d/llm-d-inference-sim:v0.4.0");
    expect(services["vllm-llama3-8b-instruct-0"]!.command).toEqual([
      "--model",
      "meta-llama/Llama-3.1-8B-Instruct",
      "--port",
      "8000",
      "--max-loras",
      "2",
      "--lora-modules",
      '{"name": "food-review-1"}',
    ]);
    expect(services["vllm-llama3-8b-instruct-2"]!.environment).toEqual({ POD_NAME: "vllm-llama3-8b-instruct-2", NAMESPACE: "default" });
    expect(services["mistral-upstream-1"]!.image).toBe("docker.io/envoyproxy/ai-gateway-testupstream:latest");
  });

  test("the EPPs: our image from envoy/Dockerfile, flags our EPP accepts, the pool's addresses as in envoy.yaml", () => {
    const clusters = clustersOf(bootstrap);
    for (const [name, pool] of [
      ["mistral-epp-0", "mistral"],
      ["vllm-llama3-8b-instruct-epp-0", "vllm-llama3-8b-instruct"],
    ] as const) {
      const s = services[name]!;
      expect(resolve(ENVOY_DIR, s.build.context, s.build.dockerfile)).toBe(join(ENVOY_DIR, "Dockerfile"));
      expect(s.command[0]).toBe("epp");
      const { own, epp } = splitCliArgs(s.command.slice(1)); // what `aigw epp` does with its arguments
      expect(own).toEqual({ "endpoints-file": EPP_ENDPOINTS_PATH, "bind-address": "0.0.0.0" });
      expect(parseEppFlags(epp)).toMatchObject({ poolName: pool, poolNamespace: "default", grpcPort: 9002 });
      const mount = s.configs.find((c: Obj) => c.target === EPP_ENDPOINTS_PATH);
      const file = parseEndpointsFile(compose.configs[mount.source].content, pool, "default");
      const poolCluster = clusters.get(`inferencepool/default/${pool}`)!;
      const addresses = poolCluster.load_assignment.endpoints[0].lb_endpoints.map((e: Obj) => e.endpoint.address.socket_address);
      expect(file.pods.map((p) => `${p.ip}:${file.port}`)).toEqual(addresses.map((a: Obj) => `${a.address}:${a.port_value}`));
      const config = s.configs.find((c: Obj) => c.target === "/config/default-plugins.yaml");
      expect(compose.configs[config.source].content).toMatch(/kind: EndpointPickerConfig/);
    }
  });

  test("envoy/Dockerfile copies what exists and starts the compiled CLI", () => {
    const dockerfile = readFileSync(join(ENVOY_DIR, "Dockerfile"), "utf8");
    for (const m of dockerfile.matchAll(/^COPY (?!--from)(\S+) /gm)) {
      for (const src of m[1]!.split(" ")) expect(existsSync(join(ROOT, src)), src).toBe(true);
    }
    expect(existsSync(join(ROOT, "package-lock.json"))).toBe(true);
    expect(dockerfile).toMatch(/ENTRYPOINT \["node", "\/app\/build\/host\/src-host\/cli\/aigw\.js"\]/);
    expect(existsSync(join(ROOT, "src-host/cli/aigw.ts"))).toBe(true);
  });

  test("envoyproxy/ratelimit with Redis, idle while no Global rule exists", () => {
    expect(services.ratelimit).toMatchObject({ command: ["/bin/ratelimit"], depends_on: ["redis"], expose: ["8081"] });
    expect(services.ratelimit!.environment).toMatchObject({ REDIS_URL: "redis:6379", RUNTIME_ROOT: "/data", RUNTIME_SUBDIRECTORY: "ratelimit" });
    const [mount] = services.ratelimit!.configs;
    expect(mount.target).toMatch(/^\/data\/ratelimit\/config\/.+\.yaml$/);
    expect(parse(compose.configs[mount.source].content)).toEqual({ domain: "ai-gateway", descriptors: [] });
    expect(services.redis!.image).toMatch(/redis/);
  });
});

const GLOBAL_LIMIT = `apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata:
  name: tokens
  namespace: default
spec:
  targetRefs:
    - group: gateway.networking.k8s.io
      kind: Gateway
      name: inference-pool-with-aigwroute
  rateLimit:
    type: Global
    global:
      rules:
        - clientSelectors:
            - headers:
                - name: x-user-id
                  type: Distinct
                - name: x-ai-eg-model
                  value: mistral:latest
          limit:
            requests: 1000
            unit: Hour
        - limit:
            requests: 50
            unit: Minute
`;

describe("Global rate limits under --docker", () => {
  const dir = seedWith({ "07-ratelimit.yaml": GLOBAL_LIMIT });
  const [envoyFile, composeFile] = translate({ paths: [dir], docker: true, outDir: tempDir() }).files;
  const doc = parse(envoyFile!.content);
  const c = parse(composeFile!.content);

  test("the filter's rate limit cluster reaches the ratelimit service", () => {
    const rls = clustersOf(doc).get("ratelimit")!;
    expect(rls.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address).toEqual({ address: "ratelimit", port_value: 8081 });
    expect(rls.typed_extension_protocol_options).toBeDefined();
    expect(c.services.ratelimit.networks).toEqual(["aigw"]);
  });

  test("its configuration holds the descriptors the filter sends: a level for the xDS route of an unshared rule, one per client header", () => {
    const plugin = JSON.parse(hcmOf(doc).http_filters[0].typed_config.config.configuration.value);
    const [perUser, overall] = plugin.rateLimits;
    const config = parse(c.configs[c.services.ratelimit.configs[0].source].content);
    expect(config).toEqual({
      domain: "ai-gateway",
      descriptors: [
        {
          key: "rule",
          value: perUser.name,
          descriptors: [
            {
              key: "route",
              descriptors: [
                { key: "x-user-id", descriptors: [{ key: "x-ai-eg-model", value: "mistral:latest", rate_limit: { unit: "hour", requests_per_unit: 1000 } }] },
              ],
            },
          ],
        },
        { key: "rule", value: overall.name, descriptors: [{ key: "route", rate_limit: { unit: "minute", requests_per_unit: 50 } }] },
      ],
    });
  });
});

describe("refused under --docker", () => {
  test("an endpoint that is no pod aigw can start (here a Backend on localhost)", () => {
    const backend = readFileSync(join(ROOT, "envoy/examples/inference-pool/05-aiservicebackend.yaml"), "utf8").replace(
      "hostname: envoy-ai-gateway-basic-testupstream.default.svc.cluster.local",
      "hostname: localhost",
    );
    const dir = seedWith({ "05-aiservicebackend.yaml": backend });
    expect(() => translate({ paths: [dir], docker: true })).toThrow(
      /cluster aiservicebackend\/default\/envoy-ai-gateway-basic-testupstream: endpoint 127\.0\.0\.1:80 .*is not a pod aigw can run in Docker/,
    );
    expect(() => translate({ paths: [dir] })).not.toThrow();
  });

  test("a literal $ survives Compose interpolation", () => {
    const pool = readFileSync(join(ROOT, "envoy/examples/inference-pool/04-custom-inferencepool.yaml"), "utf8").replace(
      "- type: queue-scorer\n",
      "- type: queue-scorer # costs $5\n",
    );
    const dir = seedWith({ "04-custom-inferencepool.yaml": pool });
    const c = parse(translate({ paths: [dir], docker: true }).files[1]!.content);
    expect(c.configs["mistral-epp-0-config-default-plugins-yaml"].content).toMatch(/costs \$\$5/);
  });
});
