// Several aigw run on one machine: each instance's pods get their own address block, chosen by
// --pod-block or, by default, the first block whose addresses are free.
import OpenAI from "openai";
import { afterAll, describe, expect, it } from "vitest";
import { runGateway, type RunningGateway } from "../../src-host/cli/run.js";

const running: RunningGateway[] = [];
afterAll(async () => {
  for (const r of running) await r.close();
});

const blockOf = (ip: string) => ip.split(".")[1];

async function start(podBlock?: number): Promise<{ gw: RunningGateway; logs: string[] }> {
  const logs: string[] = [];
  const gw = await runGateway({ paths: [], port: 0, adminPort: 0, podBlock, log: (l) => logs.push(l), accessLog: () => undefined });
  running.push(gw);
  return { gw, logs };
}

async function ask(gw: RunningGateway, model: string): Promise<string | null> {
  const a = gw.gateway.listenerAddress;
  const client = new OpenAI({ baseURL: `http://${a.address}:${a.port}/v1`, apiKey: "unused", maxRetries: 0 });
  const { response } = await client.chat.completions.create({ model, messages: [{ role: "user", content: "Hi" }] }).withResponse();
  return response.headers.get("x-inference-pod");
}

describe("two aigw run side by side", () => {
  let first: RunningGateway;
  let second: RunningGateway;

  it("the second instance moves its pods to a free block; both serve the guide's requests from their own pods", async () => {
    first = (await start()).gw;
    const s = await start();
    second = s.gw;
    const firstBlocks = new Set([...first.pods.values()].map(blockOf));
    const secondBlocks = new Set([...second.pods.values()].map(blockOf));
    expect(firstBlocks.size).toBe(1);
    expect(secondBlocks.size).toBe(1);
    expect([...secondBlocks][0]).not.toBe([...firstBlocks][0]);
    expect(s.logs.some((l) => /is in use: trying pod block \d+/.test(l))).toBe(true);
    for (const gw of [first, second]) {
      expect(await ask(gw, "meta-llama/Llama-3.1-8B-Instruct")).toMatch(/^vllm-llama3-8b-instruct-\d$/);
      expect(await ask(gw, "mistral:latest")).toMatch(/^mistral-upstream-\d$/);
    }
  }, 60_000);

  it("an explicit --pod-block that is taken is refused, naming the pod, its address and the flag", async () => {
    const taken = Number(blockOf([...first.pods.values()][0]!));
    const err = await start(taken).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(
      new RegExp(`^pod default/\\S+ \\(Deployment default/\\S+\\) cannot listen on 127\\.${taken}\\.\\d+\\.\\d+:\\d+: the address is in use; .*--pod-block$`),
    );
  }, 30_000);

  it("an explicit free --pod-block puts every pod there", async () => {
    const { gw } = await start(200);
    expect(new Set([...gw.pods.values()].map(blockOf))).toEqual(new Set(["200"]));
    expect(await ask(gw, "mistral:latest")).toMatch(/^mistral-upstream-\d$/);
  }, 30_000);
});
