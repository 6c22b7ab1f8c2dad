// What Envoy (proxy-wasm-cpp-host) registers for an ABI 0.2.1 module and which exports it looks up,
// with their exact signatures. The import list matches ../shared/tools/wasm-abi-check.mjs.

const sig = (params: string[], results: string[] = ["i32"]) => `(${params.join(",")})->(${results.join(",")})`;
const i32s = (n: number) => Array<string>(n).fill("i32");

/** env.proxy_* host functions for ABI 0.2.1. */
export const ENV_IMPORTS: Readonly<Record<string, string>> = {
  proxy_log: sig(i32s(3)),
  proxy_get_log_level: sig(i32s(1)),
  proxy_get_status: sig(i32s(3)),
  proxy_set_property: sig(i32s(4)),
  proxy_get_property: sig(i32s(4)),
  proxy_send_local_response: sig(i32s(8)),
  proxy_get_shared_data: sig(i32s(5)),
  proxy_set_shared_data: sig(i32s(5)),
  proxy_register_shared_queue: sig(i32s(3)),
  proxy_resolve_shared_queue: sig(i32s(5)),
  proxy_dequeue_shared_queue: sig(i32s(3)),
  proxy_enqueue_shared_queue: sig(i32s(3)),
  proxy_get_header_map_value: sig(i32s(5)),
  proxy_add_header_map_value: sig(i32s(5)),
  proxy_replace_header_map_value: sig(i32s(5)),
  proxy_remove_header_map_value: sig(i32s(3)),
  proxy_get_header_map_pairs: sig(i32s(3)),
  proxy_set_header_map_pairs: sig(i32s(3)),
  proxy_get_header_map_size: sig(i32s(2)),
  proxy_get_buffer_status: sig(i32s(3)),
  proxy_get_buffer_bytes: sig(i32s(5)),
  proxy_set_buffer_bytes: sig(i32s(5)),
  proxy_http_call: sig(i32s(10)),
  proxy_grpc_call: sig(i32s(12)),
  proxy_grpc_stream: sig(i32s(9)),
  proxy_grpc_close: sig(i32s(1)),
  proxy_grpc_cancel: sig(i32s(1)),
  proxy_grpc_send: sig(i32s(4)),
  proxy_set_tick_period_milliseconds: sig(i32s(1)),
  proxy_get_current_time_nanoseconds: sig(i32s(1)),
  proxy_define_metric: sig(i32s(4)),
  proxy_increment_metric: sig(["i32", "i64"]),
  proxy_record_metric: sig(["i32", "i64"]),
  proxy_get_metric: sig(i32s(2)),
  proxy_set_effective_context: sig(i32s(1)),
  proxy_done: sig([]),
  proxy_call_foreign_function: sig(i32s(6)),
  proxy_continue_stream: sig(i32s(1)),
  proxy_close_stream: sig(i32s(1)),
};

/** Registered only for ABI 0.1.0 modules: a 0.2.1 module importing one of them fails to link. */
export const ABI_010_ONLY_IMPORTS: readonly string[] = [
  "proxy_get_configuration",
  "proxy_continue_request",
  "proxy_continue_response",
  "proxy_clear_route_cache",
];

/** WASI functions, registered under both wasi_snapshot_preview1 and wasi_unstable. */
export const WASI_IMPORTS: Readonly<Record<string, string>> = {
  fd_write: sig(i32s(4)),
  fd_read: sig(i32s(4)),
  fd_seek: sig(["i32", "i64", "i32", "i32"]),
  fd_close: sig(i32s(1)),
  fd_fdstat_get: sig(i32s(2)),
  environ_get: sig(i32s(2)),
  environ_sizes_get: sig(i32s(2)),
  args_get: sig(i32s(2)),
  args_sizes_get: sig(i32s(2)),
  clock_time_get: sig(["i32", "i64", "i32"]),
  random_get: sig(i32s(2)),
  proc_exit: sig(i32s(1), []),
  path_open: sig(["i32", "i32", "i32", "i32", "i32", "i64", "i64", "i32", "i32"]),
  fd_prestat_get: sig(i32s(2)),
  fd_prestat_dir_name: sig(i32s(3)),
};
export const WASI_MODULES: readonly string[] = ["wasi_snapshot_preview1", "wasi_unstable"];

/** The signature Envoy links for module.name, or undefined when it registers no such function. */
export function hostImportSignature(module: string, name: string): string | undefined {
  if (module === "env") return Object.hasOwn(ENV_IMPORTS, name) ? ENV_IMPORTS[name] : undefined;
  if (WASI_MODULES.includes(module)) return Object.hasOwn(WASI_IMPORTS, name) ? WASI_IMPORTS[name] : undefined;
  return undefined;
}

/** Exports Envoy looks up by name; a different signature fails the load ("Bad function signature"). */
export const CALLBACK_SIGNATURES: Readonly<Record<string, string>> = {
  malloc: sig(i32s(1)),
  proxy_on_memory_allocate: sig(i32s(1)),
  _initialize: sig([], []),
  _start: sig([], []),
  main: sig(i32s(2)),
  proxy_on_context_create: sig(i32s(2), []),
  proxy_on_vm_start: sig(i32s(2)),
  proxy_validate_configuration: sig(i32s(2)),
  proxy_on_configure: sig(i32s(2)),
  proxy_on_tick: sig(i32s(1), []),
  proxy_on_new_connection: sig(i32s(1)),
  proxy_on_downstream_data: sig(i32s(3)),
  proxy_on_upstream_data: sig(i32s(3)),
  proxy_on_downstream_connection_close: sig(i32s(2), []),
  proxy_on_upstream_connection_close: sig(i32s(2), []),
  proxy_on_request_headers: sig(i32s(3)),
  proxy_on_request_body: sig(i32s(3)),
  proxy_on_request_trailers: sig(i32s(2)),
  proxy_on_request_metadata: sig(i32s(2)),
  proxy_on_response_headers: sig(i32s(3)),
  proxy_on_response_body: sig(i32s(3)),
  proxy_on_response_trailers: sig(i32s(2)),
  proxy_on_response_metadata: sig(i32s(2)),
  proxy_on_http_call_response: sig(i32s(5), []),
  proxy_on_grpc_receive_initial_metadata: sig(i32s(3), []),
  proxy_on_grpc_receive: sig(i32s(3), []),
  proxy_on_grpc_receive_trailing_metadata: sig(i32s(3), []),
  proxy_on_grpc_close: sig(i32s(3), []),
  proxy_on_queue_ready: sig(i32s(2), []),
  proxy_on_foreign_function: sig(i32s(3), []),
  proxy_on_done: sig(i32s(1)),
  proxy_on_log: sig(i32s(1), []),
  proxy_on_delete: sig(i32s(1), []),
};
