// Incremental (Delta) ADS, one stream: the protocol rules as plain state transitions, no gRPC.
//
// Per type URL the stream tracks the client's subscriptions (explicit names and/or wildcard) and the
// version (content hash) of every resource the client holds. A response carries exactly the
// resources whose hash differs from what the client holds, and `removed_resources` for names it holds
// that the Gateway no longer has. Subscription changes are incremental, so every request's
// subscribe/unsubscribe lists apply; the nonce only tells which response an ACK or NACK is about.
// After a NACK the client keeps its previous config; the rejected content is not sent again until
// it changes.

import { TypeUrls } from '../envoy/protos.ts';
import { fullStateTypeUrls, servedTypeUrls } from './resources.ts';
import type { GatewaySnapshot } from './snapshot-cache.ts';
import type { RequestOutcome } from './sotw-stream.ts';

/**
 * Types whose explicitly subscribed names are left to the client: no removal of a name it holds, no
 * report of a name the Gateway lacks. Envoy subscribes to an ECDS name per HTTP filter and lets go
 * of it once no listener runs that filter. Until then a removal replaces the filter's configuration
 * under listeners that still run it (the draining listener after a FilterPolicy is deleted: its
 * default config, 503 for a FailClosed filter, on every request of its open connections), and a
 * name reported missing never completes the filter's initial fetch, so its listener never warms
 * (Envoy 1.40, source/common/filter/config_discovery_impl.cc). Wildcard subscribers still get both.
 */
const heldUntilUnsubscribed: ReadonlySet<string> = new Set([TypeUrls.extensionConfig]);

export interface DeltaRequest {
  readonly typeUrl: string;
  readonly responseNonce: string;
  readonly resourceNamesSubscribe: readonly string[];
  readonly resourceNamesUnsubscribe: readonly string[];
  readonly initialResourceVersions: Readonly<Record<string, string>>;
  readonly errorDetail?: { readonly code: number; readonly message: string } | null | undefined;
}

export interface DeltaResponse {
  readonly typeUrl: string;
  readonly systemVersionInfo: string;
  readonly nonce: string;
  readonly resources: readonly { readonly name: string; readonly version: string; readonly bytes: Uint8Array }[];
  readonly removedResources: readonly string[];
  readonly changeSeenAt?: number;
}

interface TypeState {
  wildcard: boolean;
  names: Set<string>;
  /** name → version (content hash) the client holds or was last sent. */
  clientHas: Map<string, string>;
  /** Explicitly subscribed names the Gateway does not have, already reported as removed once. */
  toldMissing: Set<string>;
  answered: boolean;
  /** nonce → system version, for responses not yet ACKed/NACKed. */
  outstanding: Map<string, string>;
  deliveredChangeAt: number;
}

export class DeltaStream {
  readonly #types = new Map<string, TypeState>();
  readonly #snapshot: () => GatewaySnapshot | undefined;
  readonly #ready: () => boolean;
  readonly #startedAt: number;
  #nonce = 0;

  constructor(snapshot: () => GatewaySnapshot | undefined, ready: () => boolean, startedAt = performance.now()) {
    this.#snapshot = snapshot;
    this.#ready = ready;
    this.#startedAt = startedAt;
  }

  handleRequest(request: DeltaRequest): { outcome: RequestOutcome; responses: DeltaResponse[] } {
    if (!servedTypeUrls.has(request.typeUrl)) return { outcome: { kind: 'ignored-type' }, responses: [] };
    let state = this.#types.get(request.typeUrl);
    if (!state) {
      const legacyWildcard = request.resourceNamesSubscribe.length === 0 && fullStateTypeUrls.has(request.typeUrl);
      state = {
        wildcard: legacyWildcard,
        names: new Set(),
        clientHas: new Map(Object.entries(request.initialResourceVersions)),
        toldMissing: new Set(),
        answered: false,
        outstanding: new Map(),
        deliveredChangeAt: this.#startedAt,
      };
      this.#types.set(request.typeUrl, state);
    }
    let outcome: RequestOutcome = { kind: 'initial' };
    if (request.responseNonce !== '') {
      const version = state.outstanding.get(request.responseNonce);
      if (version === undefined) {
        outcome = { kind: 'stale' };
      } else {
        // Responses are answered in order: this one and every earlier one are settled.
        for (const nonce of state.outstanding.keys()) {
          state.outstanding.delete(nonce);
          if (nonce === request.responseNonce) break;
        }
        outcome = request.errorDetail
          ? { kind: 'nack', version, code: request.errorDetail.code, message: request.errorDetail.message }
          : { kind: 'ack', version };
      }
    }
    this.#applySubscriptions(state, request);
    const response = this.#respond(request.typeUrl, state);
    return { outcome, responses: response ? [response] : [] };
  }

  handleChange(typeUrls: readonly string[]): DeltaResponse[] {
    const responses: DeltaResponse[] = [];
    for (const typeUrl of typeUrls) {
      const state = this.#types.get(typeUrl);
      const response = state && this.#respond(typeUrl, state);
      if (response) responses.push(response);
    }
    return responses;
  }

  subscribedTypes(): string[] {
    return [...this.#types.keys()];
  }

  #applySubscriptions(state: TypeState, request: DeltaRequest): void {
    for (const name of request.resourceNamesSubscribe) {
      if (name === '*') {
        state.wildcard = true;
        continue;
      }
      state.names.add(name);
      // A name subscribed again must be sent again even if the client once held it.
      if (!request.initialResourceVersions[name]) state.clientHas.delete(name);
      state.toldMissing.delete(name);
    }
    for (const name of request.resourceNamesUnsubscribe) {
      if (name === '*') {
        state.wildcard = false;
        continue;
      }
      state.names.delete(name);
      state.toldMissing.delete(name);
      if (!state.wildcard) state.clientHas.delete(name);
    }
    if (!state.wildcard) {
      for (const name of state.clientHas.keys()) if (!state.names.has(name)) state.clientHas.delete(name);
    }
  }

  #respond(typeUrl: string, state: TypeState): DeltaResponse | undefined {
    if (!this.#ready()) return undefined;
    const typeSnapshot = this.#snapshot()?.get(typeUrl);
    if (!typeSnapshot) return undefined;
    const wanted = (name: string) => state.wildcard || state.names.has(name);
    const resources: { name: string; version: string; bytes: Uint8Array }[] = [];
    for (const [name, stored] of typeSnapshot.resources) {
      if (wanted(name) && state.clientHas.get(name) !== stored.hash) {
        resources.push({ name, version: stored.hash, bytes: stored.bytes });
      }
    }
    const removed = new Set<string>();
    const held = !state.wildcard && heldUntilUnsubscribed.has(typeUrl);
    if (!held) {
      for (const name of state.clientHas.keys()) if (!typeSnapshot.resources.has(name)) removed.add(name);
      // A subscribed name the Gateway does not have is reported once, so Envoy does not wait for its
      // initial fetch timeout; it is sent as soon as it appears.
      for (const name of state.names) {
        if (!typeSnapshot.resources.has(name) && !state.toldMissing.has(name)) {
          removed.add(name);
          state.toldMissing.add(name);
        }
      }
    }
    for (const name of typeSnapshot.resources.keys()) state.toldMissing.delete(name);
    // The first answer to a wildcard subscription is sent even when empty, so the client can finish
    // its initial fetch instead of waiting for a timeout.
    const mustAnswer = !state.answered && state.wildcard;
    if (resources.length === 0 && removed.size === 0 && !mustAnswer) return undefined;
    for (const { name, version } of resources) state.clientHas.set(name, version);
    for (const name of removed) state.clientHas.delete(name);
    state.answered = true;
    this.#nonce += 1;
    const nonce = String(this.#nonce);
    state.outstanding.set(nonce, typeSnapshot.version);
    const fresh = typeSnapshot.changedAt > state.deliveredChangeAt;
    if (fresh) state.deliveredChangeAt = typeSnapshot.changedAt;
    return {
      typeUrl,
      systemVersionInfo: typeSnapshot.version,
      nonce,
      resources,
      removedResources: [...removed],
      ...(fresh ? { changeSeenAt: typeSnapshot.changedAt } : {}),
    };
  }
}
