// One Wasm VM of a plugin, as Envoy runs one per worker thread: its own instance of the module, its
// own root context and stream contexts, and the `env`/WASI imports with Envoy's semantics. State
// shared between workers (shared data, queues, metrics, clock, logs) lives in the FilterHost.
import type { LogLevelName, MetricKind } from './abi.ts';
import { BufferType, LOG_LEVELS, MapType, MetricType, WasmResult } from './abi.ts';
import type { HeaderPairs } from './headers.ts';
import { decodePairs, encodePairs, HeaderList } from './headers.ts';
import type { HostState } from './host-state.ts';
import { HttpCall } from './http-call.ts';
import { HttpStream } from './stream.ts';
import { Utf8Cache, utf8Length } from './utf8.ts';
import type { WasmExports, WasmInstance, WasmModule } from './wasm-types.ts';
import { WebAssemblyApi } from './wasm-types.ts';

type Fn = (...args: number[]) => number;

/** A trap or proc_exit inside the module: Envoy fails the VM and answers its streams with 503. */
export class WasmTrap extends Error {}

class ProcExit extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`proc_exit(${code})`);
    this.code = code;
  }
}

/** An integer property as Envoy encodes it: 8 bytes, little-endian; undefined for no number. */
function int64(n: number | undefined): Uint8Array | undefined {
  if (n === undefined || Number.isNaN(n)) return undefined;
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, BigInt(n), true);
  return b;
}

/** What a root context holds on the host side. */
type RootState = { id: number; tickPeriodMs: number; nextTickMs: number };

export class Worker {
  readonly index: number;
  readonly host: HostState;
  readonly rootContextId: number;
  /** The error that failed this VM (a trap), if any. */
  failure: Error | undefined;
  configured = false;

  private readonly instance: WasmInstance;
  private readonly exports: WasmExports;
  private readonly root: RootState;
  readonly streams = new Map<number, HttpStream>();
  private nextContextId = 1;
  private effectiveContextId = 0;
  private nextCallToken = 1;
  dispatchedHttpCalls = 0;
  /** Buffers readable only during one callback (configuration, httpCall response, ...). */
  private readonly callbackBuffers = new Map<number, Uint8Array>();
  private readonly callbackMaps = new Map<number, HeaderList>();
  /** Work Envoy does after the current VM call returns (queue deliveries, resumed streams). */
  private readonly afterCall: Array<() => void> = [];
  private depth = 0;
  /** Property keys by their raw ABI form (see propertyKey). */
  private readonly propertyKeys = new Map<string, string>();
  /** Exports by name, looked up once. */
  private readonly fns = new Map<string, Fn>();
  private u8: Uint8Array = new Uint8Array(0);
  private view: DataView = new DataView(new ArrayBuffer(0));
  /** The same memory as a Buffer, for its native UTF-8 codec. */
  private buf: Buffer = Buffer.alloc(0);
  private readonly strings = new Utf8Cache();
  private allocate: Fn;

  constructor(index: number, module: WasmModule, host: HostState) {
    this.index = index;
    this.host = host;
    const env = host.profile ? this.profiled(this.envImports(), host.profile) : this.envImports();
    this.instance = new WebAssemblyApi.Instance(module, { env, ...this.wasiImports() });
    this.exports = this.instance.exports;
    this.allocate = this.exports.proxy_on_memory_allocate as Fn;
    const init = this.exports._initialize;
    if (typeof init === 'function') this.guard(() => (init as () => number)());
    this.rootContextId = this.nextContextId++;
    this.root = { id: this.rootContextId, tickPeriodMs: 0, nextTickMs: 0 };
  }

  // ------------------------------------------------------------------ lifecycle (Envoy's order)

  /** proxy_on_context_create(root, 0), proxy_on_vm_start, proxy_on_configure. */
  start(vmConfiguration: Uint8Array, pluginConfiguration: Uint8Array): boolean {
    const id = this.rootContextId;
    this.call(id, 'proxy_on_context_create', id, 0);
    this.callbackBuffers.set(BufferType.VmConfiguration, vmConfiguration);
    const started = this.call(id, 'proxy_on_vm_start', id, vmConfiguration.length);
    this.callbackBuffers.clear();
    if (!started) {
      this.log('error', 'proxy_on_vm_start returned false');
      return false;
    }
    return this.configure(pluginConfiguration);
  }

  configure(pluginConfiguration: Uint8Array): boolean {
    const id = this.rootContextId;
    this.callbackBuffers.set(BufferType.PluginConfiguration, pluginConfiguration);
    this.configured = this.call(id, 'proxy_on_configure', id, pluginConfiguration.length) === 1;
    this.callbackBuffers.clear();
    return this.configured;
  }

  newStream(): HttpStream {
    const id = this.nextContextId++;
    const stream = new HttpStream(this, id);
    this.streams.set(id, stream);
    if (this.failure) stream.failedByVm();
    else this.call(id, 'proxy_on_context_create', id, this.rootContextId);
    return stream;
  }

  /** Fires onTick when due (the host's advance() drives the clock). */
  nextTickAt(): number | undefined {
    return this.root.tickPeriodMs > 0 ? this.root.nextTickMs : undefined;
  }

  tick(): void {
    this.root.nextTickMs += this.root.tickPeriodMs;
    this.call(this.rootContextId, 'proxy_on_tick', this.rootContextId);
  }

  /** Root shutdown: proxy_on_done then proxy_on_delete. */
  close(): void {
    const id = this.rootContextId;
    this.call(id, 'proxy_on_done', id);
    this.call(id, 'proxy_on_delete', id);
  }

  onQueueReady(token: number): void {
    this.afterCall.push(() => this.call(this.rootContextId, 'proxy_on_queue_ready', this.rootContextId, token));
  }

  // ------------------------------------------------------------------ calling into the module

  /**
   * Calls an export with `contextId` as the effective context, then runs the work Envoy defers to
   * after a VM call. A trap fails the VM (as in Envoy) and returns 0.
   */
  call(contextId: number, name: string, a = 0, b = 0, c = 0, d = 0, e = 0): number {
    if (this.failure) return 0;
    let fn = this.fns.get(name);
    if (fn === undefined) {
      const exported = this.exports[name];
      if (typeof exported !== 'function') return 0;
      fn = exported as Fn;
      this.fns.set(name, fn);
    }
    const saved = this.effectiveContextId;
    this.effectiveContextId = contextId;
    this.depth++;
    let result = 0;
    const profile = this.depth === 1 ? this.host.profile : undefined;
    const started = profile ? performance.now() : 0;
    try {
      // Extra arguments are ignored by a Wasm function: one call shape for every export.
      result = fn(a, b, c, d, e);
    } catch (err) {
      if (!(err instanceof ProcExit || err instanceof WebAssemblyApi.RuntimeError)) throw err;
      this.fail(err);
    } finally {
      if (profile) profile.inExportsNs += (performance.now() - started) * 1e6;
      this.depth--;
      this.effectiveContextId = saved;
    }
    if (this.depth === 0 && this.afterCall.length > 0) this.drainAfterCall();
    return result;
  }

  /** Defers work to after the current VM call, or runs it now outside one. */
  defer(work: () => void): void {
    if (this.depth > 0) this.afterCall.push(work);
    else work();
  }

  private drainAfterCall(): void {
    while (this.afterCall.length > 0) this.afterCall.shift()!();
  }

  private guard(run: () => number | undefined): number {
    try {
      return Number(run() ?? 0);
    } catch (e) {
      if (e instanceof ProcExit || e instanceof WebAssemblyApi.RuntimeError) {
        this.fail(e);
        return 0;
      }
      throw e;
    }
  }

  private fail(e: Error): void {
    this.failure = new WasmTrap(`wasm VM ${this.index} failed: ${e.message}`, { cause: e });
    this.log('critical', this.failure.message);
    for (const s of this.streams.values()) s.failedByVm();
  }

  // ------------------------------------------------------------------ guest memory

  /** The module's linear memory size: flat under steady load unless the filter leaks. */
  get memoryBytes(): number {
    return (this.exports.memory as { buffer: ArrayBuffer }).buffer.byteLength;
  }

  private mem(): Uint8Array {
    // memory.grow detaches the old buffer (proxy-wasm memory is never shared), and a detached view
    // reads as empty: only then look the new buffer up, rather than on every host call.
    if (this.u8.byteLength === 0) {
      const buffer = (this.exports.memory as { buffer: ArrayBuffer }).buffer;
      this.u8 = new Uint8Array(buffer);
      this.view = new DataView(buffer);
      this.buf = Buffer.from(buffer);
    }
    return this.u8;
  }

  private dv(): DataView {
    this.mem();
    return this.view;
  }

  bytes(ptr: number, size: number): Uint8Array {
    return this.mem().slice(ptr, ptr + size);
  }

  /** Header pairs (proxy-wasm encoding) decoded straight from module memory. */
  private pairsAt(ptr: number, size: number): HeaderPairs {
    return decodePairs(this.mem().subarray(ptr, ptr + size), this.strings);
  }

  string(ptr: number, size: number): string {
    return this.strings.decode(this.mem(), this.buf, ptr, ptr + size);
  }

  private setU32(ptr: number, value: number): void {
    this.dv().setUint32(ptr, value >>> 0, true);
  }

  /** Copies data into memory the module allocates, and writes pointer and size to its slots. */
  private returnBytes(data: Uint8Array, ptrPtr: number, sizePtr: number): number {
    let ptr = 0;
    if (data.length > 0) {
      ptr = this.allocate(data.length) >>> 0;
      if (ptr === 0) return WasmResult.InvalidMemoryAccess;
      // After the allocation: it may have grown (and so replaced) the memory.
      const mem = this.mem();
      // A loop beats TypedArray#set for the few bytes of most values.
      if (data.length <= 32) for (let i = 0; i < data.length; i++) mem[ptr + i] = data[i]!;
      else mem.set(data, ptr);
    }
    this.setU32(ptrPtr, ptr);
    this.setU32(sizePtr, data.length);
    return WasmResult.Ok;
  }

  /** returnBytes for text: encoded straight into the module's allocation. */
  private returnString(text: string, ptrPtr: number, sizePtr: number): number {
    const size = utf8Length(text);
    let ptr = 0;
    if (size > 0) {
      ptr = this.allocate(size) >>> 0;
      if (ptr === 0) return WasmResult.InvalidMemoryAccess;
      this.mem();
      // ASCII (as many bytes as characters): a loop for short text, a straight native copy for long.
      if (size === text.length && size <= 32) for (let i = 0; i < size; i++) this.u8[ptr + i] = text.charCodeAt(i);
      else this.buf.write(text, ptr, size, size === text.length ? 'latin1' : 'utf8');
    }
    this.setU32(ptrPtr, ptr);
    this.setU32(sizePtr, size);
    return WasmResult.Ok;
  }

  // ------------------------------------------------------------------ logging

  log(level: LogLevelName, message: string): void {
    this.host.logs.push({ level, message, worker: this.index });
    if (this.host.echoLogs) process.stderr.write(`[wasm ${level}] ${message}\n`);
  }

  // ------------------------------------------------------------------ context helpers

  /** The stream whose context is effective now, if it is a stream. */
  private currentStream(): HttpStream | undefined {
    return this.streams.get(this.effectiveContextId);
  }

  private headerMap(type: number): HeaderList | undefined {
    const cb = this.callbackMaps.get(type);
    if (cb) return cb;
    return this.currentStream()?.headerMap(type);
  }

  private buffer(type: number): { get(): Uint8Array; set?(data: Uint8Array): void } | undefined {
    const cb = this.callbackBuffers.get(type);
    if (cb) return { get: () => cb };
    return this.currentStream()?.bodyBuffer(type);
  }

  // ------------------------------------------------------------------ httpCall

  private dispatchHttpCall(
    upstream: string,
    headers: HeaderList,
    body: Uint8Array,
    trailers: HeaderList,
    timeoutMs: number,
  ): number | undefined {
    if (this.host.clusters && !this.host.clusters.includes(upstream)) return undefined;
    if (!headers.has(':method') || !headers.has(':path') || !headers.has(':authority')) return undefined;
    const token = this.nextCallToken++;
    this.dispatchedHttpCalls++;
    const call = new HttpCall(this, token, this.effectiveContextId, upstream, headers, body, trailers, timeoutMs);
    this.host.httpCalls.push(call);
    this.currentStream()?.httpCalls.push(call);
    return token;
  }

  /** Delivers an httpCall response (or failure: no headers) to the context that made the call. */
  deliverHttpCallResponse(call: HttpCall, headers: HeaderList, body: Uint8Array, trailers: HeaderList): void {
    const stream = this.streams.get(call.contextId);
    // Envoy cancels the calls of a stream that ended: no callback.
    if (call.contextId !== this.rootContextId && (!stream || stream.deleted)) return;
    this.callbackMaps.set(MapType.HttpCallResponseHeaders, headers);
    this.callbackMaps.set(MapType.HttpCallResponseTrailers, trailers);
    this.callbackBuffers.set(BufferType.HttpCallResponseBody, body);
    try {
      this.call(
        call.contextId,
        'proxy_on_http_call_response',
        call.contextId,
        call.token,
        headers.size,
        body.length,
        trailers.size,
      );
    } finally {
      this.callbackMaps.clear();
      this.callbackBuffers.clear();
    }
  }

  // ------------------------------------------------------------------ properties

  /** The dotted key ("source.address") of a path as it crosses the ABI (segments joined by NUL). */
  private propertyKey(pathPtr: number, pathSize: number): string {
    const raw = this.string(pathPtr, pathSize);
    let key = this.propertyKeys.get(raw);
    if (key === undefined) {
      key = raw.split('\0').join('.');
      // A module reads few distinct paths; the bound only guards against one that makes them up.
      if (this.propertyKeys.size < 1024) this.propertyKeys.set(raw, key);
    }
    return key;
  }

  /** A property's value: an override the test set, else what this host knows of Envoy's. */
  private property(key: string): Uint8Array | string | undefined {
    const stream = this.currentStream();
    const override = stream?.properties.get(key) ?? this.host.properties.get(key);
    if (override !== undefined) return override;
    const req = stream?.request.headers;
    switch (key) {
      case 'plugin_name':
        return this.host.pluginName;
      case 'plugin_root_id':
        return this.host.rootId;
      case 'plugin_vm_id':
        return this.host.vmId;
      case 'request.path':
        return req?.get(':path');
      case 'request.url_path':
        return req?.get(':path')?.split('?')[0];
      case 'request.host':
        return req?.get(':authority');
      case 'request.scheme':
        return req?.get(':scheme');
      case 'request.method':
        return req?.get(':method');
      case 'request.id':
        return req?.get('x-request-id');
      case 'request.size':
        return stream ? int64(stream.request.totalBodyBytes) : undefined;
      case 'response.code':
        return int64(
          stream?.response.headers.has(':status') ? Number(stream.response.headers.get(':status')) : undefined,
        );
      case 'source.address':
        return '127.0.0.1:50000';
      case 'source.port':
        return int64(50000);
      case 'destination.address':
        return '127.0.0.1:10000';
      case 'destination.port':
        return int64(10000);
      default:
        return undefined;
    }
  }

  // ------------------------------------------------------------------ the env imports

  /** Wraps every host function to add its time to the profile (only when profiling). */
  private profiled(env: Record<string, Fn>, profile: NonNullable<HostState['profile']>): Record<string, Fn> {
    const out: Record<string, Fn> = {};
    for (const [name, fn] of Object.entries(env)) {
      out[name] = (...args: number[]) => {
        const started = performance.now();
        try {
          return fn(...args);
        } finally {
          profile.inImportsNs += (performance.now() - started) * 1e6;
        }
      };
    }
    return out;
  }

  private envImports(): Record<string, Fn> {
    const R = WasmResult;
    const env: Record<string, Fn> = {
      proxy_log: (level, ptr, size) => {
        this.log(LOG_LEVELS[level] ?? 'info', this.string(ptr, size));
        return R.Ok;
      },
      proxy_get_log_level: (ptr) => {
        this.setU32(ptr, LOG_LEVELS.indexOf(this.host.logLevel));
        return R.Ok;
      },
      proxy_get_current_time_nanoseconds: (ptr) => {
        this.dv().setBigUint64(ptr, this.host.clock.nowNanoseconds(), true);
        return R.Ok;
      },
      proxy_set_tick_period_milliseconds: (ms) => {
        this.root.tickPeriodMs = ms;
        this.root.nextTickMs = this.host.clock.nowMilliseconds() + ms;
        return R.Ok;
      },
      proxy_get_property: (pathPtr, pathSize, ptrPtr, sizePtr) => {
        const value = this.property(this.propertyKey(pathPtr, pathSize));
        if (value === undefined) return R.NotFound;
        if (typeof value === 'string') return this.returnString(value, ptrPtr, sizePtr);
        return this.returnBytes(value, ptrPtr, sizePtr);
      },
      proxy_set_property: (pathPtr, pathSize, ptr, size) => {
        const key = this.propertyKey(pathPtr, pathSize);
        const target = this.currentStream()?.properties ?? this.host.properties;
        target.set(key, this.bytes(ptr, size));
        return R.Ok;
      },
      proxy_continue_stream: (type) => {
        const s = this.currentStream();
        if (!s) return R.NotFound;
        if (type > 1) return R.BadArgument;
        s.continueFromHost(type === 0 ? 'request' : 'response');
        return R.Ok;
      },
      proxy_close_stream: (type) => {
        const s = this.currentStream();
        if (!s) return R.NotFound;
        if (type > 1) return R.BadArgument;
        s.closeFromHost();
        return R.Ok;
      },
      proxy_send_local_response: (status, dPtr, dSize, bPtr, bSize, hPtr, hSize, grpc) => {
        const s = this.currentStream();
        if (!s) return R.NotFound;
        let headers: Array<[string, string]>;
        try {
          headers = this.pairsAt(hPtr, hSize);
        } catch {
          return R.BadArgument;
        }
        s.sendLocalResponseFromHost({
          status,
          details: this.string(dPtr, dSize),
          bodyBytes: this.bytes(bPtr, bSize),
          headers,
          grpcStatus: grpc >= 0 ? grpc : null,
        });
        return R.Ok;
      },
      proxy_get_shared_data: (kPtr, kSize, ptrPtr, sizePtr, casPtr) => {
        const entry = this.host.sharedData.entry(this.string(kPtr, kSize));
        if (!entry) return R.NotFound;
        this.setU32(casPtr, entry.cas);
        return this.returnBytes(entry.value, ptrPtr, sizePtr);
      },
      proxy_set_shared_data: (kPtr, kSize, vPtr, vSize, cas) =>
        this.host.sharedData.setFrom(this.string(kPtr, kSize), this.mem(), vPtr, vPtr + vSize, cas >>> 0),
      proxy_register_shared_queue: (nPtr, nSize, tokenPtr) => {
        this.setU32(tokenPtr, this.host.queues.register(this.host.vmId, this.string(nPtr, nSize), this));
        return R.Ok;
      },
      proxy_resolve_shared_queue: (vPtr, vSize, nPtr, nSize, tokenPtr) => {
        const vmId = vSize > 0 ? this.string(vPtr, vSize) : this.host.vmId;
        const token = this.host.queues.resolve(vmId, this.string(nPtr, nSize));
        if (token === undefined) return R.NotFound;
        this.setU32(tokenPtr, token);
        return R.Ok;
      },
      proxy_enqueue_shared_queue: (token, ptr, size) => {
        const owner = this.host.queues.enqueue(token, this.bytes(ptr, size));
        if (!owner) return R.NotFound;
        owner.onQueueReady(token);
        return R.Ok;
      },
      proxy_dequeue_shared_queue: (token, ptrPtr, sizePtr) => {
        const item = this.host.queues.dequeue(token);
        if (item === null) return R.NotFound;
        if (item === undefined) return R.Empty;
        return this.returnBytes(item, ptrPtr, sizePtr);
      },
      proxy_get_header_map_value: (type, kPtr, kSize, ptrPtr, sizePtr) => {
        const map = this.headerMap(type);
        if (!map) return R.BadArgument;
        const value = map.get(this.string(kPtr, kSize));
        if (value === undefined) return R.NotFound;
        return this.returnString(value, ptrPtr, sizePtr);
      },
      proxy_add_header_map_value: (type, kPtr, kSize, vPtr, vSize) => {
        const map = this.headerMap(type);
        if (!map) return R.BadArgument;
        map.add(this.string(kPtr, kSize), this.string(vPtr, vSize));
        return R.Ok;
      },
      proxy_replace_header_map_value: (type, kPtr, kSize, vPtr, vSize) => {
        const map = this.headerMap(type);
        if (!map) return R.BadArgument;
        map.replace(this.string(kPtr, kSize), this.string(vPtr, vSize));
        return R.Ok;
      },
      proxy_remove_header_map_value: (type, kPtr, kSize) => {
        const map = this.headerMap(type);
        if (!map) return R.BadArgument;
        map.remove(this.string(kPtr, kSize));
        return R.Ok;
      },
      proxy_get_header_map_pairs: (type, ptrPtr, sizePtr) => {
        const map = this.headerMap(type);
        if (!map) return R.BadArgument;
        return this.returnBytes(encodePairs(map.pairs), ptrPtr, sizePtr);
      },
      proxy_set_header_map_pairs: (type, ptr, size) => {
        const map = this.headerMap(type);
        if (!map) return R.BadArgument;
        try {
          map.pairs = this.pairsAt(ptr, size).map(([k, v]) => [k.toLowerCase(), v]);
        } catch {
          return R.BadArgument;
        }
        return R.Ok;
      },
      proxy_get_header_map_size: (type, sizePtr) => {
        const map = this.headerMap(type);
        if (!map) return R.BadArgument;
        this.setU32(sizePtr, map.size);
        return R.Ok;
      },
      proxy_get_buffer_status: (type, lengthPtr, flagsPtr) => {
        const buf = this.buffer(type);
        if (!buf) return R.NotFound;
        this.setU32(lengthPtr, buf.get().length);
        this.setU32(flagsPtr, 0);
        return R.Ok;
      },
      proxy_get_buffer_bytes: (type, start, maxSize, ptrPtr, sizePtr) => {
        const buf = this.buffer(type);
        if (!buf) return R.NotFound;
        const data = buf.get();
        if (start > data.length) return R.BadArgument;
        return this.returnBytes(
          data.subarray(start, start + Math.min(maxSize >>> 0, data.length - start)),
          ptrPtr,
          sizePtr,
        );
      },
      proxy_set_buffer_bytes: (type, start, length, ptr, size) => {
        const buf = this.buffer(type);
        if (!buf?.set) return R.NotFound;
        const data = buf.get();
        start >>>= 0;
        length >>>= 0;
        if (start > data.length) return R.BadArgument;
        const incoming = this.bytes(ptr, size);
        const end = Math.min(data.length, start + length);
        const out = new Uint8Array(start + incoming.length + (data.length - end));
        out.set(data.subarray(0, start), 0);
        out.set(incoming, start);
        out.set(data.subarray(end), start + incoming.length);
        buf.set(out);
        return R.Ok;
      },
      proxy_http_call: (uPtr, uSize, hPtr, hSize, bPtr, bSize, tPtr, tSize, timeout, tokenPtr) => {
        let headers: HeaderList;
        let trailers: HeaderList;
        try {
          headers = new HeaderList(this.pairsAt(hPtr, hSize));
          trailers = new HeaderList(this.pairsAt(tPtr, tSize));
        } catch {
          return R.BadArgument;
        }
        const token = this.dispatchHttpCall(
          this.string(uPtr, uSize),
          headers,
          this.bytes(bPtr, bSize),
          trailers,
          timeout,
        );
        if (token === undefined) return R.BadArgument;
        this.setU32(tokenPtr, token);
        return R.Ok;
      },
      proxy_define_metric: (type, nPtr, nSize, idPtr) => {
        const kinds: MetricKind[] = ['counter', 'gauge', 'histogram'];
        const kind = kinds[type];
        if (!kind) return R.BadArgument;
        this.setU32(idPtr, this.host.metrics.define(kind, this.string(nPtr, nSize)));
        return R.Ok;
      },
      proxy_increment_metric: (id, offset) => {
        const m = this.host.metrics.byIdOrUndefined(id);
        const by = Number(offset as unknown as bigint);
        if (!m || m.kind === 'histogram') return R.BadArgument;
        if (m.kind === 'counter' && by < 0) return R.BadArgument;
        m.value += by;
        return R.Ok;
      },
      proxy_record_metric: (id, value) => {
        const m = this.host.metrics.byIdOrUndefined(id);
        if (!m) return R.NotFound;
        const v = Number(BigInt.asUintN(64, value as unknown as bigint));
        if (m.kind === 'histogram') m.values.push(v);
        else m.value = v;
        return R.Ok;
      },
      proxy_get_metric: (id, ptr) => {
        const m = this.host.metrics.byIdOrUndefined(id);
        if (!m) return R.NotFound;
        if (m.kind === 'histogram') return R.BadArgument;
        this.dv().setBigUint64(ptr, BigInt(Math.max(0, m.value)), true);
        return R.Ok;
      },
      proxy_set_effective_context: (id) => {
        if (id !== this.rootContextId && !this.streams.has(id)) return R.BadArgument;
        this.effectiveContextId = id;
        return R.Ok;
      },
      proxy_done: () => {
        const s = this.currentStream();
        if (s) s.doneFromHost();
        return R.Ok;
      },
      proxy_call_foreign_function: () => R.NotFound,
      proxy_get_status: () => R.NotFound,
      proxy_grpc_call: () => R.Unimplemented,
      proxy_grpc_stream: () => R.Unimplemented,
      proxy_grpc_close: () => R.Unimplemented,
      proxy_grpc_cancel: () => R.Unimplemented,
      proxy_grpc_send: () => R.Unimplemented,
      proxy_get_configuration: (ptrPtr, sizePtr) => {
        const buf = this.callbackBuffers.get(BufferType.PluginConfiguration);
        return buf ? this.returnBytes(buf, ptrPtr, sizePtr) : R.NotFound;
      },
      proxy_continue_request: () => env.proxy_continue_stream!(0),
      proxy_continue_response: () => env.proxy_continue_stream!(1),
      proxy_clear_route_cache: () => R.Ok,
      emscripten_notify_memory_growth: () => 0,
      pthread_equal: (a, b) => (a === b ? 1 : 0),
    };
    return env;
  }

  private wasiImports(): Record<string, Record<string, Fn>> {
    const ENOSYS = 52;
    const EBADF = 8;
    const wasi: Record<string, Fn> = {
      fd_write: (fd, iovs, iovsLen, nwrittenPtr) => {
        const view = this.dv();
        let text = '';
        let total = 0;
        for (let i = 0; i < iovsLen; i++) {
          const ptr = view.getUint32(iovs + i * 8, true);
          const len = view.getUint32(iovs + i * 8 + 4, true);
          text += this.string(ptr, len);
          total += len;
        }
        if (fd !== 1 && fd !== 2) return EBADF;
        // Envoy logs a module's stdout at info and its stderr at error.
        this.log(fd === 1 ? 'info' : 'error', text.replace(/\n$/, ''));
        this.setU32(nwrittenPtr, total);
        return 0;
      },
      fd_read: () => ENOSYS,
      fd_seek: () => ENOSYS,
      fd_close: () => ENOSYS,
      fd_fdstat_get: (fd, statPtr) => {
        if (fd > 2) return EBADF;
        this.mem().fill(0, statPtr, statPtr + 24);
        this.dv().setUint8(statPtr, 2); // character device
        return 0;
      },
      environ_get: () => 0,
      environ_sizes_get: (countPtr, sizePtr) => {
        this.setU32(countPtr, 0);
        this.setU32(sizePtr, 0);
        return 0;
      },
      args_get: () => 0,
      args_sizes_get: (countPtr, sizePtr) => {
        this.setU32(countPtr, 0);
        this.setU32(sizePtr, 0);
        return 0;
      },
      clock_time_get: (_id, _precision, ptr) => {
        this.dv().setBigUint64(ptr, this.host.clock.nowNanoseconds(), true);
        return 0;
      },
      random_get: (ptr, len) => {
        this.host.random.fill(this.mem().subarray(ptr, ptr + len));
        return 0;
      },
      proc_exit: (code) => {
        throw new ProcExit(code);
      },
      path_open: () => ENOSYS,
      fd_prestat_get: () => EBADF,
      fd_prestat_dir_name: () => ENOSYS,
    };
    return { wasi_snapshot_preview1: wasi, wasi_unstable: wasi };
  }
}

export { MetricType };
