// The translation index kept up to date one object at a time, so that a change costs work in
// proportion to that change instead of a rebuild over every object in the cluster (what indexInput
// does for a one-off snapshot such as the CLI's). Lists are kept in key order, so the same objects
// give the same index whatever order their events arrived in.

import type { V1EndpointSlice, V1Secret, V1Service } from '@kubernetes/client-node';
import type { Gateway, GatewayClass, GRPCRoute, HTTPRoute, ReferenceGrant } from '../k8s/gateway-api.ts';
import { type AnyRoute, type IndexedInput, objectKey, routeParentGateways, type TranslationInput } from './input.ts';

type Named = { metadata?: { name?: string; namespace?: string; labels?: Record<string, string> } };

const routeKinds = new Set(['HTTPRoute', 'GRPCRoute']);

/** Inserts or replaces `item` in a list kept sorted by `key` (returns a new array: views stay stable). */
function withItem<T>(list: readonly T[] | undefined, item: T, key: (t: T) => string): T[] {
  const k = key(item);
  const out = (list ?? []).filter((x) => key(x) !== k);
  const at = out.findIndex((x) => key(x) > k);
  out.splice(at === -1 ? out.length : at, 0, item);
  return out;
}

function withoutItem<K, T>(map: Map<K, T[]>, at: K, k: string, key: (t: T) => string): void {
  const rest = (map.get(at) ?? []).filter((x) => key(x) !== k);
  if (rest.length > 0) map.set(at, rest);
  else map.delete(at);
}

const routeKey = (r: AnyRoute) => `${r.kind}/${objectKey(r.route.metadata.namespace, r.route.metadata.name)}`;
const nameKey = (o: Named) => objectKey(o.metadata?.namespace, o.metadata?.name);

export class LiveIndex {
  readonly #controllerName: string | undefined;
  readonly #gateways = new Map<string, Gateway>();
  readonly #gatewayClasses = new Map<string, GatewayClass>();
  readonly #services = new Map<string, V1Service>();
  readonly #secrets = new Map<string, V1Secret>();
  readonly #routes = new Map<string, AnyRoute>();
  readonly #routeParents = new Map<string, string[]>();
  readonly #routesByGateway = new Map<string, AnyRoute[]>();
  readonly #slices = new Map<string, V1EndpointSlice>();
  readonly #sliceService = new Map<string, string>();
  readonly #slicesByService = new Map<string, V1EndpointSlice[]>();
  readonly #grants = new Map<string, ReferenceGrant>();
  readonly #grantsByNamespace = new Map<string, ReferenceGrant[]>();
  readonly #namespaceLabels = new Map<string, Record<string, string>>();

  constructor(controllerName?: string) {
    this.#controllerName = controllerName;
  }

  /** Applies one added, changed or deleted object; false when translation does not read its kind. */
  apply(kind: string, type: 'upsert' | 'delete', object: Named): boolean {
    if (typeof object?.metadata?.name !== 'string') return false;
    const key = nameKey(object);
    const remove = type === 'delete';
    switch (kind) {
      case 'Gateway':
        return this.#set(this.#gateways, key, object as Gateway, remove);
      case 'GatewayClass':
        return this.#set(this.#gatewayClasses, object.metadata.name, object as GatewayClass, remove);
      case 'Service':
        return this.#set(this.#services, key, object as V1Service, remove);
      case 'Secret':
        return this.#set(this.#secrets, key, object as V1Secret, remove);
      case 'Namespace':
        if (remove) this.#namespaceLabels.delete(object.metadata.name);
        else this.#namespaceLabels.set(object.metadata.name, object.metadata.labels ?? {});
        return true;
      case 'EndpointSlice':
        this.#applySlice(key, object as V1EndpointSlice, remove);
        return true;
      case 'ReferenceGrant':
        this.#applyGrant(key, object as ReferenceGrant, remove);
        return true;
      default:
        if (!routeKinds.has(kind)) return false;
        this.#applyRoute({ kind, route: object } as AnyRoute, remove);
        return true;
    }
  }

  /**
   * The index for one batch of translations. Its maps are live: use it within the batch and take a
   * fresh view for the next. The endpoint memo is new each time, since endpoints may have changed.
   */
  view(): IndexedInput {
    const self = this;
    const input: TranslationInput = {
      controllerName: this.#controllerName,
      get gatewayClasses() {
        return [...self.#gatewayClasses.values()];
      },
      get gateways() {
        return [...self.#gateways.values()];
      },
      get httpRoutes() {
        return self.#routesOf<HTTPRoute>('HTTPRoute');
      },
      get grpcRoutes() {
        return self.#routesOf<GRPCRoute>('GRPCRoute');
      },
      get referenceGrants() {
        return [...self.#grants.values()];
      },
      get services() {
        return [...self.#services.values()];
      },
      get endpointSlices() {
        return [...self.#slices.values()];
      },
      get secrets() {
        return [...self.#secrets.values()];
      },
    };
    return {
      input,
      gateways: this.#gateways,
      gatewayClasses: this.#gatewayClasses,
      routesByGateway: this.#routesByGateway,
      services: this.#services,
      endpointSlices: this.#slicesByService,
      secrets: this.#secrets,
      grants: this.#grantsByNamespace,
      namespaceLabels: this.#namespaceLabels,
      endpointsMemo: new Map(),
    };
  }

  #set<T>(map: Map<string, T>, key: string, object: T, remove: boolean): true {
    if (remove) map.delete(key);
    else map.set(key, object);
    return true;
  }

  #routesOf<T>(kind: string): T[] {
    return [...this.#routes.values()].filter((r) => r.kind === kind).map((r) => r.route as T);
  }

  #applyRoute(route: AnyRoute, remove: boolean): void {
    const key = routeKey(route);
    for (const gw of this.#routeParents.get(key) ?? []) withoutItem(this.#routesByGateway, gw, key, routeKey);
    this.#routes.delete(key);
    this.#routeParents.delete(key);
    if (remove) return;
    const parents = routeParentGateways(route);
    this.#routes.set(key, route);
    this.#routeParents.set(key, parents);
    for (const gw of parents) this.#routesByGateway.set(gw, withItem(this.#routesByGateway.get(gw), route, routeKey));
  }

  #applySlice(key: string, slice: V1EndpointSlice, remove: boolean): void {
    const before = this.#sliceService.get(key);
    if (before) withoutItem(this.#slicesByService, before, key, nameKey);
    this.#slices.delete(key);
    this.#sliceService.delete(key);
    const service = slice.metadata?.labels?.['kubernetes.io/service-name'];
    if (remove) return;
    this.#slices.set(key, slice);
    if (!service) return;
    const serviceKey = objectKey(slice.metadata?.namespace, service);
    this.#sliceService.set(key, serviceKey);
    this.#slicesByService.set(serviceKey, withItem(this.#slicesByService.get(serviceKey), slice, nameKey));
  }

  #applyGrant(key: string, grant: ReferenceGrant, remove: boolean): void {
    const ns = grant.metadata.namespace ?? 'default';
    withoutItem(this.#grantsByNamespace, ns, key, nameKey);
    this.#grants.delete(key);
    if (remove) return;
    this.#grants.set(key, grant);
    this.#grantsByNamespace.set(ns, withItem(this.#grantsByNamespace.get(ns), grant, nameKey));
  }
}
