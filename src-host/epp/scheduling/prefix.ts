// prefix-cache-scorer of GIE v1.0.x (scheduling/framework/plugins/multi/prefix): an approximate index of which pods
// hold which prompt prefixes, fed by the EPP's own routing decisions.
//
// Hashes: hash[0] = xxh64(target model); hash[i+1] = xxh64(block_i ‖ little-endian uint64(hash[i])), over blocks of
// hashBlockSize bytes of the prompt (at most maxPrefixBlocksToMatch blocks, a trailing partial block ignored;
// prompts shorter than one block get no hashes). Chaining makes a match on hash i imply matches on 0..i-1.
// Score = blocks matched from the start / number of hashes. After scheduling, all the request's hashes go into the
// chosen pod's LRU (lruCapacityPerServer entries); an eviction drops the pod from that hash's set.
import type { EppMetrics } from "../epp-metrics.js";
import type { CycleState, LLMRequest, Plugin, Pod } from "./types.js";
import type { Xxh64 } from "./xxhash.js";

export interface PrefixConfig {
  hashBlockSize: number;
  maxPrefixBlocksToMatch: number;
  lruCapacityPerServer: number;
}

export const DEFAULT_PREFIX_CONFIG: PrefixConfig = { hashBlockSize: 64, maxPrefixBlocksToMatch: 256, lruCapacityPerServer: 31250 };

const podKey = (p: Pod) => `${p.namespace}/${p.name}`;

/** The chained block hashes of a request's prompt. */
export function hashPrompt(xxh64: Xxh64, req: LLMRequest, blockSize: number, maxBlocks: number): bigint[] {
  let prompt = Buffer.from(req.prompt, "utf8");
  if (prompt.length < blockSize) return [];
  if (prompt.length > blockSize * maxBlocks) prompt = prompt.subarray(0, blockSize * maxBlocks);
  const hashes = [xxh64(Buffer.from(req.targetModel, "utf8"))];
  const buf = Buffer.alloc(blockSize + 8);
  for (let i = 0; i + blockSize <= prompt.length; i += blockSize) {
    prompt.copy(buf, 0, i, i + blockSize);
    buf.writeBigUInt64LE(hashes[hashes.length - 1], blockSize);
    hashes.push(xxh64(buf));
  }
  return hashes;
}

/** hash → pods holding it, with a bounded LRU of hashes per pod. */
export class PrefixIndexer {
  private readonly hashToPods = new Map<bigint, Set<string>>();
  private readonly podLru = new Map<string, Map<bigint, true>>();
  private entries = 0;

  constructor(private readonly capacityPerPod: number) {}

  get(hash: bigint): ReadonlySet<string> | undefined {
    return this.hashToPods.get(hash);
  }

  add(hashes: readonly bigint[], pod: string): void {
    let lru = this.podLru.get(pod);
    if (!lru) {
      lru = new Map();
      this.podLru.set(pod, lru);
    }
    for (const h of hashes) {
      if (lru.has(h)) {
        lru.delete(h); // move to most recently used
      } else {
        this.entries++;
        if (lru.size >= this.capacityPerPod) this.evictOldest(lru, pod);
      }
      lru.set(h, true);
      let pods = this.hashToPods.get(h);
      if (!pods) {
        pods = new Set();
        this.hashToPods.set(h, pods);
      }
      pods.add(pod);
    }
  }

  removePod(pod: string): void {
    const lru = this.podLru.get(pod);
    if (!lru) return;
    for (const h of lru.keys()) this.unlink(h, pod);
    this.entries -= lru.size;
    this.podLru.delete(pod);
  }

  pods(): string[] {
    return [...this.podLru.keys()];
  }

  /** Total entries over all per-pod LRUs (inference_extension_prefix_indexer_size). */
  size(): number {
    return this.entries;
  }

  private evictOldest(lru: Map<bigint, true>, pod: string): void {
    const oldest = lru.keys().next();
    if (oldest.done) return;
    lru.delete(oldest.value);
    this.entries--;
    this.unlink(oldest.value, pod);
  }

  private unlink(hash: bigint, pod: string): void {
    const pods = this.hashToPods.get(hash);
    if (!pods) return;
    pods.delete(pod);
    if (pods.size === 0) this.hashToPods.delete(hash);
  }
}

interface PrefixState {
  hashes: bigint[];
  matched: Map<string, number>;
}

export interface PrefixPlugin extends Plugin {
  readonly indexer: PrefixIndexer;
}

export function prefixCacheScorer(name: string, cfg: PrefixConfig, xxh64: Xxh64, metrics: EppMetrics): PrefixPlugin {
  const indexer = new PrefixIndexer(cfg.lruCapacityPerServer);
  const stateKey = `prefix-cache-scorer/${name}`;
  return {
    type: "prefix-cache-scorer",
    name,
    indexer,
    score(state: CycleState, req: LLMRequest, pods: Pod[]): Map<Pod, number> {
      const hashes = hashPrompt(xxh64, req, cfg.hashBlockSize, cfg.maxPrefixBlocksToMatch);
      const matched = new Map<string, number>();
      for (const h of hashes) {
        const holders = indexer.get(h);
        if (!holders || holders.size === 0) break;
        for (const p of holders) matched.set(p, (matched.get(p) ?? 0) + 1);
      }
      state.set(stateKey, { hashes, matched } satisfies PrefixState);
      const total = hashes.length;
      return new Map(pods.map((p) => [p, total === 0 ? 0 : (matched.get(podKey(p)) ?? 0) / total]));
    },
    preRequest(state: CycleState, _req: LLMRequest, targets: Pod[]): void {
      const s = state.get(stateKey) as PrefixState | undefined;
      if (!s || targets.length === 0) return;
      const target = podKey(targets[0]);
      indexer.add(s.hashes, target);
      metrics.prefixIndexerSize.set(indexer.size());
      metrics.recordPrefixMatch((s.matched.get(target) ?? 0) * cfg.hashBlockSize, s.hashes.length * cfg.hashBlockSize);
    },
  };
}
