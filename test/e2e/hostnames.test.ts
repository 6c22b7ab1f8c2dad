// AIGatewayRoute hostnames end to end through `aigw run`: requests are routed by Host with Gateway API
// hostname precedence (an exact host name, then the longest "*." wildcard covering one or more labels,
// then routes without hostnames), and GET /v1/models lists what Envoy AI Gateway v1.1.0's
// internal/extproc/models_processor.go lists for the Host (exact, else the longest one-label wildcard, plus
// the models of routes without hostnames; any other host: only those).
import http from "node:http";
import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningGateway } from "../../src-host/cli/run.js";
import { ipBackend } from "../config/helpers.js";
import { GATEWAY, runManifests } from "./manifests.js";

/** An OpenAI-shaped upstream that answers with its own name as the completion id. */
async function upstream(name: string): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ id: name, object: "chat.completion", created: 0, model: "m", choices: [] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

function aiRoute(name: string, hostnames: string[], rules: Array<[string, string]>): string {
  return `
apiVersion: aigateway.envoyproxy.io/v1alpha1
kind: AIGatewayRoute
metadata: { name: ${name} }
spec:
  parentRefs: [{ name: eg, kind: Gateway, group: gateway.networking.k8s.io }]
${hostnames.length > 0 ? `  hostnames: ${JSON.stringify(hostnames)}\n` : ""}  rules:
${rules.map(([model, to]) => `  - matches: [{ headers: [{ type: Exact, name: x-ai-eg-model, value: ${model} }] }]\n    backendRefs: [{ name: ${to} }]\n`).join("")}`;
}

let gw: RunningGateway;
const servers: http.Server[] = [];

beforeAll(async () => {
  for (const name of ["any", "api", "wild"]) servers.push(await upstream(name));
  const port = (i: number) => (servers[i]!.address() as AddressInfo).port;
  const routes = [
    aiRoute("unscoped", [], [["m-any", "any"]]),
    aiRoute(
      "wild",
      ["*.example.com"],
      [
        ["shared", "wild"],
        ["m-wild", "wild"],
      ],
    ),
    aiRoute(
      "api",
      ["api.example.com"],
      [
        ["m-api", "api"],
        ["shared", "api"],
      ],
    ),
  ];
  const files: Record<string, string> = { "gateway.yaml": GATEWAY, "routes.yaml": routes.join("---") };
  ["any", "api", "wild"].forEach((name, i) => (files[`${name}.yaml`] = ipBackend(name, "127.0.0.1", port(i))));
  gw = await runManifests(files);
}, 60_000);

afterAll(async () => {
  await gw?.close();
  for (const s of servers) s.close();
});

/** One request with this Host header: status and body text. */
function send(host: string, method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const a = gw.gateway.listenerAddress;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: a.address, port: a.port, method, path, headers: { host, "content-type": "application/json" } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode!, text }));
    });
    req.on("error", reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

async function servedBy(host: string, model: string): Promise<string> {
  const r = await send(host, "POST", "/v1/chat/completions", { model, messages: [{ role: "user", content: "hi" }] });
  return r.status === 200 ? (JSON.parse(r.text) as { id: string }).id : `${r.status}`;
}

async function modelsFor(host: string): Promise<string[]> {
  const r = await send(host, "GET", "/v1/models");
  expect(r.status).toBe(200);
  return (JSON.parse(r.text) as { data: Array<{ id: string }> }).data.map((m) => m.id);
}

describe("routing by Host", () => {
  it("an exact host name beats a wildcard, which beats a route without hostnames", async () => {
    expect(await servedBy("api.example.com", "shared")).toBe("api");
    expect(await servedBy("other.example.com", "shared")).toBe("wild");
    expect(await servedBy("api.example.com", "m-wild")).toBe("wild");
  });

  it("falls through to routes without hostnames (Gateway API precedence)", async () => {
    expect(await servedBy("api.example.com", "m-any")).toBe("any");
    expect(await servedBy("elsewhere.test", "m-any")).toBe("any");
  });

  it("matches the host case-insensitively, without its port; a wildcard covers more than one label", async () => {
    expect(await servedBy("API.Example.COM:1975", "m-api")).toBe("api");
    expect(await servedBy("a.b.example.com", "m-wild")).toBe("wild");
  });

  it("a host no route names gets 404 for the scoped models", async () => {
    expect(await servedBy("elsewhere.test", "m-api")).toBe("404");
    expect(await servedBy("example.com", "m-wild")).toBe("404");
    expect(await servedBy("other.example.com", "m-api")).toBe("404");
  });
});

describe("GET /v1/models by Host", () => {
  it("lists the exact host's models, then those of routes without hostnames", async () => {
    // Routes attach oldest first, then by namespace/name: "api" before "wild".
    expect(await modelsFor("api.example.com")).toEqual(["m-api", "shared", "m-any"]);
    expect(await modelsFor("API.example.com:8080")).toEqual(["m-api", "shared", "m-any"]);
  });

  it("a one-label wildcard match lists the wildcard's models; deeper hosts and others see only unscoped ones", async () => {
    expect(await modelsFor("x.example.com")).toEqual(["shared", "m-wild", "m-any"]);
    expect(await modelsFor("a.b.example.com")).toEqual(["m-any"]);
    expect(await modelsFor("elsewhere.test")).toEqual(["m-any"]);
  });

  it("the openai client, whose Host is the gateway's address, sees the models of routes without hostnames", async () => {
    // (fetch does not let a client set Host, hence node:http for the named hosts above.)
    const a = gw.gateway.listenerAddress;
    const client = new OpenAI({ baseURL: `http://${a.address}:${a.port}/v1`, apiKey: "unused" });
    const ids: string[] = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).toEqual(["m-any"]);
  });
});
