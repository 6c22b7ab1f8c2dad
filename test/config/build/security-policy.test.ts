// BackendSecurityPolicy at load: what each backend's credential becomes in the plugin configuration (a
// variable's name, never the key), and every mistake named by file, object and field without the key.
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { GATEWAY, ipBackend, loadFiles, pool, problemsOf, route } from "../helpers.js";

const KEY = "sk-do-not-print";

function policy(name: string, type: string, targets: string[], secret = "key", extra = ""): string {
  const field = type === "AnthropicAPIKey" ? "anthropicAPIKey" : "apiKey";
  return `apiVersion: aigateway.envoyproxy.io/v1beta1
kind: BackendSecurityPolicy
metadata:
  name: ${name}
spec:
  targetRefs: [${targets.join(", ")}]
  type: ${type}
  ${field}:
    secretRef: { name: ${secret} }
${extra}`;
}

const secret = (name: string, data: string) => `apiVersion: v1\nkind: Secret\nmetadata: {name: ${name}}\n${data}\n`;
const backendRef = (name: string) => `{group: aigateway.envoyproxy.io, kind: AIServiceBackend, name: ${name}}`;
const base = {
  "gw.yaml": GATEWAY,
  "b.yaml": `${ipBackend("a")}---\n${ipBackend("b", "127.0.0.1", 18081)}`,
  "r.yaml": route("r", [
    ["m-a", "{name: a}"],
    ["m-b", "{name: b}"],
  ]),
  "s.yaml": secret("key", `stringData: {apiKey: "${KEY}"}`),
};

describe("credentials in the plugin configuration", () => {
  test("the targeted backend names the policy's variable; others have none; the key is only in hostEnvironment", () => {
    const { cfg } = loadFiles({ ...base, "p.yaml": policy("auth", "APIKey", [backendRef("a")]) });
    const backends = cfg.plugin.rules.flatMap((r) => r.backends);
    expect(backends.find((b) => b.name === "default/a")).toMatchObject({ credential: "APIKey", credentialEnv: "AIGW_CREDENTIAL_DEFAULT_AUTH" });
    expect(backends.find((b) => b.name === "default/b")!.credential).toBeUndefined();
    expect(cfg.gateway.wasm!.hostEnvKeys).toEqual(["AIGW_CREDENTIAL_DEFAULT_AUTH"]);
    expect(cfg.hostEnvironment).toEqual({ AIGW_CREDENTIAL_DEFAULT_AUTH: KEY });
    expect(cfg.credentials).toEqual([{ env: "AIGW_CREDENTIAL_DEFAULT_AUTH", secretNamespace: "default", secretName: "key", secretKey: "apiKey" }]);
    expect(JSON.stringify(cfg.gateway)).not.toContain(KEY);
  });

  test("an InferencePool target; a missing target is a warning", () => {
    const { cfg } = loadFiles({
      ...base,
      "pool.yaml": pool("llama"),
      "r.yaml": route("r", [["m", "{group: inference.networking.k8s.io, kind: InferencePool, name: llama}"]]),
      "p.yaml": policy("auth", "AnthropicAPIKey", ["{group: inference.networking.k8s.io, kind: InferencePool, name: llama}", backendRef("gone")]),
    });
    expect(cfg.plugin.rules[0]!.backends[0]).toMatchObject({ kind: "InferencePool", credential: "AnthropicAPIKey" });
    expect(cfg.warnings.some((w) => w.includes("spec.targetRefs[1]: AIServiceBackend default/gone not found"))).toBe(true);
  });
});

describe("mistakes", () => {
  const cases: Array<[string, Record<string, string>, string]> = [
    ["a missing Secret", { "p.yaml": policy("auth", "APIKey", [backendRef("a")], "nope") }, "spec.apiKey.secretRef: Secret default/nope not found"],
    [
      "no apiKey entry",
      { "s.yaml": secret("key", "stringData: {token: x}"), "p.yaml": policy("auth", "APIKey", [backendRef("a")]) },
      'Secret default/key has no "apiKey" entry',
    ],
    [
      "a key with a newline inside",
      { "s.yaml": secret("key", `stringData: {apiKey: "${KEY}\\nx"}`), "p.yaml": policy("auth", "APIKey", [backendRef("a")]) },
      "must be a non-empty key of printable ASCII characters",
    ],
    [
      "an unsupported type",
      { "p.yaml": policy("auth", "AWSCredentials", [backendRef("a")]).replace("apiKey:", "awsCredentials:") },
      "spec.type: AWSCredentials is not supported by aigw run",
    ],
    [
      "a mechanism of another type",
      { "p.yaml": policy("auth", "APIKey", [backendRef("a")], "key", "  anthropicAPIKey: {secretRef: {name: key}}\n") },
      "spec.anthropicAPIKey: must not be set when type is APIKey",
    ],
    [
      "a target of another kind",
      { "p.yaml": policy("auth", "APIKey", ["{group: '', kind: Service, name: a}"]) },
      "spec.targetRefs[0]: must reference an AIServiceBackend",
    ],
    [
      "two policies on one backend",
      { "p.yaml": `${policy("one", "APIKey", [backendRef("a")])}---\n${policy("two", "APIKey", [backendRef("a")])}` },
      "is already targeted by BackendSecurityPolicy default/one",
    ],
    [
      "a Secret in another namespace without a ReferenceGrant",
      { "p.yaml": policy("auth", "APIKey", [backendRef("a")]).replace("{ name: key }", "{ name: key, namespace: other }") },
      "Secret other/key is in another namespace",
    ],
  ];
  for (const [name, files, message] of cases) {
    test(name, () => {
      const { dir, problems } = problemsOf({ ...base, ...files });
      expect(
        problems.some((p) => p.includes(message)),
        problems.join("\n"),
      ).toBe(true);
      expect(problems.every((p) => p.startsWith(dir))).toBe(true);
      expect(problems.join("\n")).not.toContain(KEY);
    });
  }

  test("problems name the file and the object", () => {
    const { dir, problems } = problemsOf({ ...base, "p.yaml": policy("auth", "APIKey", [backendRef("a")], "nope") });
    expect(problems).toContain(`${join(dir, "p.yaml")}: BackendSecurityPolicy default/auth: spec.apiKey.secretRef: Secret default/nope not found`);
  });
});
