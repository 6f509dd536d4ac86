// The context model filter authors know from the Rust and Go SDKs: one RootContext per plugin
// (configuration, timers, queues), one HttpContext per request, created by its root. Roots are
// registered by root id; the host tells a new root which id it serves (property plugin_root_id).

import { logError, logWarn } from './host';
import * as abi from './imports';
import { HeaderPair, RETURN_DATA, RETURN_SIZE, resetReturn, serializeHeaders, utf8 } from './memory';
import { IdTable } from './table';
import { FilterDataStatus, FilterHeadersStatus, FilterMetadataStatus, FilterTrailersStatus, WasmResult } from './types';

/** What every context has: its id, and the httpCall machinery (the response comes back to it). */
export class BaseContext {
  constructor(
    public readonly id: u32,
    /** Root contexts and stream contexts share one table; this tells them apart. */
    public readonly isRoot: bool,
  ) {}

  /** The token of the last httpCall this context dispatched. */
  lastCallToken: u32 = 0;

  /**
   * Calls the Envoy cluster `upstream`. `headers` must include ":method", ":path" and ":authority".
   * The response arrives in onHttpCallResponse of this context (read it with httpCallResponseHeaders
   * and httpCallResponseBody). Returns Ok, or BadArgument (unknown cluster, missing pseudo-headers).
   */
  httpCall(
    upstream: string,
    headers: HeaderPair[],
    body: ArrayBuffer | null,
    trailers: HeaderPair[],
    timeoutMilliseconds: u32,
  ): WasmResult {
    const u = utf8(upstream);
    const h = serializeHeaders(headers);
    const t = serializeHeaders(trailers);
    const b = body != null ? body : new ArrayBuffer(0);
    store<u32>(RETURN_DATA, 0);
    const r = <WasmResult>(
      abi.proxy_http_call(
        changetype<usize>(u),
        u.byteLength,
        changetype<usize>(h),
        h.byteLength,
        changetype<usize>(b),
        b.byteLength,
        changetype<usize>(t),
        t.byteLength,
        timeoutMilliseconds,
        RETURN_DATA,
      )
    );
    if (r == WasmResult.Ok) {
      this.lastCallToken = load<u32>(RETURN_DATA);
      rememberCall(this.lastCallToken, this);
    }
    return r;
  }

  /** The response (or failure: numHeaders 0) of an httpCall this context made. */
  onHttpCallResponse(token: u32, numHeaders: u32, bodySize: u32, numTrailers: u32): void {}

  /** Return false to keep the context alive until it calls done(). */
  onDone(): bool {
    return true;
  }

  /** The context is gone: release what it holds. */
  onDelete(): void {}
}

/** One per plugin (per worker in Envoy): reads the configuration, owns timers and queues. */
export class RootContext extends BaseContext {
  constructor(id: u32) {
    super(id, true);
  }

  /** The root id of the registration that made this context ("" for the default one). */
  rootId: string = '';

  /** The VM started; vmConfigurationSize bytes are readable from vmConfiguration. */
  onVmStart(vmConfigurationSize: u32): bool {
    return true;
  }

  /**
   * The plugin configuration arrived (read it from pluginConfiguration). Return false to reject it:
   * Envoy then refuses the filter configuration.
   */
  onConfigure(configurationSize: u32): bool {
    return true;
  }

  /** Called every tick period set by setTickPeriod. */
  onTick(): void {}

  /** Data arrived on a queue this VM registered. */
  onQueueReady(queueId: u32): void {}

  /** Data for a foreign function call from the host. */
  onForeignFunction(functionId: u32, dataSize: u32): void {}

  /** The per-request context; override to return your own HttpContext subclass. */
  newHttpContext(contextId: u32): HttpContext {
    return new HttpContext(contextId, this);
  }

  /** Starts (or, with 0, stops) the onTick timer of this root. */
  setTickPeriod(milliseconds: u32): WasmResult {
    return <WasmResult>abi.proxy_set_tick_period_milliseconds(milliseconds);
  }
}

/** One per HTTP request. Every callback has a default that lets the request through unchanged. */
export class HttpContext extends BaseContext {
  constructor(
    id: u32,
    public readonly root: RootContext,
  ) {
    super(id, false);
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    return FilterHeadersStatus.Continue;
  }
  onRequestBody(bodySize: u32, endOfStream: bool): FilterDataStatus {
    return FilterDataStatus.Continue;
  }
  onRequestTrailers(numTrailers: u32): FilterTrailersStatus {
    return FilterTrailersStatus.Continue;
  }
  onRequestMetadata(numElements: u32): FilterMetadataStatus {
    return FilterMetadataStatus.Continue;
  }
  onResponseHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    return FilterHeadersStatus.Continue;
  }
  onResponseBody(bodySize: u32, endOfStream: bool): FilterDataStatus {
    return FilterDataStatus.Continue;
  }
  onResponseTrailers(numTrailers: u32): FilterTrailersStatus {
    return FilterTrailersStatus.Continue;
  }
  onResponseMetadata(numElements: u32): FilterMetadataStatus {
    return FilterMetadataStatus.Continue;
  }
  /** The stream is complete (access-log time): every header, body and property is still readable. */
  onLog(): void {}
}

// ---------------------------------------------------------------- registration and dispatch
// One Map type for every table keeps the module small (each generic instantiation is code).

/** Makes the root context for a plugin; called once per root context id. */
export type RootContextFactory = (contextId: u32) => RootContext;

const factoryIds: string[] = [];
/** The same ids as UTF-8, compared with the host's plugin_root_id bytes without decoding them. */
const factoryIdBytes: ArrayBuffer[] = [];
const factories: RootContextFactory[] = [];
const contexts = new IdTable<BaseContext>();
const pendingCalls = new IdTable<BaseContext>();
let rootCount: i32 = 0;
let onlyRoot: RootContext | null = null;

/**
 * Registers the factory for root id `rootId` (the `root_id` of the Envoy Wasm plugin configuration).
 * "" is the default, used for any root id without a registration of its own. Call at module top level.
 */
export function registerRootContext(factory: RootContextFactory, rootId: string = ''): void {
  const bytes = utf8(rootId);
  const i = registrationIndex(changetype<usize>(bytes), <usize>bytes.byteLength);
  if (i >= 0) {
    factories[i] = factory;
    return;
  }
  factoryIds.push(rootId);
  factoryIdBytes.push(bytes);
  factories.push(factory);
}

export function createContext(contextId: u32, parentId: u32): void {
  if (parentId == 0) {
    createRoot(contextId);
    return;
  }
  const parent = contexts.get(parentId);
  if (parent == null || !parent.isRoot) {
    logError('unknown root context');
    return;
  }
  contexts.set(contextId, changetype<RootContext>(parent).newHttpContext(contextId));
}

/** The index of the registration for the host's plugin_root_id: exact, else the default "". */
function registrationForRootId(): i32 {
  const path = utf8('plugin_root_id');
  resetReturn();
  let found: i32 = -1;
  if (abi.proxy_get_property(changetype<usize>(path), path.byteLength, RETURN_DATA, RETURN_SIZE) == WasmResult.Ok) {
    const ptr = load<usize>(RETURN_DATA);
    const size = load<usize>(RETURN_SIZE);
    found = registrationIndex(ptr, size);
    if (ptr != 0) heap.free(ptr);
  }
  return found >= 0 ? found : registrationIndex(0, 0);
}

/** The registration whose root id has these UTF-8 bytes, or -1. */
function registrationIndex(ptr: usize, size: usize): i32 {
  for (let i = 0; i < factoryIdBytes.length; i++) {
    const id = unchecked(factoryIdBytes[i]);
    if (<usize>id.byteLength == size && (size == 0 || memory.compare(changetype<usize>(id), ptr, size) == 0)) return i;
  }
  return -1;
}

function createRoot(contextId: u32): void {
  const i = registrationForRootId();
  if (i < 0) {
    logError('no root context for this root id');
    return;
  }
  const root = unchecked(factories[i])(contextId);
  root.rootId = unchecked(factoryIds[i]);
  contexts.set(contextId, root);
  rootCount++;
  onlyRoot = root;
}

/** The root with this id; a host that starts the VM with id 0 (proxytest) gets the only root. */
export function rootFor(contextId: u32): RootContext | null {
  const c = contexts.get(contextId);
  if (c != null) return c.isRoot ? changetype<RootContext>(c) : null;
  return rootCount == 1 ? onlyRoot : null;
}

export function streamFor(contextId: u32): HttpContext | null {
  const c = contexts.get(contextId);
  return c == null || c.isRoot ? null : changetype<HttpContext>(c);
}

export function contextFor(contextId: u32): BaseContext | null {
  return contexts.get(contextId);
}

export function dispatchHttpCallResponse(token: u32, numHeaders: u32, bodySize: u32, numTrailers: u32): void {
  const ctx = pendingCalls.get(token);
  if (ctx == null) {
    logWarn('unknown httpCall token');
    return;
  }
  pendingCalls.delete(token);
  // The host may deliver the response on the root context: make the caller's stream effective so
  // header calls, continueRequest and sendLocalResponse act on the request that made the call.
  abi.proxy_set_effective_context(ctx.id);
  ctx.onHttpCallResponse(token, numHeaders, bodySize, numTrailers);
}

export function deleteContext(contextId: u32): void {
  const c = contexts.get(contextId);
  if (c == null) return;
  contexts.delete(contextId);
  if (c.isRoot) {
    rootCount--;
    if (onlyRoot === c) onlyRoot = null;
  }
  c.onDelete();
}

function rememberCall(token: u32, ctx: BaseContext): void {
  pendingCalls.set(token, ctx);
}
