// Attached filters → Envoy resources as proto3 JSON (pure), for the translator to merge into a
// Gateway's listeners and route configurations (docs/filters/distribution.md says where):
//
// - one ECDS resource per filter (TypedExtensionConfig holding envoy.extensions.filters.http.wasm.v3.Wasm,
//   module bytes inline, config as a google.protobuf.StringValue of JSON), so a new module or config
//   is an ECDS push, never a listener change;
// - the HCM http_filters entries, in policy order before the router, each with config_discovery over
//   ADS; a filter that targets only some routes is `disabled` on the chain...
// - ...and enabled on exactly those routes through typed_per_filter_config (route.v3.FilterConfig
//   with an empty `config`, which Envoy reads as "enabled, no per-route config").
//
// Failure policy when a filter cannot be delivered (AttachedFilter.blocked: no good module, a
// configuration the schema refuses, a missing or forbidden WasmFilter):
//
// - FailOpen filters are left out of the chain: requests pass as if the policy did not exist.
// - FailClosed filters stay in the chain, and their ECDS name is always answered, with a deny
//   configuration instead of the Wasm filter: Envoy's native fault filter aborting every request
//   with 503 (what Envoy's own FAIL_CLOSED Wasm answers when a VM fails), response flag `FI`,
//   details `fault_filter_abort`, and the body `denyBody` through the HCM's local reply mapper.
//   Never a removal and never silence: a listener whose ECDS resource does not arrive waits for it
//   forever (it never warms, so a fresh Envoy never becomes ready and a running one keeps its old
//   listener, without the new filter).
// - Every filter's config_discovery also carries a default_config, the configuration Envoy uses
//   whenever it has none of ours: if the first ECDS answer is late (initial fetch timeout), is
//   NACKed, or a resource is removed while a listener still names it. FailClosed → the same deny,
//   FailOpen → an empty fault filter, which passes every request.
//
// The Wasm configuration says the same with `failure_policy` (FAIL_CLOSED / FAIL_OPEN; `fail_open`
// is deprecated): what Envoy does when a running module fails.

import type { JsonValue } from '../envoy/strict.ts';
import type { AttachedFilter, RouteRuleRef } from './policy-resolve.ts';

type Json = { [key: string]: JsonValue };

const T = 'type.googleapis.com/';
export const WASM_FILTER_TYPE = `${T}envoy.extensions.filters.http.wasm.v3.Wasm`;
const FILTER_CONFIG_TYPE = `${T}envoy.config.route.v3.FilterConfig`;
const STRING_VALUE_TYPE = `${T}google.protobuf.StringValue`;
export const FAULT_FILTER_TYPE = `${T}envoy.extensions.filters.http.fault.v3.HTTPFault`;
const ADS: Json = { ads: {}, resourceApiVersion: 'V3' };
/** Envoy's default Wasm runtime, and the one Legate's filters are tested on. */
const V8 = 'envoy.wasm.runtime.v8';

/** Whether a filter is on a chain at all, and if so whether it runs on every route of it. */
function placement(f: AttachedFilter, chainListeners: readonly string[]): 'absent' | 'enabled' | 'routes' {
  if (f.blocked !== undefined && f.failurePolicy === 'FailOpen') return 'absent';
  if (f.scope.allListeners || f.scope.listeners.some((l) => chainListeners.includes(l))) return 'enabled';
  return f.scope.routes.length > 0 ? 'routes' : 'absent';
}

/** The HTTP status of a request refused by a FailClosed filter that cannot run. */
export const DENY_STATUS = 503;
/** Its body (the HCM's local reply mapper for the fault filter's response flag `FI`). */
export const denyBody =
  'legate: a FailClosed filter on this route has no usable module or configuration; see the status of its FilterPolicy and WasmFilter\n';

/** Envoy's fault filter aborting every request: the stand-in for a FailClosed filter that cannot run. */
const denyConfig = (): Json => ({
  '@type': FAULT_FILTER_TYPE,
  abort: { httpStatus: DENY_STATUS, percentage: { numerator: 100, denominator: 'HUNDRED' } },
});
/** The body of the deny configuration's answers (Legate injects no other faults). */
const denyReply: Json = {
  mappers: [{ filter: { responseFlagFilter: { flags: ['FI'] } }, body: { inlineString: denyBody } }],
};
/** An empty fault filter: passes every request (the stand-in for a FailOpen filter). */
const passConfig = (): Json => ({ '@type': FAULT_FILTER_TYPE });

/**
 * The ECDS resource of one filter: its Wasm filter, or the deny configuration for a FailClosed
 * filter that cannot be delivered; undefined for a FailOpen one (it is not on the chain).
 */
export function renderExtensionConfig(f: AttachedFilter): Json | undefined {
  if (!f.module || f.blocked !== undefined)
    return f.failurePolicy === 'FailOpen' ? undefined : { name: f.name, typedConfig: denyConfig() };
  const vmConfig: Json = {
    runtime: V8,
    code: { local: { inlineBytes: Buffer.from(f.module.bytes).toString('base64') } },
  };
  if (f.vmId) vmConfig.vmId = f.vmId;
  const config: Json = {
    name: f.name,
    vmConfig,
    configuration: { '@type': STRING_VALUE_TYPE, value: f.configJson },
    failurePolicy: f.failurePolicy === 'FailOpen' ? 'FAIL_OPEN' : 'FAIL_CLOSED',
  };
  if (f.rootId) config.rootId = f.rootId;
  return { name: f.name, typedConfig: { '@type': WASM_FILTER_TYPE, config } };
}

/** Every ECDS resource of a Gateway, by name. */
export function renderExtensionConfigs(filters: readonly AttachedFilter[]): { name: string; json: Json }[] {
  return filters.flatMap((f) => {
    const json = renderExtensionConfig(f);
    return json ? [{ name: f.name, json }] : [];
  });
}

/**
 * The http_filters entries to put before the router on the HCM of a filter chain serving
 * `chainListeners` (IrFilterChain.gatewayListeners), in chain order.
 */
export function renderHttpFilters(filters: readonly AttachedFilter[], chainListeners: readonly string[]): Json[] {
  return filters.flatMap((f) => {
    const where = placement(f, chainListeners);
    if (where === 'absent') return [];
    const entry: Json = {
      name: f.name,
      configDiscovery: {
        configSource: ADS,
        defaultConfig: f.failurePolicy === 'FailOpen' ? passConfig() : denyConfig(),
        typeUrls: [WASM_FILTER_TYPE, FAULT_FILTER_TYPE],
      },
    };
    if (where === 'routes') entry.disabled = true;
    return [entry];
  });
}

export function ruleMatches(ref: RouteRuleRef, envoyRouteName: string): boolean {
  const prefix = `${ref.kind}/${ref.namespace}/${ref.name}/rule/`;
  if (!envoyRouteName.startsWith(prefix)) return false;
  return ref.rule === undefined || envoyRouteName.startsWith(`${prefix}${ref.rule}/`);
}

/**
 * typed_per_filter_config for one Envoy route (named after its IR route, `<kind>/<ns>/<name>/rule/<i>/...`)
 * on a chain serving `chainListeners`: enables the route-scoped filters that target it. Undefined when none.
 */
export function renderRouteFilterConfig(
  filters: readonly AttachedFilter[],
  chainListeners: readonly string[],
  envoyRouteName: string,
): Json | undefined {
  const out: Json = {};
  for (const f of filters) {
    if (placement(f, chainListeners) !== 'routes') continue;
    if (!f.scope.routes.some((r) => ruleMatches(r, envoyRouteName))) continue;
    out[f.name] = { '@type': FILTER_CONFIG_TYPE, config: {} };
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Inserts `extra` before the router (the last filter) of an HCM's http_filters. */
function beforeRouter(httpFilters: JsonValue | undefined, extra: Json[]): JsonValue[] {
  const list = Array.isArray(httpFilters) ? [...httpFilters] : [];
  const routerAt = list.findIndex(
    (f) => typeof f === 'object' && f !== null && !Array.isArray(f) && f.name === 'envoy.filters.http.router',
  );
  list.splice(routerAt < 0 ? list.length : routerAt, 0, ...extra);
  return list;
}

const isObject = (v: JsonValue | undefined): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A rendered Listener with the filters added to the HCM of each filter chain. `chainListeners[i]`
 * is the Gateway listeners of filter chain i (IrListener.filterChains[i].gatewayListeners, the
 * order renderListener keeps). Returns a new object; the input is not changed.
 */
export function withFiltersOnListener(
  listener: Json,
  chainListeners: readonly (readonly string[])[],
  filters: readonly AttachedFilter[],
): Json {
  if (filters.length === 0 || !Array.isArray(listener.filterChains)) return listener;
  const filterChains = listener.filterChains.map((chain, i) => {
    if (!isObject(chain) || !Array.isArray(chain.filters)) return chain;
    const extra = renderHttpFilters(filters, chainListeners[i] ?? []);
    if (extra.length === 0) return chain;
    return {
      ...chain,
      filters: chain.filters.map((nf) => {
        if (!isObject(nf) || !isObject(nf.typedConfig)) return nf;
        return {
          ...nf,
          typedConfig: {
            ...nf.typedConfig,
            httpFilters: beforeRouter(nf.typedConfig.httpFilters, extra),
            localReplyConfig: denyReply,
          },
        };
      }),
    };
  });
  return { ...listener, filterChains };
}

/**
 * A rendered RouteConfiguration (of a chain serving `chainListeners`) with the route-scoped filters
 * enabled on the routes they target. Returns a new object; the input is not changed.
 */
export function withFiltersOnRouteConfig(
  routeConfig: Json,
  chainListeners: readonly string[],
  filters: readonly AttachedFilter[],
): Json {
  if (filters.length === 0 || !Array.isArray(routeConfig.virtualHosts)) return routeConfig;
  const virtualHosts = routeConfig.virtualHosts.map((vh) => {
    if (!isObject(vh) || !Array.isArray(vh.routes)) return vh;
    return {
      ...vh,
      routes: vh.routes.map((r) => {
        if (!isObject(r) || typeof r.name !== 'string') return r;
        const perFilter = renderRouteFilterConfig(filters, chainListeners, r.name);
        if (!perFilter) return r;
        const existing = isObject(r.typedPerFilterConfig) ? r.typedPerFilterConfig : {};
        return { ...r, typedPerFilterConfig: { ...existing, ...perFilter } };
      }),
    };
  });
  return { ...routeConfig, virtualHosts };
}
