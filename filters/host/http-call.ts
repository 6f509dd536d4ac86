// An httpCall the module dispatched, waiting for the test to answer it (or for its timeout).

import type { HeadersInit } from './headers.ts';
import { HeaderList } from './headers.ts';
import { encodeUtf8 } from './utf8.ts';
import type { Worker } from './worker.ts';

export type HttpCallAnswer = {
  /** The :status of the response (default 200); ignored when headers has ":status". */
  status?: number;
  headers?: HeadersInit;
  body?: string | Uint8Array;
  trailers?: HeadersInit;
};

export class HttpCall {
  /** Settled calls have been answered, failed or timed out. */
  settled = false;
  readonly deadlineMs: number;

  private readonly worker: Worker;
  readonly token: number;
  /** The context that made the call (a stream, or the root). */
  readonly contextId: number;
  /** The Envoy cluster named. */
  readonly upstream: string;
  readonly headers: HeaderList;
  readonly bodyBytes: Uint8Array;
  readonly trailers: HeaderList;
  readonly timeoutMs: number;

  constructor(
    worker: Worker,
    token: number,
    contextId: number,
    upstream: string,
    headers: HeaderList,
    bodyBytes: Uint8Array,
    trailers: HeaderList,
    timeoutMs: number,
  ) {
    this.worker = worker;
    this.token = token;
    this.contextId = contextId;
    this.upstream = upstream;
    this.headers = headers;
    this.bodyBytes = bodyBytes;
    this.trailers = trailers;
    this.timeoutMs = timeoutMs;
    this.deadlineMs = worker.host.clock.nowMilliseconds() + timeoutMs;
  }

  get body(): string {
    return new TextDecoder().decode(this.bodyBytes);
  }

  /** Answers the call: the module's onHttpCallResponse runs now. */
  respond(answer: HttpCallAnswer = {}): void {
    this.settle();
    const headers = new HeaderList(answer.headers ?? []);
    if (!headers.has(':status')) headers.pairs.unshift([':status', String(answer.status ?? 200)]);
    const body = typeof answer.body === 'string' ? encodeUtf8(answer.body) : (answer.body ?? new Uint8Array());
    this.worker.deliverHttpCallResponse(this, headers, body, new HeaderList(answer.trailers ?? []));
  }

  /** The call failed (reset, no healthy upstream, timeout): Envoy reports it with zero headers. */
  fail(): void {
    this.settle();
    this.worker.deliverHttpCallResponse(this, new HeaderList(), new Uint8Array(), new HeaderList());
  }

  private settle(): void {
    if (this.settled) throw new Error(`httpCall ${this.token} to ${this.upstream} was already answered`);
    this.settled = true;
    const pending = this.worker.host.httpCalls;
    const i = pending.indexOf(this);
    if (i >= 0) pending.splice(i, 1);
  }
}
