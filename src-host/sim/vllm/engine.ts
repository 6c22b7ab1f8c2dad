// The simulated inference engine: what the EPP's scorers read comes from here.
// - At most max-num-seqs sequences run; the rest wait in a FIFO queue (`vllm:num_requests_waiting`).
// - A waiting request for a LoRA adapter is passed over while max-loras other adapters are running, as
//   vLLM's scheduler does; the next admissible one behind it starts instead.
// - A sequence starts only when the KV cache can hold its prompt and answer: its blocks fill as the prompt
//   is prefilled and tokens are generated (`vllm:kv_cache_usage_perc`) and are released at the end.
// - Prompt blocks already in the prefix cache are reused and skip prefill, which shortens the time to first
//   token under the per-token latency calculator.
import { KvCache } from "./kv-cache.js";
import type { Latency } from "./latency.js";
import type { FinishReason } from "./text-gen.js";
import { sleep } from "../http-server.js";

export interface SequenceRequest {
  /** The LoRA adapter the request runs on, undefined for the base model. */
  lora: string | undefined;
  /** Separates prefix-cache entries of different models and adapters. */
  cacheSalt: string;
  promptTokens: readonly string[];
  outputTokens: readonly string[];
  finishReason: FinishReason;
}

export interface SequenceResult {
  /** False when the client went away or the engine stopped first. */
  completed: boolean;
}

export interface EngineStats {
  running: number;
  waiting: number;
  kvUsage: number;
  usedBlocks: number;
  totalBlocks: number;
  prefixCacheQueries: number;
  prefixCacheHits: number;
  promptTokens: number;
  generationTokens: number;
  /** Completed requests by finish reason. */
  finished: Record<FinishReason, number>;
  runningLoras: string[];
  waitingLoras: string[];
  /** Unix seconds when the running or waiting adapter set last changed (`vllm:lora_requests_info`). */
  loraInfoTimestamp: number;
}

interface Sequence {
  req: SequenceRequest;
  onToken: (index: number) => void;
  signal: AbortSignal | undefined;
  resolve: (r: SequenceResult) => void;
  hashes: string[];
  blockIds: number[];
  /** Blocks the sequence holds or will still allocate over its life. */
  lifetimeBlocks: number;
  cachedTokens: number;
}

export interface EngineOptions {
  maxNumSeqs: number;
  maxLoras: number;
  kvCacheSize: number;
  blockSize: number;
  enablePrefixCaching: boolean;
}

export class Engine {
  private readonly kv: KvCache;
  private readonly waiting: Sequence[] = [];
  private readonly running = new Set<Sequence>();
  private readonly loraRunning = new Map<string, number>();
  /** Blocks running sequences will still allocate: never handed to a newcomer. */
  private reserved = 0;
  private prefixQueries = 0;
  private prefixHits = 0;
  private promptTokens = 0;
  private generationTokens = 0;
  private readonly finished: Record<FinishReason, number> = { stop: 0, length: 0 };
  private loraLabels = "|";
  private loraTimestamp = Date.now() / 1000;
  private stopped = false;
  /** Wakes sleeping sequences when the engine stops. */
  private readonly sleepers = new Set<AbortController>();

  constructor(
    private readonly options: EngineOptions,
    private readonly latency: Latency,
  ) {
    this.kv = new KvCache(options.kvCacheSize, options.blockSize, options.enablePrefixCaching);
  }

  /**
   * Queues a sequence. `onToken(i)` is called when output token i is produced (token 0 after the time to
   * first token, the rest an inter-token latency apart). Resolves when the sequence ends or is aborted.
   */
  submit(req: SequenceRequest, onToken: (index: number) => void, signal?: AbortSignal): Promise<SequenceResult> {
    if (this.stopped || signal?.aborted) return Promise.resolve({ completed: false });
    const total = req.promptTokens.length + req.outputTokens.length;
    const lifetimeBlocks = Math.ceil(total / this.options.blockSize);
    if (lifetimeBlocks > this.options.kvCacheSize) throw new Error("sequence longer than the KV cache");
    return new Promise((resolve) => {
      const seq: Sequence = {
        req,
        onToken,
        signal,
        resolve,
        hashes: this.kv.blockHashes(req.promptTokens, req.cacheSalt),
        blockIds: [],
        lifetimeBlocks,
        cachedTokens: 0,
      };
      signal?.addEventListener("abort", () => this.dropWaiting(seq), { once: true });
      this.waiting.push(seq);
      this.schedule();
      this.noteLoraState();
    });
  }

  stats(): EngineStats {
    return {
      running: this.running.size,
      waiting: this.waiting.length,
      kvUsage: this.kv.usage,
      usedBlocks: this.kv.usedBlocks,
      totalBlocks: this.kv.numBlocks,
      prefixCacheQueries: this.prefixQueries,
      prefixCacheHits: this.prefixHits,
      promptTokens: this.promptTokens,
      generationTokens: this.generationTokens,
      finished: { ...this.finished },
      runningLoras: [...this.loraRunning.keys()],
      waitingLoras: this.waitingLoras(),
      loraInfoTimestamp: this.loraTimestamp,
    };
  }

  /** Ends every sequence: waiting ones at once, running ones at their next step. */
  stop(): void {
    this.stopped = true;
    for (const seq of this.waiting.splice(0)) seq.resolve({ completed: false });
    for (const wake of this.sleepers) wake.abort();
  }

  private schedule(): void {
    const bs = this.options.blockSize;
    for (let i = 0; i < this.waiting.length && this.running.size < this.options.maxNumSeqs; ) {
      const seq = this.waiting[i];
      const lora = seq.req.lora;
      if (lora !== undefined && !this.loraRunning.has(lora) && this.loraRunning.size >= this.options.maxLoras) {
        i++;
        continue;
      }
      const promptLen = seq.req.promptTokens.length;
      // At least the prompt's last token is always computed, as in vLLM, so a fully cached prompt still
      // has a prefill step that produces the first token.
      const cached = Math.min(this.kv.cachedPrefix(seq.hashes), Math.floor((promptLen - 1) / bs));
      const fresh = seq.lifetimeBlocks - cached;
      if (this.kv.available - this.kv.idleCachedPrefix(seq.hashes, cached) - this.reserved < fresh) break;
      this.waiting.splice(i, 1);
      this.admit(seq, cached);
    }
  }

  private admit(seq: Sequence, cachedBlocks: number): void {
    const bs = this.options.blockSize;
    const promptLen = seq.req.promptTokens.length;
    this.running.add(seq);
    const lora = seq.req.lora;
    if (lora !== undefined) this.loraRunning.set(lora, (this.loraRunning.get(lora) ?? 0) + 1);
    seq.blockIds = this.kv.acquireCached(seq.hashes, cachedBlocks);
    const promptBlocks = Math.ceil(promptLen / bs);
    while (seq.blockIds.length < promptBlocks) seq.blockIds.push(this.kv.allocate());
    this.reserved += seq.lifetimeBlocks - seq.blockIds.length;
    seq.cachedTokens = cachedBlocks * bs;
    this.prefixQueries += promptLen;
    this.prefixHits += seq.cachedTokens;
    this.promptTokens += promptLen;
    void this.run(seq, cachedBlocks);
  }

  private async run(seq: Sequence, cachedBlocks: number): Promise<void> {
    const bs = this.options.blockSize;
    const promptLen = seq.req.promptTokens.length;
    const output = seq.req.outputTokens;
    let at = performance.now() + this.latency.timeToFirstToken(promptLen - seq.cachedTokens, this.running.size);
    await this.sleepUntil(at, seq);
    if (!this.ended(seq)) {
      // The prompt's full blocks are computed now and become reusable.
      for (let b = cachedBlocks; b < seq.hashes.length; b++) this.kv.commit(seq.blockIds[b], seq.hashes[b]);
      for (let i = 0; i < output.length; i++) {
        if (i > 0) {
          at += this.latency.interTokenLatency(this.running.size);
          await this.sleepUntil(at, seq);
          if (this.ended(seq)) break;
        }
        while (seq.blockIds.length < Math.ceil((promptLen + i + 1) / bs)) {
          seq.blockIds.push(this.kv.allocate());
          this.reserved--;
        }
        this.generationTokens++;
        seq.onToken(i);
      }
    }
    const completed = !this.ended(seq);
    if (completed) this.finished[seq.req.finishReason]++;
    this.reserved -= seq.lifetimeBlocks - seq.blockIds.length;
    this.kv.release(seq.blockIds);
    seq.blockIds = [];
    this.running.delete(seq);
    const lora = seq.req.lora;
    if (lora !== undefined) {
      const n = (this.loraRunning.get(lora) ?? 1) - 1;
      if (n > 0) this.loraRunning.set(lora, n);
      else this.loraRunning.delete(lora);
    }
    if (!this.stopped) this.schedule();
    this.noteLoraState();
    seq.resolve({ completed });
  }

  private ended(seq: Sequence): boolean {
    return seq.signal?.aborted === true || this.stopped;
  }

  /** Sleeps to an absolute time (so latencies do not drift with timer lateness); wakes early on abort or stop. */
  private async sleepUntil(at: number, seq: Sequence): Promise<void> {
    const ms = at - performance.now();
    if (ms <= 0) return;
    const wake = new AbortController();
    const onAbort = () => wake.abort();
    seq.signal?.addEventListener("abort", onAbort, { once: true });
    this.sleepers.add(wake);
    await sleep(ms, wake.signal);
    this.sleepers.delete(wake);
    seq.signal?.removeEventListener("abort", onAbort);
  }

  private dropWaiting(seq: Sequence): void {
    const i = this.waiting.indexOf(seq);
    if (i < 0) return;
    this.waiting.splice(i, 1);
    this.noteLoraState();
    seq.resolve({ completed: false });
    this.schedule();
  }

  private waitingLoras(): string[] {
    const out = new Set<string>();
    for (const seq of this.waiting) if (seq.req.lora !== undefined) out.add(seq.req.lora);
    return [...out];
  }

  private noteLoraState(): void {
    const labels = `${[...this.loraRunning.keys()].join(",")}|${this.waitingLoras().join(",")}`;
    if (labels === this.loraLabels) return;
    this.loraLabels = labels;
    this.loraTimestamp = Date.now() / 1000;
  }
}
