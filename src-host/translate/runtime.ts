// Which module each Envoy Wasm runtime takes. The module is built twice (Makefile): with SIMD, the
// production build, and scalar. V8 (Envoy's default and only runtime in its official images) and Wasmtime
// (cpp-host src/wasmtime/wasmtime.cc keeps Wasmtime's default features, SIMD among them) run the SIMD
// module. WAMR as Envoy builds it (envoy bazel/foreign_cc/BUILD, cpp-host bazel/external/wamr.BUILD: fast
// interpreter, WAMR_BUILD_SIMD=0) refuses any module with a v128 value type, so it gets the scalar one.

export type WasmRuntime = "v8" | "wamr" | "wasmtime";
export const WASM_RUNTIMES: readonly WasmRuntime[] = ["v8", "wamr", "wasmtime"];

export interface RuntimeModule {
  /** VmConfig.runtime. */
  vmRuntime: string;
  /** The module `make wasm` builds for it, relative to the repository. */
  builtModule: string;
  /** Its file name inside the Envoy container. */
  fileName: string;
}

const SIMD = { builtModule: "build/ai-gateway.wasm", fileName: "ai-gateway.wasm" };
const SCALAR = { builtModule: "build/ai-gateway-scalar.wasm", fileName: "ai-gateway-scalar.wasm" };

export const RUNTIME_MODULES: Record<WasmRuntime, RuntimeModule> = {
  v8: { vmRuntime: "envoy.wasm.runtime.v8", ...SIMD },
  wasmtime: { vmRuntime: "envoy.wasm.runtime.wasmtime", ...SIMD },
  wamr: { vmRuntime: "envoy.wasm.runtime.wamr", ...SCALAR },
};

export function parseRuntime(value: string): WasmRuntime {
  if (!(WASM_RUNTIMES as readonly string[]).includes(value)) throw new Error(`--runtime must be ${WASM_RUNTIMES.join(", ")}, got "${value}"`);
  return value as WasmRuntime;
}
