// BackendSecurityPolicy keys in both translate outputs: the generated files name an environment variable of
// the Envoy process (vm_config.environment_variables.host_env_keys; Envoy Gateway's Wasm env.hostKeys fed by
// an EnvoyProxy from the Secret), never the key.
import { describe, expect, test } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { translate } from "../../src-host/translate/translate.js";
import { hcmOf, seedWith, tempDir } from "./helpers.js";

type Obj = Record<string, any>;
const KEY = "sk-translate-secret-42";
const VAR = "AIGW_CREDENTIAL_DEFAULT_UPSTREAM_AUTH";

const dir = seedWith({
  "08-auth.yaml": `apiVersion: v1
kind: Secret
metadata: { name: upstream-key, namespace: default }
data: { apiKey: ${Buffer.from(KEY).toString("base64")} }
---
apiVersion: aigateway.envoyproxy.io/v1beta1
kind: BackendSecurityPolicy
metadata: { name: upstream-auth, namespace: default }
spec:
  targetRefs: [{ group: aigateway.envoyproxy.io, kind: AIServiceBackend, name: envoy-ai-gateway-basic-testupstream }]
  type: APIKey
  apiKey: { secretRef: { name: upstream-key } }
`,
});

describe("--target envoy", () => {
  const r = translate({ paths: [dir], outDir: tempDir() });
  const wasm = hcmOf(parse(r.files[0]!.content)).http_filters[0].typed_config.config;

  test("the VM gets the variable from Envoy's environment; the configuration names it, not the key", () => {
    expect(wasm.vm_config.environment_variables).toEqual({ host_env_keys: [VAR] });
    const backend = JSON.parse(wasm.configuration.value)
      .rules.flatMap((x: Obj) => x.backends)
      .find((b: Obj) => b.credential);
    expect(backend).toMatchObject({ name: "default/envoy-ai-gateway-basic-testupstream", credential: "APIKey", credentialEnv: VAR });
    expect(r.files[0]!.content).not.toContain(KEY);
    expect(r.warnings).toContain(
      `Envoy's environment needs ${VAR}: the "apiKey" of Secret default/upstream-key (BackendSecurityPolicy key; the filter refuses its configuration without it)`,
    );
  });

  test("--docker: Compose passes the variable through from its own environment", () => {
    const d = translate({ paths: [dir], docker: true, outDir: tempDir() });
    const compose = parse(d.files.find((f) => f.name === "docker-compose.yaml")!.content);
    expect(compose.services.envoy.environment).toEqual([VAR]);
    for (const f of d.files) expect(f.content).not.toContain(KEY);
  });
});

describe("--target envoy-gateway", () => {
  const r = translate({ paths: [dir], target: "envoy-gateway", code: { type: "Image", url: "registry.example.com/aigw:1" } });
  const docs: Obj[] = parseAllDocuments(r.files[0]!.content).map((d) => d.toJS());

  test("the Wasm extension's env.hostKeys, and an EnvoyProxy that reads the variable from the Secret", () => {
    const ext = docs.find((d) => d.kind === "EnvoyExtensionPolicy")!;
    expect(ext.spec.wasm[0].env).toEqual({ hostKeys: [VAR] });
    const proxy = docs.find((d) => d.kind === "EnvoyProxy")!;
    expect(proxy.metadata).toMatchObject({ name: "aigw-credentials", namespace: "default" });
    expect(proxy.spec.provider.kubernetes.envoyDeployment.container.env).toEqual([
      { name: VAR, valueFrom: { secretKeyRef: { name: "upstream-key", key: "apiKey" } } },
    ]);
    expect(r.files[0]!.content).not.toContain(KEY);
    expect(r.warnings.some((w) => w.includes(`need ${VAR} from Secret upstream-key`))).toBe(true);
  });
});
