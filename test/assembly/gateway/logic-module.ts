// Loads an AssemblyScript test module (test/.build/<name>.wasm) in Node with the few WASI imports the
// wasi-shim uses (fd_write for abort messages, proc_exit), and moves bytes in and out of its memory.
import { readFileSync } from "node:fs";

export interface LogicModule {
  exports: Record<string, any>;
  memory: WebAssembly.Memory;
  /** Copies bytes into a fresh pinned buffer; returns its pointer. */
  put(bytes: Uint8Array | string): number;
  free(ptr: number): void;
  /** The module's current output buffer (outPtr/outLen), copied out. */
  out(): Uint8Array;
  outText(): string;
  /** Text the module wrote to stdout/stderr (abort messages). */
  log(): string;
}

export function loadLogicModule(name: string): LogicModule {
  const file = new URL(`../../.build/${name}.wasm`, import.meta.url);
  const module = new WebAssembly.Module(readFileSync(file));
  let memory: WebAssembly.Memory | undefined;
  let logText = "";
  const wasi: Record<string, (...args: number[]) => number> = {
    fd_write(_fd: number, iovs: number, iovsLen: number, nwritten: number): number {
      const view = new DataView(memory!.buffer);
      let total = 0;
      for (let i = 0; i < iovsLen; i++) {
        const ptr = view.getUint32(iovs + i * 8, true);
        const len = view.getUint32(iovs + i * 8 + 4, true);
        logText += Buffer.from(memory!.buffer, ptr, len).toString("utf8");
        total += len;
      }
      view.setUint32(nwritten, total, true);
      return 0;
    },
    proc_exit(code: number): number {
      throw new Error(`wasm module exited with ${code}: ${logText.trim()}`);
    },
  };
  const imports: WebAssembly.Imports = { wasi_snapshot_preview1: {} };
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.module !== "wasi_snapshot_preview1") throw new Error(`unexpected import ${imp.module}.${imp.name}`);
    (imports.wasi_snapshot_preview1 as Record<string, unknown>)[imp.name] =
      wasi[imp.name] ??
      (() => {
        throw new Error(`unexpected WASI call ${imp.name}`);
      });
  }
  const instance = new WebAssembly.Instance(module, imports);
  const exports = instance.exports as Record<string, any>;
  memory = exports.memory as WebAssembly.Memory;
  if (typeof exports._start === "function") exports._start();

  const mod: LogicModule = {
    exports,
    memory,
    put(bytes) {
      const data = typeof bytes === "string" ? Buffer.from(bytes, "utf8") : bytes;
      const ptr = exports.alloc(data.length) as number;
      new Uint8Array(memory!.buffer, ptr, data.length).set(data);
      return ptr;
    },
    free(ptr) {
      exports.free(ptr);
    },
    out() {
      const ptr = exports.outPtr() as number;
      const len = exports.outLen() as number;
      return new Uint8Array(memory!.buffer.slice(ptr, ptr + len));
    },
    outText() {
      return Buffer.from(mod.out()).toString("utf8");
    },
    log() {
      return logText;
    },
  };
  return mod;
}
