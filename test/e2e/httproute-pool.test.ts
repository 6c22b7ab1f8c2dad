// The inference extension's own setup end to end through `aigw run`: a plain Gateway API HTTPRoute whose
// rules send to InferencePools (each with our EPP) or to a Service, beside an AIGatewayRoute on the same
// Gateway. Covers the conformance scenarios that need no Kubernetes: bodiless GETs to a pool, following
// the EPP (header-based-testing-filter, 100 requests at concurrency 10 with 1, 2 and 3 allowed pods), two
// path rules on two pools, failure modes, and a POST through the HTTPRoute passed on unchanged.
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import type { RunningGateway } from "../../src-host/cli/run.js";
import { GATEWAY, runManifests } from "./manifests.js";

type Obj = Record<string, unknown>;

const manifests = (...docs: Obj[]) => docs.map((d) => stringify(d)).join("---\n");
const labels = (app: string) => ({ matchLabels: { app } });

/** A Deployment of `replicas` testupstream pods labelled app=<name>, answering on 8080. */
function testupstreams(name: string, replicas: number): Obj {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: {
      replicas,
      selector: labels(name),
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: "testupstream",
              image: "docker.io/envoyproxy/ai-gateway-testupstream:latest",
              ports: [{ containerPort: 8080 }],
              env: [{ name: "TESTUPSTREAM_ID", value: name }],
            },
          ],
        },
      },
    },
  };
}

/**
 * InferencePool <name> over testupstream pods <name>-pod-<i>, its EPP Service, and - unless `epp` is
 * false - our EPP with only the header-based-testing-filter (the conformance suite's EPP configuration).
 */
function inferencePool(name: string, opts: { failureMode?: "FailOpen"; epp?: boolean } = {}): Obj[] {
  const epp = `${name}-epp`;
  const docs: Obj[] = [
    testupstreams(`${name}-pod`, 3),
    {
      apiVersion: "inference.networking.k8s.io/v1",
      kind: "InferencePool",
      metadata: { name },
      spec: {
        targetPorts: [{ number: 8080 }],
        selector: labels(`${name}-pod`),
        endpointPickerRef: { name: epp, port: { number: 9002 }, ...(opts.failureMode ? { failureMode: opts.failureMode } : {}) },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: epp },
      spec: { selector: { app: epp }, ports: [{ protocol: "TCP", port: 9002, targetPort: 9002, appProtocol: "http2" }] },
    },
  ];
  if (opts.epp === false) return docs;
  const config = {
    apiVersion: "inference.networking.x-k8s.io/v1alpha1",
    kind: "EndpointPickerConfig",
    plugins: [{ type: "header-based-testing-filter" }],
    schedulingProfiles: [{ name: "default", plugins: [{ pluginRef: "header-based-testing-filter" }] }],
  };
  docs.push(
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `${epp}-config` }, data: { "plugins.yaml": stringify(config) } },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: epp },
      spec: {
        replicas: 1,
        selector: labels(epp),
        template: {
          metadata: { labels: { app: epp } },
          spec: {
            containers: [
              {
                name: "epp",
                image: "registry.k8s.io/gateway-api-inference-extension/epp:v1.0.1",
                args: ["--pool-name", name, "--pool-namespace", "default", "--config-file", "/config/plugins.yaml"],
                volumeMounts: [{ name: "cfg", mountPath: "/config" }],
              },
            ],
            volumes: [{ name: "cfg", configMap: { name: `${epp}-config` } }],
          },
        },
      },
    },
  );
  return docs;
}

const poolRef = (name: string, port?: number) => ({ group: "inference.networking.k8s.io", kind: "InferencePool", name, ...(port ? { port } : {}) });
const prefix = (value: string) => [{ path: { type: "PathPrefix", value } }];

const httpRoute: Obj = {
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "HTTPRoute",
  metadata: { name: "inference" },
  spec: {
    parentRefs: [{ name: "eg" }],
    rules: [
      // The port of an InferencePool backendRef is ignored (conformance: InferencePoolHTTPRoutePortValidation).
      { matches: prefix("/primary"), backendRefs: [poolRef("primary", 8888)] },
      { matches: prefix("/secondary"), backendRefs: [poolRef("secondary")] },
      { matches: prefix("/closed"), backendRefs: [poolRef("closed")] },
      { matches: prefix("/open"), backendRefs: [poolRef("open")] },
      { matches: prefix("/echo"), backendRefs: [{ name: "echo", port: 80 }] },
    ],
  },
};

const aiRoute: Obj = {
  apiVersion: "aigateway.envoyproxy.io/v1alpha1",
  kind: "AIGatewayRoute",
  metadata: { name: "models" },
  spec: {
    parentRefs: [{ name: "eg", kind: "Gateway", group: "gateway.networking.k8s.io" }],
    rules: [
      {
        matches: [
          { headers: [{ type: "Exact", name: "x-ai-eg-model", value: "primary-model" }] },
          { headers: [{ type: "Exact", name: "x-ai-eg-model", value: "ü-模型" }] },
        ],
        backendRefs: [poolRef("primary")],
      },
    ],
  },
};

const echoService: Obj = {
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "echo" },
  spec: { selector: { app: "echo" }, ports: [{ port: 80, targetPort: 8080 }] },
};

let gw: RunningGateway;
let base: string;

beforeAll(async () => {
  gw = await runManifests(
    {
      "1-pools.yaml": manifests(...inferencePool("primary"), ...inferencePool("secondary")),
      "2-no-epp.yaml": manifests(...inferencePool("closed", { epp: false }), ...inferencePool("open", { failureMode: "FailOpen", epp: false })),
      "3-echo.yaml": manifests(testupstreams("echo", 1), echoService),
      "4-routes.yaml": `${GATEWAY}---\n${manifests(httpRoute, aiRoute)}`,
    },
    { accessLog: () => {} },
  );
  const a = gw.gateway.listenerAddress;
  base = `http://${a.address}:${a.port}`;
}, 60_000);

afterAll(async () => {
  await gw?.close();
});

/** The testupstream answers any path with this body (base64 "ok"). */
const OK_BODY = { "x-response-body": Buffer.from("ok").toString("base64") };

async function send(path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  const res = await fetch(`${base}${path}`, { method: init.method ?? "GET", headers: { ...OK_BODY, ...init.headers }, body: init.body });
  return { status: res.status, pod: res.headers.get("x-inference-pod") ?? "", text: await res.text() };
}

const podsOf = (pool: string) => [0, 1, 2].map((i) => `${pool}-pod-${i}`);
const ipOf = (pod: string) => gw.pods.get(`default/${pod}`)!;
const CONFORMANCE_BODY = JSON.stringify({ model: "conformance-fake-model", prompt: "Write as if you were a critic: San Francisco" });

describe("bodiless requests to a pool through an HTTPRoute", () => {
  it("a GET with no body reaches a pod of the rule's pool, and each path rule stays on its own pool", async () => {
    for (let i = 0; i < 12; i++) {
      const primary = await send(`/primary/models?i=${i}`);
      expect(primary.status, primary.text).toBe(200);
      expect(primary.text).toBe("ok");
      expect(podsOf("primary")).toContain(primary.pod);
      const secondary = await send("/secondary");
      expect(secondary.status, secondary.text).toBe(200);
      expect(podsOf("secondary")).toContain(secondary.pod);
    }
  });

  it("the EPP is asked for bodiless requests: with none running, FailClose answers 503 and FailOpen a pool pod", async () => {
    const closed = await send("/closed");
    expect(closed.status).toBe(503);
    expect(closed.text).toContain("default/closed");
    for (let i = 0; i < 4; i++) {
      // A client's own endpoint header never steers the request.
      const open = await send("/open", { headers: { "x-gateway-destination-endpoint": `${ipOf("primary-pod-0")}:8080` } });
      expect(open.status, open.text).toBe(200);
      expect(podsOf("open")).toContain(open.pod);
    }
  });
});

describe("the gateway follows the EPP on an HTTPRoute (GatewayFollowingEPPRouting)", () => {
  for (const allowed of [1, 2, 3]) {
    it(`100 POSTs at concurrency 10 reach only the ${allowed} pod(s) the EPP may choose`, async () => {
      const pods = podsOf("primary").slice(0, allowed);
      const selection = { "test-epp-endpoint-selection": pods.map(ipOf).join(","), "content-type": "application/json" };
      const seen = new Map<string, number>();
      let started = 0;
      const worker = async () => {
        while (started < 100) {
          started++;
          const r = await send("/primary/gateway-test", { method: "POST", headers: selection, body: CONFORMANCE_BODY });
          expect(r.status, r.text).toBe(200);
          seen.set(r.pod, (seen.get(r.pod) ?? 0) + 1);
        }
      };
      await Promise.all(Array.from({ length: 10 }, worker));
      for (const pod of seen.keys()) expect(pods).toContain(pod);
      expect([...seen.values()].reduce((a, b) => a + b, 0)).toBe(100);
    }, 60_000);
  }
});

describe("plain routes and AI routes side by side", () => {
  it("a POST through the HTTPRoute to a Service is passed on unchanged: no model needed, no AI answers", async () => {
    const body = "plain text, not JSON, no model";
    const r = await send("/echo/upload", {
      method: "POST",
      headers: {
        "content-type": "text/plain",
        "x-expected-request-body": Buffer.from(body).toString("base64"),
        "x-expected-path": Buffer.from("/echo/upload").toString("base64"),
      },
      body,
    });
    expect(r.status, r.text).toBe(200);
    expect(r.pod).toBe("echo-0");
  });

  it("the AIGatewayRoute still routes by body model to its pool, and the filter still answers the paths no route takes", async () => {
    const chat = await send("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json", "test-epp-endpoint-selection": ipOf("primary-pod-1") },
      body: JSON.stringify({ model: "primary-model", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(chat.status, chat.text).toBe(200);
    expect(chat.pod).toBe("primary-pod-1");

    const models = await send("/v1/models");
    expect(models.status).toBe(200);
    expect(JSON.parse(models.text).data.map((m: { id: string }) => m.id)).toEqual(["primary-model", "ü-模型"]);
    // A model named outside ASCII is listed and routed alike: the route compares header bytes.
    const utf8 = await send("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json", "test-epp-endpoint-selection": ipOf("primary-pod-0") },
      body: JSON.stringify({ model: "ü-模型", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(utf8.status, utf8.text).toBe(200);
    expect(utf8.pod).toBe("primary-pod-0");
    const unknown = await send("/elsewhere");
    expect(unknown.status).toBe(404);
    expect(unknown.text).toContain("unsupported path: /elsewhere");
    const noModel = await send("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "other", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(noModel.status).toBe(404);
    expect(noModel.text).toContain("No matching route found");
  });
});

/** A chunked POST whose body ends in trailer fields (HTTP/1.1), as the gateway's listener receives it. */
function sendWithTrailers(path: string, headers: Record<string, string>, body: string): Promise<{ status: number; pod: string; text: string }> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "POST", headers: { ...OK_BODY, ...headers, "transfer-encoding": "chunked", trailer: "x-checksum" } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, pod: String(res.headers["x-inference-pod"] ?? ""), text }));
    });
    req.on("error", reject);
    req.write(body.slice(0, 10));
    req.write(body.slice(10));
    req.addTrailers({ "x-checksum": "abc" });
    req.end();
  });
}

describe("a request body that ends in trailers is decided like any other", () => {
  it("an AIGatewayRoute request is routed on its model and follows the EPP", async () => {
    const r = await sendWithTrailers(
      "/v1/chat/completions",
      { "content-type": "application/json", "test-epp-endpoint-selection": ipOf("primary-pod-2") },
      JSON.stringify({ model: "primary-model", messages: [{ role: "user", content: "hi" }] }),
    );
    expect(r.status, r.text).toBe(200);
    expect(r.pod).toBe("primary-pod-2");
  });

  it("an HTTPRoute request to a FailClose pool with no EPP gets 503, and one the EPP cannot place never reaches a pod", async () => {
    const closed = await sendWithTrailers("/closed", { "content-type": "application/json" }, CONFORMANCE_BODY);
    expect(closed.status).toBe(503);
    expect(closed.text).toContain("default/closed");
    // header-based-testing-filter with an endpoint outside the pool: the EPP finds no pod and refuses.
    const refused = await sendWithTrailers(
      "/primary/x",
      { "content-type": "application/json", "test-epp-endpoint-selection": "127.0.0.1:1" },
      CONFORMANCE_BODY,
    );
    expect(refused.status, refused.text).toBeGreaterThanOrEqual(400);
    expect(refused.pod).toBe("");
  });
});
