// Gateway API → IR for one Gateway: attaches routes to listeners (parentRefs, allowedRoutes,
// hostnames), orders them by the spec's precedence, and produces listener and route status.

import type { Condition, Gateway, LabelSelector, ListenerStatus, ParentReference } from '../k8s/gateway-api.ts';
import { ConditionType, GatewayReason, ListenerReason, RouteReason } from '../k8s/gateway-api.ts';
import { ANY_HOST, compareHostSpecificity, hostMatches, intersectHostnames } from './hostnames.ts';
import type { AnyRoute, IndexedInput } from './input.ts';
import { objectKey, parentGatewayKey } from './input.ts';
import type {
  IrApiListener,
  IrCluster,
  IrEndpoints,
  IrFilterChain,
  IrGateway,
  IrListener,
  IrRouteConfig,
  IrSecret,
  IrVirtualHost,
} from './ir.ts';
import type { CheckedListener } from './listeners.ts';
import { checkListeners } from './listeners.ts';
import { apiListenerName, listenerName, routeConfigName } from './names.ts';
import type { CompiledRoute, RankedRoute } from './rules.ts';
import { comparePrecedence, compileRoute } from './rules.ts';
import type { GatewayStatusResult, RouteParentStatusResult } from './status.ts';
import { condition } from './status.ts';

export const DEFAULT_CONTROLLER_NAME = 'legate.dev/gateway-controller';

export interface GatewayIrResult {
  ir: IrGateway;
  gatewayStatus: GatewayStatusResult;
  routeStatus: RouteParentStatusResult[];
}

/** A route attached to one listener with the hostnames it serves there. */
interface Attachment {
  listener: CheckedListener;
  hosts: string[];
  compiled: CompiledRoute;
}

function selectorMatches(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    const values = e.values ?? [];
    if (e.operator === 'In' && !(has && values.includes(value as string))) return false;
    if (e.operator === 'NotIn' && has && values.includes(value as string)) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

function namespaceAllowed(index: IndexedInput, l: CheckedListener, gatewayNs: string, routeNs: string): boolean {
  const from = l.listener.allowedRoutes?.namespaces?.from ?? 'Same';
  if (from === 'All') return true;
  if (from === 'Same') return routeNs === gatewayNs;
  if (from === 'Selector') {
    return selectorMatches(l.listener.allowedRoutes?.namespaces?.selector, index.namespaceLabels.get(routeNs) ?? {});
  }
  return false;
}

function routeHostnames(r: AnyRoute): string[] {
  const hosts: unknown = r.route.spec?.hostnames ?? [];
  if (!Array.isArray(hosts) || hosts.some((h) => typeof h !== 'string')) {
    throw new Error('spec.hostnames must be a list of hostnames');
  }
  return hosts as string[];
}

/** Translates one Gateway to IR and status. Never throws on bad input. */
export function gatewayToIr(index: IndexedInput, gateway: Gateway, controllerName: string): GatewayIrResult {
  const gwNs = gateway.metadata.namespace ?? 'default';
  const gwKey = objectKey(gwNs, gateway.metadata.name);
  const generation = gateway.metadata.generation;
  const listeners = checkListeners(index, gateway);
  const attachedCount = new Map<CheckedListener, number>();
  const attachments: Attachment[] = [];
  const routeStatus: RouteParentStatusResult[] = [];
  const compiledCache = new Map<string, CompiledRoute>();

  for (const r of index.routesByGateway.get(gwKey) ?? []) {
    // One malformed route (a shape the API server's schema would have refused, e.g. from the CLI)
    // must not affect the others: its effects are committed only when it translated cleanly.
    const local = {
      attachments: [] as Attachment[],
      counted: [] as CheckedListener[],
      status: [] as RouteParentStatusResult[],
    };
    try {
      attachRoute(index, r, gwKey, gwNs, listeners, controllerName, compiledCache, local);
    } catch (e) {
      routeStatus.push(...malformedRouteStatus(r, gwKey, controllerName, e));
      continue;
    }
    attachments.push(...local.attachments);
    for (const l of local.counted) attachedCount.set(l, (attachedCount.get(l) ?? 0) + 1);
    routeStatus.push(...local.status);
  }

  const ir = buildIr(gwKey, listeners, attachments);
  return { ir, gatewayStatus: gatewayStatus(listeners, attachedCount, generation), routeStatus };
}

interface RouteEffects {
  attachments: Attachment[];
  counted: CheckedListener[];
  status: RouteParentStatusResult[];
}

function attachRoute(
  index: IndexedInput,
  r: AnyRoute,
  gwKey: string,
  gwNs: string,
  listeners: CheckedListener[],
  controllerName: string,
  compiledCache: Map<string, CompiledRoute>,
  local: RouteEffects,
): void {
  const routeNs = r.route.metadata.namespace ?? 'default';
  const routeKey = objectKey(routeNs, r.route.metadata.name);
  const routeGen = r.route.metadata.generation;
  for (const ref of r.route.spec?.parentRefs ?? []) {
    if (parentGatewayKey(ref, routeNs) !== gwKey) continue;
    const result = attachParentRef(index, r, ref, listeners, gwNs);
    const conditions: Condition[] = [];
    if (!result.ok) {
      conditions.push(condition(ConditionType.Accepted, false, result.reason, result.message, routeGen));
    }
    const compiledHere: CompiledRoute[] = [];
    for (const a of result.ok ? result.attachments : []) {
      local.counted.push(a.listener);
      const protocol = a.listener.protocol as 'HTTP' | 'HTTPS';
      const cacheKey = `${r.kind}/${routeKey}@${a.listener.listener.port}/${protocol}`;
      let compiled = compiledCache.get(cacheKey);
      if (!compiled) {
        compiled = compileRoute(index, r, { port: a.listener.listener.port, protocol });
        compiledCache.set(cacheKey, compiled);
      }
      compiledHere.push(compiled);
      if (a.listener.programmable) local.attachments.push({ listener: a.listener, hosts: a.hosts, compiled });
    }
    const compiled = compiledHere[0];
    if (result.ok && compiled) {
      const allDropped = compiled.ruleCount > 0 && compiled.droppedRules.length === compiled.ruleCount;
      conditions.push(
        allDropped
          ? condition(
              ConditionType.Accepted,
              false,
              RouteReason.UnsupportedValue,
              `all rules are invalid: ${compiled.droppedRules.join('; ')}`,
              routeGen,
            )
          : condition(ConditionType.Accepted, true, RouteReason.Accepted, 'Route is accepted', routeGen),
      );
      if (compiled.droppedRules.length > 0 && !allDropped) {
        conditions.push(
          condition(
            ConditionType.PartiallyInvalid,
            true,
            RouteReason.UnsupportedValue,
            `Dropped Rule(s): ${compiled.droppedRules.join('; ')}`,
            routeGen,
          ),
        );
      }
    }
    const refErrors = compiled?.refErrors ?? [];
    conditions.push(
      refErrors.length === 0
        ? condition(ConditionType.ResolvedRefs, true, RouteReason.ResolvedRefs, 'All references resolved', routeGen)
        : condition(
            ConditionType.ResolvedRefs,
            false,
            refErrors[0]!.reason,
            [...new Set(refErrors.map((e) => e.message))].join('; '),
            routeGen,
          ),
    );
    local.status.push({ kind: r.kind, route: routeKey, parentRef: ref, controllerName, conditions });
  }
}

/** Status for every parentRef to this Gateway of a route that could not be read at all. */
function malformedRouteStatus(
  r: AnyRoute,
  gwKey: string,
  controllerName: string,
  e: unknown,
): RouteParentStatusResult[] {
  const routeNs = r.route.metadata?.namespace ?? 'default';
  const refs = Array.isArray(r.route.spec?.parentRefs) ? r.route.spec.parentRefs : [];
  const message = `${r.kind} is malformed: ${e instanceof Error ? e.message : String(e)}`;
  return refs
    .filter((ref) => ref && typeof ref === 'object' && parentGatewayKey(ref, routeNs) === gwKey)
    .map((ref) => ({
      kind: r.kind,
      route: objectKey(routeNs, r.route.metadata?.name),
      parentRef: ref,
      controllerName,
      conditions: [
        condition(ConditionType.Accepted, false, RouteReason.UnsupportedValue, message, r.route.metadata?.generation),
      ],
    }));
}

/** A listener a parentRef attaches to, with the hostnames the route serves there. */
type Target = Omit<Attachment, 'compiled'>;

type AttachResult = { ok: true; attachments: Target[] } | { ok: false; reason: string; message: string };

function attachParentRef(
  index: IndexedInput,
  r: AnyRoute,
  ref: ParentReference,
  listeners: CheckedListener[],
  gatewayNs: string,
): AttachResult {
  const routeNs = r.route.metadata.namespace ?? 'default';
  const candidates = listeners.filter(
    (l) =>
      (ref.sectionName === undefined || l.listener.name === ref.sectionName) &&
      (ref.port === undefined || l.listener.port === ref.port),
  );
  if (candidates.length === 0) {
    return {
      ok: false,
      reason: RouteReason.NoMatchingParent,
      message: `no listener matches${ref.sectionName ? ` sectionName ${ref.sectionName}` : ''}${ref.port ? ` port ${ref.port}` : ''}`,
    };
  }
  const allowed = candidates.filter(
    (l) =>
      !l.notAccepted &&
      l.supportedKinds.some((k) => k.kind === r.kind) &&
      namespaceAllowed(index, l, gatewayNs, routeNs),
  );
  if (allowed.length === 0) {
    return {
      ok: false,
      reason: RouteReason.NotAllowedByListeners,
      message: `no listener allows ${r.kind} from namespace ${routeNs}`,
    };
  }
  const attachments: Target[] = [];
  for (const l of allowed) {
    const hosts = intersectHostnames(l.listener.hostname, routeHostnames(r));
    if (hosts.length > 0) attachments.push({ listener: l, hosts });
  }
  if (attachments.length === 0) {
    return {
      ok: false,
      reason: RouteReason.NoMatchingListenerHostname,
      message: `no hostname of the route matches a listener hostname (${allowed.map((l) => l.listener.hostname ?? '*').join(', ')})`,
    };
  }
  return { ok: true, attachments };
}

function gatewayStatus(
  listeners: CheckedListener[],
  attached: Map<CheckedListener, number>,
  gen: number | undefined,
): GatewayStatusResult {
  const statuses: ListenerStatus[] = listeners.map((l) => {
    const c: Condition[] = [
      l.notAccepted
        ? condition(ConditionType.Accepted, false, l.notAccepted.reason, l.notAccepted.message, gen)
        : condition(ConditionType.Accepted, true, ListenerReason.Accepted, 'Listener is accepted', gen),
      l.conflicted
        ? condition(ConditionType.Conflicted, true, l.conflicted.reason, l.conflicted.message, gen)
        : condition(ConditionType.Conflicted, false, ListenerReason.NoConflicts, 'No conflicts', gen),
      l.unresolved
        ? condition(ConditionType.ResolvedRefs, false, l.unresolved.reason, l.unresolved.message, gen)
        : condition(ConditionType.ResolvedRefs, true, ListenerReason.ResolvedRefs, 'All references resolved', gen),
      l.programmable
        ? condition(ConditionType.Programmed, true, ListenerReason.Programmed, 'Listener is programmed', gen)
        : condition(
            ConditionType.Programmed,
            false,
            ListenerReason.Invalid,
            'Listener is invalid, see other conditions',
            gen,
          ),
    ];
    return {
      name: l.listener.name,
      supportedKinds: l.supportedKinds,
      attachedRoutes: attached.get(l) ?? 0,
      conditions: c,
    };
  });
  const valid = listeners.filter((l) => l.programmable).length;
  const invalid = listeners.length - valid;
  const conditions: Condition[] = [
    invalid === 0
      ? condition(ConditionType.Accepted, true, GatewayReason.Accepted, 'Gateway is accepted', gen)
      : condition(
          ConditionType.Accepted,
          valid > 0,
          GatewayReason.ListenersNotValid,
          `${invalid} of ${listeners.length} listeners are not valid`,
          gen,
        ),
    valid > 0
      ? condition(ConditionType.Programmed, true, GatewayReason.Programmed, 'Gateway configuration is translated', gen)
      : condition(ConditionType.Programmed, false, GatewayReason.Invalid, 'No valid listener', gen),
  ];
  return { conditions, listeners: statuses };
}

interface HostEntry {
  listener: CheckedListener;
  host: string;
  routes: RankedRoute[];
}

/** Most specific listener (by hostname) among `candidates` that serves `domain`. */
function owningListener(candidates: CheckedListener[], domain: string): CheckedListener | undefined {
  let best: CheckedListener | undefined;
  for (const l of candidates) {
    const lh = l.listener.hostname ?? ANY_HOST;
    if (!hostMatches(lh, domain)) continue;
    if (!best || compareHostSpecificity(lh, best.listener.hostname ?? ANY_HOST) < 0) best = l;
  }
  return best;
}

function virtualHosts(routeConfig: string, entries: HostEntry[], listenersOnPort: CheckedListener[]): IrVirtualHost[] {
  const domains = [...new Set(entries.map((e) => e.host))].sort(compareHostSpecificity);
  return domains.map((domain) => {
    const owner = owningListener(listenersOnPort, domain);
    // Routes for a less specific hostname of the same listener still apply after the more specific
    // ones (the spec orders by hostname first, then by match precedence).
    const candidates = entries
      .filter((e) => e.listener === owner && hostMatches(e.host, domain))
      .flatMap((e) => e.routes.map((r) => ({ host: e.host, r })));
    candidates.sort((a, b) => compareHostSpecificity(a.host, b.host) || comparePrecedence(a.r, b.r));
    const seen = new Set<string>();
    const routes = [];
    for (const c of candidates) {
      if (seen.has(c.r.route.name)) continue;
      seen.add(c.r.route.name);
      routes.push(c.r.route);
    }
    return { name: `${routeConfig}/${domain}`, domain, routes };
  });
}

function buildIr(gwKey: string, listeners: CheckedListener[], attachments: Attachment[]): IrGateway {
  const clusters = new Map<string, IrCluster>();
  const endpoints = new Map<string, IrEndpoints>();
  const secrets = new Map<string, IrSecret>();
  const entriesByListener = new Map<CheckedListener, HostEntry[]>();
  for (const a of attachments) {
    for (const c of a.compiled.clusters) clusters.set(c.name, c);
    for (const e of a.compiled.endpoints) endpoints.set(e.name, e);
    const list = entriesByListener.get(a.listener) ?? [];
    for (const host of a.hosts) list.push({ listener: a.listener, host, routes: a.compiled.routes });
    entriesByListener.set(a.listener, list);
  }
  const programmable = listeners.filter((l) => l.programmable);
  const ports = [...new Set(programmable.map((l) => l.listener.port))].sort((a, b) => a - b);
  const irListeners: IrListener[] = [];
  const apiListeners: IrApiListener[] = [];
  for (const port of ports) {
    const onPort = programmable.filter((l) => l.listener.port === port);
    const protocol = onPort[0]!.protocol as 'HTTP' | 'HTTPS';
    const chains: IrFilterChain[] = [];
    if (protocol === 'HTTP') {
      const name = routeConfigName(gwKey, port);
      const entries = onPort.flatMap((l) => entriesByListener.get(l) ?? []);
      const routeConfig: IrRouteConfig = { name, virtualHosts: virtualHosts(name, entries, onPort) };
      const names = onPort.map((l) => l.listener.name).sort();
      chains.push({ gatewayListeners: names, serverNames: [], certificates: [], routeConfig });
      for (const l of names) apiListeners.push({ name: apiListenerName(gwKey, l), routeConfig: name });
    } else {
      const sorted = [...onPort].sort((a, b) =>
        compareHostSpecificity(a.listener.hostname ?? ANY_HOST, b.listener.hostname ?? ANY_HOST),
      );
      for (const l of sorted) {
        const name = routeConfigName(gwKey, port, l.listener.name);
        const routeConfig: IrRouteConfig = {
          name,
          virtualHosts: virtualHosts(name, entriesByListener.get(l) ?? [], [l]),
        };
        for (const s of l.certificates) secrets.set(s.name, s);
        chains.push({
          gatewayListeners: [l.listener.name],
          serverNames: l.listener.hostname ? [l.listener.hostname] : [],
          certificates: l.certificates.map((s) => s.name),
          routeConfig,
        });
        apiListeners.push({ name: apiListenerName(gwKey, l.listener.name), routeConfig: name });
      }
    }
    irListeners.push({ name: listenerName(gwKey, port), port, protocol, filterChains: chains });
  }
  const byName = <T extends { name: string }>(m: Map<string, T>) =>
    [...m.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    key: gwKey,
    listeners: irListeners,
    apiListeners: apiListeners.sort((a, b) => (a.name < b.name ? -1 : 1)),
    clusters: byName(clusters),
    endpoints: byName(endpoints),
    secrets: byName(secrets),
  };
}
