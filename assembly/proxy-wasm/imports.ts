// Host functions Envoy registers for ABI 0.2.1 (module "env"), with Envoy's exact signatures
// (proxy-wasm-cpp-host include/proxy-wasm/exports.h). Pointers and sizes are u32 in wasm32; every call
// returns a WasmResult as i32. AssemblyScript imports only what a module actually calls.
// The 0.1.0-only calls (proxy_get_configuration, proxy_continue_request/response, proxy_clear_route_cache)
// are deliberately absent: Envoy refuses a 0.2.1 module that imports one.

// Logging, time, status
@external("env", "proxy_log")
export declare function proxy_log(level: i32, messagePtr: usize, messageSize: usize): i32;
@external("env", "proxy_get_log_level")
export declare function proxy_get_log_level(levelOut: usize): i32;
@external("env", "proxy_get_current_time_nanoseconds")
export declare function proxy_get_current_time_nanoseconds(timeOut: usize): i32;
@external("env", "proxy_set_tick_period_milliseconds")
export declare function proxy_set_tick_period_milliseconds(periodMs: u32): i32;
@external("env", "proxy_get_status")
export declare function proxy_get_status(codeOut: usize, messagePtrOut: usize, messageSizeOut: usize): i32;

// Properties
@external("env", "proxy_get_property")
export declare function proxy_get_property(pathPtr: usize, pathSize: usize, valuePtrOut: usize, valueSizeOut: usize): i32;
@external("env", "proxy_set_property")
export declare function proxy_set_property(pathPtr: usize, pathSize: usize, valuePtr: usize, valueSize: usize): i32;

// Header maps
@external("env", "proxy_get_header_map_value")
export declare function proxy_get_header_map_value(map: i32, keyPtr: usize, keySize: usize, valuePtrOut: usize, valueSizeOut: usize): i32;
@external("env", "proxy_add_header_map_value")
export declare function proxy_add_header_map_value(map: i32, keyPtr: usize, keySize: usize, valuePtr: usize, valueSize: usize): i32;
@external("env", "proxy_replace_header_map_value")
export declare function proxy_replace_header_map_value(map: i32, keyPtr: usize, keySize: usize, valuePtr: usize, valueSize: usize): i32;
@external("env", "proxy_remove_header_map_value")
export declare function proxy_remove_header_map_value(map: i32, keyPtr: usize, keySize: usize): i32;
@external("env", "proxy_get_header_map_pairs")
export declare function proxy_get_header_map_pairs(map: i32, pairsPtrOut: usize, pairsSizeOut: usize): i32;
@external("env", "proxy_set_header_map_pairs")
export declare function proxy_set_header_map_pairs(map: i32, pairsPtr: usize, pairsSize: usize): i32;
@external("env", "proxy_get_header_map_size")
export declare function proxy_get_header_map_size(map: i32, sizeOut: usize): i32;

// Buffers
@external("env", "proxy_get_buffer_bytes")
export declare function proxy_get_buffer_bytes(buffer: i32, start: u32, maxSize: u32, dataPtrOut: usize, dataSizeOut: usize): i32;
@external("env", "proxy_get_buffer_status")
export declare function proxy_get_buffer_status(buffer: i32, lengthOut: usize, flagsOut: usize): i32;
@external("env", "proxy_set_buffer_bytes")
export declare function proxy_set_buffer_bytes(buffer: i32, start: u32, length: u32, dataPtr: usize, dataSize: usize): i32;

// Stream control
@external("env", "proxy_continue_stream")
export declare function proxy_continue_stream(stream: i32): i32;
@external("env", "proxy_close_stream")
export declare function proxy_close_stream(stream: i32): i32;
@external("env", "proxy_send_local_response")
export declare function proxy_send_local_response(
  statusCode: u32, detailsPtr: usize, detailsSize: usize, bodyPtr: usize, bodySize: usize,
  headerPairsPtr: usize, headerPairsSize: usize, grpcStatus: i32): i32;

// Outbound calls
@external("env", "proxy_http_call")
export declare function proxy_http_call(
  upstreamPtr: usize, upstreamSize: usize, headerPairsPtr: usize, headerPairsSize: usize,
  bodyPtr: usize, bodySize: usize, trailerPairsPtr: usize, trailerPairsSize: usize,
  timeoutMs: u32, tokenOut: usize): i32;
@external("env", "proxy_grpc_call")
export declare function proxy_grpc_call(
  servicePtr: usize, serviceSize: usize, serviceNamePtr: usize, serviceNameSize: usize,
  methodPtr: usize, methodSize: usize, initialMetadataPtr: usize, initialMetadataSize: usize,
  messagePtr: usize, messageSize: usize, timeoutMs: u32, tokenOut: usize): i32;
@external("env", "proxy_grpc_stream")
export declare function proxy_grpc_stream(
  servicePtr: usize, serviceSize: usize, serviceNamePtr: usize, serviceNameSize: usize,
  methodPtr: usize, methodSize: usize, initialMetadataPtr: usize, initialMetadataSize: usize,
  tokenOut: usize): i32;
@external("env", "proxy_grpc_send")
export declare function proxy_grpc_send(token: u32, messagePtr: usize, messageSize: usize, endOfStream: u32): i32;
@external("env", "proxy_grpc_close")
export declare function proxy_grpc_close(token: u32): i32;
@external("env", "proxy_grpc_cancel")
export declare function proxy_grpc_cancel(token: u32): i32;

// Shared data and queues
@external("env", "proxy_get_shared_data")
export declare function proxy_get_shared_data(keyPtr: usize, keySize: usize, valuePtrOut: usize, valueSizeOut: usize, casOut: usize): i32;
@external("env", "proxy_set_shared_data")
export declare function proxy_set_shared_data(keyPtr: usize, keySize: usize, valuePtr: usize, valueSize: usize, cas: u32): i32;
@external("env", "proxy_register_shared_queue")
export declare function proxy_register_shared_queue(namePtr: usize, nameSize: usize, tokenOut: usize): i32;
@external("env", "proxy_resolve_shared_queue")
export declare function proxy_resolve_shared_queue(vmIdPtr: usize, vmIdSize: usize, namePtr: usize, nameSize: usize, tokenOut: usize): i32;
@external("env", "proxy_enqueue_shared_queue")
export declare function proxy_enqueue_shared_queue(token: u32, dataPtr: usize, dataSize: usize): i32;
@external("env", "proxy_dequeue_shared_queue")
export declare function proxy_dequeue_shared_queue(token: u32, dataPtrOut: usize, dataSizeOut: usize): i32;

// Metrics
@external("env", "proxy_define_metric")
export declare function proxy_define_metric(type: i32, namePtr: usize, nameSize: usize, idOut: usize): i32;
@external("env", "proxy_increment_metric")
export declare function proxy_increment_metric(id: u32, delta: i64): i32;
@external("env", "proxy_record_metric")
export declare function proxy_record_metric(id: u32, value: u64): i32;
@external("env", "proxy_get_metric")
export declare function proxy_get_metric(id: u32, valueOut: usize): i32;

// Contexts and foreign functions
@external("env", "proxy_set_effective_context")
export declare function proxy_set_effective_context(contextId: u32): i32;
@external("env", "proxy_done")
export declare function proxy_done(): i32;
@external("env", "proxy_call_foreign_function")
export declare function proxy_call_foreign_function(
  namePtr: usize, nameSize: usize, argsPtr: usize, argsSize: usize, resultsPtrOut: usize, resultsSizeOut: usize): i32;
