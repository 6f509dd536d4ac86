// The translation side of NACK isolation (xds/quarantine.ts keeps the books): what each Route and
// ExtensionConfig resource is built from, a translation input in which held routes appear in their
// last accepted form (or not at all), and the status that tells a user which objects are not live
// and Envoy's reason. Pure functions of their arguments.

import { TypeUrls } from '../envoy/protos.ts';
import { type Condition, ConditionType, RouteReason } from '../k8s/gateway-api.ts';
import type { GatewayTranslation, IrGateway, RouteParentStatusResult } from '../translate/index.ts';
import type { AnyRoute, IndexedInput } from '../translate/input.ts';
import { objectKey, parentGatewayKey } from '../translate/input.ts';
import type { Contributor, Held, SentResource } from '../xds/quarantine.ts';
import type { GatewaySnapshot } from '../xds/snapshot-cache.ts';

/** The types whose resources are isolated per contributing object. */
export const isolatedTypes = [TypeUrls.route, TypeUrls.extensionConfig] as const;

/** `<Kind>/<namespace>/<name>` of a route (the quarantine key). */
export function routeKey(r: AnyRoute): string {
  return `${r.kind}/${objectKey(r.route.metadata.namespace, r.route.metadata.name)}`;
}

/** A route's fingerprint: its generation (spec changes), else its resourceVersion. */
export function routeFingerprint(r: AnyRoute): string {
  const m = r.route.metadata;
  return m.generation !== undefined ? `g${m.generation}` : `rv${m.resourceVersion ?? ''}`;
}

const ecdsPrefix = 'ExtensionConfig/';

/**
 * What each of a Gateway's resources of the isolated types was built from, as `sent` wants it. Routes:
 * the HTTPRoutes/GRPCRoutes whose rules are in the RouteConfiguration (IR route names start with
 * `<Kind>/<namespace>/<name>/`). ExtensionConfigs: the resource itself (its content is its fingerprint;
 * a FilterPolicy's status names it).
 */
export function contributions(
  ir: IrGateway,
  routes: readonly AnyRoute[],
  snapshot: GatewaySnapshot | undefined,
  /** The version last recorded per type: a type still at that version is skipped (nothing to record). */
  recorded: (typeUrl: string) => string | undefined = () => undefined,
): Map<string, { version: string; resources: Map<string, SentResource> }> {
  const out = new Map<string, { version: string; resources: Map<string, SentResource> }>();
  const rds = snapshot?.get(TypeUrls.route);
  if (rds && rds.version !== recorded(TypeUrls.route)) {
    const byKey = new Map(routes.map((r) => [routeKey(r), r]));
    const resources = new Map<string, SentResource>();
    for (const chain of ir.listeners.flatMap((l) => l.filterChains)) {
      const rc = chain.routeConfig;
      const stored = rds.resources.get(rc.name);
      if (!stored) continue;
      const contributors = new Map<string, Contributor>();
      for (const vh of rc.virtualHosts) {
        for (const route of vh.routes) {
          const key = route.name.split('/').slice(0, 3).join('/');
          if (contributors.has(key)) continue;
          const r = byKey.get(key);
          if (r) contributors.set(key, contributorOf(r));
        }
      }
      resources.set(rc.name, { hash: stored.hash, contributors: [...contributors.values()] });
    }
    out.set(TypeUrls.route, { version: rds.version, resources });
  }
  const ecds = snapshot?.get(TypeUrls.extensionConfig);
  if (ecds && ecds.version !== recorded(TypeUrls.extensionConfig)) {
    const resources = new Map<string, SentResource>();
    for (const [name, stored] of ecds.resources) {
      resources.set(name, {
        hash: stored.hash,
        contributors: [{ key: `${ecdsPrefix}${name}`, fingerprint: stored.hash }],
      });
    }
    out.set(TypeUrls.extensionConfig, { version: ecds.version, resources });
  }
  return out;
}

/** One Contributor per route object, shared by every version that carries it (memory stays flat). */
const contributorMemo = new WeakMap<object, Contributor>();

function contributorOf(r: AnyRoute): Contributor {
  let c = contributorMemo.get(r.route);
  if (!c) {
    c = { key: routeKey(r), fingerprint: routeFingerprint(r), object: r };
    contributorMemo.set(r.route, c);
  }
  return c;
}

/** Whether a held key is an ExtensionConfig (else a route). */
export function isExtensionConfig(key: string): boolean {
  return key.startsWith(ecdsPrefix);
}

/**
 * Whether a held object is still in the form that was held: a route when its fingerprint is the same,
 * an ExtensionConfig when its content is (without a snapshot, ExtensionConfigs keep their hold).
 */
export function stillHeld(routes: readonly AnyRoute[], snapshot: GatewaySnapshot | undefined): (h: Held) => boolean {
  const byKey = new Map(routes.map((r) => [routeKey(r), r]));
  return (h) => {
    if (isExtensionConfig(h.key)) {
      if (!snapshot) return true;
      return (
        snapshot.get(TypeUrls.extensionConfig)?.resources.get(h.key.slice(ecdsPrefix.length))?.hash === h.fingerprint
      );
    }
    const r = byKey.get(h.key);
    return r !== undefined && routeFingerprint(r) === h.fingerprint;
  };
}

/** The index with the Gateway's held routes in their last accepted form, or left out. */
export function withHeldRoutes(index: IndexedInput, gateway: string, held: readonly Held[]): IndexedInput {
  const routes = held.filter((h) => !h.key.startsWith(ecdsPrefix));
  if (routes.length === 0) return index;
  const byKey = new Map(routes.map((h) => [h.key, h]));
  const list: AnyRoute[] = [];
  for (const r of index.routesByGateway.get(gateway) ?? []) {
    const h = byKey.get(routeKey(r));
    if (!h) list.push(r);
    else if (h.pinned?.object) list.push(h.pinned.object as AnyRoute);
  }
  const base = index.routesByGateway;
  const routesByGateway: ReadonlyMap<string, AnyRoute[]> = new Proxy(base, {
    get(target, prop) {
      if (prop === 'get') return (key: string) => (key === gateway ? list : target.get(key));
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { ...index, routesByGateway };
}

const maxMessage = 1024;
const rejectedPrefix = /^Envoy rejected this (HTTPRoute|GRPCRoute) \(([^)]*)\): /;
const servedSuffixes = ['. Its last accepted version is still served', '. It is not served'];

/**
 * The holds a previous operator process left in route status (`Accepted=False` "Envoy rejected this
 * …" for the route's current generation), per Gateway: a restarted operator holds them again.
 */
export function restoredHolds(
  routes: readonly AnyRoute[],
  controllerName: string,
): { gateway: string; key: string; fingerprint: string; nodeId: string; message: string }[] {
  const out: { gateway: string; key: string; fingerprint: string; nodeId: string; message: string }[] = [];
  for (const r of routes) {
    const m = r.route.metadata;
    const ns = m.namespace ?? 'default';
    const parents = (r.route as { status?: { parents?: RouteParentStatusResult[] } }).status?.parents ?? [];
    for (const p of parents) {
      if (p.controllerName !== controllerName) continue;
      const c = p.conditions?.find((x) => x.type === ConditionType.Accepted);
      if (!c || c.status !== 'False' || c.observedGeneration !== m.generation) continue;
      const head = rejectedPrefix.exec(c.message ?? '');
      if (!head || head[1] !== r.kind) continue;
      const rest = c.message.slice(head[0].length);
      const end = Math.max(...servedSuffixes.map((x) => rest.lastIndexOf(x)));
      const gateway = parentGatewayKey(p.parentRef, ns);
      if (end < 0 || !gateway) continue;
      out.push({
        gateway,
        key: routeKey(r),
        fingerprint: routeFingerprint(r),
        nodeId: head[2] === 'a proxy' ? '' : (head[2] ?? ''),
        message: rest.slice(0, end),
      });
    }
  }
  return out;
}

/** What a held object's status says. */
export function heldMessage(h: Held, what: string): string {
  const served = h.pinned
    ? 'Its last accepted version is still served'
    : 'It is not served (Envoy never accepted a version of it)';
  const envoySaid = h.message.trim().replace(/\.+$/, '');
  const text = h.guilty
    ? `Envoy rejected this ${what} (${h.nodeId || 'a proxy'}): ${envoySaid}. ${served} until it changes.`
    : `Held back while Legate finds which of ${h.suspects} changed objects Envoy rejected (${h.nodeId || 'a proxy'}): ${envoySaid}. ${served}.`;
  return text.length > maxMessage ? `${text.slice(0, maxMessage - 1)}…` : text;
}

/**
 * The route statuses with every held route of this Gateway reported as `Accepted=False` (reason
 * UnsupportedValue) and Envoy's message, on each of its parentRefs to this Gateway. A held route left
 * out of translation gets its entries here.
 */
export function withHeldRouteStatus(
  status: readonly RouteParentStatusResult[],
  held: readonly Held[],
  routes: readonly AnyRoute[],
  gateway: string,
  controllerName: string,
): RouteParentStatusResult[] {
  const heldRoutes = new Map(held.filter((h) => !h.key.startsWith(ecdsPrefix)).map((h) => [h.key, h]));
  if (heldRoutes.size === 0) return [...status];
  const out = status.filter((s) => !heldRoutes.has(`${s.kind}/${s.route}`));
  for (const r of routes) {
    const h = heldRoutes.get(routeKey(r));
    if (!h) continue;
    const ns = r.route.metadata.namespace ?? 'default';
    const condition: Condition = {
      type: ConditionType.Accepted,
      status: 'False',
      reason: RouteReason.UnsupportedValue,
      message: heldMessage(h, r.kind),
    };
    if (r.route.metadata.generation !== undefined) condition.observedGeneration = r.route.metadata.generation;
    for (const parentRef of r.route.spec?.parentRefs ?? []) {
      if (parentGatewayKey(parentRef, ns) !== gateway) continue;
      out.push({
        kind: r.kind,
        route: objectKey(ns, r.route.metadata.name),
        parentRef,
        controllerName,
        conditions: [condition],
      });
    }
  }
  return out;
}

/**
 * FilterPolicy key → message, for held ExtensionConfigs (named `<gw ns>/<gw>/filter/<policy ns>/
 * <policy>/<entry>`).
 */
export function heldPolicies(held: readonly Held[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const h of held) {
    if (!h.key.startsWith(ecdsPrefix)) continue;
    const parts = h.key.slice(ecdsPrefix.length).split('/');
    if (parts[2] !== 'filter' || parts.length < 6) continue;
    const policy = `${parts[3]}/${parts[4]}`;
    const message = heldMessage(
      { ...h, guilty: true, pinned: undefined },
      `filter configuration (entry ${parts[5]})`,
    ).replace(
      /\. It is not served.*$/,
      '. Envoy keeps running its previous configuration of this filter, if it had one.',
    );
    out.set(policy, out.has(policy) ? `${out.get(policy)}; ${message}` : message);
  }
  return out;
}

/** The translation with held routes' status (what onTranslated writes). */
export function withIsolationStatus(
  t: GatewayTranslation,
  held: readonly Held[],
  routes: readonly AnyRoute[],
  controllerName: string,
): GatewayTranslation {
  if (held.length === 0) return t;
  return {
    ...t,
    status: { ...t.status, routes: withHeldRouteStatus(t.status.routes, held, routes, t.key, controllerName) },
  };
}
