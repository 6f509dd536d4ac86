// The host functions of the proxy-wasm ABI 0.2.1, exactly as Envoy (proxy-wasm-cpp-host) exports them
// in the "env" module. Every function returns a WasmResult unless noted. Filter authors use the typed
// wrappers in host.ts; this file is the one place that names raw imports, so the import list of a
// module can never contain anything Envoy does not provide.

// @ts-expect-error: decorator
@external("env", "proxy_log")
export declare function proxy_log(level: u32, message: usize, size: usize): u32;
// @ts-expect-error: decorator
@external("env", "proxy_get_log_level")
export declare function proxy_get_log_level(returnLevel: usize): u32;
// @ts-expect-error: decorator
@external("env", "proxy_get_current_time_nanoseconds")
export declare function proxy_get_current_time_nanoseconds(returnTime: usize): u32;
// @ts-expect-error: decorator
@external("env", "proxy_set_tick_period_milliseconds")
export declare function proxy_set_tick_period_milliseconds(period: u32): u32;
// @ts-expect-error: decorator
@external("env", "proxy_get_property")
export declare function proxy_get_property(path: usize, pathSize: usize, returnData: usize, returnSize: usize): u32;
// @ts-expect-error: decorator
@external("env", "proxy_set_property")
export declare function proxy_set_property(path: usize, pathSize: usize, data: usize, size: usize): u32;
// @ts-expect-error: decorator
@external("env", "proxy_continue_stream")
export declare function proxy_continue_stream(streamType: u32): u32;
// @ts-expect-error: decorator
@external("env", "proxy_close_stream")
export declare function proxy_close_stream(streamType: u32): u32;
// @ts-expect-error: decorator
@external("env", "proxy_send_local_response")
export declare function proxy_send_local_response(
  statusCode: u32,
  details: usize,
  detailsSize: usize,
  body: usize,
  bodySize: usize,
  headers: usize,
  headersSize: usize,
  grpcStatus: i32,
): u32;
// @ts-expect-error: decorator
@external("env", "proxy_get_shared_data")
export declare function proxy_get_shared_data(
  key: usize,
  keySize: usize,
  returnValue: usize,
  returnSize: usize,
  returnCas: usize,
): u32;
// @ts-expect-error: decorator
@external("env", "proxy_set_shared_data")
export declare function proxy_set_shared_data(key: usize, keySize: usize, value: usize, size: usize, cas: u32): u32;
// @ts-expect-error: decorator
@external("env", "proxy_register_shared_queue")
export declare function proxy_register_shared_queue(name: usize, nameSize: usize, returnToken: usize): u32;
// @ts-expect-error: decorator
@external("env", "proxy_resolve_shared_queue")
export declare function proxy_resolve_shared_queue(
  vmId: usize,
  vmIdSize: usize,
  name: usize,
  nameSize: usize,
  returnToken: usize,
): u32;
// @ts-expect-error: decorator
@external("env", "proxy_dequeue_shared_queue")
export declare function proxy_dequeue_shared_queue(token: u32, returnData: usize, returnSize: usize): u32;
// @ts-expect-error: decorator
@external("env", "proxy_enqueue_shared_queue")
export declare function proxy_enqueue_shared_queue(token: u32, data: usize, size: usize): u32;
// @ts-expect-error: decorator
@external("env", "proxy_get_header_map_value")
export declare function proxy_get_header_map_value(
  mapType: u32,
  key: usize,
  keySize: usize,
  returnValue: usize,
  returnSize: usize,
): u32;
// @ts-expect-error: decorator
@external("env", "proxy_add_header_map_value")
export declare function proxy_add_header_map_value(
  mapType: u32,
  key: usize,
  keySize: usize,
  value: usize,
  valueSize: usize,
): u32;
// @ts-expect-error: decorator
@external("env", "proxy_replace_header_map_value")
export declare function proxy_replace_header_map_value(
  mapType: u32,
  key: usize,
  keySize: usize,
  value: usize,
  valueSize: usize,
): u32;
// @ts-expect-error: decorator
@external("env", "proxy_remove_header_map_value")
export declare function proxy_remove_header_map_value(mapType: u32, key: usize, keySize: usize): u32;
// @ts-expect-error: decorator
@external("env", "proxy_get_header_map_pairs")
export declare function proxy_get_header_map_pairs(mapType: u32, returnData: usize, returnSize: usize): u32;
// @ts-expect-error: decorator
@external("env", "proxy_set_header_map_pairs")
export declare function proxy_set_header_map_pairs(mapType: u32, data: usize, size: usize): u32;
// @ts-expect-error: decorator
@external("env", "proxy_get_header_map_size")
export declare function proxy_get_header_map_size(mapType: u32, returnSize: usize): u32;
// @ts-expect-error: decorator
@external("env", "proxy_get_buffer_bytes")
export declare function proxy_get_buffer_bytes(
  bufferType: u32,
  start: u32,
  maxSize: u32,
  returnData: usize,
  returnSize: usize,
): u32;
// @ts-expect-error: decorator
@external("env", "proxy_get_buffer_status")
export declare function proxy_get_buffer_status(bufferType: u32, returnLength: usize, returnFlags: usize): u32;
// @ts-expect-error: decorator
@external("env", "proxy_set_buffer_bytes")
export declare function proxy_set_buffer_bytes(bufferType: u32, start: u32, size: u32, data: usize, dataSize: usize): u32;
// @ts-expect-error: decorator
@external("env", "proxy_http_call")
export declare function proxy_http_call(
  upstream: usize,
  upstreamSize: usize,
  headers: usize,
  headersSize: usize,
  body: usize,
  bodySize: usize,
  trailers: usize,
  trailersSize: usize,
  timeoutMilliseconds: u32,
  returnToken: usize,
): u32;
// @ts-expect-error: decorator
@external("env", "proxy_define_metric")
export declare function proxy_define_metric(metricType: u32, name: usize, nameSize: usize, returnId: usize): u32;
// @ts-expect-error: decorator
@external("env", "proxy_increment_metric")
export declare function proxy_increment_metric(metricId: u32, offset: i64): u32;
// @ts-expect-error: decorator
@external("env", "proxy_record_metric")
export declare function proxy_record_metric(metricId: u32, value: u64): u32;
// @ts-expect-error: decorator
@external("env", "proxy_get_metric")
export declare function proxy_get_metric(metricId: u32, returnValue: usize): u32;
// @ts-expect-error: decorator
@external("env", "proxy_set_effective_context")
export declare function proxy_set_effective_context(contextId: u32): u32;
// @ts-expect-error: decorator
@external("env", "proxy_done")
export declare function proxy_done(): u32;
// @ts-expect-error: decorator
@external("env", "proxy_call_foreign_function")
export declare function proxy_call_foreign_function(
  name: usize,
  nameSize: usize,
  args: usize,
  argsSize: usize,
  returnData: usize,
  returnSize: usize,
): u32;

// WASI (snapshot preview 1): Envoy links a subset of WASI for every proxy-wasm module
// (proxy-wasm-cpp-host's FOR_ALL_WASI_FUNCTIONS); random_get reads the host's CSPRNG.
// @ts-expect-error: decorator
@external("wasi_snapshot_preview1", "random_get")
export declare function wasi_random_get(buf: usize, len: usize): u16;
