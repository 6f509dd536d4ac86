// The translator's render hooks for filters: the one call that puts a snapshot's resolved
// FilterPolicies into every Gateway's Envoy resources.
//
//   const resolution = resolvePolicies({...});
//   translateGateway(input, gatewayKey, { hooks: filterRenderHooks(resolution) });
//
// Listeners get the HCM entries, route configurations the per-route enablement, and the Gateway its
// ECDS resources; the translator's strict check covers all of it.
//
// A route-targeted filter reaches a Gateway only when the translator actually attached a targeted
// route to it (the route's rules are in the Gateway's IR). A route naming another team's Gateway in
// parentRefs is refused by that Gateway's allowedRoutes, so the other team's Envoys never receive
// this team's module or configuration, not even as a disabled filter.

import { TypeUrls } from '../envoy/protos.ts';
import type { IrFilterChain, RenderHooks } from '../translate/index.ts';
import type { AttachedFilter, PolicyResolution } from './policy-resolve.ts';
import { renderExtensionConfigs, ruleMatches, withFiltersOnListener, withFiltersOnRouteConfig } from './render.ts';

function routeNames(chains: readonly IrFilterChain[]): string[] {
  return chains.flatMap((c) => c.routeConfig.virtualHosts.flatMap((vh) => vh.routes.map((r) => r.name)));
}

/** The filters that belong on these chains: Gateway-scoped ones, and route-scoped ones whose route is there. */
function reachable(filters: readonly AttachedFilter[], chains: readonly IrFilterChain[]): AttachedFilter[] {
  let names: string[] | undefined;
  return filters.filter((f) => {
    if (f.scope.allListeners || f.scope.listeners.length > 0) return true;
    names ??= routeNames(chains);
    const present = names;
    return f.scope.routes.some((ref) => present.some((n) => ruleMatches(ref, n)));
  });
}

export function filterRenderHooks(resolution: PolicyResolution): RenderHooks {
  const filtersOf = (gatewayKey: string) => resolution.byGateway.get(gatewayKey) ?? [];
  return {
    listener: (json, listener, gatewayKey) =>
      withFiltersOnListener(
        json,
        listener.filterChains.map((c) => c.gatewayListeners),
        reachable(filtersOf(gatewayKey), listener.filterChains),
      ),
    routeConfig: (json, chain, gatewayKey) =>
      withFiltersOnRouteConfig(json, chain.gatewayListeners, filtersOf(gatewayKey)),
    extraResources: (gatewayKey, ir) =>
      renderExtensionConfigs(
        reachable(
          filtersOf(gatewayKey),
          ir.listeners.flatMap((l) => l.filterChains),
        ),
      ).map((e) => ({
        typeUrl: TypeUrls.extensionConfig,
        name: e.name,
        json: e.json,
      })),
  };
}
