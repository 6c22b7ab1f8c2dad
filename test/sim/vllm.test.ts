import { afterEach, describe, expect, it } from "vitest";
import http from "node:http";
import OpenAI from "openai";
import { startVllmSim, type VllmSim, type VllmSimOptions } from "../../src-host/sim/vllm/server.js";
import { tokenize } from "../../src-host/sim/vllm/tokenizer.js";
import { request, type RawResponse } from "./http-client.js";

const sims: VllmSim[] = [];
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

async function sim(args: string[], extra: Partial<VllmSimOptions> = {}): Promise<VllmSim> {
  const s = await startVllmSim({ host: "127.0.0.1", port: 0, args: ["--seed", "1", ...args], ...extra });
  sims.push(s);
  return s;
}

const post = (s: VllmSim, path: string, body: unknown, onChunk?: (d: Buffer, at: number) => void) =>
  request(s.address, { path, body: typeof body === "string" ? body : JSON.stringify(body), headers: { "content-type": "application/json" }, onChunk });
const json = (r: RawResponse) => JSON.parse(r.body.toString());
const chatBody = (model: string, content: string, extra: object = {}) => ({ model, messages: [{ role: "user", content }], ...extra });

/** The `data:` payloads of an SSE body. */
function events(r: RawResponse): string[] {
  const text = r.body.toString();
  expect(text.endsWith("\n\n")).toBe(true);
  return text
    .split("\n\n")
    .filter((e) => e !== "")
    .map((e) => {
      expect(e.startsWith("data: ")).toBe(true);
      return e.slice("data: ".length);
    });
}

/** Samples of /metrics by `name{labels}` (and by bare name for the first sample of each family). */
async function metrics(s: VllmSim): Promise<{ text: string; value(name: string): number }> {
  const r = await request(s.address, { path: "/metrics" });
  expect(r.status).toBe(200);
  const text = r.body.toString();
  return {
    text,
    value(name: string) {
      const line = text.split("\n").find((l) => !l.startsWith("#") && (l.startsWith(name + "{") || l.startsWith(name + " ")));
      if (!line) throw new Error(`metric ${name} missing`);
      return Number(line.slice(line.lastIndexOf(" ") + 1));
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const words = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag}${i}`).join(" ");

describe("vLLM simulator: OpenAI endpoints", () => {
  it("answers a chat completion with usage and the pod header from POD_NAME", async () => {
    const s = await sim(["--model", "m"], { env: { POD_NAME: "vllm-0", POD_NAMESPACE: "default" } });
    const r = await post(s, "/v1/chat/completions", chatBody("m", "Hello there, simulator!"));
    expect(r.status).toBe(200);
    expect(r.headers["x-inference-pod"]).toBe("vllm-0");
    expect(r.headers["x-inference-namespace"]).toBe("default");
    expect(r.headers["content-type"]).toBe("application/json");
    const b = json(r);
    expect(b.id).toMatch(/^chatcmpl-/);
    expect(b.object).toBe("chat.completion");
    expect(b.model).toBe("m");
    expect(b.choices).toHaveLength(1);
    expect(b.choices[0].message.role).toBe("assistant");
    expect(b.choices[0].finish_reason).toBe("stop");
    const completion = tokenize(b.choices[0].message.content).length;
    expect(b.usage).toEqual({
      prompt_tokens: tokenize("user: Hello there, simulator!\n").length,
      completion_tokens: completion,
      total_tokens: b.usage.prompt_tokens + completion,
    });
  });

  it("prefers the podName option for x-inference-pod", async () => {
    const s = await sim(["--model", "m"], { env: { POD_NAME: "from-env" }, podName: "from-option" });
    const r = await request(s.address, { path: "/v1/models" });
    expect(r.headers["x-inference-pod"]).toBe("from-option");
  });

  it("answers a text completion with exactly max_tokens tokens", async () => {
    const s = await sim(["--model", "m"]);
    const r = await post(s, "/v1/completions", { model: "m", prompt: "Once upon a time", max_tokens: 7 });
    expect(r.status).toBe(200);
    const b = json(r);
    expect(b.id).toMatch(/^cmpl-/);
    expect(b.object).toBe("text_completion");
    expect(tokenize(b.choices[0].text)).toHaveLength(7);
    expect(["stop", "length"]).toContain(b.choices[0].finish_reason);
    expect(b.usage).toEqual({ prompt_tokens: 4, completion_tokens: 7, total_tokens: 11 });
  });

  it("streams chat: role first, one token per chunk, finish reason last, no usage unless asked, [DONE]", async () => {
    const s = await sim(["--model", "m"]);
    const r = await post(s, "/v1/chat/completions", chatBody("m", "hi", { stream: true, max_tokens: 5 }));
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toMatch(/^text\/event-stream/);
    const ev = events(r);
    expect(ev[ev.length - 1]).toBe("[DONE]");
    const chunks = ev.slice(0, -1).map((e) => JSON.parse(e));
    expect(chunks[0].choices[0].delta).toEqual({ role: "assistant", content: "" });
    const content = chunks.slice(1);
    expect(content).toHaveLength(5);
    for (const c of chunks) {
      expect(c.object).toBe("chat.completion.chunk");
      expect(c.id).toBe(chunks[0].id);
      expect(c.usage).toBeUndefined();
    }
    expect(content.slice(0, -1).every((c) => c.choices[0].finish_reason === null)).toBe(true);
    expect(["stop", "length"]).toContain(content[4].choices[0].finish_reason);
    expect(tokenize(content.map((c) => c.choices[0].delta.content).join(""))).toHaveLength(5);
  });

  it("streams a usage chunk with stream_options.include_usage", async () => {
    const s = await sim(["--model", "m"]);
    const r = await post(s, "/v1/chat/completions", chatBody("m", "hi", { stream: true, stream_options: { include_usage: true }, max_tokens: 3 }));
    const ev = events(r);
    expect(ev[ev.length - 1]).toBe("[DONE]");
    const usageChunk = JSON.parse(ev[ev.length - 2]);
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage).toEqual({ prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 });
  });

  it("streams text completions", async () => {
    const s = await sim(["--model", "m"]);
    const r = await post(s, "/v1/completions", { model: "m", prompt: "abc", stream: true, max_tokens: 4, stream_options: { include_usage: true } });
    const ev = events(r);
    const chunks = ev.slice(0, -1).map((e) => JSON.parse(e));
    expect(chunks).toHaveLength(5);
    for (const c of chunks) expect(c.object).toBe("text_completion");
    expect(
      tokenize(
        chunks
          .slice(0, 4)
          .map((c) => c.choices[0].text)
          .join(""),
      ),
    ).toHaveLength(4);
    expect(chunks[4].usage.completion_tokens).toBe(4);
  });

  it("echo mode answers the last user message, or the prompt", async () => {
    const s = await sim(["--model", "m", "--mode", "echo"]);
    const chat = await post(s, "/v1/chat/completions", {
      model: "m",
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: "first question" },
        { role: "assistant", content: "answer" },
        { role: "user", content: [{ type: "text", text: "Second question, please." }] },
      ],
    });
    expect(json(chat).choices[0].message.content).toBe("Second question, please.");
    const text = await post(s, "/v1/completions", { model: "m", prompt: "echo me back", max_tokens: 2 });
    expect(json(text).choices[0].text).toBe("echo me");
    expect(json(text).choices[0].finish_reason).toBe("length");
  });

  it("answers the same with the same seed", async () => {
    const a = await sim(["--model", "m", "--seed", "77"]);
    const b = await sim(["--model", "m", "--seed", "77"]);
    const body = chatBody("m", "same question");
    const ra = json(await post(a, "/v1/chat/completions", body)).choices[0].message.content;
    const rb = json(await post(b, "/v1/chat/completions", body)).choices[0].message.content;
    expect(ra).toBe(rb);
  });

  it("refuses an unknown model with vLLM's 404", async () => {
    const s = await sim(["--model", "m"]);
    const r = await post(s, "/v1/chat/completions", chatBody("nope", "hi"));
    expect(r.status).toBe(404);
    expect(r.body.toString()).toBe('{"object":"error","message":"The model `nope` does not exist.","type":"NotFoundError","param":null,"code":404}');
  });

  it("refuses bad max_tokens, too long contexts and malformed bodies with 400", async () => {
    const s = await sim(["--model", "m", "--max-model-len", "50"]);
    for (const body of [
      chatBody("m", "hi", { max_tokens: 0 }),
      chatBody("m", "hi", { max_tokens: -3 }),
      chatBody("m", "hi", { max_tokens: "ten" }),
      chatBody("m", "hi", { max_completion_tokens: 1.5 }),
      chatBody("m", "hi", { max_tokens: 48 }),
      chatBody("m", words(60, "w")),
      { model: "m", messages: [] },
      chatBody("m", "hi", { stream_options: { include_usage: true } }),
      "{not json",
    ]) {
      const r = await post(s, "/v1/chat/completions", body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      const e = json(r);
      expect(e).toMatchObject({ object: "error", type: "BadRequestError", code: 400, param: null });
    }
    const long = json(await post(s, "/v1/chat/completions", chatBody("m", "hi", { max_tokens: 48 })));
    expect(long.message).toBe(
      "This model's maximum context length is 50 tokens. However, you requested 51 tokens (3 in the messages, 48 in the completion). Please reduce the length of the messages or completion.",
    );
    const ok = await post(s, "/v1/chat/completions", chatBody("m", "hi", { max_tokens: 47 }));
    expect(ok.status).toBe(200);
  });

  it("serves /health, /ready, 404 and 405", async () => {
    const s = await sim(["--model", "m"]);
    expect((await request(s.address, { path: "/health" })).status).toBe(200);
    expect((await request(s.address, { path: "/ready" })).status).toBe(200);
    expect((await request(s.address, { path: "/v2/nothing" })).status).toBe(404);
    expect((await request(s.address, { path: "/v1/chat/completions", method: "GET" })).status).toBe(405);
  });
});

describe("vLLM simulator: with the official openai client", () => {
  it("completes and streams chat, with usage", async () => {
    const s = await sim(["--model", "m", "--served-model-name", "m", "alias"]);
    const client = new OpenAI({ baseURL: `http://${s.address.address}:${s.address.port}/v1`, apiKey: "unused" });
    const done = await client.chat.completions.create({ model: "alias", messages: [{ role: "user", content: "hello" }], max_tokens: 6 });
    expect(done.usage?.completion_tokens).toBe(6);
    const stream = await client.chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "hello" }],
      max_tokens: 6,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    expect(tokenize(text)).toHaveLength(6);
    expect(usage).toEqual({ prompt_tokens: 3, completion_tokens: 6, total_tokens: 9 });
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(["m", "alias"]);
  });
});

describe("vLLM simulator: LoRA", () => {
  it("serves LoRA modules, lists them and loads and unloads adapters", async () => {
    const s = await sim(["--model", "meta-llama/Llama-3.1-8B-Instruct", "--max-loras", "2", "--lora-modules", '{"name": "food-review-1"}']);
    const r = await post(s, "/v1/chat/completions", chatBody("food-review-1", "review this"));
    expect(r.status).toBe(200);
    expect(json(r).model).toBe("food-review-1");

    const models = json(await request(s.address, { path: "/v1/models" }));
    expect(models.object).toBe("list");
    expect(models.data.map((m: { id: string }) => m.id)).toEqual(["meta-llama/Llama-3.1-8B-Instruct", "food-review-1"]);
    expect(models.data[1]).toMatchObject({ object: "model", owned_by: "vllm", parent: "meta-llama/Llama-3.1-8B-Instruct" });

    expect((await post(s, "/v1/chat/completions", chatBody("sql-lora", "q"))).status).toBe(404);
    const load = await post(s, "/v1/load_lora_adapter", { lora_name: "sql-lora", lora_path: "/adapters/sql" });
    expect(load.status).toBe(200);
    expect((await post(s, "/v1/load_lora_adapter", { lora_name: "sql-lora" })).status).toBe(400);
    expect((await post(s, "/v1/chat/completions", chatBody("sql-lora", "q"))).status).toBe(200);
    expect(s.loras()).toEqual(["food-review-1", "sql-lora"]);
    expect((await post(s, "/v1/unload_lora_adapter", { lora_name: "sql-lora" })).status).toBe(200);
    expect((await post(s, "/v1/unload_lora_adapter", { lora_name: "sql-lora" })).status).toBe(404);
    expect((await post(s, "/v1/chat/completions", chatBody("sql-lora", "q"))).status).toBe(404);
    expect((await post(s, "/v1/load_lora_adapter", { lora_path: "x" })).status).toBe(400);
  });

  it("reports running and waiting adapters in vllm:lora_requests_info, holding back adapters beyond max-loras", async () => {
    const s = await sim(["--model", "m", "--max-loras", "1", "--lora-modules", '{"name":"a"}', '{"name":"b"}', "--time-to-first-token", "400"]);
    const before = Date.now() / 1000;
    const pending: Array<Promise<RawResponse>> = [];
    for (const model of ["a", "b", "m"]) {
      pending.push(post(s, "/v1/completions", { model, prompt: "x", max_tokens: 1 }));
      await sleep(40); // arrival order matters here
    }
    await sleep(60);
    const m = await metrics(s);
    expect(m.text).toMatch(/vllm:lora_requests_info\{max_lora="1",running_lora_adapters="a",waiting_lora_adapters="b"\} [0-9.e+]+/);
    const stamp = m.value("vllm:lora_requests_info");
    expect(stamp).toBeGreaterThanOrEqual(before - 1);
    expect(stamp).toBeLessThanOrEqual(Date.now() / 1000 + 1);
    // Adapter b waits although sequence slots are free; the base-model request behind it runs.
    expect(m.value("vllm:num_requests_running")).toBe(2);
    expect(m.value("vllm:num_requests_waiting")).toBe(1);
    for (const r of await Promise.all(pending)) expect(r.status).toBe(200);
    const after = await metrics(s);
    expect(after.text).toContain('vllm:lora_requests_info{max_lora="1",running_lora_adapters="",waiting_lora_adapters=""}');
  });
});

describe("vLLM simulator: scheduling, KV cache and prefix cache", () => {
  it("queues requests beyond max-num-seqs and shows them as waiting", async () => {
    const s = await sim(["--model", "m", "--max-num-seqs", "5", "--time-to-first-token", "500"]);
    const pending = Array.from({ length: 8 }, (_, i) => post(s, "/v1/completions", { model: "m", prompt: `p${i}`, max_tokens: 1 }));
    await sleep(200);
    const m = await metrics(s);
    expect(m.value("vllm:num_requests_running")).toBe(5);
    expect(m.value("vllm:num_requests_waiting")).toBe(3);
    expect(m.text).toContain('vllm:num_requests_waiting{model_name="m"} 3');
    const t0 = performance.now();
    for (const r of await Promise.all(pending)) expect(r.status).toBe(200);
    // The last three ran after the first five: about two TTFTs in all.
    expect(performance.now() - t0).toBeGreaterThan(500);
    const end = await metrics(s);
    expect(end.value("vllm:num_requests_running")).toBe(0);
    expect(end.value("vllm:num_requests_waiting")).toBe(0);
    const finished = s.stats().finished;
    expect(finished.stop + finished.length).toBe(8);
  });

  it("fills the KV cache with running sequences and frees it after", async () => {
    const s = await sim(["--model", "m", "--kv-cache-size", "200", "--block-size", "16", "--time-to-first-token", "600"]);
    const req = (tag: string) => post(s, "/v1/completions", { model: "m", prompt: words(159, tag), max_tokens: 16 });
    const first = req("a");
    await sleep(150);
    const one = await metrics(s);
    expect(one.value("vllm:kv_cache_usage_perc")).toBeCloseTo(10 / 200, 5); // 159 prompt tokens: 10 blocks
    expect(one.value("vllm:gpu_cache_usage_perc")).toBe(one.value("vllm:kv_cache_usage_perc"));
    const more = [req("b"), req("c")];
    await sleep(150);
    const three = await metrics(s);
    expect(three.value("vllm:kv_cache_usage_perc")).toBeCloseTo(30 / 200, 5);
    expect(s.stats().usedBlocks).toBe(30);
    await Promise.all([first, ...more]);
    const done = await metrics(s);
    expect(done.value("vllm:kv_cache_usage_perc")).toBe(0);
    expect(done.value("vllm:gpu_cache_usage_perc")).toBe(0);
    expect(done.text).toContain('vllm:cache_config_info{block_size="16",enable_prefix_caching="True",num_gpu_blocks="200"} 1.0');
  });

  it("grows a sequence's blocks as it generates tokens", async () => {
    const s = await sim(["--model", "m", "--block-size", "16", "--inter-token-latency", "15"]);
    const pending = post(s, "/v1/completions", { model: "m", prompt: words(16, "g"), max_tokens: 40, stream: true });
    await sleep(40);
    const early = s.stats().usedBlocks;
    await sleep(450);
    const late = s.stats().usedBlocks;
    expect(early).toBeGreaterThanOrEqual(2);
    expect(late).toBeGreaterThan(early);
    expect(late).toBeLessThanOrEqual(4); // 16 + 40 tokens: 4 blocks at most
    await pending;
    expect(s.stats().usedBlocks).toBe(0);
  });

  it("holds back a sequence the KV cache cannot take, even with free sequence slots", async () => {
    // 64 blocks; each request needs ceil((300 + 10) / 16) = 20 blocks, so three fit and the fourth waits.
    const s = await sim(["--model", "m", "--kv-cache-size", "64", "--max-model-len", "512", "--time-to-first-token", "400"]);
    const pending = ["a", "b", "c", "d"].map((t) => post(s, "/v1/completions", { model: "m", prompt: words(300, t), max_tokens: 10 }));
    await sleep(150);
    const m = await metrics(s);
    expect(m.value("vllm:num_requests_running")).toBe(3);
    expect(m.value("vllm:num_requests_waiting")).toBe(1);
    for (const r of await Promise.all(pending)) expect(r.status).toBe(200);
  });

  it("makes a repeated long prompt's time to first token lower than a fresh one's", async () => {
    const s = await sim(["--model", "m", "--max-model-len", "4096", "--prefill-time-per-token", "0.5", "--prefill-overhead", "5"]);
    const ttft = async (prompt: string) => {
      let first = -1;
      const r = await post(s, "/v1/completions", { model: "m", prompt, max_tokens: 2, stream: true }, (_d, at) => {
        if (first < 0) first = at;
      });
      expect(r.status).toBe(200);
      return first;
    };
    const shared = words(800, "s");
    const fresh = await ttft(shared);
    const repeated = await ttft(shared);
    const other = await ttft(words(800, "o"));
    expect(fresh).toBeGreaterThan(350); // 5 ms + 800 × 0.5 ms
    expect(other).toBeGreaterThan(350);
    expect(repeated).toBeLessThan(fresh / 3);
    const m = await metrics(s);
    expect(m.value("vllm:prefix_cache_queries_total")).toBe(2400);
    expect(m.value("vllm:prefix_cache_hits_total")).toBe(784); // 49 full blocks of 16
  });

  it("frees a sequence when its client goes away", async () => {
    const s = await sim(["--model", "m", "--inter-token-latency", "20"]);
    await new Promise<void>((resolve, reject) => {
      const body = JSON.stringify({ model: "m", prompt: "go on", max_tokens: 100, stream: true });
      const req = http.request(
        {
          host: s.address.address,
          port: s.address.port,
          method: "POST",
          path: "/v1/completions",
          headers: { "content-length": Buffer.byteLength(body) },
          agent: false,
        },
        (res) => {
          res.once("data", () => {
            req.destroy();
            resolve();
          });
        },
      );
      req.on("error", () => undefined);
      req.end(body);
      setTimeout(() => reject(new Error("no data")), 2000);
    });
    expect(s.stats().running).toBe(1);
    await sleep(100);
    expect(s.stats().running).toBe(0);
    expect(s.stats().usedBlocks).toBe(0);
  });

  it("reports --fake-metrics instead of the live state", async () => {
    const fake = { "running-requests": 3, "waiting-requests": 7, "kv-cache-usage": 0.42, loras: [{ running: "x,y", waiting: "z", timestamp: 1700000000 }] };
    const s = await sim(["--model", "m", "--fake-metrics", JSON.stringify(fake)]);
    const m = await metrics(s);
    expect(m.value("vllm:num_requests_running")).toBe(3);
    expect(m.value("vllm:num_requests_waiting")).toBe(7);
    expect(m.value("vllm:gpu_cache_usage_perc")).toBe(0.42);
    expect(m.value("vllm:kv_cache_usage_perc")).toBe(0.42);
    expect(m.text).toContain('vllm:lora_requests_info{max_lora="1",running_lora_adapters="x,y",waiting_lora_adapters="z"} 1700000000.0');
  });
});

describe("vLLM simulator: start-up errors", () => {
  it("refuses bad flags with an error naming the flag", async () => {
    await expect(startVllmSim({ host: "127.0.0.1", port: 0, args: ["--model", "m", "--max-num-seqs", "lots"] })).rejects.toThrow(/--max-num-seqs/);
    await expect(startVllmSim({ host: "127.0.0.1", port: 0, args: ["--port", "0"] })).rejects.toThrow(/--model is required/);
    await expect(startVllmSim({ host: "127.0.0.1", port: 0, args: ["--model", "m", "--frobnicate"] })).rejects.toThrow(/unknown flag --frobnicate/);
  });

  it("listens on --port when no port option is given", async () => {
    const probe = await sim(["--model", "m"]);
    const port = probe.address.port;
    await probe.close();
    sims.splice(sims.indexOf(probe), 1);
    const s = await startVllmSim({ host: "127.0.0.1", args: ["--model", "m", "--port", String(port)] });
    sims.push(s);
    expect(s.address.port).toBe(port);
  });
});
