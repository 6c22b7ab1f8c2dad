// BackendSecurityPolicy end to end through `aigw run` (Envoy AI Gateway v1.1.0 api/v1beta1): APIKey sends
// `Authorization: Bearer <key>`, AnthropicAPIKey `x-api-key: <key>`, the key from a Secret (data, base64,
// and stringData). A client's own Authorization never reaches a backend with a policy, and reaches one
// without as the client sent it. The key is in none of /config_dump, the plugin configuration, the logs,
// the access log or an error body.
import http from "node:http";
import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningGateway } from "../../src-host/cli/run.js";
import { ipBackend } from "../config/helpers.js";
import { GATEWAY, runManifests } from "./manifests.js";

const OPENAI_KEY = "sk-openai-0123456789";
const ANTHROPIC_KEY = "sk-ant-9876543210";

/** An OpenAI-shaped upstream that remembers the headers of every request. */
async function upstream(seen: http.IncomingHttpHeaders[]): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    req.on("end", () => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ id: "x", object: "chat.completion", created: 0, model: "m", choices: [] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

const manifests = (ports: number[]) => `${GATEWAY}---
apiVersion: aigateway.envoyproxy.io/v1beta1
kind: AIGatewayRoute
metadata: { name: keyed }
spec:
  parentRefs: [{ name: eg, kind: Gateway, group: gateway.networking.k8s.io }]
  rules:
  - matches: [{ headers: [{ type: Exact, name: x-ai-eg-model, value: openai-model }] }]
    backendRefs: [{ name: openai }]
  - matches: [{ headers: [{ type: Exact, name: x-ai-eg-model, value: anthropic-model }] }]
    backendRefs: [{ name: anthropic }]
  - matches: [{ headers: [{ type: Exact, name: x-ai-eg-model, value: open-model }] }]
    backendRefs: [{ name: open }]
  - matches: [{ headers: [{ type: Exact, name: x-ai-eg-model, value: down-model }] }]
    backendRefs: [{ name: down }]
---
apiVersion: v1
kind: Secret
metadata: { name: openai-key }
data: { apiKey: ${Buffer.from(`  ${OPENAI_KEY}\n`).toString("base64")} }
---
apiVersion: v1
kind: Secret
metadata: { name: anthropic-key }
stringData: { apiKey: ${ANTHROPIC_KEY} }
---
apiVersion: aigateway.envoyproxy.io/v1beta1
kind: BackendSecurityPolicy
metadata: { name: openai-auth }
spec:
  targetRefs:
  - { group: aigateway.envoyproxy.io, kind: AIServiceBackend, name: openai }
  - { group: aigateway.envoyproxy.io, kind: AIServiceBackend, name: down }
  type: APIKey
  apiKey: { secretRef: { name: openai-key } }
---
apiVersion: aigateway.envoyproxy.io/v1beta1
kind: BackendSecurityPolicy
metadata: { name: anthropic-auth }
spec:
  targetRefs: [{ group: aigateway.envoyproxy.io, kind: AIServiceBackend, name: anthropic }]
  type: AnthropicAPIKey
  anthropicAPIKey: { secretRef: { name: anthropic-key } }
---
${["openai", "anthropic", "open", "down"].map((name, i) => ipBackend(name, "127.0.0.1", ports[i])).join("---\n")}`;

let gw: RunningGateway;
const servers: http.Server[] = [];
const seen: http.IncomingHttpHeaders[][] = [[], [], []];
const logs: string[] = [];

beforeAll(async () => {
  for (const s of seen) servers.push(await upstream(s));
  // A port nothing listens on: the "down" backend's requests fail upstream.
  const closed = await upstream([]);
  const downPort = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  const ports = [...servers.map((s) => (s.address() as AddressInfo).port), downPort];
  gw = await runManifests({ "all.yaml": manifests(ports) }, { log: (l) => logs.push(l), accessLog: (l) => logs.push(l) });
}, 60_000);

afterAll(async () => {
  await gw?.close();
  for (const s of servers) s.close();
});

function client(apiKey: string): OpenAI {
  const a = gw.gateway.listenerAddress;
  return new OpenAI({ baseURL: `http://${a.address}:${a.port}/v1`, apiKey, maxRetries: 0 });
}

const ask = (apiKey: string, model: string) => client(apiKey).chat.completions.create({ model, messages: [{ role: "user", content: "hi" }] });

describe("credentials by backend", () => {
  it("APIKey: the Secret's key (base64 data, trimmed) as Authorization: Bearer, instead of the client's", async () => {
    await ask("client-secret", "openai-model");
    expect(seen[0]!.at(-1)!.authorization).toBe(`Bearer ${OPENAI_KEY}`);
  });

  it("AnthropicAPIKey: x-api-key from stringData, and the client's Authorization removed", async () => {
    await ask("client-secret", "anthropic-model");
    const h = seen[1]!.at(-1)!;
    expect(h["x-api-key"]).toBe(ANTHROPIC_KEY);
    expect(h.authorization).toBeUndefined();
  });

  it("a backend without a policy gets the client's Authorization as sent", async () => {
    await ask("client-secret", "open-model");
    const h = seen[2]!.at(-1)!;
    expect(h.authorization).toBe("Bearer client-secret");
    expect(h["x-api-key"]).toBeUndefined();
  });
});

describe("the key stays out of sight", () => {
  it("not in /config_dump, the plugin configuration, an error body, the logs or the access log", async () => {
    const a = gw.gateway.adminAddress;
    const dump = await (await fetch(`http://${a.address}:${a.port}/config_dump`)).text();
    expect(dump).toContain("AIGW_CREDENTIAL_DEFAULT_OPENAI_AUTH"); // the variable's name only
    const failed = await fetch(`http://${gw.gateway.listenerAddress.address}:${gw.gateway.listenerAddress.port}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "down-model", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(failed.status).toBeGreaterThanOrEqual(500);
    const errorBody = await failed.text();
    const bad = await fetch(`http://${gw.gateway.listenerAddress.address}:${gw.gateway.listenerAddress.port}/v1/chat/completions`, {
      method: "POST",
      body: '{"model":"openai-model"',
    });
    expect(bad.status).toBe(400);
    const everything = [dump, JSON.stringify(gw.config.plugin), JSON.stringify(gw.config.gateway), errorBody, await bad.text(), ...logs].join("\n");
    expect(logs.length).toBeGreaterThan(0);
    for (const key of [OPENAI_KEY, ANTHROPIC_KEY]) expect(everything).not.toContain(key);
  });
});
