// Loads an AssemblyScript test module (built by `make test-modules` into test/.build/) in Node with the few
// WASI imports the wasi-shim runtime uses, and moves bytes in and out of its linear memory.
import { readFileSync } from "node:fs";
import { randomFillSync } from "node:crypto";
import { fileURLToPath } from "node:url";

export const BUILD_DIR = fileURLToPath(new URL("../../.build/", import.meta.url));

export interface LogicModule {
  exports: Record<string, any>;
  memory: WebAssembly.Memory;
  /** Copies bytes into freshly allocated module memory; returns [ptr, len]. Free with free(ptr). */
  put(bytes: Uint8Array | string): [number, number];
  free(ptr: number): void;
  /** The module's last text result (resultPtr/resultLen) decoded from UTF-8. */
  result(): string;
  resultBytes(): Uint8Array;
}

export function loadLogicModule(path: string): LogicModule {
  const module = new WebAssembly.Module(readFileSync(path));
  let memory: WebAssembly.Memory | undefined;
  let stderr = "";
  const view = () => new DataView(memory!.buffer);
  const wasi = {
    fd_write(fd: number, iovs: number, iovsLen: number, nwritten: number): number {
      const dv = view();
      let n = 0;
      for (let i = 0; i < iovsLen; i++) {
        const ptr = dv.getUint32(iovs + i * 8, true);
        const len = dv.getUint32(iovs + i * 8 + 4, true);
        const text = Buffer.from(memory!.buffer, ptr, len).toString("utf8");
        if (fd === 2) stderr += text;
        else process.stdout.write(text);
        n += len;
      }
      dv.setUint32(nwritten, n, true);
      return 0;
    },
    proc_exit(code: number): never {
      const msg = stderr.trim();
      stderr = "";
      throw new Error(`wasm proc_exit(${code})${msg ? ": " + msg : ""}`);
    },
    random_get(ptr: number, len: number): number {
      randomFillSync(new Uint8Array(memory!.buffer, ptr, len));
      return 0;
    },
    clock_time_get(_id: number, _precision: bigint, out: number): number {
      view().setBigUint64(out, process.hrtime.bigint(), true);
      return 0;
    },
  };
  const instance = new WebAssembly.Instance(module, { wasi_snapshot_preview1: wasi });
  const ex = instance.exports as Record<string, any>;
  memory = ex.memory as WebAssembly.Memory;
  ex._start();
  return {
    exports: ex,
    memory,
    put(input) {
      const bytes = typeof input === "string" ? Buffer.from(input, "utf8") : input;
      const ptr = ex.alloc(bytes.length) as number;
      new Uint8Array(memory!.buffer, ptr, bytes.length).set(bytes);
      return [ptr, bytes.length];
    },
    free(ptr) {
      ex.free(ptr);
    },
    resultBytes() {
      return new Uint8Array(memory!.buffer, ex.resultPtr(), ex.resultLen()).slice();
    },
    result() {
      return Buffer.from(memory!.buffer, ex.resultPtr(), ex.resultLen()).toString("utf8");
    },
  };
}
