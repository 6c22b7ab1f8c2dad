// Small manifests written to a temporary directory, and the problems loadConfig reports for them.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect } from "vitest";
import { loadConfig, type LoadedConfig, type LoadOptions } from "../../src-host/config/load-config.js";
import { ConfigError } from "../../src-host/config/read/problems.js";

export const OPTS: LoadOptions = { modulePath: "build/ai-gateway.wasm", loadTime: 1_700_000_000 };

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Writes `files` (name → YAML) into a fresh directory (removed after the test file) and returns its path. */
export function manifestDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "aigw-config-"));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

export function loadFiles(files: Record<string, string>, opts: Partial<LoadOptions> = {}): { dir: string; cfg: LoadedConfig } {
  const dir = manifestDir(files);
  return { dir, cfg: loadConfig([dir], { ...OPTS, ...opts }) };
}

/** The problems loading `files` reports; fails the test when loading succeeds. */
export function problemsOf(files: Record<string, string>, opts: Partial<LoadOptions> = {}): { dir: string; problems: string[] } {
  const dir = manifestDir(files);
  try {
    loadConfig([dir], { ...OPTS, ...opts });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return { dir, problems: (err as ConfigError).problems };
  }
  expect.fail("loadConfig accepted an invalid configuration");
}

export const GATEWAY = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: local
spec:
  controllerName: gateway.envoyproxy.io/gatewayclass-controller
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: gw
spec:
  gatewayClassName: local
  listeners:
    - name: http
      protocol: HTTP
      port: 80
`;

/** An AIServiceBackend whose Backend has one loopback ip endpoint. */
export function ipBackend(name: string, address = "127.0.0.1", port = 18080, ns = "default"): string {
  return `apiVersion: aigateway.envoyproxy.io/v1alpha1
kind: AIServiceBackend
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  schema:
    name: OpenAI
  backendRef:
    name: ${name}
    kind: Backend
    group: gateway.envoyproxy.io
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: Backend
metadata:
  name: ${name}
  namespace: ${ns}
spec:
  endpoints:
    - ip:
        address: ${address}
        port: ${port}
`;
}

/** An AIGatewayRoute on gw with one Exact model rule per [model, backendRef YAML flow mapping]. */
export function route(name: string, rules: Array<[string, string]>, extra = ""): string {
  return `apiVersion: aigateway.envoyproxy.io/v1alpha1
kind: AIGatewayRoute
metadata:
  name: ${name}
${extra}spec:
  parentRefs:
    - name: gw
      kind: Gateway
      group: gateway.networking.k8s.io
  rules:
${rules
  .map(
    ([model, ref]) => `    - matches:
        - headers:
            - type: Exact
              name: x-ai-eg-model
              value: ${model}
      backendRefs:
        - ${ref}
`,
  )
  .join("")}`;
}

/** An InferencePool selecting app=<name>, with an EPP Service <name>-epp:9002 (no EPP pods). */
export function pool(name: string, opts: { eppService?: boolean; annotations?: string; failureMode?: string } = {}): string {
  return `apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata:
  name: ${name}
${opts.annotations ? `  annotations:\n${opts.annotations}` : ""}spec:
  targetPorts:
    - number: 8000
  selector:
    matchLabels:
      app: ${name}
  endpointPickerRef:
    name: ${name}-epp
    port:
      number: 9002
${opts.failureMode ? `    failureMode: ${opts.failureMode}\n` : ""}${
  opts.eppService === false
    ? ""
    : `---
apiVersion: v1
kind: Service
metadata:
  name: ${name}-epp
spec:
  selector:
    app: ${name}-epp
  ports:
    - port: 9002
      targetPort: 9002
      appProtocol: http2
`
}`;
}
