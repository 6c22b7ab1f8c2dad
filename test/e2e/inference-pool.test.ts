// The inference extension's conformance scenarios that apply without Kubernetes, end to end through
// `aigw run`: the filter asks each pool's Endpoint Picker over gRPC and the data plane follows the answer.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningGateway } from "../../src-host/cli/run.js";
import { GATEWAY, runManifests } from "./manifests.js";

// Pool "steered" answers with the conformance EPP config (header-based-testing-filter only); pool "open"
// is FailOpen and "closed" FailClose, both with an EPP Service that has no running EPP.
function pool(name: string, opts: { failureMode?: string; epp: string }) {
  return `
apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}-backend }
spec:
  replicas: 3
  selector: { matchLabels: { app: ${name}-backend } }
  template:
    metadata: { labels: { app: ${name}-backend } }
    spec:
      containers:
      - name: testupstream
        image: docker.io/envoyproxy/ai-gateway-testupstream:latest
        ports: [{ containerPort: 8080 }]
        env: [{ name: TESTUPSTREAM_ID, value: ${name} }]
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: { name: ${name} }
spec:
  targetPorts: [{ number: 8080 }]
  selector: { matchLabels: { app: ${name}-backend } }
  endpointPickerRef:
    name: ${opts.epp}
    port: { number: 9002 }
${opts.failureMode ? `    failureMode: ${opts.failureMode}` : ""}
---
apiVersion: v1
kind: Service
metadata: { name: ${opts.epp} }
spec:
  selector: { app: ${opts.epp} }
  ports: [{ protocol: TCP, port: 9002, targetPort: 9002, appProtocol: http2 }]
`;
}

const steeredEpp = `
apiVersion: apps/v1
kind: Deployment
metadata: { name: steered-epp }
spec:
  replicas: 1
  selector: { matchLabels: { app: steered-epp } }
  template:
    metadata: { labels: { app: steered-epp } }
    spec:
      containers:
      - name: epp
        image: registry.k8s.io/gateway-api-inference-extension/epp:v1.0.1
        args: ["--pool-name", "steered", "--pool-namespace", "default", "--config-file", "/config/plugins.yaml"]
        ports: [{ containerPort: 9002 }, { containerPort: 9003 }]
        volumeMounts: [{ name: cfg, mountPath: /config }]
      volumes: [{ name: cfg, configMap: { name: steered-config } }]
---
apiVersion: v1
kind: ConfigMap
metadata: { name: steered-config }
data:
  plugins.yaml: |
    apiVersion: inference.networking.x-k8s.io/v1alpha1
    kind: EndpointPickerConfig
    plugins:
    - type: header-based-testing-filter
    schedulingProfiles:
    - name: default
      plugins:
      - pluginRef: header-based-testing-filter
`;

function rule(model: string, pool: string) {
  return `
  - matches: [{ headers: [{ type: Exact, name: x-ai-eg-model, value: ${model} }] }]
    backendRefs: [{ group: inference.networking.k8s.io, kind: InferencePool, name: ${pool} }]`;
}

const route = `
apiVersion: aigateway.envoyproxy.io/v1alpha1
kind: AIGatewayRoute
metadata: { name: pools }
spec:
  parentRefs: [{ name: eg, kind: Gateway, group: gateway.networking.k8s.io }]
  rules:${rule("steered-model", "steered")}${rule("open-model", "open")}${rule("closed-model", "closed")}
`;

let gw: RunningGateway;
let base: string;
const accessLog: string[] = [];

beforeAll(async () => {
  gw = await runManifests(
    {
      "1-steered.yaml": pool("steered", { epp: "steered-epp" }) + "---" + steeredEpp,
      "2-open.yaml": pool("open", { failureMode: "FailOpen", epp: "open-epp" }),
      "3-closed.yaml": pool("closed", { epp: "closed-epp" }),
      "4-route.yaml": GATEWAY + "---" + route,
    },
    { accessLog: (l) => accessLog.push(l) },
  );
  const a = gw.gateway.listenerAddress;
  base = `http://${a.address}:${a.port}`;
}, 60_000);

afterAll(async () => {
  await gw?.close();
});

async function post(model: string, headers: Record<string, string> = {}, body?: string) {
  const res = await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: body ?? JSON.stringify({ model, messages: [{ role: "user", content: "Write as if you were a critic: San Francisco" }] }),
  });
  return { status: res.status, pod: res.headers.get("x-inference-pod") ?? "", text: await res.text() };
}

const podsOf = (prefix: string) => [0, 1, 2].map((i) => `${prefix}-backend-${i}`);
const ipOf = (pod: string) => gw.pods.get(`default/${pod}`)!;

describe("the gateway follows the Endpoint Picker", () => {
  for (const allowed of [1, 2, 3]) {
    it(`sends 100 requests at concurrency 10 only to the ${allowed} endpoint(s) the EPP chose`, async () => {
      const pods = podsOf("steered").slice(0, allowed);
      const header = pods.map(ipOf).join(",");
      const seen = new Map<string, number>();
      let next = 0;
      const worker = async () => {
        while (next < 100) {
          next++;
          const r = await post("steered-model", { "test-epp-endpoint-selection": header });
          expect(r.status, r.text).toBe(200);
          seen.set(r.pod, (seen.get(r.pod) ?? 0) + 1);
        }
      };
      await Promise.all(Array.from({ length: 10 }, worker));
      for (const pod of seen.keys()) expect(pods).toContain(pod);
      expect([...seen.values()].reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(100);
    }, 60_000);
  }

  it("relays the EPP's immediate response (no endpoint selected → 429 from the test filter)", async () => {
    const r = await post("steered-model");
    expect(r.status).toBe(429);
    expect(r.text).toContain("inference gateway: InferencePoolResourceExhausted");
  });

  it("answers a body the EPP could not use (empty messages) with the filter's own 400, before the EPP", async () => {
    const r = await post(
      "steered-model",
      { "test-epp-endpoint-selection": ipOf("steered-backend-0") },
      JSON.stringify({ model: "steered-model", messages: [] }),
    );
    // The filter itself validates messages; an empty list never reaches the EPP.
    expect(r.status).toBe(400);
    expect(r.text).toContain("BadRequest");
  });
});

describe("failure modes", () => {
  it("FailOpen: with no EPP running, a pool endpoint still answers 200", async () => {
    for (let i = 0; i < 6; i++) {
      const r = await post("open-model");
      expect(r.status, r.text).toBe(200);
      expect(podsOf("open")).toContain(r.pod);
    }
  });

  it("a client's own x-gateway-destination-endpoint never steers the request", async () => {
    const foreign = `${ipOf("steered-backend-0")}:8080`;
    for (let i = 0; i < 4; i++) {
      const r = await post("open-model", { "x-gateway-destination-endpoint": foreign });
      expect(r.status, r.text).toBe(200);
      expect(podsOf("open")).toContain(r.pod);
    }
  });

  it("FailClose (the default): with no EPP running, the request gets 503", async () => {
    const r = await post("closed-model");
    expect(r.status).toBe(503);
    expect(r.text).toContain("closed");
    // The access log names the route the request was decided for, not the catch-all it first matched.
    await new Promise((res) => setTimeout(res, 50));
    const line = accessLog.find((l) => l.includes(" 503 ") && l.includes("endpoint_picker_failed"));
    expect(line, accessLog.join("\n")).toMatch(/ aigatewayroute\/\S*\/backend\/default\/closed\b/);
  });
});

describe("pools stay apart", () => {
  it("each rule reaches only its own pool's endpoints", async () => {
    for (let i = 0; i < 5; i++) {
      expect(podsOf("open")).toContain((await post("open-model")).pod);
      const steered = await post("steered-model", { "test-epp-endpoint-selection": podsOf("steered").map(ipOf).join(",") });
      expect(podsOf("steered")).toContain(steered.pod);
    }
  });
});
