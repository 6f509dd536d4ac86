// The translator's render hooks for filters: the one call that puts a snapshot's resolved
// FilterPolicies into every Gateway's Envoy resources.
//
//   const resolution = resolvePolicies({...});
//   translateGateway(input, gatewayKey, { hooks: filterRenderHooks(resolution) });
//
// Listeners get the HCM entries, route configurations the per-route enablement, and the Gateway its
// ECDS resources; the translator's strict check covers all of it.

import { TypeUrls } from '../envoy/protos.ts';
import type { RenderHooks } from '../translate/index.ts';
import type { PolicyResolution } from './policy-resolve.ts';
import { renderExtensionConfigs, withFiltersOnListener, withFiltersOnRouteConfig } from './render.ts';

export function filterRenderHooks(resolution: PolicyResolution): RenderHooks {
  const filtersOf = (gatewayKey: string) => resolution.byGateway.get(gatewayKey) ?? [];
  return {
    listener: (json, listener, gatewayKey) =>
      withFiltersOnListener(
        json,
        listener.filterChains.map((c) => c.gatewayListeners),
        filtersOf(gatewayKey),
      ),
    routeConfig: (json, chain, gatewayKey) =>
      withFiltersOnRouteConfig(json, chain.gatewayListeners, filtersOf(gatewayKey)),
    extraResources: (gatewayKey) =>
      renderExtensionConfigs(filtersOf(gatewayKey)).map((e) => ({
        typeUrl: TypeUrls.extensionConfig,
        name: e.name,
        json: e.json,
      })),
  };
}
