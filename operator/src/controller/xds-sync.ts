// The seam between the watched objects and the xDS server: store → translate → snapshot. Each store
// change marks only the Gateways it can affect; a batch (one tick later, so a burst of events costs
// one translation per Gateway) re-translates those and hands their resources to the xDS server, which
// pushes only the resources whose bytes changed. Nothing is served until the first full pass is done.

import { isDeepStrictEqual } from 'node:util';
import type { KubernetesObject } from '@kubernetes/client-node';
import { TypeUrls } from '../envoy/protos.ts';
import type { Gateway } from '../k8s/gateway-api.ts';
import {
  type AffectingObject,
  affectedGateways,
  type GatewayTranslation,
  type IndexedInput,
  translateGateway,
} from '../translate/index.ts';
import { LiveIndex } from '../translate/live-index.ts';
import type { GatewayKey } from '../xds/identity.ts';
import { type Held, Quarantine } from '../xds/quarantine.ts';
import type { XdsServer } from '../xds/server.ts';
import { FilterKinds, type FilterSync } from './filter-sync.ts';
import { Kinds } from './gateway-controller.ts';
import {
  contributions,
  heldPolicies,
  isolatedTypes,
  restoredHolds,
  stillHeld,
  withHeldRoutes,
  withIsolationStatus,
} from './isolation.ts';
import type { Logger } from './log.ts';
import type { StoredKind } from './operator.ts';
import type { ObjectStore, StoreChange } from './store.ts';

const gatewayApi = { group: 'gateway.networking.k8s.io', version: 'v1' } as const;

/** The kinds translation reads, beyond the Gateway API kinds the operator caches anyway. */
export const translationKinds: StoredKind[] = [
  { kind: 'HTTPRoute', apiVersion: 'gateway.networking.k8s.io/v1', watch: { ...gatewayApi, plural: 'httproutes' } },
  { kind: 'GRPCRoute', apiVersion: 'gateway.networking.k8s.io/v1', watch: { ...gatewayApi, plural: 'grpcroutes' } },
  {
    kind: 'ReferenceGrant',
    apiVersion: 'gateway.networking.k8s.io/v1',
    watch: { ...gatewayApi, plural: 'referencegrants' },
  },
  { kind: 'Service', apiVersion: 'v1', watch: { group: '', version: 'v1', plural: 'services' } },
  {
    kind: 'EndpointSlice',
    apiVersion: 'discovery.k8s.io/v1',
    watch: { group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices' },
  },
  { kind: 'Secret', apiVersion: 'v1', watch: { group: '', version: 'v1', plural: 'secrets' } },
];

/** Every kind translation reads: the Gateway API kinds the operator caches anyway, and translationKinds. */
const affectingKinds = new Set<string>([Kinds.gatewayClass, Kinds.gateway, ...translationKinds.map((k) => k.kind)]);

export interface XdsSyncOptions {
  store: ObjectStore;
  xds: XdsServer;
  controllerName: string;
  log: Logger;
  /** Called with every fresh translation (the status writer); errors are the caller's to handle. */
  onTranslated?: (translation: GatewayTranslation) => void;
  /** Called after each translation with what NACK isolation holds back for that Gateway. */
  onHeld?: (gatewayKey: GatewayKey, held: readonly Held[]) => void;
  /** Called when a Gateway stops being ours or is deleted. */
  onRemoved?: (gatewayKey: GatewayKey) => void;
  /** Filter distribution (WasmFilter, FilterPolicy): resolved once per batch, rendered through hooks. */
  filters?: FilterSync;
}

/** Filter kinds whose changes start a batch (FilterSync finds the Gateways they affect). */
const filterBatchKinds = new Set<string>([FilterKinds.wasmFilter, FilterKinds.filterPolicy]);

export class XdsSync {
  readonly #o: XdsSyncOptions;
  /** Gateways with a snapshot → the store keys (`<kind>/<ns>/<name>`) of the routes attached to them. */
  readonly #served = new Map<GatewayKey, Set<string>>();
  readonly #dirty = new Set<string>();
  readonly #pending: StoreChange[] = [];
  /** Kept current per store change, so a batch costs work proportional to what changed. */
  readonly #index: LiveIndex;
  #firstSeenAt: number | undefined;
  #scheduled = false;
  #unsubscribe: (() => void) | undefined;
  /** NACK isolation: the objects Envoy rejected, held back so the rest of their Gateway ships. */
  readonly quarantine = new Quarantine({ bisect: [TypeUrls.route] });
  readonly #unsubscribeXds: (() => void)[] = [];

  constructor(options: XdsSyncOptions) {
    this.#o = options;
    this.#index = new LiveIndex(options.controllerName);
  }

  /** Envoy's answers: a NACK holds the objects that changed, an ACK may release suspects. */
  #watchAnswers(): void {
    const isolated = new Set<string>(isolatedTypes);
    this.#unsubscribeXds.push(
      this.#o.xds.onNack((event) => {
        // Only Envoy's answers: a proxyless gRPC client refusing a route must not hold it back from Envoy.
        if (!isolated.has(event.typeUrl) || (event.view ?? 'envoy') !== 'envoy') return;
        const held = this.quarantine.nack(event);
        if (held.length === 0) return;
        this.#o.log.warn('holding back what the proxy rejected', {
          gateway: event.gateway,
          typeUrl: event.typeUrl,
          version: event.version,
          objects: held.map((h) => h.key),
          guilty: held.length === 1 || held.every((h) => h.guilty),
          message: event.message,
        });
        this.#dirty.add(event.gateway);
        this.#schedule();
      }),
      this.#o.xds.onAck((event) => {
        if (!isolated.has(event.typeUrl) || (event.view ?? 'envoy') !== 'envoy') return;
        if (!this.quarantine.ack(event.gateway, event.typeUrl, event.version)) return;
        this.#dirty.add(event.gateway);
        this.#schedule();
      }),
    );
  }

  /** Call once the store has synced every kind: translates everything, then lets the server serve. */
  start(): void {
    this.#unsubscribe = this.#o.store.subscribe((change) => this.#onChange(change));
    this.#watchAnswers();
    for (const kind of affectingKinds) {
      for (const obj of this.#o.store.list(kind)) this.#index.apply(kind, 'upsert', obj);
    }
    for (const gw of this.#o.store.list<Gateway>(Kinds.gateway)) this.#dirty.add(keyOf(gw));
    // What a previous process held back (its route status says so) stays held: otherwise Envoy's NACK
    // of it, with no version known to be accepted yet, would make every route a suspect.
    const routes = [...this.#index.view().routesByGateway.values()].flat();
    for (const h of restoredHolds([...new Set(routes)], this.#o.controllerName)) {
      this.quarantine.restore(h.gateway as GatewayKey, { ...h, typeUrl: TypeUrls.route });
    }
    this.#flush(performance.now());
    this.#o.xds.markSynced();
    this.#o.log.info('xds snapshots ready', { gateways: this.#served.size });
  }

  stop(): void {
    this.#unsubscribe?.();
    for (const off of this.#unsubscribeXds.splice(0)) off();
  }

  /** Gateways that currently have a snapshot. */
  get gateways(): string[] {
    return [...this.#served.keys()].sort();
  }

  /** Starts a batch without a store change (a module the pipeline fetched appeared or changed). */
  poke(): void {
    if (this.#unsubscribe) this.#schedule();
  }

  #onChange(change: StoreChange): void {
    this.#index.apply(change.kind, change.type, change.object);
    // Our own status writes, watch restarts replaying ADDED and periodic re-lists change nothing
    // translation reads: they must not re-translate (at 200 Gateways a resync would redo them all).
    if (change.previous && translationInputSame(change.previous, change.object)) return;
    if (filterBatchKinds.has(change.kind)) {
      this.#schedule();
      return;
    }
    if (!affectingKinds.has(change.kind)) return;
    this.#pending.push(change);
    this.#schedule();
  }

  #schedule(): void {
    this.#firstSeenAt ??= performance.now();
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      const seenAt = this.#firstSeenAt ?? performance.now();
      this.#firstSeenAt = undefined;
      this.#flush(seenAt);
    });
  }

  /** Marks the Gateways each pending change can affect (one index for the whole batch). */
  #markAffected(index: IndexedInput): void {
    const changes = this.#pending.splice(0);
    for (const change of changes) {
      const affecting = { kind: change.kind, object: change.object } as AffectingObject;
      for (const key of affectedGateways(index, affecting)) this.#dirty.add(key);
      // A route that moved to another Gateway, or was deleted, also affects where it was.
      const storeKey = `${change.kind}/${change.key}`;
      for (const [gateway, routes] of this.#served) if (routes.has(storeKey)) this.#dirty.add(gateway);
    }
  }

  #input(): IndexedInput {
    return this.#index.view();
  }

  #flush(seenAt: number): void {
    const index = this.#input();
    this.#markAffected(index);
    // Once per batch: the Gateways whose attached filters changed, and the hooks that render them.
    const filters = this.#o.filters?.batch(index);
    for (const key of filters?.changed ?? []) this.#dirty.add(key);
    if (this.#dirty.size === 0) return;
    // Translator keys are `<namespace>/<name>` strings, the xDS server's GatewayKey.
    const keys = [...this.#dirty].sort() as GatewayKey[];
    this.#dirty.clear();
    for (const key of keys) {
      let translation: GatewayTranslation | undefined;
      // Held routes go in their last accepted form, or not at all (see isolation.ts).
      const routes = index.routesByGateway.get(key) ?? [];
      const heldBefore = this.quarantine.held(key, stillHeld(routes, undefined));
      const input = withHeldRoutes(index, key, heldBefore);
      try {
        translation = translateGateway(input, key, filters ? { hooks: filters.hooks } : {});
      } catch (err) {
        // Translation is meant never to throw; if it does, this Gateway keeps its last snapshot.
        this.#o.log.error('translation failed', { gateway: key, err: String((err as Error).stack ?? err) });
        continue;
      }
      if (!translation) {
        if (this.#served.delete(key)) {
          this.#o.xds.removeSnapshot(key);
          this.quarantine.forget(key);
          this.#o.filters?.setRejections(key, new Map());
          this.#o.onHeld?.(key, []);
          this.#o.onRemoved?.(key);
        }
        continue;
      }
      if (translation.errors.length > 0) {
        this.#o.log.warn('resources dropped by the strict encoder', { gateway: key, errors: translation.errors });
      }
      this.#o.xds.setSnapshot(key, translation.resources, {
        proxylessListeners: translation.proxylessListeners,
        seenAt,
      });
      const snapshot = this.#o.xds.cache.get(key);
      const sentRoutes = input.routesByGateway.get(key) ?? [];
      const recorded = (typeUrl: string) => this.quarantine.lastSent(key, typeUrl);
      for (const [typeUrl, sent] of contributions(translation.ir, sentRoutes, snapshot, recorded)) {
        // The same content as a version Envoy already rejected (a held object changed but translates
        // the same): it will be rejected again, so its suspects are held again at once.
        if (this.quarantine.sent(key, typeUrl, sent.version, sent.resources).length > 0) this.#dirty.add(key);
      }
      if (this.#dirty.has(key)) this.#schedule();
      const held = this.quarantine.held(key, stillHeld(routes, snapshot));
      translation = withIsolationStatus(translation, held, routes, this.#o.controllerName);
      this.#o.filters?.setRejections(key, heldPolicies(held));
      this.#o.onHeld?.(key, held);
      this.#served.set(key, new Set(translation.status.routes.map((r) => `${r.kind}/${r.route}`)));
      this.#o.onTranslated?.(translation);
    }
  }
}

/**
 * True when two versions of an object differ at most in what translation never reads: `status` and
 * `metadata.resourceVersion` (translation writes status; it reads spec, labels, annotations and
 * generation).
 */
export function translationInputSame(before: KubernetesObject, after: KubernetesObject): boolean {
  const version = before.metadata?.resourceVersion;
  if (version !== undefined && version === after.metadata?.resourceVersion) return true;
  const { status: _s1, metadata: m1, ...rest1 } = before as KubernetesObject & { status?: unknown };
  const { status: _s2, metadata: m2, ...rest2 } = after as KubernetesObject & { status?: unknown };
  const { resourceVersion: _v1, ...meta1 } = m1 ?? {};
  const { resourceVersion: _v2, ...meta2 } = m2 ?? {};
  return isDeepStrictEqual(meta1, meta2) && isDeepStrictEqual(rest1, rest2);
}

function keyOf(obj: { metadata?: { namespace?: string; name?: string } }): GatewayKey {
  return `${obj.metadata?.namespace ?? 'default'}/${obj.metadata?.name ?? ''}`;
}
