// x-gateway-model-name-rewrite names the model an InferencePool's EPP makes the body ask for: only the
// gateway may set it, so a client's own is dropped before the EPP sees the request, while the headers the
// inference extension defines for clients (objective, fairness id) reach it. When an EPP does change the
// body's model, costs, filter state and metrics name the model the upstream was asked for.
import { afterEach, describe, expect, it } from "vitest";
import { TestSink, bytes, load, pluginConfig, request, until } from "./helpers.js";
import { eppCluster, poolConfig, startPicker } from "./pickers.js";

const rules = [
  {
    route: "default/r",
    index: 0,
    matches: [{ headers: [{ name: "x-ai-eg-model", type: "Exact" as const, value: "m1" }] }],
    backends: [{ name: "default/p", kind: "InferencePool" as const, weight: 1, modelNameOverride: "" }],
  },
];
const CHAT = JSON.stringify({ model: "m1", messages: [{ role: "user", content: "hi" }] });

describe("the model an EPP serves", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  async function setup(body?: (b: Buffer) => Buffer, replyChunks?: (length: number) => number[]) {
    const picker = await startPicker("10.0.0.7:8000", { body, replyChunks });
    cleanups.push(() => picker.close());
    const config = pluginConfig({ rules, pools: [poolConfig("default/p")], costs: [{ route: "", metadataKey: "out", type: "OutputToken", cel: "" }] });
    const { filter, stats } = await load({ configuration: JSON.stringify(config) }, { clusters: [eppCluster("default/p", picker.port)] });
    cleanups.push(() => filter.close());
    return { picker, filter, stats };
  }

  it("drops a client's x-gateway-model-name-rewrite and keeps its objective and fairness id", async () => {
    const { picker, filter } = await setup();
    const sink = new TestSink().attach(filter);
    sink.stream.requestHeaders(
      request("POST", "/v1/chat/completions", [
        ["content-type", "application/json"],
        ["x-gateway-model-name-rewrite", "food-review-1"],
        ["x-gateway-inference-objective", "critical"],
        ["x-gateway-inference-fairness-id", "tenant-a"],
      ]),
      false,
    );
    sink.stream.requestData(bytes(CHAT), true);
    await until(() => sink.requestEnded);
    const seen = picker.headers[0]!;
    expect(seen.has("x-gateway-model-name-rewrite")).toBe(false);
    expect(seen.get("x-gateway-inference-objective")).toBe("critical");
    expect(seen.get("x-gateway-inference-fairness-id")).toBe("tenant-a");
    expect(sink.header("x-gateway-model-name-rewrite")).toBeUndefined();
    expect(sink.requestText()).toBe(CHAT); // an echo leaves the body as it was
  });

  it("accounts the model of the body the EPP sent back", async () => {
    const { filter } = await setup((b) => Buffer.from(b.toString().replace('"model":"m1"', '"model":"lora-a"')));
    const sink = new TestSink().attach(filter);
    sink.stream.requestHeaders(request("POST", "/v1/chat/completions", [["content-type", "application/json"]]), false);
    sink.stream.requestData(bytes(CHAT), true);
    await until(() => sink.requestEnded);
    expect(JSON.parse(sink.requestText()).model).toBe("lora-a");
    expect(sink.header("content-length")).toBe(String(sink.requestText().length));
    expect(sink.header("x-ai-eg-model")).toBe("m1"); // what the route matched
    sink.stream.responseHeaders(
      [
        [":status", "200"],
        ["content-type", "application/json"],
      ],
      false,
    );
    sink.stream.responseData(bytes('{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}'), true);
    sink.stream.complete();
    const state = (k: string) => new TextDecoder().decode(sink.info.filterState.get(`wasm.${k}`));
    expect(state("model_name_override")).toBe("lora-a");
    expect(state("out")).toBe("2");
  });

  it("keeps the agreeing prefix and writes only the changed tail when an EPP shortens the body", async () => {
    const { filter } = await setup((b) => b.subarray(0, 12));
    const sink = new TestSink().attach(filter);
    sink.stream.requestHeaders(request("POST", "/v1/chat/completions", [["content-type", "application/json"]]), false);
    sink.stream.requestData(bytes(CHAT), true);
    await until(() => sink.requestEnded);
    expect(sink.requestText()).toBe(CHAT.slice(0, 12));
    expect(sink.header("content-length")).toBe("12");
  });

  it("the upstream gets exactly the body the EPP sent back, whatever it changed and however it was chunked (property)", async () => {
    let seed = 99;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
    // The EPP's answer to each request: the request body, changed by one of several edits at a random place.
    const edits: Array<(b: Buffer) => Buffer> = [
      (b) => b,
      (b) => b.subarray(0, rand(b.length + 1)),
      (b) => Buffer.concat([b, Buffer.from("x".repeat(1 + rand(70_000)))]),
      (b) => {
        const c = Buffer.from(b);
        c[rand(c.length)] ^= 0x20;
        return c;
      },
      (b) => {
        const at = rand(b.length);
        return Buffer.concat([b.subarray(0, at), Buffer.from("inserted"), b.subarray(at)]);
      },
      () => Buffer.alloc(0),
    ];
    let pick = 0;
    let returned: Buffer = Buffer.alloc(0);
    const { filter } = await setup(
      (b) => (returned = edits[pick]!(b)),
      (length) => {
        const sizes: number[] = [];
        for (let left = length; left > 0; ) {
          const n = 1 + rand(Math.min(left, 70_000));
          sizes.push(n);
          left -= n;
        }
        return sizes.length ? sizes : [0];
      },
    );
    for (let i = 0; i < 36; i++) {
      pick = i % edits.length;
      const content = "y".repeat(rand(3) === 0 ? 100_000 + rand(60_000) : rand(500));
      const body = JSON.stringify({ model: "m1", messages: [{ role: "user", content }] });
      const sink = new TestSink().attach(filter);
      sink.stream.requestHeaders(request("POST", "/v1/chat/completions", [["content-type", "application/json"]]), false);
      sink.stream.requestData(bytes(body), true);
      await until(() => sink.requestEnded || sink.localReplies.length > 0);
      expect(sink.localReplies, `edit ${pick}`).toEqual([]);
      const got = Buffer.concat(sink.requestBody);
      expect(got.equals(returned), `edit ${pick} of a ${body.length}-byte body: got ${got.length} bytes, the EPP sent ${returned.length}`).toBe(true);
      // An echo leaves the client's headers alone; any change sets content-length to the new length.
      if (pick === 0) expect(sink.header("content-length")).toBeUndefined();
      else expect(sink.header("content-length"), `edit ${pick}`).toBe(String(got.length));
      sink.stream.complete();
    }
  });

  it("a body sent back larger than the request body limit fails the exchange (FailClose: 503), nothing half-applied", async () => {
    const { filter } = await setup(
      (b) => Buffer.concat([b, Buffer.alloc(1 << 20, 0x20)]),
      (length) => [length >> 1, length - (length >> 1)],
    );
    const sink = new TestSink().attach(filter);
    sink.stream.requestHeaders(request("POST", "/v1/chat/completions", [["content-type", "application/json"]]), false);
    sink.stream.requestData(bytes(CHAT), true);
    await until(() => sink.localReplies.length > 0);
    expect(sink.localReplies[0]!.status).toBe(503);
    expect(sink.localReplies[0]!.body).toContain("larger than the request body limit");
    expect(sink.requestBody).toEqual([]);
  });
});
