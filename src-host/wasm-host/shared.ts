// Shared data and shared queues, keyed by vm_id as Envoy keeps them process-wide
// (proxy-wasm-cpp-host shared_data.cc / shared_queue.cc): every VM with the same vm_id sees the same
// keys; a set with cas ≠ 0 succeeds only when it matches the key's current cas; cas values come from one
// global counter.
import { WasmResult } from "./types.js";

/** Whatever can receive proxy_on_queue_ready (a VM's root context). */
export interface QueueOwner {
  dispatch(event: () => void): void;
  callRoot(name: string, args: number[]): void;
}

interface Queue {
  vmId: string;
  name: string;
  owner: QueueOwner;
  items: Uint8Array[];
}

export class SharedState {
  private readonly data = new Map<string, Map<string, { value: Uint8Array; cas: number }>>();
  private nextCas = 1;
  private readonly queues = new Map<number, Queue>();
  private readonly queueTokens = new Map<string, number>();
  private nextQueueToken = 1;

  get(vmId: string, key: string): { value: Uint8Array; cas: number } | undefined {
    return this.data.get(vmId)?.get(key);
  }

  set(vmId: string, key: string, value: Uint8Array, cas: number): WasmResult {
    let space = this.data.get(vmId);
    if (!space) this.data.set(vmId, (space = new Map()));
    const existing = space.get(key);
    if (cas !== 0 && existing && existing.cas !== cas) return WasmResult.CasMismatch;
    space.set(key, { value, cas: this.nextCas });
    this.nextCas = (this.nextCas + 1) >>> 0 || 1;
    return WasmResult.Ok;
  }

  registerQueue(vmId: string, name: string, owner: QueueOwner): number {
    const key = `${vmId}\0${name}`;
    let token = this.queueTokens.get(key);
    if (token === undefined) {
      token = this.nextQueueToken++;
      this.queueTokens.set(key, token);
      this.queues.set(token, { vmId, name, owner, items: [] });
    } else {
      this.queues.get(token)!.owner = owner;
    }
    return token;
  }

  resolveQueue(vmId: string, name: string): number | undefined {
    return this.queueTokens.get(`${vmId}\0${name}`);
  }

  enqueue(token: number, item: Uint8Array): WasmResult {
    const q = this.queues.get(token);
    if (!q) return WasmResult.NotFound;
    q.items.push(item);
    // Envoy posts on_queue_ready to the owner's dispatcher: never inside the enqueuing call.
    setImmediate(() => q.owner.dispatch(() => q.owner.callRoot("proxy_on_queue_ready", [token])));
    return WasmResult.Ok;
  }

  dequeue(token: number): Uint8Array | WasmResult {
    const q = this.queues.get(token);
    if (!q) return WasmResult.NotFound;
    return q.items.shift() ?? WasmResult.Empty;
  }

  /** Forgets queues owned by VMs that are closing. */
  dropQueuesOf(owners: ReadonlySet<QueueOwner>): void {
    for (const [token, q] of this.queues) {
      if (owners.has(q.owner)) {
        this.queues.delete(token);
        this.queueTokens.delete(`${q.vmId}\0${q.name}`);
      }
    }
  }
}

/** Process-wide, as in Envoy: filters loaded with the same vm_id share data and queues. */
export const processSharedState = new SharedState();
