// Enumerations of proxy-wasm ABI 0.2.1 with the values Envoy uses (proxy-wasm-cpp-sdk proxy_wasm_common.h,
// proxy_wasm_enums.h). Each is an i32 enum so it crosses the ABI unchanged.

/** Result of every host call. */
export enum WasmResult {
  Ok = 0,
  NotFound = 1,
  BadArgument = 2,
  SerializationFailure = 3,
  ParseFailure = 4,
  BadExpression = 5,
  InvalidMemoryAccess = 6,
  Empty = 7,
  CasMismatch = 8,
  ResultMismatch = 9,
  InternalFailure = 10,
  BrokenConnection = 11,
  Unimplemented = 12,
}

export enum LogLevel {
  Trace = 0,
  Debug = 1,
  Info = 2,
  Warn = 3,
  Error = 4,
  Critical = 5,
}

export enum BufferType {
  HttpRequestBody = 0,
  HttpResponseBody = 1,
  NetworkDownstreamData = 2,
  NetworkUpstreamData = 3,
  HttpCallResponseBody = 4,
  GrpcReceiveBuffer = 5,
  VmConfiguration = 6,
  PluginConfiguration = 7,
  /** Arguments of a foreign function call delivered to proxy_on_foreign_function. */
  CallData = 8,
}

export enum MapType {
  HttpRequestHeaders = 0,
  HttpRequestTrailers = 1,
  HttpResponseHeaders = 2,
  HttpResponseTrailers = 3,
  GrpcReceiveInitialMetadata = 4,
  GrpcReceiveTrailingMetadata = 5,
  HttpCallResponseHeaders = 6,
  HttpCallResponseTrailers = 7,
}

export enum StreamType {
  Request = 0,
  Response = 1,
  Downstream = 2,
  Upstream = 3,
}

export enum MetricType {
  Counter = 0,
  Gauge = 1,
  Histogram = 2,
}

export enum FilterHeadersStatus {
  Continue = 0,
  /** Envoy turns this into StopAllIterationAndWatermark unless allow_on_headers_stop_iteration is set. */
  StopIteration = 1,
  ContinueAndEndStream = 2,
  StopAllIterationAndBuffer = 3,
  StopAllIterationAndWatermark = 4,
}

export enum FilterDataStatus {
  Continue = 0,
  StopIterationAndBuffer = 1,
  StopIterationAndWatermark = 2,
  StopIterationNoBuffer = 3,
}

export enum FilterTrailersStatus {
  Continue = 0,
  StopIteration = 1,
}

export enum FilterMetadataStatus {
  Continue = 0,
}

/** Return value of the TCP (network filter) callbacks. */
export enum FilterStatus {
  Continue = 0,
  StopIteration = 1,
}

export enum CloseType {
  Unknown = 0,
  Local = 1,
  Remote = 2,
}

/** Which side closed a TCP connection (same values as CloseType). */
export enum PeerType {
  Unknown = 0,
  Local = 1,
  Remote = 2,
}

export enum GrpcStatus {
  Ok = 0,
  Canceled = 1,
  Unknown = 2,
  InvalidArgument = 3,
  DeadlineExceeded = 4,
  NotFound = 5,
  AlreadyExists = 6,
  PermissionDenied = 7,
  ResourceExhausted = 8,
  FailedPrecondition = 9,
  Aborted = 10,
  OutOfRange = 11,
  Unimplemented = 12,
  Internal = 13,
  Unavailable = 14,
  DataLoss = 15,
  Unauthenticated = 16,
  /** Passed to sendLocalResponse: no grpc-status header. */
  InvalidCode = -1,
}

/** What a root context's stream contexts are: chosen once per root context. */
export enum ContextType {
  Http = 0,
  Stream = 1,
}
