import { describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tokenize } from "../../src-host/sim/vllm/tokenizer.js";
import { KvCache } from "../../src-host/sim/vllm/kv-cache.js";
import { parseDuration, parseSimArgs } from "../../src-host/sim/vllm/flags.js";
import { Prng } from "../../src-host/sim/vllm/prng.js";
import { TextGenerator } from "../../src-host/sim/vllm/text-gen.js";

describe("tokenizer", () => {
  it("splits words and punctuation, keeping leading whitespace so tokens join back", () => {
    expect(tokenize("Hello, world! It's 42.")).toEqual(["Hello", ",", " world", "!", " It", "'", "s", " 42", "."]);
    const text = "  A longer\ttext —\nwith ünïcode and emoji 🙂 too.";
    expect(tokenize(text).join("")).toBe(text.trimEnd());
    expect(tokenize("")).toEqual([]);
  });
});

describe("prng", () => {
  it("repeats for a seed and differs across seeds", () => {
    const a = new Prng(7);
    const b = new Prng(7);
    const c = new Prng(8);
    const sa = Array.from({ length: 5 }, () => a.float());
    expect(Array.from({ length: 5 }, () => b.float())).toEqual(sa);
    expect(Array.from({ length: 5 }, () => c.float())).not.toEqual(sa);
    for (const v of sa) expect(v >= 0 && v < 1).toBe(true);
  });

  it("draws Gaussians with about the right mean and spread", () => {
    const p = new Prng(1);
    const xs = Array.from({ length: 4000 }, () => p.gaussian());
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length);
    expect(Math.abs(mean)).toBeLessThan(0.1);
    expect(sd).toBeGreaterThan(0.9);
    expect(sd).toBeLessThan(1.1);
  });
});

describe("text generator", () => {
  it("without max_tokens: Gaussian length within 1..128, reason stop", () => {
    const g = new TextGenerator(new Prng(3));
    const lengths = Array.from({ length: 300 }, () => g.random(undefined, 1000));
    for (const r of lengths) {
      expect(r.tokens.length).toBeGreaterThanOrEqual(1);
      expect(r.tokens.length).toBeLessThanOrEqual(128);
      expect(r.finishReason).toBe("stop");
      expect(tokenize(r.tokens.join("")).length).toBe(r.tokens.length);
    }
    const mean = lengths.reduce((s, r) => s + r.tokens.length, 0) / lengths.length;
    expect(mean).toBeGreaterThan(35);
    expect(mean).toBeLessThan(45);
  });

  it("with max_tokens: exactly that many, length about 20% of the time", () => {
    const g = new TextGenerator(new Prng(5));
    const rs = Array.from({ length: 500 }, () => g.random(17, 1000));
    for (const r of rs) expect(r.tokens.length).toBe(17);
    const lengthShare = rs.filter((r) => r.finishReason === "length").length / rs.length;
    expect(lengthShare).toBeGreaterThan(0.13);
    expect(lengthShare).toBeLessThan(0.27);
  });

  it("never exceeds the room the context leaves", () => {
    const g = new TextGenerator(new Prng(9));
    for (let i = 0; i < 50; i++) expect(g.random(undefined, 3).tokens.length).toBeLessThanOrEqual(3);
  });

  it("echo answers the text, cut at the limit", () => {
    const g = new TextGenerator(new Prng(1));
    expect(g.echo("one two three", undefined)).toEqual({ tokens: ["one", " two", " three"], finishReason: "stop" });
    expect(g.echo("one two three", 2)).toEqual({ tokens: ["one", " two"], finishReason: "length" });
  });
});

describe("kv cache", () => {
  const tokens = (n: number, prefix = "t") => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

  it("chains block hashes over the whole prefix and the salt", () => {
    const kv = new KvCache(16, 4, true);
    const a = kv.blockHashes(tokens(10), "m");
    expect(a.length).toBe(2); // only full blocks
    const b = kv.blockHashes([...tokens(4), "x", ...tokens(10).slice(5)], "m");
    expect(b[0]).toBe(a[0]);
    expect(b[1]).not.toBe(a[1]);
    expect(kv.blockHashes(tokens(10), "other")[0]).not.toBe(a[0]);
  });

  it("reuses committed blocks and evicts least recently used ones only when needed", () => {
    const kv = new KvCache(4, 2, true);
    const h1 = kv.blockHashes(tokens(4, "a"), "m");
    const ids = [kv.allocate(), kv.allocate()];
    ids.forEach((id, i) => kv.commit(id, h1[i]));
    expect(kv.usage).toBe(0.5);
    kv.release(ids);
    expect(kv.usage).toBe(0);
    expect(kv.available).toBe(4);
    expect(kv.cachedPrefix(h1)).toBe(2);
    // Two fresh blocks come from the empty ones: the cached prefix survives.
    const other = [kv.allocate(), kv.allocate()];
    expect(kv.cachedPrefix(h1)).toBe(2);
    expect(kv.idleCachedPrefix(h1, 2)).toBe(2);
    const reused = kv.acquireCached(h1, 2);
    expect(reused.sort()).toEqual([...ids].sort());
    expect(kv.usage).toBe(1);
    kv.release(reused);
    kv.release(other);
    // Now a third allocation must evict: the tail of the cached prefix (released first) goes first.
    kv.allocate();
    kv.allocate();
    kv.allocate();
    expect(kv.cachedPrefix(h1)).toBe(1);
  });

  it("caches nothing with prefix caching off", () => {
    const kv = new KvCache(4, 2, false);
    const h = kv.blockHashes(tokens(2), "m");
    const id = kv.allocate();
    kv.commit(id, h[0]);
    kv.release([id]);
    expect(kv.cachedPrefix(h)).toBe(0);
  });
});

describe("flags", () => {
  it("applies llm-d-inference-sim defaults", () => {
    const c = parseSimArgs(["--model", "m"]);
    expect(c).toMatchObject({
      model: "m",
      servedModelNames: ["m"],
      port: 8000,
      maxLoras: 1,
      maxCpuLoras: 1,
      maxNumSeqs: 5,
      maxModelLen: 1024,
      mode: "random",
      kvCacheSize: 1024,
      blockSize: 16,
      timeToFirstToken: 0,
      interTokenLatency: 0,
    });
  });

  it("reads the seed's arguments, lists, = forms, durations and ignored flags", () => {
    const c = parseSimArgs([
      "--model",
      "meta-llama/Llama-3.1-8B-Instruct",
      "--port",
      "8000",
      "--max-loras",
      "2",
      "--lora-modules",
      '{"name": "food-review-1"}',
      '{"name":"b","path":"/p","base_model_name":"x"}',
      "plain=/q",
      "--served-model-name",
      "a",
      "c",
      "--v=4",
      "--time-to-first-token=1.5s",
      "--inter-token-latency",
      "20",
      "--enable-kvcache",
      "--seed",
      "42",
      "--mode",
      "echo",
    ]);
    expect(c.loraModules).toEqual([
      { name: "food-review-1", path: undefined, baseModelName: undefined },
      { name: "b", path: "/p", baseModelName: "x" },
      { name: "plain", path: "/q" },
    ]);
    expect(c.servedModelNames).toEqual(["a", "c"]);
    expect(c.timeToFirstToken).toBe(1500);
    expect(c.interTokenLatency).toBe(20);
    expect(c.maxLoras).toBe(2);
    expect(c.seed).toBe(42);
    expect(c.mode).toBe("echo");
  });

  it("reads --config YAML, with command-line flags winning", () => {
    const dir = mkdtempSync(join(tmpdir(), "sim-config-"));
    const file = join(dir, "c.yaml");
    writeFileSync(file, 'model: from-file\nmax-num-seqs: 9\nlora-modules:\n  - name: x\n  - \'{"name":"y"}\'\ntime-to-first-token: 100ms\n');
    const c = parseSimArgs(["--config", file, "--max-num-seqs", "3"]);
    rmSync(dir, { recursive: true, force: true });
    expect(c.model).toBe("from-file");
    expect(c.maxNumSeqs).toBe(3);
    expect(c.loraModules.map((l) => l.name)).toEqual(["x", "y"]);
    expect(c.timeToFirstToken).toBe(100);
  });

  it("parses durations", () => {
    expect(parseDuration("250", "f")).toBe(250);
    expect(parseDuration("1m30s", "f")).toBe(90_000);
    expect(parseDuration("750us", "f")).toBe(0.75);
    expect(() => parseDuration("fast", "--x")).toThrow(/--x/);
  });

  it("names the flag in every error", () => {
    const bad: Array<[string[], RegExp]> = [
      [[], /--model is required/],
      [["--model", "m", "--bogus", "1"], /unknown flag --bogus/],
      [["--model", "m", "--max-num-seqs", "abc"], /invalid value "abc" for --max-num-seqs/],
      [["--model", "m", "--max-num-seqs", "0"], /--max-num-seqs: must be >= 1/],
      [["--model", "m", "--mode", "loud"], /invalid value "loud" for --mode/],
      [["--model", "m", "--lora-modules", "{bad"], /for --lora-modules/],
      [["--model", "m", "--lora-modules", '{"path":"x"}'], /--lora-modules: "name"/],
      [["--model", "m", "--port"], /flag --port needs a value/],
      [["--model", "m", "--block-size", "10"], /--block-size/],
      [["--model", "m", "--kv-cache-size", "10"], /--kv-cache-size 10 blocks/],
      [["--model", "m", "--max-loras", "2", "--max-cpu-loras", "1"], /--max-cpu-loras/],
      [["--model", "m", "--time-to-first-token", "100", "--time-to-first-token-std-dev", "50"], /--time-to-first-token-std-dev/],
      [["--model", "m", "--fake-metrics", '{"kv-cache-usage": 2}'], /--fake-metrics/],
      [["--model", "m", "--enable-prefix-caching=maybe"], /--enable-prefix-caching/],
      [["m"], /unexpected argument "m"/],
    ];
    for (const [args, re] of bad) expect(() => parseSimArgs(args), args.join(" ")).toThrow(re);
  });
});
