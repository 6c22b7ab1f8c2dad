// Shared inputs for the request-side logic tests (config, request/decide): a plugin configuration shaped like the seed example's.
import { PLUGIN_CONFIG_VERSION, type PluginConfig } from "../../../src-host/config/plugin-config.js";
import type { LogicModule } from "./request-module.js";

export function sampleConfig(): PluginConfig {
  return {
    version: PLUGIN_CONFIG_VERSION,
    rules: [
      {
        route: "default/llm-d-route",
        index: 0,
        matches: [{ headers: [{ name: "x-ai-eg-model", type: "Exact", value: "meta-llama/Llama-3.1-8B-Instruct" }] }],
        backends: [{ name: "default/vllm-llama3-8b-instruct", kind: "InferencePool", weight: 1, modelNameOverride: "after-the-pick" }],
      },
      {
        route: "default/llm-d-route",
        index: 1,
        matches: [{ headers: [{ name: "x-ai-eg-model", type: "Exact", value: "some-cool-self-hosted-model" }] }],
        backends: [{ name: "default/envoy-ai-gateway-basic-testupstream", kind: "AIServiceBackend", weight: 1, modelNameOverride: "" }],
      },
      {
        route: "default/split",
        index: 0,
        matches: [{ headers: [{ name: "X-AI-EG-Model", type: "RegularExpression", value: "mistral-[0-9]+b" }] }],
        backends: [
          { name: "default/off", kind: "AIServiceBackend", weight: 0, modelNameOverride: "" },
          { name: "default/a", kind: "AIServiceBackend", weight: 3, modelNameOverride: "mistral-override" },
          { name: "default/b", kind: "AIServiceBackend", weight: 1, modelNameOverride: "" },
        ],
      },
      {
        route: "default/tenants",
        index: 0,
        matches: [
          {
            headers: [
              { name: "x-ai-eg-model", type: "Exact", value: "tenant-model" },
              { name: "x-tenant", type: "Exact", value: "gold" },
            ],
          },
          {
            headers: [
              { name: "x-ai-eg-model", type: "Exact", value: "tenant-model" },
              { name: "x-tenant", type: "RegularExpression", value: "silver|bronze" },
            ],
          },
        ],
        backends: [{ name: "default/tenant-backend", kind: "AIServiceBackend", weight: 1, modelNameOverride: "" }],
      },
      {
        route: "default/disabled",
        index: 0,
        matches: [{ headers: [{ name: "x-ai-eg-model", type: "Exact", value: "disabled-model" }] }],
        backends: [{ name: "default/zero", kind: "AIServiceBackend", weight: 0, modelNameOverride: "" }],
      },
    ],
    models: [
      { id: "meta-llama/Llama-3.1-8B-Instruct", ownedBy: "Envoy AI Gateway", created: 1732000000 },
      { id: "some-cool-self-hosted-model", ownedBy: "", created: 1732000001 },
      { id: 'quote"d', ownedBy: "team \\ x", created: 0 },
    ],
    pools: [
      {
        name: "default/vllm-llama3-8b-instruct",
        eppCluster: "epp/default/vllm-llama3-8b-instruct-epp",
        eppAuthority: "vllm-llama3-8b-instruct-epp.default.svc:9002",
        failureMode: "FailClose",
        bodyMode: "duplex",
        allowModeOverride: false,
        timeoutMs: 10000,
      },
    ],
    maxRequestBodyBytes: 52428800,
    // Parsed by assembly/gateway/tokens/config.ts; config.ts must accept and skip them.
    costs: [{ route: "", metadataKey: "llm_total_token", type: "TotalToken", cel: "" }],
    rateLimits: [],
  };
}

/** Loads a configuration into the module with `env` as the VM's environment; null, or the error. */
export function loadConfig(mod: LogicModule, config: unknown, env: Record<string, string> = {}): string | null {
  const [p, l] = mod.put(typeof config === "string" || config instanceof Uint8Array ? config : JSON.stringify(config));
  const [ep, el] = mod.put(
    Object.entries(env)
      .map(([k, v]) => `${k}=${v}`)
      .join("\n"),
  );
  try {
    return mod.exports.loadConfig(p, l, ep, el) === 0 ? null : mod.result();
  } finally {
    mod.free(p);
    mod.free(ep);
  }
}
