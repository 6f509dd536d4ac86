// State-of-the-world ADS, one stream: the protocol rules as plain state transitions, no gRPC.
//
// Per type URL the stream tracks what the client subscribed to, the last nonce and version sent and
// what the client was sent. Rules (as Envoy and go-control-plane apply them):
// - a request whose response_nonce is not the latest one sent for its type is stale and ignored;
// - a request with error_detail is a NACK of the last version: the client keeps its previous config,
//   and the same content is not sent again (it would be rejected again); the next change is;
// - a response is sent only while the client has a request open (one response per request);
// - Listener and Cluster responses carry every subscribed resource (absence = removal); Route,
//   Endpoint, Secret and ExtensionConfig responses carry only what changed for this client;
// - an empty first Listener/Cluster request, or the name "*", subscribes to everything (wildcard).

import { fullStateTypeUrls, servedTypeUrls } from './resources.ts';
import type { GatewaySnapshot } from './snapshot-cache.ts';

export interface SotwRequest {
  readonly typeUrl: string;
  readonly versionInfo: string;
  readonly resourceNames: readonly string[];
  readonly responseNonce: string;
  readonly errorDetail?: { readonly code: number; readonly message: string } | null | undefined;
}

export interface SotwResponse {
  readonly typeUrl: string;
  readonly versionInfo: string;
  readonly nonce: string;
  readonly resources: readonly { readonly name: string; readonly bytes: Uint8Array }[];
  /** When the snapshot change it delivers was seen, if that was during this stream (for latency). */
  readonly changeSeenAt?: number;
}

export type RequestOutcome =
  | { readonly kind: 'initial' | 'ignored-type' | 'stale' }
  | { readonly kind: 'ack'; readonly version: string }
  | { readonly kind: 'nack'; readonly version: string; readonly code: number; readonly message: string };

interface TypeState {
  wildcard: boolean;
  names: Set<string>;
  /** The client has a request open that no response answered yet. */
  watchOpen: boolean;
  lastNonce: string | undefined;
  lastVersion: string | undefined;
  /** name → content hash of what this client was last sent. */
  sent: Map<string, string>;
  /** changedAt of the newest snapshot change already delivered (latency is measured once). */
  deliveredChangeAt: number;
}

export class SotwStream {
  readonly #types = new Map<string, TypeState>();
  readonly #snapshot: () => GatewaySnapshot | undefined;
  readonly #ready: () => boolean;
  readonly #startedAt: number;
  #nonce = 0;

  /** `snapshot` gives the Gateway's current snapshot; `ready` is false until the first full sync. */
  constructor(snapshot: () => GatewaySnapshot | undefined, ready: () => boolean, startedAt = performance.now()) {
    this.#snapshot = snapshot;
    this.#ready = ready;
    this.#startedAt = startedAt;
  }

  handleRequest(request: SotwRequest): { outcome: RequestOutcome; responses: SotwResponse[] } {
    if (!servedTypeUrls.has(request.typeUrl)) return { outcome: { kind: 'ignored-type' }, responses: [] };
    let state = this.#types.get(request.typeUrl);
    const first = state === undefined;
    if (!state) {
      state = {
        wildcard: false,
        names: new Set(),
        watchOpen: false,
        lastNonce: undefined,
        lastVersion: undefined,
        sent: new Map(),
        deliveredChangeAt: this.#startedAt,
      };
      this.#types.set(request.typeUrl, state);
    }
    if (request.responseNonce !== '' && request.responseNonce !== state.lastNonce) {
      return { outcome: { kind: 'stale' }, responses: [] };
    }
    let outcome: RequestOutcome = { kind: 'initial' };
    if (request.responseNonce !== '') {
      const version = state.lastVersion ?? '';
      outcome = request.errorDetail
        ? { kind: 'nack', version, code: request.errorDetail.code, message: request.errorDetail.message }
        : { kind: 'ack', version };
    }
    this.#subscribe(state, request.typeUrl, request.resourceNames, first);
    state.watchOpen = true;
    const response = this.#respond(request.typeUrl, state);
    return { outcome, responses: response ? [response] : [] };
  }

  /** The Gateway's snapshot changed for these types (or became ready): answer open requests. */
  handleChange(typeUrls: readonly string[]): SotwResponse[] {
    const responses: SotwResponse[] = [];
    for (const typeUrl of typeUrls) {
      const state = this.#types.get(typeUrl);
      const response = state && this.#respond(typeUrl, state);
      if (response) responses.push(response);
    }
    return responses;
  }

  /** Type URLs the client has asked for, in the order they were first requested. */
  subscribedTypes(): string[] {
    return [...this.#types.keys()];
  }

  #subscribe(state: TypeState, typeUrl: string, names: readonly string[], first: boolean): void {
    const legacyWildcard = names.length === 0 && fullStateTypeUrls.has(typeUrl) && (first || state.wildcard);
    state.wildcard = names.includes('*') || legacyWildcard;
    state.names = new Set(names.filter((name) => name !== '*'));
    if (state.wildcard) return;
    // Forget what an unsubscribed name was sent, so subscribing again sends it again.
    for (const name of state.sent.keys()) if (!state.names.has(name)) state.sent.delete(name);
  }

  #respond(typeUrl: string, state: TypeState): SotwResponse | undefined {
    if (!state.watchOpen || !this.#ready()) return undefined;
    const typeSnapshot = this.#snapshot()?.get(typeUrl);
    if (!typeSnapshot) return undefined;
    const selected = [...typeSnapshot.resources].filter(([name]) => state.wildcard || state.names.has(name));
    let payload: typeof selected;
    if (fullStateTypeUrls.has(typeUrl)) {
      const unchanged =
        state.lastNonce !== undefined &&
        selected.length === state.sent.size &&
        selected.every(([name, stored]) => state.sent.get(name) === stored.hash);
      if (unchanged) return undefined;
      payload = selected;
      state.sent = new Map(selected.map(([name, stored]) => [name, stored.hash]));
    } else {
      payload = selected.filter(([name, stored]) => state.sent.get(name) !== stored.hash);
      if (payload.length === 0) return undefined;
      for (const [name, stored] of payload) state.sent.set(name, stored.hash);
    }
    this.#nonce += 1;
    state.watchOpen = false;
    state.lastNonce = String(this.#nonce);
    state.lastVersion = typeSnapshot.version;
    const fresh = typeSnapshot.changedAt > state.deliveredChangeAt;
    if (fresh) state.deliveredChangeAt = typeSnapshot.changedAt;
    return {
      typeUrl,
      versionInfo: typeSnapshot.version,
      nonce: state.lastNonce,
      resources: payload.map(([name, stored]) => ({ name, bytes: stored.bytes })),
      ...(fresh ? { changeSeenAt: typeSnapshot.changedAt } : {}),
    };
  }
}
