// Writes what translation found back to the API server: each route's `status.parents` entries for
// our Gateways, and each Gateway's per-listener status (attached routes, conditions). Only the leader
// writes. A write happens only when the content changed, so the watch event it causes settles at once.

import { isDeepStrictEqual } from 'node:util';
import { CustomObjectsApi, type KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { KubeApply } from '../infra/kube-apply.ts';
import type { Condition, Gateway, HTTPRoute, ListenerStatus, RouteParentStatus } from '../k8s/gateway-api.ts';
import type { GatewayTranslation } from '../translate/index.ts';
import type { EventRecorder } from './events.ts';
import { Kinds } from './gateway-controller.ts';
import type { Logger } from './log.ts';
import { withTransitions } from './status.ts';
import type { ObjectStore } from './store.ts';

const group = 'gateway.networking.k8s.io';
const version = 'v1';
const plurals = { HTTPRoute: 'httproutes', GRPCRoute: 'grpcroutes' } as const;
type RouteKind = keyof typeof plurals;

/** A route's status without the timestamps, to compare what we would write with what is there. */
function comparable(parents: readonly RouteParentStatus[] | undefined) {
  return (parents ?? []).map((p) => ({
    ...p,
    conditions: (p.conditions ?? []).map(({ lastTransitionTime: _t, ...c }) => c),
  }));
}

export interface TranslationStatusOptions {
  kubeConfig: KubeConfig;
  /**
   * Applies Gateway `status.listeners`, under a field manager of its own (FieldManagers.listenerStatus):
   * sharing one with another writer would make each apply remove the other's fields.
   */
  kube: KubeApply;
  store: ObjectStore;
  controllerName: string;
  leading: () => boolean;
  log: Logger;
  now?: () => Date;
  /** Warning Events for routes that stop being accepted, or lose rules (none when undefined). */
  events?: EventRecorder;
}

/**
 * The Warning Events a route's new parent statuses call for: a parent whose Accepted turned False, or
 * whose PartiallyInvalid turned True, or either with a new message (one Event per new problem).
 */
export function routeProblemEvents(
  before: readonly RouteParentStatus[],
  after: readonly RouteParentStatus[],
): { reason: string; message: string }[] {
  const out: { reason: string; message: string }[] = [];
  const bad = (c: Condition) =>
    (c.type === 'Accepted' && c.status === 'False') || (c.type === 'PartiallyInvalid' && c.status === 'True');
  for (const p of after) {
    const old = before.find(
      (b) => b.controllerName === p.controllerName && isDeepStrictEqual(b.parentRef, p.parentRef),
    );
    for (const c of p.conditions ?? []) {
      if (!bad(c)) continue;
      const prev = old?.conditions?.find((o) => o.type === c.type);
      if (prev && prev.status === c.status && prev.message === c.message) continue;
      const where = `${p.parentRef.namespace ? `${p.parentRef.namespace}/` : ''}${p.parentRef.name}`;
      const reason = c.type === 'PartiallyInvalid' ? 'PartiallyInvalid' : c.reason;
      if (!out.some((e) => e.reason === reason && e.message.endsWith(c.message))) {
        out.push({ reason, message: `parent ${where}: ${c.message}` });
      }
    }
  }
  return out;
}

export class TranslationStatusWriter {
  readonly #o: TranslationStatusOptions;
  readonly #custom: CustomObjectsApi;
  /** `<kind>/<ns>/<name>` of a route → Gateway key → our parent statuses for that Gateway. */
  readonly #routeParents = new Map<string, Map<string, RouteParentStatus[]>>();
  /** Gateway key → the listener status last written. */
  readonly #listeners = new Map<string, ListenerStatus[]>();
  /** Gateway key → the listener status of its latest translation (kept while not leading, for resync). */
  readonly #latestListeners = new Map<string, readonly ListenerStatus[]>();
  #queue: Promise<void> = Promise.resolve();

  constructor(options: TranslationStatusOptions) {
    this.#o = options;
    this.#custom = options.kubeConfig.makeApiClient(CustomObjectsApi);
  }

  /** Records a Gateway's fresh translation and writes whatever status it changed. */
  update(t: GatewayTranslation): void {
    const touched = new Set<string>();
    const fresh = new Map<string, RouteParentStatus[]>();
    for (const r of t.status.routes) {
      const key = `${r.kind}/${r.route}`;
      const list = fresh.get(key) ?? [];
      list.push({ parentRef: r.parentRef, controllerName: r.controllerName, conditions: r.conditions });
      fresh.set(key, list);
    }
    for (const [routeKey, byGateway] of this.#routeParents) {
      if (byGateway.delete(t.key) && !fresh.has(routeKey)) touched.add(routeKey);
    }
    for (const [routeKey, parents] of fresh) {
      let byGateway = this.#routeParents.get(routeKey);
      if (!byGateway) {
        byGateway = new Map();
        this.#routeParents.set(routeKey, byGateway);
      }
      byGateway.set(t.key, parents);
      touched.add(routeKey);
    }
    // The queued write keeps only what it needs, not the translation (its resources and IR): at
    // start-up thousands of writes wait here, and holding every Gateway's translation until its turn
    // was the operator's largest heap item.
    const { key } = t;
    const { listeners } = t.status.gateway;
    this.#latestListeners.set(key, listeners);
    this.#enqueue(async () => {
      for (const routeKey of [...touched].sort()) await this.#writeRoute(routeKey);
      await this.#writeListeners(key, listeners);
    });
  }

  /** A Gateway is gone or no longer ours: drop its entries from its routes' status. */
  remove(gatewayKey: string): void {
    const touched: string[] = [];
    for (const [routeKey, byGateway] of this.#routeParents) if (byGateway.delete(gatewayKey)) touched.push(routeKey);
    this.#listeners.delete(gatewayKey);
    this.#latestListeners.delete(gatewayKey);
    this.#enqueue(async () => {
      for (const routeKey of touched.sort()) await this.#writeRoute(routeKey);
    });
  }

  /**
   * Writes the status of every translation seen so far: call on becoming the leader, since the
   * translations made before (at start-up they come first) were not written.
   */
  resync(): void {
    this.#listeners.clear();
    const routes = [...this.#routeParents.keys()].sort();
    const gateways = [...this.#latestListeners];
    this.#enqueue(async () => {
      for (const routeKey of routes) await this.#writeRoute(routeKey);
      for (const [key, listeners] of gateways) await this.#writeListeners(key, listeners);
    });
  }

  /** Resolves when every queued write is done (for tests and shutdown). */
  idle(): Promise<void> {
    return this.#queue;
  }

  #enqueue(work: () => Promise<void>): void {
    if (!this.#o.leading()) return;
    this.#queue = this.#queue.then(work).catch((err: unknown) => {
      // A conflict or a vanished object: the next watch event re-translates and writes again.
      this.#o.log.warn('status write failed', { err: String((err as Error)?.message ?? err) });
    });
  }

  async #writeRoute(routeKey: string): Promise<void> {
    const [kind, namespace, name] = routeKey.split('/') as [RouteKind, string, string];
    const route = this.#o.store.get<HTTPRoute>(kind, `${namespace}/${name}`);
    if (!route) return;
    const existing = route.status?.parents ?? [];
    const ours = [...(this.#routeParents.get(routeKey)?.values() ?? [])].flat();
    const now = this.#o.now?.() ?? new Date();
    const stamped = ours.map((p) => {
      const before = existing.find(
        (e) => e.controllerName === p.controllerName && isDeepStrictEqual(e.parentRef, p.parentRef),
      );
      return {
        ...p,
        conditions: withTransitions(before?.conditions, p.conditions ?? [], route.metadata.generation, now),
      };
    });
    // Other controllers' entries stay as they are; ours are replaced as a whole.
    const parents = [...existing.filter((p) => p.controllerName !== this.#o.controllerName), ...stamped];
    if (isDeepStrictEqual(comparable(parents), comparable(existing))) return;
    await this.#custom.patchNamespacedCustomObjectStatus(
      {
        group,
        version,
        namespace,
        plural: plurals[kind],
        name,
        // The resourceVersion makes this a compare-and-swap: a stale view gets 409, not a lost update.
        body: { metadata: { resourceVersion: route.metadata.resourceVersion }, status: { parents } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const events = this.#o.events;
    if (!events) return;
    for (const e of routeProblemEvents(existing, stamped)) {
      const target = { apiVersion: `${group}/${version}`, kind, name, namespace, uid: route.metadata.uid };
      await events.record(target, 'Warning', e.reason, e.message).catch((err: unknown) => {
        this.#o.log.warn('could not record an Event', { route: routeKey, err: String((err as Error)?.message ?? err) });
      });
    }
  }

  async #writeListeners(gatewayKey: string, listeners: readonly ListenerStatus[]): Promise<void> {
    const [namespace, name] = gatewayKey.split('/') as [string, string];
    const gateway = this.#o.store.get<Gateway>(Kinds.gateway, gatewayKey);
    if (!gateway) return;
    const now = this.#o.now?.() ?? new Date();
    const previous = gateway.status?.listeners ?? [];
    const stamped = listeners.map((l) => ({
      ...l,
      conditions: withTransitions(
        previous.find((p) => p.name === l.name)?.conditions as Condition[] | undefined,
        l.conditions,
        gateway.metadata.generation,
        now,
      ),
    }));
    const last = this.#listeners.get(gatewayKey);
    if (last && isDeepStrictEqual(last, listeners)) return;
    await this.#o.kube.applyStatus(
      { group, version, plural: 'gateways', kind: 'Gateway', namespace, name },
      {
        listeners: stamped,
      },
    );
    this.#listeners.set(gatewayKey, [...listeners]);
  }
}
