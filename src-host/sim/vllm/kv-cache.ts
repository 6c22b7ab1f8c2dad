// A paged KV cache with automatic prefix caching, modelled on vLLM's block manager: `numBlocks` blocks of
// `blockSize` tokens. A full prompt block is named by a hash chained over every token before it (and the
// model), so two prompts share a block only when they share the whole prefix up to it. Blocks no sequence
// holds keep their contents and hash and are evicted least recently used first, only when a sequence needs
// a block and no empty one is left: that is what makes a repeated prefix cheaper.
import { createHash } from "node:crypto";

interface Block {
  refs: number;
  hash: string | undefined;
}

export class KvCache {
  private readonly blocks: Block[];
  /** Blocks holding nothing worth keeping. */
  private readonly empty: number[] = [];
  /** Unreferenced blocks that still hold a cached prefix; Map order is least recently used first. */
  private readonly evictable = new Map<string, number>();
  private readonly byHash = new Map<string, number>();
  private used = 0;

  constructor(
    readonly numBlocks: number,
    readonly blockSize: number,
    readonly prefixCaching: boolean,
  ) {
    this.blocks = Array.from({ length: numBlocks }, () => ({ refs: 0, hash: undefined }));
    for (let i = numBlocks - 1; i >= 0; i--) this.empty.push(i);
  }

  /** Blocks some sequence holds. */
  get usedBlocks(): number {
    return this.used;
  }

  /** Fraction of blocks in use, 0..1 (`vllm:kv_cache_usage_perc`). */
  get usage(): number {
    return this.used / this.numBlocks;
  }

  /** Blocks a sequence could still get: empty ones plus cached ones that may be evicted. */
  get available(): number {
    return this.empty.length + this.evictable.size;
  }

  /** Hashes of the prompt's full blocks, each chained on the one before; `salt` separates models. */
  blockHashes(tokens: readonly string[], salt: string): string[] {
    const hashes: string[] = [];
    let prev = salt;
    for (let end = this.blockSize; end <= tokens.length; end += this.blockSize) {
      const h = createHash("sha256").update(prev).update("\u0000");
      for (let i = end - this.blockSize; i < end; i++) h.update(tokens[i]).update("\u0001");
      prev = h.digest("base64");
      hashes.push(prev);
    }
    return hashes;
  }

  /** How many leading blocks of the chain are cached. */
  cachedPrefix(hashes: readonly string[]): number {
    if (!this.prefixCaching) return 0;
    let n = 0;
    while (n < hashes.length && this.byHash.has(hashes[n])) n++;
    return n;
  }

  /** How many of the first `n` blocks of the chain are cached but held by no sequence. */
  idleCachedPrefix(hashes: readonly string[], n: number): number {
    let idle = 0;
    for (let i = 0; i < n; i++) if (this.evictable.has(hashes[i])) idle++;
    return idle;
  }

  /** Takes a reference on the cached blocks of the first `n` hashes (see `cachedPrefix`). */
  acquireCached(hashes: readonly string[], n: number): number[] {
    const ids: number[] = [];
    for (let i = 0; i < n; i++) {
      const id = this.byHash.get(hashes[i]);
      if (id === undefined) throw new Error("kv cache: acquiring a block that is not cached");
      const block = this.blocks[id];
      if (block.refs === 0) {
        this.evictable.delete(hashes[i]);
        this.used++;
      }
      block.refs++;
      ids.push(id);
    }
    return ids;
  }

  /** A fresh block: an empty one if any, else the least recently used cached one. */
  allocate(): number {
    let id = this.empty.pop();
    if (id === undefined) {
      const oldest = this.evictable.entries().next();
      if (oldest.done) throw new Error("kv cache: out of blocks");
      const [hash, evicted] = oldest.value;
      this.evictable.delete(hash);
      this.byHash.delete(hash);
      id = evicted;
    }
    this.blocks[id] = { refs: 1, hash: undefined };
    this.used++;
    return id;
  }

  /** Names a computed prompt block so later prompts can reuse it; a hash already cached is left alone. */
  commit(id: number, hash: string): void {
    if (!this.prefixCaching || this.byHash.has(hash)) return;
    this.blocks[id].hash = hash;
    this.byHash.set(hash, id);
  }

  /** Drops a sequence's references, last block first so a prompt's tail is evicted before its head. */
  release(ids: readonly number[]): void {
    for (let i = ids.length - 1; i >= 0; i--) {
      const id = ids[i];
      const block = this.blocks[id];
      if (block.refs <= 0) throw new Error("kv cache: releasing a free block");
      if (--block.refs > 0) continue;
      this.used--;
      if (block.hash !== undefined) this.evictable.set(block.hash, id);
      else this.empty.push(id);
    }
  }
}
