// What Envoy checks before it runs a module (proxy-wasm-cpp-host wasm.cc / v8.cc, ABI 0.2.1): the ABI
// marker export, every import registered by the host with the same signature (the 0.1.0-only calls are
// not registered for 0.2.1 modules), exported callbacks with the signatures the host calls them with, an
// allocator and an exported memory. Node's WebAssembly API links any JS function to any import type, so
// the signatures are read from the module's own type, import, function and export sections.

const I = "i32";
const L = "i64";
const sig = (params: string[], results: string[] = [I]): string => `(${params.join(",")})->(${results.join(",")})`;
const n = (count: number): string[] => Array<string>(count).fill(I);

/** Host functions Envoy registers under module "env" for ABI 0.2.1. */
export const ENV_IMPORTS: Readonly<Record<string, string>> = {
  proxy_log: sig(n(3)),
  proxy_get_log_level: sig(n(1)),
  proxy_get_status: sig(n(3)),
  proxy_set_property: sig(n(4)),
  proxy_get_property: sig(n(4)),
  proxy_send_local_response: sig(n(8)),
  proxy_get_shared_data: sig(n(5)),
  proxy_set_shared_data: sig(n(5)),
  proxy_register_shared_queue: sig(n(3)),
  proxy_resolve_shared_queue: sig(n(5)),
  proxy_dequeue_shared_queue: sig(n(3)),
  proxy_enqueue_shared_queue: sig(n(3)),
  proxy_get_header_map_value: sig(n(5)),
  proxy_add_header_map_value: sig(n(5)),
  proxy_replace_header_map_value: sig(n(5)),
  proxy_remove_header_map_value: sig(n(3)),
  proxy_get_header_map_pairs: sig(n(3)),
  proxy_set_header_map_pairs: sig(n(3)),
  proxy_get_header_map_size: sig(n(2)),
  proxy_get_buffer_status: sig(n(3)),
  proxy_get_buffer_bytes: sig(n(5)),
  proxy_set_buffer_bytes: sig(n(5)),
  proxy_http_call: sig(n(10)),
  proxy_grpc_call: sig(n(12)),
  proxy_grpc_stream: sig(n(9)),
  proxy_grpc_close: sig(n(1)),
  proxy_grpc_cancel: sig(n(1)),
  proxy_grpc_send: sig(n(4)),
  proxy_set_tick_period_milliseconds: sig(n(1)),
  proxy_get_current_time_nanoseconds: sig(n(1)),
  proxy_define_metric: sig(n(4)),
  proxy_increment_metric: sig([I, L]),
  proxy_record_metric: sig([I, L]),
  proxy_get_metric: sig(n(2)),
  proxy_set_effective_context: sig(n(1)),
  proxy_done: sig([]),
  proxy_call_foreign_function: sig(n(6)),
  proxy_continue_stream: sig(n(1)),
  proxy_close_stream: sig(n(1)),
};

/** Registered only for ABI 0.1.0 modules. */
export const ABI_010_ONLY: readonly string[] = [
  "proxy_get_configuration", "proxy_continue_request", "proxy_continue_response", "proxy_clear_route_cache",
];

/** WASI functions Envoy registers under both "wasi_snapshot_preview1" and "wasi_unstable". */
export const WASI_IMPORTS: Readonly<Record<string, string>> = {
  fd_write: sig(n(4)),
  fd_read: sig(n(4)),
  fd_seek: sig([I, L, I, I]),
  fd_close: sig(n(1)),
  fd_fdstat_get: sig(n(2)),
  environ_get: sig(n(2)),
  environ_sizes_get: sig(n(2)),
  args_get: sig(n(2)),
  args_sizes_get: sig(n(2)),
  clock_time_get: sig([I, L, I]),
  random_get: sig(n(2)),
  proc_exit: sig(n(1), []),
  path_open: sig([I, I, I, I, I, L, L, I, I]),
  fd_prestat_get: sig(n(2)),
  fd_prestat_dir_name: sig(n(3)),
};
export const WASI_MODULES: readonly string[] = ["wasi_snapshot_preview1", "wasi_unstable"];

/** Callbacks the host looks up by name; a wrong signature is refused ("Bad function signature for"). */
export const CALLBACKS: Readonly<Record<string, string>> = {
  malloc: sig(n(1)),
  proxy_on_memory_allocate: sig(n(1)),
  proxy_on_context_create: sig(n(2), []),
  proxy_on_vm_start: sig(n(2)),
  proxy_validate_configuration: sig(n(2)),
  proxy_on_configure: sig(n(2)),
  proxy_on_tick: sig(n(1), []),
  proxy_on_new_connection: sig(n(1)),
  proxy_on_downstream_data: sig(n(3)),
  proxy_on_upstream_data: sig(n(3)),
  proxy_on_downstream_connection_close: sig(n(2), []),
  proxy_on_upstream_connection_close: sig(n(2), []),
  proxy_on_request_headers: sig(n(3)),
  proxy_on_request_body: sig(n(3)),
  proxy_on_request_trailers: sig(n(2)),
  proxy_on_request_metadata: sig(n(2)),
  proxy_on_response_headers: sig(n(3)),
  proxy_on_response_body: sig(n(3)),
  proxy_on_response_trailers: sig(n(2)),
  proxy_on_response_metadata: sig(n(2)),
  proxy_on_http_call_response: sig(n(5), []),
  proxy_on_grpc_receive_initial_metadata: sig(n(3), []),
  proxy_on_grpc_receive: sig(n(3), []),
  proxy_on_grpc_receive_trailing_metadata: sig(n(3), []),
  proxy_on_grpc_close: sig(n(3), []),
  proxy_on_queue_ready: sig(n(2), []),
  proxy_on_foreign_function: sig(n(3), []),
  proxy_on_done: sig(n(1)),
  proxy_on_log: sig(n(1), []),
  proxy_on_delete: sig(n(1), []),
  _initialize: sig([], []),
  _start: sig([], []),
  main: sig(n(2)),
  __main_void: sig([]),
};

const ABI_MARKERS = ["proxy_abi_version_0_1_0", "proxy_abi_version_0_2_0", "proxy_abi_version_0_2_1"];

interface ModuleImport {
  module: string;
  field: string;
  kind: "func" | "table" | "memory" | "global";
  sig?: string;
}
interface ModuleExport {
  field: string;
  kind: "func" | "table" | "memory" | "global";
  sig?: string;
}

const VALTYPE: Record<number, string> = { 0x7f: "i32", 0x7e: "i64", 0x7d: "f32", 0x7c: "f64", 0x7b: "v128" };

/** Reads the import and export sections with function signatures. Throws on bytes that are not wasm. */
export function readModuleInterface(bytes: Uint8Array): { imports: ModuleImport[]; exports: ModuleExport[] } {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new Error("Failed to load Wasm code: not a WebAssembly module");
  }
  let p = 8;
  const byte = (): number => {
    if (p >= bytes.length) throw new Error("Failed to load Wasm code: truncated module");
    return bytes[p++]!;
  };
  const u32 = (): number => {
    let r = 0;
    let s = 0;
    let b: number;
    do {
      b = byte();
      r += (b & 0x7f) * 2 ** s;
      s += 7;
    } while (b & 0x80);
    return r;
  };
  const name = (): string => {
    const len = u32();
    const s = new TextDecoder().decode(bytes.subarray(p, p + len));
    p += len;
    return s;
  };
  const limits = (): void => {
    const flags = u32();
    u32();
    if (flags & 1) u32();
  };
  const types: string[] = [];
  const funcs: Array<string | undefined> = [];
  const imports: ModuleImport[] = [];
  const exports: ModuleExport[] = [];
  while (p < bytes.length) {
    const id = byte();
    const size = u32();
    const end = p + size;
    if (id === 1) {
      for (let i = u32(); i > 0; i--) {
        byte(); // 0x60
        const params: string[] = [];
        for (let k = u32(); k > 0; k--) params.push(VALTYPE[byte()] ?? "?");
        const results: string[] = [];
        for (let k = u32(); k > 0; k--) results.push(VALTYPE[byte()] ?? "?");
        types.push(sig(params, results));
      }
    } else if (id === 2) {
      for (let i = u32(); i > 0; i--) {
        const module = name();
        const field = name();
        const kind = byte();
        if (kind === 0) {
          const t = types[u32()];
          imports.push({ module, field, kind: "func", sig: t });
          funcs.push(t);
        } else if (kind === 1) {
          byte();
          limits();
          imports.push({ module, field, kind: "table" });
        } else if (kind === 2) {
          limits();
          imports.push({ module, field, kind: "memory" });
        } else {
          p += 2;
          imports.push({ module, field, kind: "global" });
        }
      }
    } else if (id === 3) {
      for (let i = u32(); i > 0; i--) funcs.push(types[u32()]);
    } else if (id === 7) {
      for (let i = u32(); i > 0; i--) {
        const field = name();
        const kind = byte();
        const index = u32();
        const k = (["func", "table", "memory", "global"] as const)[kind] ?? "global";
        exports.push({ field, kind: k, sig: kind === 0 ? funcs[index] : undefined });
      }
    }
    p = end;
  }
  return { imports, exports };
}

/**
 * Refuses what Envoy refuses, with Envoy's wording. Returns the allocator export to use.
 */
export function checkModule(bytes: Uint8Array): { allocator: "malloc" | "proxy_on_memory_allocate" } {
  const { imports, exports } = readModuleInterface(bytes);
  const exported = new Map(exports.map((e) => [e.field, e]));
  const marker = ABI_MARKERS.find((m) => exported.get(m)?.kind === "func");
  if (marker !== "proxy_abi_version_0_2_1") {
    // 0.1.0 and 0.2.0 modules exist, but this host (like the filter) speaks 0.2.1 only.
    throw new Error(
      marker ? `Unsupported Proxy-Wasm ABI version: ${marker} (this host runs 0.2.1 modules)` : "Missing or unknown Proxy-Wasm ABI version",
    );
  }
  for (const imp of imports) {
    const where = `${imp.module}.${imp.field}`;
    let want: string | undefined;
    if (imp.kind === "func") {
      if (imp.module === "env" && !ABI_010_ONLY.includes(imp.field)) want = ENV_IMPORTS[imp.field];
      else if (WASI_MODULES.includes(imp.module)) want = WASI_IMPORTS[imp.field];
    }
    if (want === undefined) throw new Error(`Failed to load Wasm module due to a missing import: ${where}`);
    if (want !== imp.sig) {
      throw new Error(`Failed to load Wasm module due to an import type mismatch for ${where}, want: ${imp.sig}, but host exports: ${want}`);
    }
  }
  for (const e of exports) {
    const want = CALLBACKS[e.field];
    if (want !== undefined && e.kind === "func" && e.sig !== want) {
      throw new Error(`Bad function signature for: ${e.field}`);
    }
  }
  if (exported.get("memory")?.kind !== "memory") throw new Error("Wasm module is missing the exported memory");
  if (exported.get("malloc")?.kind === "func") return { allocator: "malloc" };
  if (exported.get("proxy_on_memory_allocate")?.kind === "func") return { allocator: "proxy_on_memory_allocate" };
  throw new Error("Wasm module is missing malloc function");
}
