// Everything a proxy-wasm 0.2.1 host may call. A filter's entry file re-exports this module
// (`export * from ".../sdk/assembly/abi"`) so these become the module's exports.

import './abort';
import { contextFor, createContext, deleteContext, dispatchHttpCallResponse, rootFor, streamFor } from './context';
import { enter, leave } from './gc';
import { allocateForHost } from './memory';
import { FilterDataStatus, FilterHeadersStatus, FilterStatus } from './types';

/** The ABI marker Envoy looks for to pick the calling convention. */
export function proxy_abi_version_0_2_1(): void {}

export function proxy_on_memory_allocate(size: usize): usize {
  return allocateForHost(size);
}

export function proxy_on_context_create(contextId: u32, parentContextId: u32): void {
  enter();
  createContext(contextId, parentContextId);
  leave();
}

export function proxy_on_vm_start(rootContextId: u32, vmConfigurationSize: u32): bool {
  enter();
  const root = rootFor(rootContextId);
  const r = root != null ? root.onVmStart(vmConfigurationSize) : true;
  leave();
  return r;
}

export function proxy_on_configure(rootContextId: u32, configurationSize: u32): bool {
  enter();
  const root = rootFor(rootContextId);
  const r = root != null ? root.onConfigure(configurationSize) : false;
  leave();
  return r;
}

export function proxy_on_tick(rootContextId: u32): void {
  enter();
  const root = rootFor(rootContextId);
  if (root != null) root.onTick();
  leave();
}

export function proxy_on_queue_ready(rootContextId: u32, queueId: u32): void {
  enter();
  const root = rootFor(rootContextId);
  if (root != null) root.onQueueReady(queueId);
  leave();
}

export function proxy_on_foreign_function(rootContextId: u32, functionId: u32, dataSize: u32): void {
  enter();
  const root = rootFor(rootContextId);
  if (root != null) root.onForeignFunction(functionId, dataSize);
  leave();
}

export function proxy_on_request_headers(contextId: u32, numHeaders: u32, endOfStream: bool): u32 {
  enter();
  const s = streamFor(contextId);
  const r = s != null ? s.onRequestHeaders(numHeaders, endOfStream) : FilterHeadersStatus.Continue;
  leave();
  return r;
}

export function proxy_on_request_body(contextId: u32, bodySize: u32, endOfStream: bool): u32 {
  enter();
  const s = streamFor(contextId);
  const r = s != null ? s.onRequestBody(bodySize, endOfStream) : FilterDataStatus.Continue;
  leave();
  return r;
}

export function proxy_on_request_trailers(contextId: u32, numTrailers: u32): u32 {
  enter();
  const s = streamFor(contextId);
  const r = s != null ? s.onRequestTrailers(numTrailers) : 0;
  leave();
  return r;
}

export function proxy_on_request_metadata(contextId: u32, numElements: u32): u32 {
  enter();
  const s = streamFor(contextId);
  const r = s != null ? s.onRequestMetadata(numElements) : 0;
  leave();
  return r;
}

export function proxy_on_response_headers(contextId: u32, numHeaders: u32, endOfStream: bool): u32 {
  enter();
  const s = streamFor(contextId);
  const r = s != null ? s.onResponseHeaders(numHeaders, endOfStream) : FilterHeadersStatus.Continue;
  leave();
  return r;
}

export function proxy_on_response_body(contextId: u32, bodySize: u32, endOfStream: bool): u32 {
  enter();
  const s = streamFor(contextId);
  const r = s != null ? s.onResponseBody(bodySize, endOfStream) : FilterDataStatus.Continue;
  leave();
  return r;
}

export function proxy_on_response_trailers(contextId: u32, numTrailers: u32): u32 {
  enter();
  const s = streamFor(contextId);
  const r = s != null ? s.onResponseTrailers(numTrailers) : 0;
  leave();
  return r;
}

export function proxy_on_response_metadata(contextId: u32, numElements: u32): u32 {
  enter();
  const s = streamFor(contextId);
  const r = s != null ? s.onResponseMetadata(numElements) : 0;
  leave();
  return r;
}

export function proxy_on_http_call_response(
  contextId: u32,
  token: u32,
  numHeaders: u32,
  bodySize: u32,
  numTrailers: u32,
): void {
  enter();
  dispatchHttpCallResponse(token, numHeaders, bodySize, numTrailers);
  leave();
}

export function proxy_on_log(contextId: u32): void {
  enter();
  const s = streamFor(contextId);
  if (s != null) s.onLog();
  leave();
}

export function proxy_on_done(contextId: u32): bool {
  enter();
  const c = contextFor(contextId);
  const r = c != null ? c.onDone() : true;
  leave();
  return r;
}

export function proxy_on_delete(contextId: u32): void {
  enter();
  deleteContext(contextId);
  leave();
}

// gRPC calls and TCP (network) filters are not part of the SDK yet: accept the callbacks a 0.2.1
// host may make and let traffic through.
export function proxy_on_grpc_receive_initial_metadata(contextId: u32, token: u32, numHeaders: u32): void {}
export function proxy_on_grpc_receive_trailing_metadata(contextId: u32, token: u32, numTrailers: u32): void {}
export function proxy_on_grpc_receive(contextId: u32, token: u32, responseSize: u32): void {}
export function proxy_on_grpc_close(contextId: u32, token: u32, statusCode: u32): void {}
export function proxy_on_new_connection(contextId: u32): u32 {
  enter();
  const r = FilterStatus.Continue;
  leave();
  return r;
}
export function proxy_on_downstream_data(contextId: u32, dataSize: u32, endOfStream: bool): u32 {
  enter();
  const r = FilterStatus.Continue;
  leave();
  return r;
}
export function proxy_on_upstream_data(contextId: u32, dataSize: u32, endOfStream: bool): u32 {
  enter();
  const r = FilterStatus.Continue;
  leave();
  return r;
}
export function proxy_on_downstream_connection_close(contextId: u32, peerType: u32): void {}
export function proxy_on_upstream_connection_close(contextId: u32, peerType: u32): void {}
