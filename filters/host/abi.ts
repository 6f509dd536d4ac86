// The proxy-wasm ABI 0.2.1 as Envoy (proxy-wasm-cpp-host) implements it: numeric codes, and the
// exact list of functions Envoy links into a module. A module importing anything else fails to
// load in Envoy, so the test host refuses it too, naming the import.

export const WasmResult = {
  Ok: 0,
  NotFound: 1,
  BadArgument: 2,
  SerializationFailure: 3,
  ParseFailure: 4,
  InvalidMemoryAccess: 6,
  Empty: 7,
  CasMismatch: 8,
  InternalFailure: 10,
  Unimplemented: 12,
} as const;

export const MapType = {
  RequestHeaders: 0,
  RequestTrailers: 1,
  ResponseHeaders: 2,
  ResponseTrailers: 3,
  GrpcReceiveInitialMetadata: 4,
  GrpcReceiveTrailingMetadata: 5,
  HttpCallResponseHeaders: 6,
  HttpCallResponseTrailers: 7,
} as const;

export const BufferType = {
  HttpRequestBody: 0,
  HttpResponseBody: 1,
  DownstreamData: 2,
  UpstreamData: 3,
  HttpCallResponseBody: 4,
  GrpcReceiveBuffer: 5,
  VmConfiguration: 6,
  PluginConfiguration: 7,
  CallData: 8,
} as const;

export const MetricType = { Counter: 0, Gauge: 1, Histogram: 2 } as const;
export type MetricKind = 'counter' | 'gauge' | 'histogram';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'critical'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

/** What a headers callback returned, by name (FilterHeadersStatus). */
export const HEADERS_STATUS = [
  'Continue',
  'StopIteration',
  'ContinueAndEndStream',
  'StopAllIterationAndBuffer',
  'StopAllIterationAndWatermark',
] as const;
export type HeadersStatus = (typeof HEADERS_STATUS)[number];

/** What a body callback returned, by name (FilterDataStatus). */
export const DATA_STATUS = [
  'Continue',
  'StopIterationAndBuffer',
  'StopIterationAndWatermark',
  'StopIterationNoBuffer',
] as const;
export type DataStatus = (typeof DATA_STATUS)[number];

export const TRAILERS_STATUS = ['Continue', 'StopIteration'] as const;
export type TrailersStatus = (typeof TRAILERS_STATUS)[number];

/** The "env" functions Envoy provides (FOR_ALL_HOST_FUNCTIONS and the ABI-specific ones). */
export const ENVOY_ENV_FUNCTIONS: ReadonlySet<string> = new Set([
  'proxy_log',
  'proxy_get_status',
  'proxy_set_property',
  'proxy_get_property',
  'proxy_send_local_response',
  'proxy_get_shared_data',
  'proxy_set_shared_data',
  'proxy_register_shared_queue',
  'proxy_resolve_shared_queue',
  'proxy_dequeue_shared_queue',
  'proxy_enqueue_shared_queue',
  'proxy_get_header_map_value',
  'proxy_add_header_map_value',
  'proxy_replace_header_map_value',
  'proxy_remove_header_map_value',
  'proxy_get_header_map_pairs',
  'proxy_set_header_map_pairs',
  'proxy_get_header_map_size',
  'proxy_get_buffer_status',
  'proxy_get_buffer_bytes',
  'proxy_set_buffer_bytes',
  'proxy_http_call',
  'proxy_grpc_call',
  'proxy_grpc_stream',
  'proxy_grpc_close',
  'proxy_grpc_cancel',
  'proxy_grpc_send',
  'proxy_set_tick_period_milliseconds',
  'proxy_get_current_time_nanoseconds',
  'proxy_define_metric',
  'proxy_increment_metric',
  'proxy_record_metric',
  'proxy_get_metric',
  'proxy_set_effective_context',
  'proxy_done',
  'proxy_call_foreign_function',
  'proxy_get_configuration',
  'proxy_continue_request',
  'proxy_continue_response',
  'proxy_clear_route_cache',
  'proxy_continue_stream',
  'proxy_close_stream',
  'proxy_get_log_level',
  'emscripten_notify_memory_growth',
  'pthread_equal',
]);

/** The WASI functions Envoy provides (FOR_ALL_WASI_FUNCTIONS), under both WASI module names. */
export const ENVOY_WASI_FUNCTIONS: ReadonlySet<string> = new Set([
  'fd_write',
  'fd_read',
  'fd_seek',
  'fd_close',
  'fd_fdstat_get',
  'environ_get',
  'environ_sizes_get',
  'args_get',
  'args_sizes_get',
  'clock_time_get',
  'random_get',
  'proc_exit',
  'path_open',
  'fd_prestat_get',
  'fd_prestat_dir_name',
]);

const WASI_MODULES = new Set(['wasi_snapshot_preview1', 'wasi_unstable']);

/** Why a well-known import appears, and how to get rid of it. */
const IMPORT_HINTS: Record<string, string> = {
  'env.abort': 'AssemblyScript: build with --use abort=legateAbort (the legate CLI does)',
  'env.seed': 'AssemblyScript Math.random needs a seed import: avoid Math.random',
  'env.Date.now': 'use getCurrentTimeNanoseconds() from the SDK instead of Date.now()',
  'env.trace': 'AssemblyScript trace(): use logDebug() from the SDK',
  'env.console.log': 'use logInfo() from the SDK instead of console.log',
};

export type ModuleImport = { module: string; name: string; kind: string };

/** The imports Envoy would not satisfy; empty when the module can load in Envoy. */
export function unsupportedImports(imports: readonly ModuleImport[]): ModuleImport[] {
  return imports.filter((i) => {
    if (i.kind !== 'function') return !(i.module === 'env' && i.name === 'memory');
    if (i.module === 'env') return !ENVOY_ENV_FUNCTIONS.has(i.name);
    if (WASI_MODULES.has(i.module)) return !ENVOY_WASI_FUNCTIONS.has(i.name);
    return true;
  });
}

export function describeUnsupportedImport(i: ModuleImport): string {
  const key = `${i.module}.${i.name}`;
  const hint = IMPORT_HINTS[key];
  return `${key} (${i.kind})${hint ? `: ${hint}` : ''}`;
}
