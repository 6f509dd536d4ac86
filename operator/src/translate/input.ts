// The snapshot translation reads, and an index over it so that translating one Gateway costs work
// proportional to that Gateway (not to the whole cluster).

import type { V1EndpointSlice, V1Namespace, V1Secret, V1Service } from '@kubernetes/client-node';
import type {
  Gateway,
  GatewayClass,
  GRPCRoute,
  HTTPRoute,
  ParentReference,
  ReferenceGrant,
} from '../k8s/gateway-api.ts';
import { GatewayApiGroup } from '../k8s/gateway-api.ts';
import type { IrEndpoint } from './ir.ts';

/** A plain snapshot of the objects translation reads. Missing arrays count as empty. */
export interface TranslationInput {
  /**
   * Only Gateways whose GatewayClass names this controller are translated. Undefined: every
   * Gateway is translated, whatever its class (what the `legate translate` CLI does).
   */
  controllerName?: string;
  gatewayClasses?: readonly GatewayClass[];
  gateways?: readonly Gateway[];
  httpRoutes?: readonly HTTPRoute[];
  grpcRoutes?: readonly GRPCRoute[];
  referenceGrants?: readonly ReferenceGrant[];
  services?: readonly V1Service[];
  endpointSlices?: readonly V1EndpointSlice[];
  secrets?: readonly V1Secret[];
  /** Needed only for `allowedRoutes.namespaces.from: Selector` (namespace labels). */
  namespaces?: readonly V1Namespace[];
}

export type RouteKind = 'HTTPRoute' | 'GRPCRoute';

export type AnyRoute = { kind: 'HTTPRoute'; route: HTTPRoute } | { kind: 'GRPCRoute'; route: GRPCRoute };

/** `<namespace>/<name>`. */
export function objectKey(namespace: string | undefined, name: string | undefined): string {
  return `${namespace ?? 'default'}/${name ?? ''}`;
}

/** The Gateway a parentRef of a route in `routeNamespace` points to, or undefined if not a Gateway. */
export function parentGatewayKey(ref: ParentReference, routeNamespace: string): string | undefined {
  const group = ref.group ?? GatewayApiGroup;
  const kind = ref.kind ?? 'Gateway';
  if (group !== GatewayApiGroup || kind !== 'Gateway') return undefined;
  return objectKey(ref.namespace ?? routeNamespace, ref.name);
}

/** Lookup tables over a TranslationInput. Build once per snapshot with indexInput(). */
export interface IndexedInput {
  readonly input: TranslationInput;
  readonly gateways: ReadonlyMap<string, Gateway>;
  readonly gatewayClasses: ReadonlyMap<string, GatewayClass>;
  /** Gateway key → routes with a parentRef to it. */
  readonly routesByGateway: ReadonlyMap<string, AnyRoute[]>;
  readonly services: ReadonlyMap<string, V1Service>;
  /** Service key → its EndpointSlices (label kubernetes.io/service-name). */
  readonly endpointSlices: ReadonlyMap<string, V1EndpointSlice[]>;
  readonly secrets: ReadonlyMap<string, V1Secret>;
  /** Target namespace → ReferenceGrants in it. */
  readonly grants: ReadonlyMap<string, ReferenceGrant[]>;
  readonly namespaceLabels: ReadonlyMap<string, Record<string, string>>;
  /** Ready endpoints per Service port, computed on first use (valid for this snapshot only). */
  readonly endpointsMemo: Map<string, IrEndpoint[]>;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export function routeParentGateways(r: AnyRoute): string[] {
  const ns = r.route.metadata.namespace ?? 'default';
  const keys = new Set<string>();
  const refs = r.route.spec?.parentRefs;
  for (const ref of Array.isArray(refs) ? refs : []) {
    if (!ref || typeof ref !== 'object' || typeof ref.name !== 'string') continue;
    const key = parentGatewayKey(ref, ns);
    if (key) keys.add(key);
  }
  return [...keys];
}

/** Objects with a metadata.name: anything else cannot be referred to and is left out. */
function wellFormed<T extends { metadata?: { name?: string } }>(items: readonly T[] | undefined): T[] {
  return (Array.isArray(items) ? items : []).filter(
    (o) => o && typeof o === 'object' && o.metadata && typeof o.metadata.name === 'string',
  );
}

export function indexInput(input: TranslationInput | IndexedInput): IndexedInput {
  if ('routesByGateway' in input) return input;
  const byKey = <T extends { metadata?: { namespace?: string; name?: string } }>(items: readonly T[] | undefined) => {
    const m = new Map<string, T>();
    for (const item of wellFormed(items)) m.set(objectKey(item.metadata?.namespace, item.metadata?.name), item);
    return m;
  };
  const routesByGateway = new Map<string, AnyRoute[]>();
  const routes: AnyRoute[] = [
    ...wellFormed(input.httpRoutes).map((route) => ({ kind: 'HTTPRoute' as const, route })),
    ...wellFormed(input.grpcRoutes).map((route) => ({ kind: 'GRPCRoute' as const, route })),
  ];
  for (const r of routes) for (const key of routeParentGateways(r)) push(routesByGateway, key, r);
  const endpointSlices = new Map<string, V1EndpointSlice[]>();
  for (const slice of wellFormed(input.endpointSlices)) {
    const svc = slice.metadata?.labels?.['kubernetes.io/service-name'];
    if (svc) push(endpointSlices, objectKey(slice.metadata?.namespace, svc), slice);
  }
  const grants = new Map<string, ReferenceGrant[]>();
  for (const g of wellFormed(input.referenceGrants)) push(grants, g.metadata.namespace ?? 'default', g);
  const gatewayClasses = new Map<string, GatewayClass>();
  for (const c of wellFormed(input.gatewayClasses)) gatewayClasses.set(c.metadata.name, c);
  const namespaceLabels = new Map<string, Record<string, string>>();
  for (const n of wellFormed(input.namespaces)) {
    if (n.metadata?.name) namespaceLabels.set(n.metadata.name, n.metadata.labels ?? {});
  }
  return {
    input,
    gateways: byKey(input.gateways),
    gatewayClasses,
    routesByGateway,
    services: byKey(input.services),
    endpointSlices,
    secrets: byKey(input.secrets),
    grants,
    namespaceLabels,
    endpointsMemo: new Map(),
  };
}
