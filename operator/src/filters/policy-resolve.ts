// FilterPolicy resolution (pure): which filters each Gateway runs, in which order, on which
// listeners and routes, with which configuration, and the status of every policy per ancestor
// (Gateway API policy attachment, GEP-713).
//
// Rules (docs/crds/filterpolicy.md has the user-facing version):
// - targetRefs are local to the policy's namespace. A Gateway target (optionally one listener) puts
//   the filters on the Gateway's chains; an HTTPRoute/GRPCRoute target (optionally one rule by name)
//   puts them on every Gateway the route names in parentRefs, enabled only on that route's routes.
// - Order on a Gateway: Gateway-targeted policies first, then route-targeted ones; within each group
//   the oldest policy first (creationTimestamp, then namespace/name); within a policy, list order.
// - Two policies attaching the same WasmFilter to the same target: the older wins, the newer is
//   Conflicted for that target.
// - filterRef: the policy's namespace, the operator's namespace (built-ins), or another namespace
//   with a ReferenceGrant from legate.dev/FilterPolicy to legate.dev/WasmFilter there.
// - An entry that cannot be delivered (filter missing or not allowed, config not matching the schema,
//   no good module yet) is still attached with `blocked` set: the renderer then fails closed (Envoy
//   rejects the requests the filter would have seen) unless the filter is FailOpen. A typo must not
//   let traffic pass around an auth filter.

import type { Condition, Gateway, GRPCRoute, HTTPRoute, ReferenceGrant } from '../k8s/gateway-api.ts';
import { canonicalJson, checkConfig } from './config-schema.ts';
import type { VerifiedModule } from './module-check.ts';
import {
  type FailurePolicy,
  type FilterPolicy,
  LegateGroup,
  type PolicyAncestorStatus,
  type PolicyTargetRef,
  type WasmFilter,
} from './types.ts';

const GATEWAY_GROUP = 'gateway.networking.k8s.io';

export interface PolicyInput {
  /** The operator's namespace: its WasmFilters are usable by every policy. */
  operatorNamespace: string;
  controllerName: string;
  /** The Gateways this controller manages (others are never attached to, nor reported on). */
  gateways: readonly Gateway[];
  httpRoutes: readonly HTTPRoute[];
  grpcRoutes: readonly GRPCRoute[];
  referenceGrants: readonly ReferenceGrant[];
  wasmFilters: readonly WasmFilter[];
  policies: readonly FilterPolicy[];
  /** The module in service for a WasmFilter (`<namespace>/<name>`), from the module pipeline. */
  module(filterKey: string): VerifiedModule | undefined;
}

/** A route, or one of its rules, in the IR's naming (`<kind>/<namespace>/<name>/rule/<i>/...`). */
export interface RouteRuleRef {
  kind: 'HTTPRoute' | 'GRPCRoute';
  namespace: string;
  name: string;
  /** Index into spec.rules; undefined = every rule. */
  rule?: number;
}

/** Where on a Gateway a filter runs. */
export interface FilterScope {
  /** On every route of every listener. */
  allListeners: boolean;
  /** On every route of these Gateway listeners. */
  listeners: string[];
  /** On these routes only (the filter is disabled by default on the chain). */
  routes: RouteRuleRef[];
}

/** One filter on one Gateway's chain: everything the renderer needs. */
export interface AttachedFilter {
  /** The HCM filter name and ECDS resource name: `<gateway ns>/<gateway>/filter/<policy ns>/<policy>/<entry>`. */
  name: string;
  policy: { namespace: string; name: string; entry: string };
  /** `<namespace>/<name>` of the WasmFilter. */
  filterKey: string;
  rootId: string;
  vmId: string;
  failurePolicy: FailurePolicy;
  /** The configuration as canonical JSON (schema defaults applied). */
  configJson: string;
  /** The module to deliver; undefined when `blocked`. */
  module?: VerifiedModule;
  /** Why this entry cannot be delivered (see the header comment). */
  blocked?: string;
  scope: FilterScope;
}

export interface PolicyResolution {
  /** Per Gateway key (`<namespace>/<name>`), its filters in chain order. Gateways without filters are absent. */
  byGateway: Map<string, AttachedFilter[]>;
  /** Per policy key (`<namespace>/<name>`), `status.ancestors`. */
  status: Map<string, PolicyAncestorStatus[]>;
}

const keyOf = (namespace: string | undefined, name: string) => `${namespace ?? 'default'}/${name}`;

function createdMs(p: FilterPolicy): number {
  const t = p.metadata.creationTimestamp;
  return t === undefined ? 0 : new Date(t).getTime();
}

function policyOrder(a: FilterPolicy, b: FilterPolicy): number {
  const byTime = createdMs(a) - createdMs(b);
  if (byTime !== 0) return byTime;
  const ka = keyOf(a.metadata.namespace, a.metadata.name);
  const kb = keyOf(b.metadata.namespace, b.metadata.name);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

export function filterAllowed(
  policyNamespace: string,
  filterNamespace: string,
  filterName: string,
  input: Pick<PolicyInput, 'operatorNamespace' | 'referenceGrants'>,
): boolean {
  if (filterNamespace === policyNamespace || filterNamespace === input.operatorNamespace) return true;
  return input.referenceGrants.some(
    (g) =>
      g.metadata.namespace === filterNamespace &&
      g.spec.from.some(
        (f) => f.group === LegateGroup && f.kind === 'FilterPolicy' && f.namespace === policyNamespace,
      ) &&
      g.spec.to.some(
        (t) => t.group === LegateGroup && t.kind === 'WasmFilter' && (t.name === undefined || t.name === filterName),
      ),
  );
}

/** One policy entry checked once, independent of the targets. */
interface CheckedEntry {
  entry: string;
  filterKey: string;
  filter?: WasmFilter;
  configJson: string;
  module?: VerifiedModule;
  /** A problem with the policy itself (shown as Invalid). */
  invalid?: string;
  /** The filter is fine but has no good module yet (shown in the Accepted message). */
  pending?: string;
}

function checkEntries(policy: FilterPolicy, input: PolicyInput, filters: Map<string, WasmFilter>): CheckedEntry[] {
  const ns = policy.metadata.namespace ?? 'default';
  return policy.spec.filters.map((e) => {
    const filterNs = e.filterRef.namespace ?? ns;
    const filterKey = keyOf(filterNs, e.filterRef.name);
    const base = { entry: e.name, filterKey, configJson: canonicalJson(e.config ?? {}) };
    if (!filterAllowed(ns, filterNs, e.filterRef.name, input)) {
      return {
        ...base,
        invalid: `filters[${e.name}]: WasmFilter ${filterKey} is in another namespace and no ReferenceGrant in ${filterNs} allows FilterPolicies from ${ns} to use it`,
      };
    }
    const filter = filters.get(filterKey);
    if (!filter) return { ...base, invalid: `filters[${e.name}]: WasmFilter ${filterKey} not found` };
    const checked = checkConfig(filter.spec.configSchema, e.config);
    if (!checked.ok) return { ...base, filter, invalid: `filters[${e.name}]: ${checked.message}` };
    const module = input.module(filterKey);
    const configJson = canonicalJson(checked.config);
    if (!module)
      return {
        ...base,
        filter,
        configJson,
        pending: `WasmFilter ${filterKey} has no good module yet (see its Ready condition)`,
      };
    return { ...base, filter, configJson, module };
  });
}

/** A target resolved to the Gateways it reaches, or why it reaches none. */
interface ResolvedTarget {
  ref: PolicyTargetRef;
  /** Gateway key → scope contribution. */
  gateways: Map<string, FilterScope>;
  notFound?: string;
}

function resolveTarget(
  policyNs: string,
  ref: PolicyTargetRef,
  gateways: Map<string, Gateway>,
  routes: Map<string, HTTPRoute | GRPCRoute>,
): ResolvedTarget {
  const key = keyOf(policyNs, ref.name);
  const out: ResolvedTarget = { ref, gateways: new Map() };
  if (ref.kind === 'Gateway') {
    const gw = gateways.get(key);
    if (!gw) return { ...out, notFound: `Gateway ${key} not found (or not managed by this controller)` };
    if (ref.sectionName !== undefined) {
      if (!gw.spec.listeners.some((l) => l.name === ref.sectionName)) {
        return { ...out, notFound: `Gateway ${key} has no listener named ${ref.sectionName}` };
      }
      out.gateways.set(key, { allListeners: false, listeners: [ref.sectionName], routes: [] });
    } else {
      out.gateways.set(key, { allListeners: true, listeners: [], routes: [] });
    }
    return out;
  }
  const route = routes.get(`${ref.kind}/${key}`);
  if (!route) return { ...out, notFound: `${ref.kind} ${key} not found` };
  let rule: number | undefined;
  if (ref.sectionName !== undefined) {
    rule = (route.spec.rules ?? []).findIndex((r) => r.name === ref.sectionName);
    if (rule < 0) return { ...out, notFound: `${ref.kind} ${key} has no rule named ${ref.sectionName}` };
  }
  const ruleRef: RouteRuleRef = {
    kind: ref.kind,
    namespace: policyNs,
    name: ref.name,
    ...(rule !== undefined ? { rule } : {}),
  };
  for (const p of route.spec.parentRefs ?? []) {
    if ((p.group ?? GATEWAY_GROUP) !== GATEWAY_GROUP || (p.kind ?? 'Gateway') !== 'Gateway') continue;
    const gwKey = keyOf(p.namespace ?? policyNs, p.name);
    const gw = gateways.get(gwKey);
    if (gw && mayAttach(gw, p.sectionName, policyNs))
      out.gateways.set(gwKey, { allListeners: false, listeners: [], routes: [ruleRef] });
  }
  if (out.gateways.size === 0)
    return {
      ...out,
      notFound: `${ref.kind} ${key} has no parent Gateway managed by this controller that allows routes from ${policyNs}`,
    };
  return out;
}

/**
 * False when the Gateway certainly refuses routes from `routeNs` (every listener the parentRef can
 * reach allows its own namespace only). Selector-based listeners count as maybe: the translator
 * decides, and the render hooks deliver a route's filters only where it attached the route.
 */
function mayAttach(gw: Gateway, sectionName: string | undefined, routeNs: string): boolean {
  if ((gw.metadata.namespace ?? 'default') === routeNs) return true;
  return gw.spec.listeners.some(
    (l) =>
      (sectionName === undefined || l.name === sectionName) && (l.allowedRoutes?.namespaces?.from ?? 'Same') !== 'Same',
  );
}

function mergeScope(a: FilterScope, b: FilterScope): FilterScope {
  return {
    allListeners: a.allListeners || b.allListeners,
    listeners: [...new Set([...a.listeners, ...b.listeners])].sort(),
    routes: [...a.routes, ...b.routes.filter((r) => !a.routes.some((x) => sameRule(x, r)))],
  };
}

function sameRule(a: RouteRuleRef, b: RouteRuleRef): boolean {
  return a.kind === b.kind && a.namespace === b.namespace && a.name === b.name && a.rule === b.rule;
}

function targetId(ref: PolicyTargetRef, ns: string): string {
  return `${ref.kind}/${ns}/${ref.name}${ref.sectionName ? `#${ref.sectionName}` : ''}`;
}

function condition(
  type: string,
  status: Condition['status'],
  reason: string,
  message: string,
  generation?: number,
): Condition {
  return { type, status, reason, message, ...(generation !== undefined ? { observedGeneration: generation } : {}) };
}

export function resolvePolicies(input: PolicyInput): PolicyResolution {
  const gateways = new Map(input.gateways.map((g) => [keyOf(g.metadata.namespace, g.metadata.name), g]));
  const routes = new Map<string, HTTPRoute | GRPCRoute>([
    ...input.httpRoutes.map((r) => [`HTTPRoute/${keyOf(r.metadata.namespace, r.metadata.name)}`, r] as const),
    ...input.grpcRoutes.map((r) => [`GRPCRoute/${keyOf(r.metadata.namespace, r.metadata.name)}`, r] as const),
  ]);
  const filters = new Map(input.wasmFilters.map((f) => [keyOf(f.metadata.namespace, f.metadata.name), f]));
  const policies = [...input.policies].sort(policyOrder);

  // Gateway-scoped first, then route-scoped: two passes over the policies in age order.
  const chains = new Map<string, { gatewayScoped: AttachedFilter[]; routeScoped: AttachedFilter[] }>();
  // Which (target, WasmFilter) pairs are taken, and by which policy.
  const claimed = new Map<string, string>();
  const status = new Map<string, PolicyAncestorStatus[]>();

  for (const policy of policies) {
    const ns = policy.metadata.namespace ?? 'default';
    const policyKey = keyOf(ns, policy.metadata.name);
    const entries = checkEntries(policy, input, filters);
    const invalid = entries.flatMap((e) => (e.invalid ? [e.invalid] : []));
    // What Envoy does meanwhile, by the failure policy of the refused entries (an unknown filter's is FailClosed).
    const refusedPolicies = new Set(
      entries.flatMap((e) => (e.invalid ? [e.filter?.spec.failurePolicy ?? 'FailClosed'] : [])),
    );
    const meanwhile = [
      ...(refusedPolicies.has('FailClosed')
        ? [
            `requests ${refusedPolicies.size > 1 ? 'the FailClosed ones' : 'these filters'} would see are rejected until this is fixed (FailClosed)`,
          ]
        : []),
      ...(refusedPolicies.has('FailOpen')
        ? [
            `requests pass without ${refusedPolicies.size > 1 ? 'the FailOpen ones' : 'these filters'} until this is fixed (FailOpen)`,
          ]
        : []),
    ].join('; ');
    const pending = [...new Set(entries.flatMap((e) => (e.pending ? [e.pending] : [])))];
    // Per ancestor (Gateway, with the listener when the target named one): problems found.
    const ancestors = new Map<
      string,
      { ref: PolicyAncestorStatus['ancestorRef']; notFound: string[]; conflicts: string[] }
    >();
    const ancestor = (ref: PolicyAncestorStatus['ancestorRef']) => {
      const id = `${ref.kind}/${ref.namespace}/${ref.name}#${ref.sectionName ?? ''}`;
      let a = ancestors.get(id);
      if (!a) {
        a = { ref, notFound: [], conflicts: [] };
        ancestors.set(id, a);
      }
      return a;
    };

    const scopes = new Map<string, FilterScope>();
    for (const ref of policy.spec.targetRefs) {
      const target = resolveTarget(ns, ref, gateways, routes);
      if (target.notFound) {
        ancestor({
          group: ref.group,
          kind: ref.kind,
          namespace: ns,
          name: ref.name,
          ...(ref.sectionName ? { sectionName: ref.sectionName } : {}),
        }).notFound.push(target.notFound);
        continue;
      }
      for (const [gwKey, scope] of target.gateways) {
        const [gwNs = '', gwName = ''] = gwKey.split('/');
        const sectionName = ref.kind === 'Gateway' ? ref.sectionName : undefined;
        const a = ancestor({
          group: GATEWAY_GROUP,
          kind: 'Gateway',
          namespace: gwNs,
          name: gwName,
          ...(sectionName ? { sectionName } : {}),
        });
        const conflicts = entries.flatMap((e) => {
          const owner = claimed.get(`${targetId(ref, ns)} ${e.filterKey}`);
          return owner && owner !== policyKey
            ? [`${e.filterKey} is already attached to ${targetId(ref, ns)} by the older FilterPolicy ${owner}`]
            : [];
        });
        if (conflicts.length > 0) {
          a.conflicts.push(...conflicts);
          continue;
        }
        scopes.set(gwKey, scopes.has(gwKey) ? mergeScope(scopes.get(gwKey) as FilterScope, scope) : scope);
      }
      for (const e of entries)
        if (!claimed.has(`${targetId(ref, ns)} ${e.filterKey}`))
          claimed.set(`${targetId(ref, ns)} ${e.filterKey}`, policyKey);
    }

    for (const [gwKey, scope] of scopes) {
      const chain = chains.get(gwKey) ?? { gatewayScoped: [], routeScoped: [] };
      chains.set(gwKey, chain);
      const group = scope.allListeners || scope.listeners.length > 0 ? chain.gatewayScoped : chain.routeScoped;
      for (const e of entries) {
        const blocked = e.invalid ?? e.pending;
        group.push({
          name: `${gwKey}/filter/${policyKey}/${e.entry}`,
          policy: { namespace: ns, name: policy.metadata.name, entry: e.entry },
          filterKey: e.filterKey,
          rootId: e.filter?.spec.rootId ?? '',
          vmId: e.filter?.spec.vmId ?? '',
          // An unknown filter's policy is unknown: fail closed.
          failurePolicy: e.filter?.spec.failurePolicy ?? 'FailClosed',
          configJson: e.configJson,
          ...(e.module && !blocked ? { module: e.module } : {}),
          ...(blocked ? { blocked } : {}),
          scope,
        });
      }
    }

    const generation = policy.metadata.generation;
    const list: PolicyAncestorStatus[] = [...ancestors.values()]
      .sort((a, b) => (JSON.stringify(a.ref) < JSON.stringify(b.ref) ? -1 : 1))
      .map((a) => {
        let accepted: Condition;
        if (invalid.length > 0) {
          accepted = condition('Accepted', 'False', 'Invalid', `${invalid.join('; ')}; ${meanwhile}`, generation);
        } else if (a.notFound.length > 0) {
          accepted = condition('Accepted', 'False', 'TargetNotFound', a.notFound.join('; '), generation);
        } else if (a.conflicts.length > 0) {
          accepted = condition('Accepted', 'False', 'Conflicted', a.conflicts.join('; '), generation);
        } else {
          const note = pending.length > 0 ? `; ${pending.join('; ')}` : '';
          accepted = condition(
            'Accepted',
            'True',
            'Accepted',
            `${entries.length} filter(s) attached in order: ${entries.map((e) => e.entry).join(', ')}${note}`,
            generation,
          );
        }
        return { ancestorRef: a.ref, controllerName: input.controllerName, conditions: [accepted] };
      });
    status.set(policyKey, list);
  }

  const byGateway = new Map<string, AttachedFilter[]>();
  for (const key of [...chains.keys()].sort()) {
    const c = chains.get(key);
    if (c) byGateway.set(key, [...c.gatewayScoped, ...c.routeScoped]);
  }
  return { byGateway, status };
}
