// Translation entry points: Gateway API snapshot → per Gateway IR, Envoy resources (proto3 JSON and
// strictly encoded bytes) and status. Pure: no I/O, no clock; the same input gives byte-identical
// output. See docs/translate.md.

import type { V1EndpointSlice, V1Namespace, V1Secret, V1Service } from '@kubernetes/client-node';
import { TypeUrls } from '../envoy/protos.ts';
import type { JsonValue } from '../envoy/strict.ts';
import { strictEncode } from '../envoy/strict.ts';
import type { Gateway, GatewayClass, GRPCRoute, HTTPRoute, ReferenceGrant } from '../k8s/gateway-api.ts';
import {
  renderApiListener,
  renderCluster,
  renderEndpoints,
  renderListener,
  renderRouteConfig,
  renderSecret,
} from './envoy.ts';
import { DEFAULT_CONTROLLER_NAME, gatewayToIr } from './gatewayapi.ts';
import type { IndexedInput, TranslationInput } from './input.ts';
import { indexInput, objectKey, routeParentGateways } from './input.ts';
import type { IrFilterChain, IrGateway, IrListener } from './ir.ts';
import type { GatewayStatusResult, RouteParentStatusResult } from './status.ts';
import { condition } from './status.ts';

export type { IndexedInput, TranslationInput } from './input.ts';
export { indexInput } from './input.ts';
export type * from './ir.ts';
export * from './names.ts';
export type { GatewayStatusResult, RouteParentStatusResult } from './status.ts';
export { DEFAULT_CONTROLLER_NAME };

/** One xDS resource: its name, its proto3 JSON (without `@type`) and its encoded bytes. */
export interface EnvoyResource {
  name: string;
  resource: { [key: string]: JsonValue };
  bytes: Uint8Array;
}

export type TypeUrl = (typeof TypeUrls)[keyof typeof TypeUrls];

export interface GatewayTranslation {
  /** `<namespace>/<name>`. */
  key: string;
  ir: IrGateway;
  /** What the Gateway's Envoy fleet gets, by type URL (listeners, routes, clusters, endpoints, secrets). */
  resources: Partial<Record<TypeUrl, EnvoyResource[]>>;
  /**
   * Proxyless-gRPC API listeners (`<namespace>/<gateway>/<listener>`), served by name to gRPC clients
   * and never to Envoy (a socket-less listener would be rejected). Each carries its routes inline
   * (in the form grpc-js-xds accepts) and uses the same clusters and endpoints as `resources`.
   */
  proxylessListeners: EnvoyResource[];
  status: { gateway: GatewayStatusResult; routes: RouteParentStatusResult[] };
  /** Resources the strict encoder rejected (a translator bug; they are left out, never thrown). */
  errors: string[];
}

type Json = { [key: string]: JsonValue };

/**
 * Extension points for parts of Legate that add to a Gateway's Envoy config (the Wasm filters of
 * FilterPolicies): called on the rendered proto3 JSON before strict encoding, so what they add is
 * checked against the Envoy schema like the rest. Hooks must be pure and must not mutate their input.
 */
export interface RenderHooks {
  listener?(json: Json, listener: IrListener, gatewayKey: string): Json;
  /** `chain` is the filter chain whose HCM reads this route configuration. */
  routeConfig?(json: Json, chain: IrFilterChain, gatewayKey: string): Json;
  /** More resources for the Gateway, such as ECDS TypedExtensionConfigs. */
  extraResources?(gatewayKey: string, ir: IrGateway): { typeUrl: TypeUrl; name: string; json: Json }[];
}

export interface TranslateOptions {
  hooks?: RenderHooks;
}

export interface TranslationResult {
  /** Keyed by `<namespace>/<name>`, in sorted key order. */
  gateways: Map<string, GatewayTranslation>;
}

function isOurs(index: IndexedInput, gateway: Gateway): boolean {
  const controller = index.input.controllerName;
  if (controller === undefined) return true;
  return index.gatewayClasses.get(gateway.spec?.gatewayClassName)?.spec?.controllerName === controller;
}

function encodeAll(
  typeUrl: string,
  items: { name: string; json: { [key: string]: JsonValue } }[],
  errors: string[],
): EnvoyResource[] {
  const out: EnvoyResource[] = [];
  for (const { name, json } of items) {
    try {
      out.push({ name, resource: json, bytes: strictEncode(typeUrl, json) });
    } catch (e) {
      errors.push(`${typeUrl} ${name}: ${(e as Error).message}`);
    }
  }
  return out;
}

/**
 * Translates one Gateway (`<namespace>/<name>`). Undefined when the Gateway does not exist or
 * belongs to another controller. Pass an IndexedInput (indexInput()) when translating many
 * Gateways of one snapshot, so the lookup tables are built once.
 */
export function translateGateway(
  input: TranslationInput | IndexedInput,
  gatewayKey: string,
  options: TranslateOptions = {},
): GatewayTranslation | undefined {
  const index = indexInput(input);
  const gateway = index.gateways.get(gatewayKey);
  if (!gateway || !isOurs(index, gateway)) return undefined;
  try {
    return render(index, gateway, gatewayKey, options);
  } catch (e) {
    // Only a Gateway of a shape the API server's schema refuses gets here (e.g. from the CLI).
    return malformedGateway(gatewayKey, gateway, e);
  }
}

function malformedGateway(gatewayKey: string, gateway: Gateway, e: unknown): GatewayTranslation {
  const message = `Gateway is malformed: ${e instanceof Error ? e.message : String(e)}`;
  const gen = typeof gateway.metadata?.generation === 'number' ? gateway.metadata.generation : undefined;
  return {
    key: gatewayKey,
    ir: { key: gatewayKey, listeners: [], apiListeners: [], clusters: [], endpoints: [], secrets: [] },
    resources: {},
    proxylessListeners: [],
    status: {
      gateway: {
        conditions: [
          condition('Accepted', false, 'Invalid', message, gen),
          condition('Programmed', false, 'Invalid', message, gen),
        ],
        listeners: [],
      },
      routes: [],
    },
    errors: [],
  };
}

function render(
  index: IndexedInput,
  gateway: Gateway,
  gatewayKey: string,
  options: TranslateOptions,
): GatewayTranslation {
  const hooks = options.hooks ?? {};
  const { ir, gatewayStatus, routeStatus } = gatewayToIr(
    index,
    gateway,
    index.input.controllerName ?? DEFAULT_CONTROLLER_NAME,
  );
  const errors: string[] = [];
  const chains = ir.listeners.flatMap((l) => l.filterChains);
  const routeConfigs = chains.map((c) => c.routeConfig);
  const resources: GatewayTranslation['resources'] = {
    [TypeUrls.listener]: encodeAll(
      TypeUrls.listener,
      ir.listeners.map((l) => {
        const json = renderListener(l);
        return { name: l.name, json: hooks.listener ? hooks.listener(json, l, gatewayKey) : json };
      }),
      errors,
    ),
    [TypeUrls.route]: encodeAll(
      TypeUrls.route,
      chains.map((c) => {
        const json = renderRouteConfig(c.routeConfig);
        return { name: c.routeConfig.name, json: hooks.routeConfig ? hooks.routeConfig(json, c, gatewayKey) : json };
      }),
      errors,
    ),
    [TypeUrls.cluster]: encodeAll(
      TypeUrls.cluster,
      ir.clusters.map((c) => ({ name: c.name, json: renderCluster(c) })),
      errors,
    ),
    [TypeUrls.endpoint]: encodeAll(
      TypeUrls.endpoint,
      ir.endpoints.map((e) => ({ name: e.name, json: renderEndpoints(e) })),
      errors,
    ),
    [TypeUrls.secret]: encodeAll(
      TypeUrls.secret,
      ir.secrets.map((s) => ({ name: s.name, json: renderSecret(s) })),
      errors,
    ),
  };
  for (const extra of hooks.extraResources?.(gatewayKey, ir) ?? []) {
    const list = resources[extra.typeUrl] ?? [];
    list.push(...encodeAll(extra.typeUrl, [{ name: extra.name, json: extra.json }], errors));
    resources[extra.typeUrl] = list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
  const routeConfigsByName = new Map(routeConfigs.map((rc) => [rc.name, rc]));
  const proxylessListeners = encodeAll(
    TypeUrls.listener,
    ir.apiListeners.flatMap((a) => {
      const rc = routeConfigsByName.get(a.routeConfig);
      return rc ? [{ name: a.name, json: renderApiListener(a, rc) }] : [];
    }),
    errors,
  );
  return {
    key: gatewayKey,
    ir,
    resources,
    proxylessListeners,
    status: { gateway: gatewayStatus, routes: routeStatus },
    errors,
  };
}

/** Translates every Gateway of the snapshot (that belongs to `input.controllerName`, if set). */
export function translate(input: TranslationInput | IndexedInput, options: TranslateOptions = {}): TranslationResult {
  const index = indexInput(input);
  const gateways = new Map<string, GatewayTranslation>();
  for (const key of [...index.gateways.keys()].sort()) {
    const t = translateGateway(index, key, options);
    if (t) gateways.set(key, t);
  }
  return { gateways };
}

/** Any object translation reads, tagged with its kind. */
export type AffectingObject =
  | { kind: 'Gateway'; object: Gateway }
  | { kind: 'HTTPRoute'; object: HTTPRoute }
  | { kind: 'GRPCRoute'; object: GRPCRoute }
  | { kind: 'Service'; object: V1Service }
  | { kind: 'EndpointSlice'; object: V1EndpointSlice }
  | { kind: 'Secret'; object: V1Secret }
  | { kind: 'ReferenceGrant'; object: ReferenceGrant }
  | { kind: 'GatewayClass'; object: GatewayClass }
  | { kind: 'Namespace'; object: V1Namespace };

/**
 * The Gateway keys whose translation may change when `change` is added, updated or deleted, against
 * the snapshot `input` (call it with both the old and the new object on update, and union the keys).
 * Conservative where exactness would cost a full translation: a ReferenceGrant affects every Gateway
 * with a route or listener in the namespaces it names.
 */
export function affectedGateways(input: TranslationInput | IndexedInput, change: AffectingObject): string[] {
  const index = indexInput(input);
  const out = new Set<string>();
  const ns = (change.object.metadata as { namespace?: string } | undefined)?.namespace ?? 'default';
  switch (change.kind) {
    case 'Gateway':
      out.add(objectKey(ns, change.object.metadata?.name));
      break;
    case 'HTTPRoute':
    case 'GRPCRoute':
      for (const key of routeParentGateways({ kind: change.kind, route: change.object } as never)) out.add(key);
      break;
    case 'Service':
    case 'EndpointSlice': {
      const svc =
        change.kind === 'Service'
          ? change.object.metadata?.name
          : change.object.metadata?.labels?.['kubernetes.io/service-name'];
      if (!svc) break;
      for (const [gwKey, routes] of index.routesByGateway) {
        if (routes.some((r) => routeReferencesService(r.route, ns, svc))) out.add(gwKey);
      }
      break;
    }
    case 'Secret':
      for (const [gwKey, gw] of index.gateways) {
        const gwNs = gw.metadata.namespace ?? 'default';
        const uses = gw.spec?.listeners?.some((l) =>
          l.tls?.certificateRefs?.some((c) => c.name === change.object.metadata?.name && (c.namespace ?? gwNs) === ns),
        );
        if (uses) out.add(gwKey);
      }
      break;
    case 'GatewayClass':
      for (const [gwKey, gw] of index.gateways) {
        if (gw.spec?.gatewayClassName === change.object.metadata.name) out.add(gwKey);
      }
      break;
    case 'Namespace': {
      // Namespace labels only matter to listeners that select route namespaces by label.
      const name = change.object.metadata?.name;
      for (const [gwKey, gw] of index.gateways) {
        const selects = gw.spec?.listeners?.some((l) => l.allowedRoutes?.namespaces?.from === 'Selector');
        if (selects && (index.routesByGateway.get(gwKey) ?? []).some((r) => r.route.metadata.namespace === name)) {
          out.add(gwKey);
        }
      }
      break;
    }
    case 'ReferenceGrant': {
      const fromNamespaces = new Set((change.object.spec?.from ?? []).map((f) => f.namespace));
      for (const [gwKey, gw] of index.gateways) {
        if (fromNamespaces.has(gw.metadata.namespace ?? 'default')) out.add(gwKey);
      }
      for (const [gwKey, routes] of index.routesByGateway) {
        if (routes.some((r) => fromNamespaces.has(r.route.metadata.namespace ?? 'default'))) out.add(gwKey);
      }
      break;
    }
  }
  return [...out].sort();
}

function routeReferencesService(route: HTTPRoute | GRPCRoute, svcNs: string, svcName: string): boolean {
  const routeNs = route.metadata.namespace ?? 'default';
  const matches = (ref: { name: string; namespace?: string; group?: string; kind?: string }) =>
    ref.name === svcName && (ref.namespace ?? routeNs) === svcNs && (ref.kind ?? 'Service') === 'Service';
  for (const rule of route.spec?.rules ?? []) {
    for (const b of rule.backendRefs ?? []) {
      if (matches(b)) return true;
      if (b.filters?.some((f) => f.requestMirror && matches(f.requestMirror.backendRef))) return true;
    }
    if (rule.filters?.some((f) => f.requestMirror && matches(f.requestMirror.backendRef))) return true;
  }
  return false;
}
