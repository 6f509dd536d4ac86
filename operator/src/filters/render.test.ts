// Renders attached filters into a Gateway's real translator output (translate/envoy.ts), then holds
// the result to the strict encoder and to go-control-plane's validators (test/tools/xds-validate).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { goTool } from '../../../test/harness/go-tools.ts';
import { envoyRoot, envoyType, TypeUrls } from '../envoy/protos.ts';
import { type JsonValue, strictEncode } from '../envoy/strict.ts';
import { renderListener, renderRouteConfig } from '../translate/envoy.ts';
import type { IrListener, IrRoute } from '../translate/ir.ts';
import { sha256Hex } from './module-check.ts';
import type { AttachedFilter } from './policy-resolve.ts';
import {
  DENY_STATUS,
  denyBody,
  FAULT_FILTER_TYPE,
  renderExtensionConfig,
  renderExtensionConfigs,
  WASM_FILTER_TYPE,
  withFiltersOnListener,
  withFiltersOnRouteConfig,
} from './render.ts';
import { proxyWasmModule } from './testing/wasm-builder.ts';

type Json = { [key: string]: JsonValue };
const bytes = proxyWasmModule();
const module = { sha256: sha256Hex(bytes), size: bytes.length, abiVersion: '0.2.1' as const, bytes };

const irRoute = (name: string, prefix: string): IrRoute => ({
  name,
  match: { path: { kind: 'prefix', value: prefix }, headers: [], queryParams: [] },
  action: { kind: 'direct', status: 200, body: 'ok' },
});
const listener: IrListener = {
  name: 'team-a/web/80',
  port: 80,
  protocol: 'HTTP',
  filterChains: [
    {
      gatewayListeners: ['http'],
      serverNames: [],
      certificates: [],
      routeConfig: {
        name: 'team-a/web/80',
        virtualHosts: [
          {
            name: 'team-a/web/80/*',
            domain: '*',
            routes: [
              irRoute('HTTPRoute/team-a/checkout/rule/0/match/0', '/api'),
              irRoute('HTTPRoute/team-a/checkout/rule/1/match/0', '/web'),
              irRoute('HTTPRoute/team-a/other/rule/0/match/0', '/'),
            ],
          },
        ],
      },
    },
  ],
};

const attached = (over: Partial<AttachedFilter>): AttachedFilter => ({
  name: 'team-a/web/filter/team-a/p/x',
  policy: { namespace: 'team-a', name: 'p', entry: 'x' },
  filterKey: 'team-a/x',
  rootId: '',
  vmId: '',
  failurePolicy: 'FailClosed',
  configJson: '{}',
  module,
  scope: { allListeners: true, listeners: [], routes: [] },
  ...over,
});

const gatewayWide = attached({
  name: 'team-a/web/filter/team-a/gw/auth',
  rootId: 'auth',
  configJson: '{"issuer":"me"}',
});
const onRule = attached({
  name: 'team-a/web/filter/team-a/route/rw',
  failurePolicy: 'FailOpen',
  scope: {
    allListeners: false,
    listeners: [],
    routes: [{ kind: 'HTTPRoute', namespace: 'team-a', name: 'checkout', rule: 0 }],
  },
});
const filters = [gatewayWide, onRule];

function httpFilters(l: Json): Json[] {
  const chain = (l.filterChains as Json[])[0] as Json;
  const hcm = ((chain.filters as Json[])[0] as Json).typedConfig as Json;
  return hcm.httpFilters as Json[];
}

describe('render', () => {
  it('renders an ECDS Wasm resource with the module inline, JSON config, root id and failure policy', () => {
    const ecds = renderExtensionConfig(gatewayWide) as Json;
    const encoded = strictEncode(TypeUrls.extensionConfig, ecds);
    const decoded = envoyType('envoy.config.core.v3.TypedExtensionConfig').decode(encoded) as unknown as {
      name: string;
      typedConfig: { typeUrl?: string; type_url?: string; value: Uint8Array };
    };
    assert.equal(decoded.name, gatewayWide.name);
    const wasm = envoyType('envoy.extensions.filters.http.wasm.v3.Wasm').decode(
      decoded.typedConfig.value,
    ) as unknown as {
      config: {
        rootId: string;
        failOpen: boolean;
        failurePolicy: number;
        vmConfig: { runtime: string; code: { local: { inlineBytes: Uint8Array } } };
        configuration: { value: Uint8Array };
      };
    };
    assert.equal(
      sha256Hex(wasm.config.vmConfig.code.local.inlineBytes),
      module.sha256,
      'the bytes on the wire are the module',
    );
    assert.equal(wasm.config.rootId, 'auth');
    assert.equal(wasm.config.failOpen, false, 'never the deprecated fail_open');
    const FailurePolicy = envoyRoot().lookupEnum('envoy.extensions.wasm.v3.FailurePolicy');
    assert.equal(wasm.config.failurePolicy, FailurePolicy.values.FAIL_CLOSED);
    assert.equal(FailurePolicy.values.FAIL_CLOSED, 2, "Envoy's number for FAIL_CLOSED");
    assert.equal(wasm.config.vmConfig.runtime, 'envoy.wasm.runtime.v8');
    const config = envoyType('google.protobuf.StringValue').decode(wasm.config.configuration.value) as unknown as {
      value: string;
    };
    assert.equal(config.value, '{"issuer":"me"}');
    const onRuleEcds = renderExtensionConfig(onRule) as Json;
    const failOpen = (onRuleEcds.typedConfig as Json).config as Json;
    assert.equal(failOpen.failurePolicy, 'FAIL_OPEN', 'FailOpen becomes failure_policy FAIL_OPEN');
    assert.equal(failOpen.failOpen, undefined);
  });

  it('puts the filters before the router in policy order, route-scoped ones disabled, and encodes strictly', () => {
    const out = withFiltersOnListener(renderListener(listener), [['http']], filters);
    strictEncode(TypeUrls.listener, out);
    assert.deepEqual(
      httpFilters(out).map((f) => [f.name, f.disabled ?? false]),
      [
        [gatewayWide.name, false],
        [onRule.name, true],
        ['envoy.filters.http.router', false],
      ],
    );
    assert.deepEqual(httpFilters(out)[0]?.configDiscovery, {
      configSource: { ads: {}, resourceApiVersion: 'V3' },
      defaultConfig: {
        '@type': FAULT_FILTER_TYPE,
        abort: { httpStatus: DENY_STATUS, percentage: { numerator: 100, denominator: 'HUNDRED' } },
      },
      typeUrls: [WASM_FILTER_TYPE, FAULT_FILTER_TYPE],
    });
    assert.deepEqual(
      (httpFilters(out)[1]?.configDiscovery as Json | undefined)?.defaultConfig,
      { '@type': FAULT_FILTER_TYPE },
      'a FailOpen filter passes requests until its configuration arrives',
    );
    const hcm = (((out.filterChains as Json[])[0] as Json).filters as Json[])[0]?.typedConfig as Json;
    assert.deepEqual(hcm.localReplyConfig, {
      mappers: [{ filter: { responseFlagFilter: { flags: ['FI'] } }, body: { inlineString: denyBody } }],
    });
    assert.equal(httpFilters(renderListener(listener)).length, 1, 'the input listener is not modified');
  });

  it('enables a route-scoped filter on exactly the targeted rule', () => {
    const rc = withFiltersOnRouteConfig(
      renderRouteConfig(listener.filterChains[0]?.routeConfig ?? { name: '', virtualHosts: [] }),
      ['http'],
      filters,
    );
    const routes = ((rc.virtualHosts as Json[])[0] as Json).routes as Json[];
    const enabled = routes.filter((r) => r.typedPerFilterConfig).map((r) => r.name);
    // A segment prefix renders as two Envoy routes (exact and /-prefix): both carry the filter.
    assert.deepEqual(enabled, [
      'HTTPRoute/team-a/checkout/rule/0/match/0/exact',
      'HTTPRoute/team-a/checkout/rule/0/match/0/slash',
    ]);
    assert.deepEqual(routes[0]?.typedPerFilterConfig, {
      [onRule.name]: { '@type': 'type.googleapis.com/envoy.config.route.v3.FilterConfig', config: {} },
    });
    // The per-route FilterConfig with an empty `config` Any is what Envoy reads as "enabled": it
    // encodes with the config field present and an empty type URL.
    const FilterConfig = envoyType('envoy.config.route.v3.FilterConfig');
    const wire = FilterConfig.encode(FilterConfig.fromObject({ config: {} })).finish();
    assert.deepEqual([...wire], [0x0a, 0x00]);
  });

  it('leaves a FailOpen filter that cannot run out, and answers a FailClosed one with a deny configuration', () => {
    const closed = attached({ name: 'team-a/web/filter/team-a/p/closed', module: undefined, blocked: 'no module' });
    const refused = attached({ name: 'team-a/web/filter/team-a/p/refused', blocked: 'config.x is invalid' });
    const open = attached({
      name: 'team-a/web/filter/team-a/p/open',
      module: undefined,
      blocked: 'no module',
      failurePolicy: 'FailOpen',
    });
    const out = withFiltersOnListener(renderListener(listener), [['http']], [closed, refused, open]);
    assert.deepEqual(
      httpFilters(out).map((f) => f.name),
      [closed.name, refused.name, 'envoy.filters.http.router'],
    );
    // Every name the listener references is answered (Envoy waits forever for one that is not),
    // with Envoy's fault filter aborting every request with 503.
    const deny = {
      '@type': FAULT_FILTER_TYPE,
      abort: { httpStatus: 503, percentage: { numerator: 100, denominator: 'HUNDRED' } },
    };
    assert.deepEqual(renderExtensionConfigs([closed, refused, open]), [
      { name: closed.name, json: { name: closed.name, typedConfig: deny } },
      { name: refused.name, json: { name: refused.name, typedConfig: deny } },
    ]);
    strictEncode(TypeUrls.extensionConfig, renderExtensionConfig(refused) as Json);
  });

  it('passes go-control-plane validation (listener, per-route enablement and ECDS resource)', async () => {
    const bin = await goTool('xds-validate');
    const denied = attached({ name: 'team-a/web/filter/team-a/p/denied', blocked: 'config refused' });
    const filters = [gatewayWide, onRule, denied];
    const l = withFiltersOnListener(renderListener(listener), [['http']], filters);
    const rc = withFiltersOnRouteConfig(
      renderRouteConfig(listener.filterChains[0]?.routeConfig ?? { name: '', virtualHosts: [] }),
      ['http'],
      filters,
    );
    const resources = [
      { '@type': TypeUrls.listener, ...l },
      { '@type': TypeUrls.route, ...rc },
      ...renderExtensionConfigs(filters).map((e) => ({ '@type': TypeUrls.extensionConfig, ...e.json })),
    ];
    const res = spawnSync(bin, [], {
      input: JSON.stringify({ gateways: [{ gateway: 'team-a/web', resources }] }),
      encoding: 'utf8',
    });
    assert.deepEqual(JSON.parse(res.stdout), { ok: true, errors: [] }, res.stderr);

    // On the wire, as Envoy receives them: failure_policy is a field Envoy 1.40 knows (the vendored
    // protos predate it), and nothing deprecated is set...
    const wire = renderExtensionConfigs(filters).map((e) => ({
      typeUrl: TypeUrls.extensionConfig,
      binary: Buffer.from(strictEncode(TypeUrls.extensionConfig, e.json)).toString('base64'),
    }));
    const onWire = spawnSync(bin, [], {
      input: JSON.stringify({ gateways: [{ gateway: 'team-a/web', resources: wire }] }),
      encoding: 'utf8',
    });
    assert.deepEqual(JSON.parse(onWire.stdout), { ok: true, errors: [] }, onWire.stderr);
    // ...which the validator does check: the deprecated fail_open is reported.
    const old = renderExtensionConfig(onRule) as Json;
    const oldConfig = (old.typedConfig as Json).config as Json;
    delete oldConfig.failurePolicy;
    oldConfig.failOpen = true;
    const bad = spawnSync(bin, [], {
      input: JSON.stringify({
        gateways: [{ gateway: 'team-a/web', resources: [{ '@type': TypeUrls.extensionConfig, ...old }] }],
      }),
      encoding: 'utf8',
    });
    assert.match(bad.stdout, /deprecated field envoy\.extensions\.wasm\.v3\.PluginConfig\.fail_open is set/);
  });
});
