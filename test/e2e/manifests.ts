// Shared pieces of the end-to-end tests' manifests: the Gateway every AIGatewayRoute attaches to, and
// `aigw run` on manifests written to a temporary directory.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runGateway, type RunOptions, type RunningGateway } from "../../src-host/cli/run.js";

/** GatewayClass and Gateway "eg" with one HTTP listener; routes attach with parentRefs [{ name: eg }]. */
export const GATEWAY = `
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: eg }
spec: { controllerName: gateway.envoyproxy.io/gatewayclass-controller }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: eg }
spec:
  gatewayClassName: eg
  listeners: [{ name: http, protocol: HTTP, port: 80 }]
`;

/** One test upstream pod behind Service, Backend and AIServiceBackend "upstream" (Service port 80). */
export function testUpstreamBackend(containerPort: number): string {
  return `
apiVersion: apps/v1
kind: Deployment
metadata: { name: upstream }
spec:
  replicas: 1
  selector: { matchLabels: { app: upstream } }
  template:
    metadata: { labels: { app: upstream } }
    spec:
      containers:
      - name: testupstream
        image: docker.io/envoyproxy/ai-gateway-testupstream:latest
        ports: [{ containerPort: ${containerPort} }]
---${serviceBackend("upstream", 80, containerPort)}---
`;
}

/**
 * A BackendTrafficPolicy `name` on the Gateway: `limit` tokens (llmRequestCosts key llm_total_token) per
 * x-user-id and hour, nothing charged at admission, Local or Global, shared or counted per xDS route.
 */
export function tokenBudgetOnGateway(name: string, type: "Local" | "Global", limit: number, shared = false): string {
  return `
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata: { name: ${name} }
spec:
  targetRefs: [{ group: gateway.networking.k8s.io, kind: Gateway, name: eg }]
  rateLimit:
    type: ${type}
    ${type.toLowerCase()}:
      rules:
      - clientSelectors: [{ headers: [{ name: x-user-id, type: Distinct }] }]
        limit: { requests: ${limit}, unit: Hour }
        shared: ${shared}
        cost:
          request: { from: Number, number: 0 }
          response: { from: Metadata, metadata: { namespace: io.envoy.ai_gateway, key: llm_total_token } }
`;
}

/** `replicas` simulated vLLM servers (app=<name>) run with `args`, serving on `port`. */
export function vllmSims(name: string, replicas: number, port: number, args: string[]): string {
  return `
apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name} }
spec:
  replicas: ${replicas}
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      containers:
      - name: vllm-sim
        image: ghcr.io/llm-d/llm-d-inference-sim:v0.4.0
        args: ${JSON.stringify([...args, "--port", String(port)])}
        ports: [{ containerPort: ${port} }]
`;
}

/** The pods labelled app=<name> as Service, Backend and AIServiceBackend `name` (Service port → targetPort). */
export function serviceBackend(name: string, port: number, targetPort: number): string {
  return `
apiVersion: v1
kind: Service
metadata: { name: ${name} }
spec:
  selector: { app: ${name} }
  ports: [{ port: ${port}, targetPort: ${targetPort} }]
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: Backend
metadata: { name: ${name} }
spec:
  endpoints: [{ fqdn: { hostname: ${name}.default.svc.cluster.local, port: ${port} } }]
---
apiVersion: aigateway.envoyproxy.io/v1alpha1
kind: AIServiceBackend
metadata: { name: ${name} }
spec:
  schema: { name: OpenAI }
  backendRef: { name: ${name}, kind: Backend, group: gateway.envoyproxy.io }
`;
}

/** InferencePool `name` over the pods labelled app=<app> on `port`, with its EPP `<name>-epp` (eppDeployment). */
export function poolWithEpp(name: string, app: string, port: number, epp: { port?: number; args?: string[] } = {}): string {
  return `
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: { name: ${name} }
spec:
  targetPorts: [{ number: ${port} }]
  selector: { matchLabels: { app: ${app} } }
  endpointPickerRef: { name: ${name}-epp, port: { number: ${epp.port ?? 9002} } }
---${eppDeployment(`${name}-epp`, name, epp)}`;
}

/** Our EPP (the v1.0 image's stand-in) for `pool` as Deployment and Service `name`, serving gRPC on `port`. */
function eppDeployment(name: string, pool: string, opts: { port?: number; args?: string[] } = {}): string {
  const port = opts.port ?? 9002;
  const args = ["--pool-name", pool, "--pool-namespace", "default", ...(port === 9002 ? [] : ["--grpc-port", String(port)]), ...(opts.args ?? [])];
  return `
apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name} }
spec:
  replicas: 1
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      containers:
      - name: epp
        image: registry.k8s.io/gateway-api-inference-extension/epp:v1.0.1
        args: ${JSON.stringify(args)}
        ports: [{ containerPort: ${port} }]
---
apiVersion: v1
kind: Service
metadata: { name: ${name} }
spec:
  selector: { app: ${name} }
  ports: [{ protocol: TCP, port: ${port}, targetPort: ${port}, appProtocol: http2 }]
`;
}

/** Writes `files` (name → YAML) to a new directory and serves them on ephemeral ports; closing removes it. */
export async function runManifests(files: Record<string, string>, opts: Partial<RunOptions> = {}): Promise<RunningGateway> {
  const dir = mkdtempSync(join(tmpdir(), "aigw-e2e-"));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  let running: RunningGateway;
  try {
    running = await runGateway({ paths: [dir], port: 0, adminPort: 0, log: () => {}, ...opts });
  } catch (err) {
    remove();
    throw err;
  }
  return { ...running, close: () => running.close().finally(remove) };
}
