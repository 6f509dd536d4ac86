// Filters through the real translator: translateGateway with filterRenderHooks, from Gateway API
// objects and FilterPolicies to encoded Envoy resources.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { envoyType, TypeUrls } from '../envoy/protos.ts';
import type { Gateway, HTTPRoute } from '../k8s/gateway-api.ts';
import { translateGateway } from '../translate/index.ts';
import { filterRenderHooks } from './hooks.ts';
import { sha256Hex } from './module-check.ts';
import { resolvePolicies } from './policy-resolve.ts';
import { proxyWasmModule } from './testing/wasm-builder.ts';
import type { FilterPolicy, WasmFilter } from './types.ts';

const bytes = proxyWasmModule();
const module = { sha256: sha256Hex(bytes), size: bytes.length, abiVersion: '0.2.1' as const, bytes };
const gw = (ns: string, name: string): Gateway => ({
  metadata: { namespace: ns, name },
  spec: { gatewayClassName: 'legate', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] },
});
const route = (ns: string, name: string, parent: string): HTTPRoute => ({
  metadata: { namespace: ns, name },
  spec: {
    parentRefs: [{ name: parent }],
    rules: [
      { name: 'api', matches: [{ path: { type: 'PathPrefix', value: '/api' } }] },
      { name: 'web', matches: [{ path: { type: 'PathPrefix', value: '/web' } }] },
    ],
  },
});
const filter: WasmFilter = {
  metadata: { namespace: 'legate-system', name: 'auth' },
  spec: {
    source: { type: 'ConfigMap', configMap: { name: 'auth', key: 'filter.wasm' } },
    failurePolicy: 'FailClosed',
    rootId: 'auth',
  },
};
const policy = (
  ns: string,
  name: string,
  target: FilterPolicy['spec']['targetRefs'][number],
  config: Record<string, unknown> = { realm: ns },
): FilterPolicy => ({
  metadata: { namespace: ns, name },
  spec: {
    targetRefs: [target],
    filters: [{ name: 'auth', filterRef: { name: 'auth', namespace: 'legate-system' }, config }],
  },
});

const gateways = [gw('team-a', 'web'), gw('team-b', 'shop')];
const httpRoutes = [route('team-a', 'checkout', 'web'), route('team-b', 'cart', 'shop')];

function translateWith(policies: FilterPolicy[], key: string) {
  const resolution = resolvePolicies({
    operatorNamespace: 'legate-system',
    controllerName: 'legate.dev/gateway-controller',
    gateways,
    httpRoutes,
    grpcRoutes: [],
    referenceGrants: [],
    wasmFilters: [filter],
    policies,
    module: () => module,
  });
  const t = translateGateway({ gateways, httpRoutes }, key, { hooks: filterRenderHooks(resolution) });
  assert.ok(t, `${key} translated`);
  return t;
}

type Json = Record<string, unknown>;
function hcmFilterNames(listenerBytes: Uint8Array): string[] {
  const listener = envoyType('envoy.config.listener.v3.Listener').decode(listenerBytes) as unknown as {
    filterChains: { filters: { typedConfig: { value: Uint8Array } }[] }[];
  };
  const hcmType = envoyType('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager');
  const hcm = hcmType.decode(
    listener.filterChains[0]?.filters[0]?.typedConfig.value ?? new Uint8Array(),
  ) as unknown as {
    httpFilters: { name: string }[];
  };
  return hcm.httpFilters.map((f) => f.name);
}

describe('filterRenderHooks with translateGateway', () => {
  it('delivers a Gateway policy: the module as ECDS, the filter before the router, encoded strictly', () => {
    const t = translateWith(
      [policy('team-a', 'all', { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'web' })],
      'team-a/web',
    );
    assert.deepEqual(t.errors, []);
    const ecds = t.resources[TypeUrls.extensionConfig] ?? [];
    assert.deepEqual(
      ecds.map((r) => r.name),
      ['team-a/web/filter/team-a/all/auth'],
    );
    const first = ecds[0];
    assert.ok(first);
    const wasm = ((first.resource.typedConfig as Json).config as Json).vmConfig as {
      code: { local: { inlineBytes: string } };
    };
    assert.equal(sha256Hex(Buffer.from(wasm.code.local.inlineBytes, 'base64')), module.sha256);
    const listener = t.resources[TypeUrls.listener]?.[0];
    assert.ok(listener);
    assert.deepEqual(hcmFilterNames(listener.bytes), [
      'team-a/web/filter/team-a/all/auth',
      'envoy.filters.http.router',
    ]);
  });

  it("never gives one team's filters to another team's Gateway", () => {
    const policies = [policy('team-a', 'all', { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'web' })];
    const other = translateWith(policies, 'team-b/shop');
    assert.equal(other.resources[TypeUrls.extensionConfig]?.length ?? 0, 0);
    const listener = other.resources[TypeUrls.listener]?.[0];
    assert.ok(listener);
    assert.deepEqual(hcmFilterNames(listener.bytes), ['envoy.filters.http.router']);
  });

  it("never gives a route policy to another team's Gateway named in the route's parentRefs", () => {
    // team-a's route also names team-b's Gateway, whose listener (allowedRoutes: Same) refuses it.
    const routes = [
      { ...route('team-a', 'checkout', 'web'), spec: { ...route('team-a', 'checkout', 'web').spec } },
      route('team-b', 'cart', 'shop'),
    ];
    routes[0]?.spec.parentRefs?.push({ name: 'shop', namespace: 'team-b' });
    const target = { group: 'gateway.networking.k8s.io' as const, kind: 'HTTPRoute' as const, name: 'checkout' };
    const resolution = resolvePolicies({
      operatorNamespace: 'legate-system',
      controllerName: 'x',
      gateways,
      httpRoutes: routes,
      grpcRoutes: [],
      referenceGrants: [],
      wasmFilters: [filter],
      policies: [policy('team-a', 'checkout', target)],
      module: () => module,
    });
    const hooks = { hooks: filterRenderHooks(resolution) };
    const other = translateGateway({ gateways, httpRoutes: routes }, 'team-b/shop', hooks);
    assert.ok(other);
    assert.deepEqual(other.resources[TypeUrls.extensionConfig] ?? [], []);
    const listener = other.resources[TypeUrls.listener]?.[0];
    assert.ok(listener);
    assert.deepEqual(hcmFilterNames(listener.bytes), ['envoy.filters.http.router']);
    // The team's own Gateway still gets it.
    const own = translateGateway({ gateways, httpRoutes: routes }, 'team-a/web', hooks);
    assert.deepEqual(
      (own?.resources[TypeUrls.extensionConfig] ?? []).map((r) => r.name),
      ['team-a/web/filter/team-a/checkout/auth'],
    );
  });

  it('enables a rule-targeted filter on that rule only (route JSON)', () => {
    const t = translateWith(
      [
        policy('team-a', 'api', {
          group: 'gateway.networking.k8s.io',
          kind: 'HTTPRoute',
          name: 'checkout',
          sectionName: 'api',
        }),
      ],
      'team-a/web',
    );
    const listener = t.resources[TypeUrls.listener]?.[0];
    assert.ok(listener);
    assert.deepEqual(hcmFilterNames(listener.bytes), [
      'team-a/web/filter/team-a/api/auth',
      'envoy.filters.http.router',
    ]);
    assert.equal((listener.resource.filterChains as Json[]).length, 1);
    // The route configuration carries FilterConfig{config: {}} (an empty Any): the strict encoder
    // accepts it (no errors) and the rendered JSON is read through the hook.
    assert.deepEqual(t.errors, []);
    const hooks = filterRenderHooks(
      resolvePolicies({
        operatorNamespace: 'legate-system',
        controllerName: 'x',
        gateways,
        httpRoutes,
        grpcRoutes: [],
        referenceGrants: [],
        wasmFilters: [filter],
        policies: [
          policy('team-a', 'api', {
            group: 'gateway.networking.k8s.io',
            kind: 'HTTPRoute',
            name: 'checkout',
            sectionName: 'api',
          }),
        ],
        module: () => module,
      }),
    );
    const plain = translateGateway({ gateways, httpRoutes }, 'team-a/web');
    const rc = plain?.resources[TypeUrls.route]?.[0]?.resource;
    assert.ok(rc && plain);
    const chain = plain.ir.listeners[0]?.filterChains[0];
    assert.ok(chain);
    const out = hooks.routeConfig?.(rc, chain, 'team-a/web') as {
      virtualHosts: { routes: { name: string; typedPerFilterConfig?: Json }[] }[];
    };
    const enabled = out.virtualHosts.flatMap((vh) =>
      vh.routes.filter((r) => r.typedPerFilterConfig).map((r) => r.name),
    );
    assert.ok(enabled.length > 0);
    assert.ok(
      enabled.every((n) => n.startsWith('HTTPRoute/team-a/checkout/rule/0/')),
      `only rule 0 (api) is enabled: ${enabled}`,
    );
  });

  it('changes only the ECDS resource when a policy config changes (no listener or route update, no drain)', () => {
    const target = { group: 'gateway.networking.k8s.io' as const, kind: 'Gateway' as const, name: 'web' };
    const before = translateWith([policy('team-a', 'all', target, { realm: 'one' })], 'team-a/web');
    const after = translateWith([policy('team-a', 'all', target, { realm: 'two' })], 'team-a/web');
    const bytesOf = (t: typeof before, type: string) =>
      (t.resources[type as keyof typeof t.resources] ?? []).map((r) => Buffer.from(r.bytes).toString('hex'));
    for (const type of [TypeUrls.listener, TypeUrls.route, TypeUrls.cluster, TypeUrls.endpoint]) {
      assert.deepEqual(bytesOf(after, type), bytesOf(before, type), `${type} unchanged`);
    }
    assert.notDeepEqual(bytesOf(after, TypeUrls.extensionConfig), bytesOf(before, TypeUrls.extensionConfig));
    // Key order in a config is not a change.
    const reordered = translateWith([policy('team-a', 'all', target, { b: 1, a: 2 })], 'team-a/web');
    const ordered = translateWith([policy('team-a', 'all', target, { a: 2, b: 1 })], 'team-a/web');
    assert.deepEqual(bytesOf(reordered, TypeUrls.extensionConfig), bytesOf(ordered, TypeUrls.extensionConfig));
  });
});
