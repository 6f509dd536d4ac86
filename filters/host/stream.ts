// One HTTP request through the filter, driven by the test the way Envoy's filter manager drives a
// Wasm filter: headers, body chunks and trailers each way, pausing and resuming, local responses.

import type { DataStatus, HeadersStatus, TrailersStatus } from './abi.ts';
import { BufferType, DATA_STATUS, HEADERS_STATUS, MapType, TRAILERS_STATUS } from './abi.ts';
import type { HeaderPairs, HeadersInit } from './headers.ts';
import { HeaderList } from './headers.ts';
import type { HttpCall } from './http-call.ts';
import type { Worker } from './worker.ts';

export type LocalResponse = {
  status: number;
  body: string;
  bodyBytes: Uint8Array;
  headers: HeaderPairs;
  /** The gRPC status, or null for a plain HTTP response. */
  grpcStatus: number | null;
  /** Envoy's response code details. */
  details: string;
};

type Side = 'request' | 'response';
/** Why a direction is not flowing: headers stopped (body still reaches the filter), or everything. */
type Pause = 'none' | 'headers' | 'all';

const EMPTY = new Uint8Array(0);
const EXPORTS = {
  request: {
    headers: 'proxy_on_request_headers',
    body: 'proxy_on_request_body',
    trailers: 'proxy_on_request_trailers',
  },
  response: {
    headers: 'proxy_on_response_headers',
    body: 'proxy_on_response_body',
    trailers: 'proxy_on_response_trailers',
  },
} as const;
const utf8 = new TextEncoder();

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** One direction of the stream (request: downstream → upstream; response: the reverse). */
export class Direction {
  headers = new HeaderList();
  trailers = new HeaderList();
  /** Bytes the filter holds (buffered or being looked at in the current body callback). */
  pending: Uint8Array = EMPTY;
  /** Bytes the filter let through, in order. */
  passed: Uint8Array = EMPTY;
  /** Body that arrived while the filter stopped everything (Envoy buffers it). */
  held: Uint8Array = EMPTY;
  heldEnd = false;
  pause: Pause = 'none';
  totalBodyBytes = 0;
  endOfStream = false;

  /** The body as it left the filter (UTF-8). */
  get body(): string {
    return new TextDecoder().decode(this.passed);
  }
}

export class HttpStream {
  readonly request = new Direction();
  readonly response = new Direction();
  readonly httpCalls: HttpCall[] = [];
  readonly properties = new Map<string, Uint8Array>();
  localResponse: LocalResponse | null = null;
  /** The filter closed the stream (proxy_close_stream). */
  reset = false;
  /** Set once proxy_on_delete ran. */
  deleted = false;
  private doneCalled = false;

  private readonly worker: Worker;
  readonly id: number;

  constructor(worker: Worker, id: number) {
    this.worker = worker;
    this.id = id;
  }

  // ------------------------------------------------------------------ test-facing

  /** Request headers reach the filter; returns its status as Envoy applies it. */
  sendRequestHeaders(headers: HeadersInit, endOfStream = true): HeadersStatus {
    return this.sendHeaders('request', headers, endOfStream);
  }

  sendRequestBody(body: string | Uint8Array, endOfStream = true): DataStatus | 'Held' {
    return this.sendBody('request', body, endOfStream);
  }

  sendRequestTrailers(trailers: HeadersInit): TrailersStatus {
    return this.sendTrailers('request', trailers);
  }

  sendResponseHeaders(headers: HeadersInit, endOfStream = true): HeadersStatus {
    return this.sendHeaders('response', headers, endOfStream);
  }

  sendResponseBody(body: string | Uint8Array, endOfStream = true): DataStatus | 'Held' {
    return this.sendBody('response', body, endOfStream);
  }

  sendResponseTrailers(trailers: HeadersInit): TrailersStatus {
    return this.sendTrailers('response', trailers);
  }

  /** The request is paused at this filter (waiting for an httpCall, say). */
  get requestPaused(): boolean {
    return this.request.pause !== 'none';
  }

  get responsePaused(): boolean {
    return this.response.pause !== 'none';
  }

  /** httpCalls of this stream not answered yet. */
  get pendingHttpCalls(): HttpCall[] {
    return this.httpCalls.filter((c) => !c.settled);
  }

  /** Ends the stream as Envoy does: proxy_on_done, proxy_on_log (access log), proxy_on_delete. */
  complete(): void {
    if (this.deleted) return;
    this.worker.call(this.id, 'proxy_on_done', this.id);
    this.worker.call(this.id, 'proxy_on_log', this.id);
    this.worker.call(this.id, 'proxy_on_delete', this.id);
    this.deleted = true;
    this.worker.streams.delete(this.id);
  }

  // ------------------------------------------------------------------ driving the module

  private side(s: Side): Direction {
    return s === 'request' ? this.request : this.response;
  }

  private assertOpen(what: string): void {
    if (this.deleted) throw new Error(`${what}: the stream is complete`);
  }

  /** Whether the filter still sees traffic (not after a local response, a reset or a failed VM). */
  private get answered(): boolean {
    return this.localResponse !== null || this.reset;
  }

  private sendHeaders(s: Side, headers: HeadersInit, endOfStream: boolean): HeadersStatus {
    this.assertOpen(`${s} headers`);
    const d = this.side(s);
    d.headers = new HeaderList(headers);
    d.endOfStream = endOfStream;
    if (this.answered) return 'StopIteration';
    const raw = this.worker.call(this.id, EXPORTS[s].headers, this.id, d.headers.size, endOfStream ? 1 : 0);
    if (this.answered) return 'StopIteration';
    // Envoy turns StopIteration from a header callback into StopAllIterationAndWatermark unless
    // allow_on_headers_stop_iteration is set.
    let status: HeadersStatus = HEADERS_STATUS[raw] ?? 'Continue';
    if (status === 'StopIteration' && !this.worker.host.allowOnHeadersStopIteration) {
      status = 'StopAllIterationAndWatermark';
    }
    if (status === 'StopIteration') d.pause = 'headers';
    else if (status === 'StopAllIterationAndBuffer' || status === 'StopAllIterationAndWatermark') d.pause = 'all';
    return status;
  }

  private sendBody(s: Side, body: string | Uint8Array, endOfStream: boolean): DataStatus | 'Held' {
    this.assertOpen(`${s} body`);
    const d = this.side(s);
    const chunk = typeof body === 'string' ? utf8.encode(body) : body;
    d.totalBodyBytes += chunk.length;
    d.endOfStream = endOfStream;
    if (this.answered) return 'StopIterationNoBuffer';
    if (d.pause === 'all') {
      d.held = concat(d.held, chunk);
      d.heldEnd = endOfStream;
      return 'Held';
    }
    return this.deliverBody(s, chunk, endOfStream);
  }

  private deliverBody(s: Side, chunk: Uint8Array, endOfStream: boolean): DataStatus {
    const d = this.side(s);
    d.pending = concat(d.pending, chunk);
    const raw = this.worker.call(this.id, EXPORTS[s].body, this.id, d.pending.length, endOfStream ? 1 : 0);
    if (this.answered) return 'StopIterationNoBuffer';
    const status: DataStatus = DATA_STATUS[raw] ?? 'Continue';
    if (status === 'Continue') {
      d.passed = concat(d.passed, d.pending);
      d.pending = EMPTY;
    } else if (status === 'StopIterationNoBuffer') {
      d.passed = concat(d.passed, d.pending);
      d.pending = EMPTY;
    }
    return status;
  }

  private sendTrailers(s: Side, trailers: HeadersInit): TrailersStatus {
    this.assertOpen(`${s} trailers`);
    const d = this.side(s);
    d.trailers = new HeaderList(trailers);
    if (this.answered) return 'StopIteration';
    const raw = this.worker.call(this.id, EXPORTS[s].trailers, this.id, d.trailers.size);
    // Trailers end the stream: whatever body the filter still holds goes on (Envoy does the same).
    if (raw === 0) {
      d.passed = concat(d.passed, d.pending);
      d.pending = EMPTY;
    }
    return TRAILERS_STATUS[raw] ?? 'Continue';
  }

  // ------------------------------------------------------------------ called by the worker

  headerMap(type: number): HeaderList | undefined {
    switch (type) {
      case MapType.RequestHeaders:
        return this.request.headers;
      case MapType.RequestTrailers:
        return this.request.trailers;
      case MapType.ResponseHeaders:
        return this.response.headers;
      case MapType.ResponseTrailers:
        return this.response.trailers;
      default:
        return undefined;
    }
  }

  bodyBuffer(type: number): { get(): Uint8Array; set(data: Uint8Array): void } | undefined {
    const d =
      type === BufferType.HttpRequestBody ? this.request : type === BufferType.HttpResponseBody ? this.response : null;
    if (!d) return undefined;
    return {
      get: () => d.pending,
      set: (data) => {
        d.pending = data;
      },
    };
  }

  /** proxy_continue_stream: resume after the current VM call, delivering held body. */
  continueFromHost(s: Side): void {
    this.worker.defer(() => {
      const d = this.side(s);
      if (this.answered || this.deleted) return;
      const wasAll = d.pause === 'all';
      d.pause = 'none';
      // A body the filter buffered (StopIterationAndBuffer) goes on when it resumes.
      d.passed = concat(d.passed, d.pending);
      d.pending = EMPTY;
      if (wasAll && (d.held.length > 0 || d.heldEnd)) {
        const held = d.held;
        d.held = EMPTY;
        this.deliverBody(s, held, d.heldEnd);
      }
    });
  }

  closeFromHost(): void {
    this.reset = true;
  }

  sendLocalResponseFromHost(r: Omit<LocalResponse, 'body'>): void {
    // Envoy sends only the first local reply of a stream.
    if (this.localResponse) return;
    this.localResponse = { ...r, body: new TextDecoder().decode(r.bodyBytes) };
    this.request.pause = 'none';
  }

  doneFromHost(): void {
    this.doneCalled = true;
  }

  /** The VM trapped: Envoy fails the stream closed with a 503. */
  failedByVm(): void {
    if (this.localResponse || this.deleted) return;
    this.localResponse = {
      status: 503,
      body: '',
      bodyBytes: EMPTY,
      headers: [],
      grpcStatus: null,
      details: 'wasm_fail_stream',
    };
  }

  /** Whether the module called proxy_done for this stream. */
  get doneSignalled(): boolean {
    return this.doneCalled;
  }
}
