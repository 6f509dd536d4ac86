// Typed wrappers over the host functions: what filter code calls. All of them act on the current
// (effective) context, as in Envoy: inside a callback that is the context the callback belongs to.
import * as abi from './imports';
import {
  HeaderPair,
  RETURN_DATA,
  RETURN_EXTRA,
  RETURN_SIZE,
  resetReturn,
  serializeHeaders,
  takeReturnedBytes,
  takeReturnedHeaders,
  takeReturnedString,
  utf8,
} from './memory';
import { BufferType, GrpcStatus, LogLevel, MapType, MetricType, StreamType, WasmResult } from './types';

// ---------------------------------------------------------------- logging

export function log(level: LogLevel, message: string): void {
  const m = utf8(message);
  abi.proxy_log(level, changetype<usize>(m), m.byteLength);
}
export function logTrace(message: string): void {
  log(LogLevel.Trace, message);
}
export function logDebug(message: string): void {
  log(LogLevel.Debug, message);
}
export function logInfo(message: string): void {
  log(LogLevel.Info, message);
}
export function logWarn(message: string): void {
  log(LogLevel.Warn, message);
}
export function logError(message: string): void {
  log(LogLevel.Error, message);
}
export function logCritical(message: string): void {
  log(LogLevel.Critical, message);
}

/** The host's current log level: skip building expensive messages below it. */
export function getLogLevel(): LogLevel {
  store<u32>(RETURN_DATA, <u32>LogLevel.Info);
  abi.proxy_get_log_level(RETURN_DATA);
  return <LogLevel>load<u32>(RETURN_DATA);
}

// ---------------------------------------------------------------- time

/** Wall-clock time in nanoseconds since the Unix epoch (the host's clock; tests control it). */
export function getCurrentTimeNanoseconds(): u64 {
  store<u64>(RETURN_DATA, 0);
  abi.proxy_get_current_time_nanoseconds(RETURN_DATA);
  return load<u64>(RETURN_DATA);
}

/** Same, in whole milliseconds. */
export function nowMilliseconds(): u64 {
  return getCurrentTimeNanoseconds() / 1_000_000;
}

// ---------------------------------------------------------------- properties

/** Property paths cross the ABI as their segments joined by NUL bytes. */
function propertyPath(path: string[]): ArrayBuffer {
  let joined = path.length > 0 ? path[0] : '';
  for (let i = 1; i < path.length; i++) joined += '\0' + path[i];
  return utf8(joined);
}

/** A property such as ["request", "path"] or ["source", "address"]; null when the host has none. */
export function getProperty(path: string[]): ArrayBuffer | null {
  const p = propertyPath(path);
  resetReturn();
  const r = abi.proxy_get_property(changetype<usize>(p), p.byteLength, RETURN_DATA, RETURN_SIZE);
  if (r != WasmResult.Ok) return null;
  return takeReturnedBytes();
}

/** A property decoded as UTF-8 text (string-valued properties such as request.path, plugin_name). */
export function getPropertyString(path: string[]): string | null {
  const p = propertyPath(path);
  resetReturn();
  const r = abi.proxy_get_property(changetype<usize>(p), p.byteLength, RETURN_DATA, RETURN_SIZE);
  if (r != WasmResult.Ok) return null;
  return takeReturnedString();
}

/** An integer property (request.size, response.code, …): Envoy encodes them as 8 little-endian bytes. */
export function getPropertyInt(path: string[]): i64 {
  const bytes = getProperty(path);
  if (bytes == null || bytes.byteLength < 8) return -1;
  return load<i64>(changetype<usize>(bytes));
}

export function setProperty(path: string[], value: string): WasmResult {
  const p = propertyPath(path);
  const v = utf8(value);
  return <WasmResult>abi.proxy_set_property(changetype<usize>(p), p.byteLength, changetype<usize>(v), v.byteLength);
}

// ---------------------------------------------------------------- headers and trailers

/** One of the host's header maps (request/response headers or trailers, or an httpCall response). */
export class HeaderMap {
  constructor(public readonly type: MapType) {}

  /** The value of a header (names are case-insensitive; Envoy stores them lower-case), or null. */
  get(name: string): string | null {
    const k = utf8(name);
    resetReturn();
    const r = abi.proxy_get_header_map_value(this.type, changetype<usize>(k), k.byteLength, RETURN_DATA, RETURN_SIZE);
    if (r != WasmResult.Ok) return null;
    return takeReturnedString();
  }

  has(name: string): bool {
    return this.get(name) != null;
  }

  /** Adds a value; an existing header of that name keeps its values. */
  add(name: string, value: string): WasmResult {
    const k = utf8(name);
    const v = utf8(value);
    return <WasmResult>(
      abi.proxy_add_header_map_value(this.type, changetype<usize>(k), k.byteLength, changetype<usize>(v), v.byteLength)
    );
  }

  /** Sets a header to exactly this value (adds it when absent). */
  replace(name: string, value: string): WasmResult {
    const k = utf8(name);
    const v = utf8(value);
    return <WasmResult>(
      abi.proxy_replace_header_map_value(
        this.type,
        changetype<usize>(k),
        k.byteLength,
        changetype<usize>(v),
        v.byteLength,
      )
    );
  }

  /** Same as replace: the name filter authors from other SDKs look for. */
  set(name: string, value: string): WasmResult {
    return this.replace(name, value);
  }

  remove(name: string): WasmResult {
    const k = utf8(name);
    return <WasmResult>abi.proxy_remove_header_map_value(this.type, changetype<usize>(k), k.byteLength);
  }

  /** Every header in order, pseudo-headers (":path", ":method", …) included. */
  pairs(): HeaderPair[] {
    resetReturn();
    const r = abi.proxy_get_header_map_pairs(this.type, RETURN_DATA, RETURN_SIZE);
    if (r != WasmResult.Ok) return [];
    return takeReturnedHeaders();
  }

  /** Replaces the whole map. */
  setPairs(pairs: HeaderPair[]): WasmResult {
    const buf = serializeHeaders(pairs);
    return <WasmResult>abi.proxy_set_header_map_pairs(this.type, changetype<usize>(buf), buf.byteLength);
  }

  /** The number of headers. */
  size(): u32 {
    store<u32>(RETURN_SIZE, 0);
    if (abi.proxy_get_header_map_size(this.type, RETURN_SIZE) != WasmResult.Ok) return <u32>this.pairs().length;
    return load<u32>(RETURN_SIZE);
  }
}

// ---------------------------------------------------------------- bodies and configuration

/** One of the host's byte buffers: a body chunk, an httpCall response body, or a configuration. */
export class HostBuffer {
  constructor(public readonly type: BufferType) {}

  /** Up to maxSize bytes from start (the whole buffer by default). */
  get(start: u32 = 0, maxSize: u32 = u32.MAX_VALUE): ArrayBuffer {
    resetReturn();
    const r = abi.proxy_get_buffer_bytes(this.type, start, maxSize, RETURN_DATA, RETURN_SIZE);
    if (r != WasmResult.Ok) return new ArrayBuffer(0);
    return takeReturnedBytes();
  }

  /** The buffer decoded as UTF-8 text. */
  getText(start: u32 = 0, maxSize: u32 = u32.MAX_VALUE): string {
    resetReturn();
    const r = abi.proxy_get_buffer_bytes(this.type, start, maxSize, RETURN_DATA, RETURN_SIZE);
    if (r != WasmResult.Ok) return '';
    return takeReturnedString();
  }

  /** Replaces `length` bytes at `start` with data (Envoy: start 0 and length ≥ size replaces all). */
  set(start: u32, length: u32, data: ArrayBuffer): WasmResult {
    return <WasmResult>abi.proxy_set_buffer_bytes(this.type, start, length, changetype<usize>(data), data.byteLength);
  }

  /** Replaces the whole buffer. */
  replace(data: ArrayBuffer): WasmResult {
    return this.set(0, u32.MAX_VALUE, data);
  }

  replaceText(text: string): WasmResult {
    return this.replace(utf8(text));
  }

  /** Appends data after the current end. */
  append(data: ArrayBuffer): WasmResult {
    return this.set(this.length(), 0, data);
  }

  length(): u32 {
    store<u32>(RETURN_DATA, 0);
    store<u32>(RETURN_SIZE, 0);
    if (abi.proxy_get_buffer_status(this.type, RETURN_DATA, RETURN_SIZE) != WasmResult.Ok) return 0;
    return load<u32>(RETURN_DATA);
  }
}

// ---------------------------------------------------------------- stream control

/** Resumes a request paused by a callback's Stop… status (after an httpCall, say). */
export function continueRequest(): WasmResult {
  return <WasmResult>abi.proxy_continue_stream(StreamType.Request);
}
export function continueResponse(): WasmResult {
  return <WasmResult>abi.proxy_continue_stream(StreamType.Response);
}
export function closeRequest(): WasmResult {
  return <WasmResult>abi.proxy_close_stream(StreamType.Request);
}
export function closeResponse(): WasmResult {
  return <WasmResult>abi.proxy_close_stream(StreamType.Response);
}

/**
 * Answers the request from the filter: the upstream is never called. Return StopIteration (or
 * StopAllIteration…) from the callback that calls this. `grpcStatus` ≥ 0 makes it a gRPC error
 * response; `details` lands in Envoy's %RESPONSE_CODE_DETAILS%.
 */
export function sendLocalResponse(
  statusCode: u32,
  body: string = '',
  headers: HeaderPair[] = [],
  grpcStatus: GrpcStatus = GrpcStatus.None,
  details: string = '',
): WasmResult {
  return sendLocalResponseBytes(statusCode, utf8(body), headers, grpcStatus, details);
}

export function sendLocalResponseBytes(
  statusCode: u32,
  body: ArrayBuffer,
  headers: HeaderPair[] = [],
  grpcStatus: GrpcStatus = GrpcStatus.None,
  details: string = '',
): WasmResult {
  const d = utf8(details);
  const h = serializeHeaders(headers);
  return <WasmResult>(
    abi.proxy_send_local_response(
      statusCode,
      changetype<usize>(d),
      d.byteLength,
      changetype<usize>(body),
      body.byteLength,
      changetype<usize>(h),
      h.byteLength,
      grpcStatus,
    )
  );
}

// ---------------------------------------------------------------- shared data (VM-wide, all workers)

/** A shared-data value and its CAS token (pass the token back to setSharedData to update safely). */
export class SharedValue {
  constructor(
    public value: ArrayBuffer,
    public cas: u32,
  ) {}
  text(): string {
    return String.UTF8.decode(this.value, false);
  }
}

/** The value under key, or null when it was never set. */
export function getSharedData(key: string): SharedValue | null {
  const k = utf8(key);
  resetReturn();
  store<u32>(RETURN_EXTRA, 0);
  const r = abi.proxy_get_shared_data(changetype<usize>(k), k.byteLength, RETURN_DATA, RETURN_SIZE, RETURN_EXTRA);
  if (r != WasmResult.Ok) return null;
  const cas = load<u32>(RETURN_EXTRA);
  return new SharedValue(takeReturnedBytes(), cas);
}

/**
 * Stores value under key. With cas = 0 it always succeeds; with the token from getSharedData it
 * fails with CasMismatch when another worker wrote in between (then read again and retry).
 */
export function setSharedData(key: string, value: ArrayBuffer, cas: u32 = 0): WasmResult {
  const k = utf8(key);
  return <WasmResult>(
    abi.proxy_set_shared_data(changetype<usize>(k), k.byteLength, changetype<usize>(value), value.byteLength, cas)
  );
}

export function setSharedText(key: string, value: string, cas: u32 = 0): WasmResult {
  return setSharedData(key, utf8(value), cas);
}

// ---------------------------------------------------------------- shared queues

/** Registers a queue owned by this VM; its root context gets onQueueReady when data arrives. */
export function registerSharedQueue(name: string): u32 {
  const n = utf8(name);
  store<u32>(RETURN_DATA, 0);
  abi.proxy_register_shared_queue(changetype<usize>(n), n.byteLength, RETURN_DATA);
  return load<u32>(RETURN_DATA);
}

/** The token of a queue registered by the VM vmId (0 when there is none). */
export function resolveSharedQueue(vmId: string, name: string): u32 {
  const v = utf8(vmId);
  const n = utf8(name);
  store<u32>(RETURN_DATA, 0);
  const r = abi.proxy_resolve_shared_queue(
    changetype<usize>(v),
    v.byteLength,
    changetype<usize>(n),
    n.byteLength,
    RETURN_DATA,
  );
  return r == WasmResult.Ok ? load<u32>(RETURN_DATA) : 0;
}

export function enqueueSharedQueue(token: u32, data: ArrayBuffer): WasmResult {
  return <WasmResult>abi.proxy_enqueue_shared_queue(token, changetype<usize>(data), data.byteLength);
}

/** The oldest item of the queue, or null when it is empty. */
export function dequeueSharedQueue(token: u32): ArrayBuffer | null {
  resetReturn();
  const r = abi.proxy_dequeue_shared_queue(token, RETURN_DATA, RETURN_SIZE);
  if (r != WasmResult.Ok) return null;
  return takeReturnedBytes();
}

// ---------------------------------------------------------------- metrics

function defineMetric(type: MetricType, name: string): u32 {
  const n = utf8(name);
  store<u32>(RETURN_DATA, 0);
  abi.proxy_define_metric(type, changetype<usize>(n), n.byteLength, RETURN_DATA);
  return load<u32>(RETURN_DATA);
}

function metricValue(id: u32): u64 {
  store<u64>(RETURN_DATA, 0);
  abi.proxy_get_metric(id, RETURN_DATA);
  return load<u64>(RETURN_DATA);
}

/**
 * A counter. Define metrics in onVmStart/onConfigure (not at module top level, which runs before
 * the host is ready); Envoy prefixes the name with "wasmcustom.".
 */
export class Counter {
  readonly id: u32;
  constructor(public readonly name: string) {
    this.id = defineMetric(MetricType.Counter, name);
  }
  increment(by: u64 = 1): void {
    abi.proxy_increment_metric(this.id, <i64>by);
  }
  value(): u64 {
    return metricValue(this.id);
  }
}

export class Gauge {
  readonly id: u32;
  constructor(public readonly name: string) {
    this.id = defineMetric(MetricType.Gauge, name);
  }
  set(value: u64): void {
    abi.proxy_record_metric(this.id, value);
  }
  add(offset: i64): void {
    abi.proxy_increment_metric(this.id, offset);
  }
  value(): u64 {
    return metricValue(this.id);
  }
}

export class Histogram {
  readonly id: u32;
  constructor(public readonly name: string) {
    this.id = defineMetric(MetricType.Histogram, name);
  }
  record(value: u64): void {
    abi.proxy_record_metric(this.id, value);
  }
}

// ---------------------------------------------------------------- misc

/** Calls a host-registered foreign function; null when it does not exist or fails. */
export function callForeignFunction(name: string, args: ArrayBuffer): ArrayBuffer | null {
  const n = utf8(name);
  resetReturn();
  const r = abi.proxy_call_foreign_function(
    changetype<usize>(n),
    n.byteLength,
    changetype<usize>(args),
    args.byteLength,
    RETURN_DATA,
    RETURN_SIZE,
  );
  if (r != WasmResult.Ok) return null;
  return takeReturnedBytes();
}

/** Tells the host a context that returned false from onDone has finished its work. */
export function done(): WasmResult {
  return <WasmResult>abi.proxy_done();
}
