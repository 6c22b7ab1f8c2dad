// One VM: an instance of the module as one Envoy worker holds it, with its contexts, its root context,
// its tick timers, metric ids and callout tokens. Calls into the module go through invoke(), which sets
// the current context, collects the actions Envoy defers until the call returns, and turns a trap into a
// failed VM (every later call is skipped; streams then fail or pass, see stream.ts).
import { LogLevel, type TokenKind, WasmResult } from "./abi.js";
import { type CallOutcome, type Context, type ContextVm, VmContext } from "./context.js";
import type { HostEnv } from "./env.js";
import { VmMemory } from "./memory.js";
import { VmMetrics } from "./metrics.js";
import { type PropertyValue, str } from "./properties.js";
import { RootContext } from "./root-context.js";
import { sharedState } from "./shared.js";
import type { ValidatedModule } from "./validate.js";
import { WasmLoadError } from "./validate.js";

/** The actions of a call that deferred none; shared, never pushed to (defer allocates a list first). */
export const NO_ACTIONS: Array<() => void> = [];

/** Host calls allowed while the module starts (cpp-host WasmBase::startVm). */
const START_ALLOWED = new Set([
  "env.proxy_log",
  ...[
    "fd_write",
    "args_sizes_get",
    "args_get",
    "environ_sizes_get",
    "environ_get",
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "clock_time_get",
    "random_get",
  ].flatMap((f) => [`wasi_unstable.${f}`, `wasi_snapshot_preview1.${f}`]),
]);
/** Host calls allowed inside the allocator (cpp-host WasmBase::allocMemory). */
const MALLOC_ALLOWED = new Set(["env.proxy_log", ...["fd_write", "clock_time_get"].flatMap((f) => [`wasi_unstable.${f}`, `wasi_snapshot_preview1.${f}`])]);

/** A host call the VM does not allow in its current callback (cpp-host: restricted_callback). */
export class RestrictedCallbackError extends Error {
  constructor(readonly hostCall: string) {
    super(`restricted_callback: ${hostCall} may not be called here`);
  }
}

export class Vm implements ContextVm {
  failed = false;
  failure: string | undefined;
  readonly memory: VmMemory;
  readonly metrics: VmMetrics;
  readonly contexts = new Map<number, Context>();
  readonly root: RootContext;
  /** Set while the module starts or malloc runs: other host calls trap. */
  restricted: ReadonlySet<string> | null = null;

  private readonly instance: WebAssembly.Instance;
  private readonly fns = new Map<string, (...args: number[]) => unknown>();
  private readonly allocate: (size: number) => unknown;
  private nextContextId = 1;
  private readonly tokens = [0, 1, 2];
  private readonly ticks = new Map<number, { period: number; timer?: NodeJS.Timeout }>();
  private depth = 0;
  private current: Context;
  private effectiveId = 0;
  private actions: Array<() => void> = NO_ACTIONS;
  private stopNext = false;
  private closed = false;

  constructor(
    readonly index: number,
    readonly env: HostEnv,
    module: WebAssembly.Module,
    validated: ValidatedModule,
    /** The host functions the module imports (host-functions.ts), bound to this VM. */
    hostImports: (vm: Vm) => WebAssembly.Imports,
  ) {
    const vmContext = new VmContext(this);
    this.contexts.set(0, vmContext);
    this.current = vmContext;
    this.metrics = new VmMetrics(env.stats);
    this.restricted = START_ALLOWED; // a start section runs while instantiating
    try {
      const imports = hostImports(this);
      const inst = env.instrumentation;
      if (inst) {
        if (imports[inst.module]) throw new Error(`instrumentation may not replace the host's import module ${inst.module}`);
        imports[inst.module] = inst.imports(() => this.instance?.exports.memory as WebAssembly.Memory | undefined);
      }
      this.instance = new WebAssembly.Instance(module, imports);
    } catch (err) {
      throw new WasmLoadError(`Failed to instantiate Wasm module: ${describe(err)}`);
    } finally {
      this.restricted = null;
    }
    const exports = this.instance.exports;
    this.memory = new VmMemory(exports.memory as WebAssembly.Memory);
    for (const [name, value] of Object.entries(exports)) {
      if (typeof value === "function") this.fns.set(name, value as (...args: number[]) => unknown);
    }
    this.allocate = this.fns.get(validated.allocator)!;
    this.startModule(validated);
    this.root = new RootContext(this, this.allocContextId());
    this.contexts.set(this.root.id, this.root);
    sharedState.acquire(env.config.vmId);
  }

  /** _initialize (+ main) or _start under the restricted host-call set; a trap fails the load. */
  private startModule(v: ValidatedModule): void {
    const run = (name: string, args: number[]) => {
      const r = this.invoke(this.current, name, args, START_ALLOWED);
      if (!r.ok) throw new WasmLoadError(`Failed to initialize Wasm code: ${this.failure}`);
    };
    if (v.start === "reactor") {
      run("_initialize", []);
      if (v.hasMain) run("main", [0, 0]);
    } else if (v.start === "command") {
      run("_start", []);
    }
  }

  /** proxy_on_context_create(root, 0), proxy_on_vm_start, proxy_on_configure; false results refuse the load. */
  startRoot(): void {
    const root = this.root;
    const check = (r: CallOutcome, what: string) => {
      if (!r.ok) throw new WasmLoadError(`${what}: ${this.failure}`);
      this.runActions(r);
    };
    if (this.has("proxy_on_context_create")) check(this.invoke(root, "proxy_on_context_create", [root.id, 0]), "Failed to start base Wasm");
    if (this.has("proxy_on_vm_start")) {
      const r = this.invoke(root, "proxy_on_vm_start", [root.id, this.env.vmConfiguration.length]);
      check(r, "Failed to start base Wasm");
      if (r.value === 0) throw new WasmLoadError("Failed to start base Wasm: proxy_on_vm_start returned false");
    }
    if (this.has("proxy_on_configure")) {
      root.configuring = true;
      const r = this.invoke(root, "proxy_on_configure", [root.id, this.env.pluginConfiguration.length]);
      root.configuring = false;
      check(r, "Failed to configure base Wasm plugin");
      if (r.value === 0) throw new WasmLoadError("Failed to configure base Wasm plugin: proxy_on_configure returned false");
    }
  }

  has(name: string): boolean {
    return this.fns.has(name);
  }

  allocContextId(): number {
    while (this.contexts.has(this.nextContextId)) this.nextContextId++;
    return this.nextContextId++;
  }

  /** The context host calls act on: the effective one if set and still alive, else the current one. */
  activeContext(): Context {
    if (this.effectiveId !== 0) {
      const c = this.contexts.get(this.effectiveId);
      if (c) return c;
    }
    return this.current;
  }

  setEffectiveContext(id: number): WasmResult {
    if (!this.contexts.has(id)) return WasmResult.BadArgument;
    this.effectiveId = id;
    return WasmResult.Ok;
  }

  /** Calls an export with ctx as the current context. Traps fail the VM; nothing is thrown. */
  invoke(ctx: Context, name: string, args: number[], restricted: ReadonlySet<string> | null = null): CallOutcome {
    const fn = this.fns.get(name);
    if (!fn || this.failed) return { ok: !this.failed, value: 0, stopNext: false, actions: NO_ACTIONS };
    // Saved in locals, not an object: this runs for every callback and every malloc.
    const savedCurrent = this.current;
    const savedEffectiveId = this.effectiveId;
    const savedActions = this.actions;
    const savedStopNext = this.stopNext;
    const savedRestricted = this.restricted;
    this.current = ctx;
    this.effectiveId = 0;
    this.actions = NO_ACTIONS;
    this.stopNext = false;
    this.restricted = restricted;
    this.depth++;
    let ok = true;
    let value = 0;
    try {
      value = Number(fn(...args) ?? 0) >>> 0;
    } catch (err) {
      ok = false;
      this.fail(`Function: ${name} failed: ${describe(err)}`);
    } finally {
      this.depth--;
    }
    const outcome: CallOutcome = { ok, value, stopNext: this.stopNext, actions: ok ? this.actions : NO_ACTIONS };
    this.current = savedCurrent;
    this.effectiveId = savedEffectiveId;
    this.actions = savedActions;
    this.stopNext = savedStopNext;
    this.restricted = savedRestricted;
    return outcome;
  }

  runActions(outcome: CallOutcome): void {
    for (const action of outcome.actions) action();
  }

  /** Defers an action until the current call into the module returns (addAfterVmCallAction). */
  defer(action: () => void): void {
    if (this.actions === NO_ACTIONS) this.actions = [];
    this.actions.push(action);
  }

  markStopNextIteration(): void {
    this.stopNext = true;
  }

  /** Runs fn now, or after the call in progress (callout results are never delivered re-entrantly). */
  whenIdle(fn: () => void): void {
    if (this.closed) return;
    if (this.depth === 0) fn();
    else this.defer(fn);
  }

  /** The module's allocator, with only the allocator's host calls allowed; 0 on failure. */
  malloc(size: number): number {
    const saved = this.restricted;
    this.restricted = MALLOC_ALLOWED;
    try {
      return Number(this.allocate(size)) >>> 0;
    } finally {
      this.restricted = saved;
    }
  }

  /** copyToPointerSize: a block the module allocates holds the data; empty values are 0/0 without malloc. */
  copyOut(data: Uint8Array, ptrPtr: number, sizePtr: number): WasmResult {
    return this.placeOut(data, data.length, ptrPtr, sizePtr);
  }

  /** copyOut of a header value's latin1 bytes, written straight into the module's block. */
  copyOutLatin1(value: string, ptrPtr: number, sizePtr: number): WasmResult {
    return this.placeOut(value, value.length, ptrPtr, sizePtr);
  }

  private placeOut(data: Uint8Array | string, len: number, ptrPtr: number, sizePtr: number): WasmResult {
    if (len === 0) {
      return this.memory.setU32(ptrPtr, 0) && this.memory.setU32(sizePtr, 0) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    }
    const ptr = this.malloc(len);
    const written = ptr !== 0 && (typeof data === "string" ? this.memory.writeLatin1(ptr, data) : this.memory.write(ptr, data));
    if (!written) return WasmResult.InvalidMemoryAccess;
    return this.memory.setU32(ptrPtr, ptr) && this.memory.setU32(sizePtr, len) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
  }

  /** Callout tokens: the kind in the low two bits, advancing by 4 (first: 4, 5, 6). */
  nextToken(kind: TokenKind): number {
    return (this.tokens[kind]! += 4) >>> 0;
  }

  /** proxy_set_tick_period_milliseconds for a root context: 0 stops, a new period replaces the old. */
  setTickPeriod(rootId: number, periodMs: number): void {
    const old = this.ticks.get(rootId);
    if (old?.timer) clearTimeout(old.timer);
    const entry: { period: number; timer?: NodeJS.Timeout } = { period: periodMs };
    this.ticks.set(rootId, entry);
    if (periodMs > 0 && !this.closed) this.armTick(rootId, entry);
  }

  private armTick(rootId: number, entry: { period: number; timer?: NodeJS.Timeout }): void {
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      const ctx = this.contexts.get(rootId);
      if (this.failed || this.closed || !ctx || !this.has("proxy_on_tick")) return;
      const r = this.invoke(ctx, "proxy_on_tick", [rootId]);
      this.runActions(r);
      if (this.ticks.get(rootId) === entry && entry.period > 0 && !entry.timer && !this.failed) this.armTick(rootId, entry);
    }, entry.period);
    entry.timer.unref();
  }

  /** plugin_name / plugin_root_id / plugin_vm_id. */
  pluginProperty(name: string): PropertyValue | undefined {
    const c = this.env.config;
    if (name === "plugin_name") return str(c.name);
    if (name === "plugin_root_id") return str(c.rootId);
    if (name === "plugin_vm_id") return str(c.vmId);
    return undefined;
  }

  log(level: number, message: string): void {
    if (level >= this.env.logLevel) this.env.log(level, message, this.index);
  }

  private fail(message: string): void {
    if (this.failed) return;
    this.failed = true;
    this.failure = message;
    this.env.log(LogLevel.Critical, message, this.index);
    for (const t of this.ticks.values()) if (t.timer) clearTimeout(t.timer);
  }

  /** Shutdown: proxy_on_done / proxy_on_delete on the root context (unless the load is being abandoned),
   * then timers and callouts stop. */
  close(callRoot = true): void {
    if (this.closed) return;
    if (callRoot && !this.failed) {
      if (this.has("proxy_on_done")) this.runActions(this.invoke(this.root, "proxy_on_done", [this.root.id]));
      if (this.has("proxy_on_delete")) this.runActions(this.invoke(this.root, "proxy_on_delete", [this.root.id]));
    }
    this.closed = true;
    for (const t of this.ticks.values()) if (t.timer) clearTimeout(t.timer);
    this.ticks.clear();
    this.root.cancelCallouts();
    sharedState.release(this.env.config.vmId);
  }
}

function describe(err: unknown): string {
  if (err instanceof RestrictedCallbackError) return err.message;
  if (err instanceof WebAssembly.RuntimeError) return `Uncaught RuntimeError: ${err.message}`;
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
