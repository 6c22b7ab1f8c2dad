// llmRequestCosts → PluginConfig.costs: the route's own costs, the gateway-wide ones from the GatewayConfig the
// Gateway names, and every mistake reported with its file, object and field.
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { loadConfig } from "../../../src-host/config/load-config.js";
import { GATEWAY, OPTS, ipBackend, loadFiles, manifestDir, problemsOf, route } from "../helpers.js";

const EXAMPLE = "envoy/examples/inference-pool";

/** The guide's "Token Rate Limiting" snippet applied over the seed's route (kubectl apply: last one wins). */
const GUIDE_COSTS = `apiVersion: aigateway.envoyproxy.io/v1alpha1
kind: AIGatewayRoute
metadata:
  name: inference-pool-with-aigwroute
  namespace: default
spec:
  parentRefs:
    - name: inference-pool-with-aigwroute
      kind: Gateway
      group: gateway.networking.k8s.io
  rules:
    - matches:
        - headers:
            - type: Exact
              name: x-ai-eg-model
              value: mistral:latest
      backendRefs:
        - group: inference.networking.k8s.io
          kind: InferencePool
          name: mistral
  llmRequestCosts:
    - metadataKey: llm_input_token
      type: InputToken
    - metadataKey: llm_output_token
      type: OutputToken
    - metadataKey: llm_total_token
      type: TotalToken
`;

const costsRoute = (name: string, costs: string, apiVersion = "v1alpha1") =>
  route(name, [[`${name}-model`, "{name: b}"]]).replace("aigateway.envoyproxy.io/v1alpha1", `aigateway.envoyproxy.io/${apiVersion}`) +
  `  llmRequestCosts:\n${costs}`;

const gatewayWithConfig = (config: string) =>
  GATEWAY.replace("  name: gw\n", `  name: gw\n  annotations:\n    aigateway.envoyproxy.io/gateway-config: ${config}\n`);

const gatewayConfig = (name: string, costs: string, apiVersion = "v1alpha1") => `apiVersion: aigateway.envoyproxy.io/${apiVersion}
kind: GatewayConfig
metadata:
  name: ${name}
spec:
  globalLLMRequestCosts:
${costs}`;

describe("costs", () => {
  test("the seed example declares none; the guide's snippet gives the route three", () => {
    expect(loadConfig([EXAMPLE], OPTS).plugin.costs).toEqual([]);
    const dir = manifestDir({ "route-costs.yaml": GUIDE_COSTS });
    const cfg = loadConfig([EXAMPLE, dir], OPTS);
    const route = "default/inference-pool-with-aigwroute";
    expect(cfg.plugin.costs).toEqual([
      { route, metadataKey: "llm_input_token", type: "InputToken", cel: "" },
      { route, metadataKey: "llm_output_token", type: "OutputToken", cel: "" },
      { route, metadataKey: "llm_total_token", type: "TotalToken", cel: "" },
    ]);
    expect(JSON.parse(cfg.gateway.wasm!.configuration).costs).toEqual(cfg.plugin.costs);
    expect(cfg.warnings.filter((w) => w.includes("llmRequestCosts"))).toEqual([]);
  });

  test("every type, CEL with its expression, v1alpha1 and v1beta1 routes, global costs from the Gateway's GatewayConfig", () => {
    const { cfg } = loadFiles({
      "gw.yaml": gatewayWithConfig("defaults"),
      "b.yaml": ipBackend("b"),
      "config.yaml": gatewayConfig(
        "defaults",
        `    - {metadataKey: llm_total_token, type: TotalToken}
    - {metadataKey: billing, type: CEL, cel: "input_tokens + output_tokens"}
`,
        "v1beta1",
      ),
      "r1.yaml": costsRoute(
        "r1",
        `    - {metadataKey: in, type: InputToken}
    - {metadataKey: cached, type: CachedInputToken}
    - {metadataKey: creation, type: CacheCreationInputToken}
    - {metadataKey: out, type: OutputToken}
    - {metadataKey: reasoning, type: ReasoningToken}
    - {metadataKey: billing, type: CEL, cel: "model == 'r1-model' ? total_tokens * uint(2) : total_tokens"}
`,
      ),
      "r2.yaml": costsRoute("r2", `    - {metadataKey: llm_total_token, type: OutputToken}\n`, "v1beta1"),
    });
    expect(cfg.plugin.costs).toEqual([
      { route: "", metadataKey: "llm_total_token", type: "TotalToken", cel: "" },
      { route: "", metadataKey: "billing", type: "CEL", cel: "input_tokens + output_tokens" },
      { route: "default/r1", metadataKey: "in", type: "InputToken", cel: "" },
      { route: "default/r1", metadataKey: "cached", type: "CachedInputToken", cel: "" },
      { route: "default/r1", metadataKey: "creation", type: "CacheCreationInputToken", cel: "" },
      { route: "default/r1", metadataKey: "out", type: "OutputToken", cel: "" },
      { route: "default/r1", metadataKey: "reasoning", type: "ReasoningToken", cel: "" },
      { route: "default/r1", metadataKey: "billing", type: "CEL", cel: "model == 'r1-model' ? total_tokens * uint(2) : total_tokens" },
      // The same key as a global cost: the route's own wins for r2 (the filter applies the precedence).
      { route: "default/r2", metadataKey: "llm_total_token", type: "OutputToken", cel: "" },
    ]);
    expect(cfg.warnings).toEqual([]);
  });

  test("the older CachedWriteInputToken name (Envoy AI Gateway's token_ratelimit example) is CacheCreationInputToken", () => {
    const { dir, cfg } = loadFiles({
      "gw.yaml": GATEWAY,
      "b.yaml": ipBackend("b"),
      "r.yaml": costsRoute("r", `    - {metadataKey: llm_cached_write_input_token, type: CachedWriteInputToken}\n`),
    });
    expect(cfg.plugin.costs).toEqual([{ route: "default/r", metadataKey: "llm_cached_write_input_token", type: "CacheCreationInputToken", cel: "" }]);
    expect(cfg.warnings).toEqual([
      `${join(dir, "r.yaml")}: AIGatewayRoute default/r: spec.llmRequestCosts[0].type: CachedWriteInputToken is an older name of CacheCreationInputToken`,
    ]);
  });

  test("a GatewayConfig the Gateway does not name is not applied, and said so", () => {
    const { dir, cfg } = loadFiles({
      "gw.yaml": GATEWAY,
      "b.yaml": ipBackend("b"),
      "config.yaml": gatewayConfig("orphan", `    - {metadataKey: t, type: TotalToken}\n`),
      "r.yaml": route("r", [["m", "{name: b}"]]),
    });
    expect(cfg.plugin.costs).toEqual([]);
    expect(cfg.warnings).toEqual([
      `${join(dir, "config.yaml")}: GatewayConfig default/orphan: not referenced by Gateway default/gw (annotation aigateway.envoyproxy.io/gateway-config): its globalLLMRequestCosts are not applied`,
    ]);
  });
});

describe("cost errors", () => {
  test("unknown type, CEL without expression, duplicate key, missing key: each named by file, object and field", () => {
    const { dir, problems } = problemsOf({
      "gw.yaml": GATEWAY,
      "b.yaml": ipBackend("b"),
      "r.yaml": costsRoute(
        "r",
        `    - {metadataKey: a, type: InputTokens}
    - {metadataKey: b, type: CEL}
    - {metadataKey: c, type: OutputToken}
    - {metadataKey: c, type: TotalToken}
    - {type: TotalToken}
    - {metadataKey: d}
`,
      ),
    });
    const r = `${join(dir, "r.yaml")}: AIGatewayRoute default/r`;
    expect(problems).toEqual([
      `${r}: spec.llmRequestCosts[0].type: must be one of InputToken, CachedInputToken, CacheCreationInputToken, OutputToken, TotalToken, ReasoningToken, CEL, got "InputTokens"`,
      `${r}: spec.llmRequestCosts[1].cel: required`,
      `${r}: spec.llmRequestCosts[3].metadataKey: "c" is already defined by spec.llmRequestCosts[2]`,
      `${r}: spec.llmRequestCosts[4].metadataKey: required`,
      `${r}: spec.llmRequestCosts[5].type: required`,
    ]);
  });

  test("duplicate global keys, and a Gateway naming a GatewayConfig that does not exist", () => {
    const first = problemsOf({
      "gw.yaml": gatewayWithConfig("defaults"),
      "b.yaml": ipBackend("b"),
      "config.yaml": gatewayConfig("defaults", `    - {metadataKey: t, type: TotalToken}\n    - {metadataKey: t, type: InputToken}\n`),
      "r.yaml": route("r", [["m", "{name: b}"]]),
    });
    expect(first.problems).toEqual([
      `${join(first.dir, "config.yaml")}: GatewayConfig default/defaults: spec.globalLLMRequestCosts[1].metadataKey: "t" is already defined by spec.globalLLMRequestCosts[0]`,
    ]);
    const missing = problemsOf({ "gw.yaml": gatewayWithConfig("nope"), "b.yaml": ipBackend("b"), "r.yaml": route("r", [["m", "{name: b}"]]) });
    expect(missing.problems).toEqual([
      `${join(missing.dir, "gw.yaml")}: Gateway default/gw: metadata.annotations.aigateway.envoyproxy.io/gateway-config: GatewayConfig default/nope not found (it must be in the Gateway's namespace)`,
    ]);
  });
});
