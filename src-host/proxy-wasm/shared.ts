// Shared data and shared queues (cpp-host shared_data.cc, shared_queue.cc): process-wide, keyed by
// vm_id, so every worker VM of a plugin (and every plugin with the same vm_id) sees the same entries.
// One CAS counter for the whole process starts at 1, skips 0 and advances on every set.
import { WasmResult } from "./abi.js";

interface Entry {
  value: Uint8Array;
  cas: number;
}

/** Where a queue's on_queue_ready goes: the root context that registered it, in its VM. */
export interface QueueTarget {
  notify(contextId: number, token: number): void;
  readonly failed: boolean;
}

interface Queue {
  items: Uint8Array[];
  target?: QueueTarget;
  contextId: number;
}

class SharedState {
  private cas = 1;
  private readonly data = new Map<string, Map<string, Entry>>();
  private nextQueueToken = 1;
  private readonly queueTokens = new Map<string, number>();
  private readonly queues = new Map<number, Queue>();
  private readonly users = new Map<string, number>();

  private nextCas(): number {
    const c = this.cas;
    this.cas = (this.cas + 1) >>> 0;
    if (this.cas === 0) this.cas = 1;
    return c;
  }

  /** A VM with this vm_id starts / stops using the store; the vm_id's data goes with its last VM. */
  acquire(vmId: string): void {
    this.users.set(vmId, (this.users.get(vmId) ?? 0) + 1);
  }
  release(vmId: string): void {
    const n = (this.users.get(vmId) ?? 1) - 1;
    if (n > 0) {
      this.users.set(vmId, n);
      return;
    }
    this.users.delete(vmId);
    this.data.delete(vmId);
    for (const [key, token] of this.queueTokens) {
      if (key.startsWith(vmId + "\0")) {
        this.queueTokens.delete(key);
        this.queues.delete(token);
      }
    }
  }

  get(vmId: string, key: string): Entry | undefined {
    return this.data.get(vmId)?.get(key);
  }

  set(vmId: string, key: string, value: Uint8Array, cas: number): WasmResult {
    let map = this.data.get(vmId);
    if (!map) this.data.set(vmId, (map = new Map()));
    const existing = map.get(key);
    if (existing && cas !== 0 && cas !== existing.cas) return WasmResult.CasMismatch;
    map.set(key, { value: value.slice(), cas: this.nextCas() });
    return WasmResult.Ok;
  }

  /** Registers (or re-binds to the caller) the queue (vm_id, name); returns its token. */
  registerQueue(vmId: string, name: string, target: QueueTarget, contextId: number): number {
    const key = vmId + "\0" + name;
    let token = this.queueTokens.get(key);
    if (token === undefined) {
      token = this.nextQueueToken++;
      this.queueTokens.set(key, token);
      this.queues.set(token, { items: [], contextId });
    }
    const q = this.queues.get(token)!;
    q.target = target;
    q.contextId = contextId;
    return token;
  }

  resolveQueue(vmId: string, name: string): number {
    return this.queueTokens.get(vmId + "\0" + name) ?? 0;
  }

  enqueue(token: number, data: Uint8Array): WasmResult {
    const q = this.queues.get(token);
    if (!q) return WasmResult.NotFound;
    q.items.push(data.slice());
    const target = q.target;
    const contextId = q.contextId;
    // Envoy posts on_queue_ready to the registering thread's dispatcher.
    if (target) setImmediate(() => target.failed || target.notify(contextId, token));
    return WasmResult.Ok;
  }

  dequeue(token: number): { result: WasmResult; data?: Uint8Array } {
    const q = this.queues.get(token);
    if (!q) return { result: WasmResult.NotFound };
    const data = q.items.shift();
    return data ? { result: WasmResult.Ok, data } : { result: WasmResult.Empty };
  }
}

/** The process-wide store, as Envoy's global shared data and queues. */
export const sharedState = new SharedState();
