import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Gateway, HTTPRoute, ReferenceGrant } from '../k8s/gateway-api.ts';
import { sha256Hex, type VerifiedModule } from './module-check.ts';
import { type PolicyInput, resolvePolicies } from './policy-resolve.ts';
import { proxyWasmModule } from './testing/wasm-builder.ts';
import type { FilterPolicy, WasmFilter } from './types.ts';

const bytes = proxyWasmModule();
const module: VerifiedModule = { sha256: sha256Hex(bytes), size: bytes.length, abiVersion: '0.2.1', bytes };

const gateway = (ns: string, name: string, listeners = ['http']): Gateway => ({
  metadata: { namespace: ns, name },
  spec: { gatewayClassName: 'legate', listeners: listeners.map((l) => ({ name: l, port: 80, protocol: 'HTTP' })) },
});
const route = (
  ns: string,
  name: string,
  parent: { namespace?: string; name: string },
  rules = ['api', 'web'],
): HTTPRoute => ({
  metadata: { namespace: ns, name },
  spec: { parentRefs: [parent], rules: rules.map((r) => ({ name: r })) },
});
const wasmFilter = (ns: string, name: string, extra: Partial<WasmFilter['spec']> = {}): WasmFilter => ({
  metadata: { namespace: ns, name },
  spec: {
    source: { type: 'ConfigMap', configMap: { name, key: 'filter.wasm' } },
    failurePolicy: 'FailClosed',
    ...extra,
  },
});
let clock = 0;
const policy = (ns: string, name: string, spec: FilterPolicy['spec']): FilterPolicy => ({
  metadata: {
    namespace: ns,
    name,
    generation: 2,
    creationTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, ++clock)).toISOString(),
  },
  spec,
});
const gwRef = (name: string, sectionName?: string) => ({
  group: 'gateway.networking.k8s.io' as const,
  kind: 'Gateway' as const,
  name,
  ...(sectionName ? { sectionName } : {}),
});
const routeRef = (name: string, sectionName?: string) => ({
  group: 'gateway.networking.k8s.io' as const,
  kind: 'HTTPRoute' as const,
  name,
  ...(sectionName ? { sectionName } : {}),
});

function input(overrides: Partial<PolicyInput>): PolicyInput {
  return {
    operatorNamespace: 'legate-system',
    controllerName: 'legate.dev/gateway-controller',
    gateways: [gateway('team-a', 'web'), gateway('team-b', 'shop')],
    httpRoutes: [route('team-a', 'checkout', { name: 'web' }), route('team-b', 'cart', { name: 'shop' })],
    grpcRoutes: [],
    referenceGrants: [],
    wasmFilters: [
      wasmFilter('team-a', 'rewrite', {
        configSchema: {
          type: 'object',
          required: ['header'],
          properties: { header: { type: 'string' }, n: { type: 'integer', default: 1 } },
        },
      }),
      wasmFilter('legate-system', 'auth', { rootId: 'auth' }),
      wasmFilter('team-b', 'private'),
      wasmFilter('team-a', 'open', { failurePolicy: 'FailOpen' }),
    ],
    policies: [],
    module: () => module,
    ...overrides,
  };
}

const accepted = (r: ReturnType<typeof resolvePolicies>, key: string) =>
  (r.status.get(key) ?? []).map((a) => ({ ancestor: a.ancestorRef, ...pick(a.conditions[0]) }));
const pick = (c: { status: string; reason: string; message: string } | undefined) => ({
  status: c?.status,
  reason: c?.reason,
  message: c?.message,
});

describe('resolvePolicies', () => {
  it("does not attach a route's policy to another team's Gateway that refuses the route (allowedRoutes)", () => {
    const twoParents: HTTPRoute = {
      ...route('team-a', 'checkout', { name: 'web' }),
      spec: { parentRefs: [{ name: 'web' }, { namespace: 'team-b', name: 'shop' }], rules: [{ name: 'api' }] },
    };
    const policies = [
      policy('team-a', 'p', {
        targetRefs: [routeRef('checkout')],
        filters: [{ name: 'a', filterRef: { name: 'rewrite' }, config: { header: 'x' } }],
      }),
    ];
    const refused = resolvePolicies(input({ httpRoutes: [twoParents], policies }));
    assert.deepEqual([...refused.byGateway.keys()], ['team-a/web']);
    assert.deepEqual(
      refused.status.get('team-a/p')?.map((a) => `${a.ancestorRef.namespace}/${a.ancestorRef.name}`),
      ['team-a/web'],
    );
    // A listener open to every namespace may attach it: the Gateway gets the filter.
    const open = gateway('team-b', 'shop');
    open.spec.listeners = open.spec.listeners.map((l) => ({ ...l, allowedRoutes: { namespaces: { from: 'All' } } }));
    const allowed = resolvePolicies(
      input({ gateways: [gateway('team-a', 'web'), open], httpRoutes: [twoParents], policies }),
    );
    assert.deepEqual([...allowed.byGateway.keys()], ['team-a/web', 'team-b/shop']);
  });

  it('attaches a route rule policy to the route parent Gateway only, with defaults applied to its config', () => {
    const r = resolvePolicies(
      input({
        policies: [
          policy('team-a', 'p', {
            targetRefs: [routeRef('checkout', 'web')],
            filters: [{ name: 'rw', filterRef: { name: 'rewrite' }, config: { header: 'x-team' } }],
          }),
        ],
      }),
    );
    assert.deepEqual([...r.byGateway.keys()], ['team-a/web'], 'team-b/shop gets nothing');
    const [f] = r.byGateway.get('team-a/web') ?? [];
    assert.equal(f?.name, 'team-a/web/filter/team-a/p/rw');
    assert.equal(f?.configJson, '{"header":"x-team","n":1}');
    assert.equal(f?.module?.sha256, module.sha256);
    assert.deepEqual(f?.scope, {
      allListeners: false,
      listeners: [],
      routes: [{ kind: 'HTTPRoute', namespace: 'team-a', name: 'checkout', rule: 1 }],
    });
    assert.deepEqual(accepted(r, 'team-a/p'), [
      {
        ancestor: { group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: 'team-a', name: 'web' },
        status: 'True',
        reason: 'Accepted',
        message: '1 filter(s) attached in order: rw',
      },
    ]);
  });

  it('lets every team use the operator namespace filters, and others only with a ReferenceGrant', () => {
    const policies = [
      policy('team-a', 'builtin', {
        targetRefs: [gwRef('web')],
        filters: [{ name: 'auth', filterRef: { name: 'auth', namespace: 'legate-system' } }],
      }),
      policy('team-a', 'borrow', {
        targetRefs: [gwRef('web')],
        filters: [{ name: 'p', filterRef: { name: 'private', namespace: 'team-b' } }],
      }),
    ];
    const denied = resolvePolicies(input({ policies }));
    assert.equal(accepted(denied, 'team-a/builtin')[0]?.status, 'True');
    assert.deepEqual(pick(denied.status.get('team-a/borrow')?.[0]?.conditions[0]), {
      status: 'False',
      reason: 'Invalid',
      message:
        'filters[p]: WasmFilter team-b/private is in another namespace and no ReferenceGrant in team-b allows FilterPolicies from team-a to use it; requests these filters would see are rejected until this is fixed (FailClosed)',
    });
    const blocked = denied.byGateway.get('team-a/web')?.find((f) => f.policy.name === 'borrow');
    assert.equal(blocked?.module, undefined, 'the module of another team never reaches this Gateway');
    assert.equal(blocked?.failurePolicy, 'FailClosed');

    const grant: ReferenceGrant = {
      metadata: { namespace: 'team-b', name: 'share' },
      spec: {
        from: [{ group: 'legate.dev', kind: 'FilterPolicy', namespace: 'team-a' }],
        to: [{ group: 'legate.dev', kind: 'WasmFilter', name: 'private' }],
      },
    };
    const granted = resolvePolicies(input({ policies, referenceGrants: [grant] }));
    assert.equal(accepted(granted, 'team-a/borrow')[0]?.status, 'True');
    assert.ok(granted.byGateway.get('team-a/web')?.find((f) => f.policy.name === 'borrow')?.module);
  });

  it('rejects a config that does not match the schema, naming the field, before anything is delivered', () => {
    const r = resolvePolicies(
      input({
        policies: [
          policy('team-a', 'bad', {
            targetRefs: [gwRef('web')],
            filters: [{ name: 'rw', filterRef: { name: 'rewrite' }, config: { header: 7, extra: true } }],
          }),
        ],
      }),
    );
    const c = r.status.get('team-a/bad')?.[0]?.conditions[0];
    assert.equal(c?.reason, 'Invalid');
    assert.match(c?.message ?? '', /^filters\[rw\]: config\.header must be string;/);
    assert.equal(c?.observedGeneration, 2);
    const [f] = r.byGateway.get('team-a/web') ?? [];
    assert.equal(f?.module, undefined);
    assert.match(f?.blocked ?? '', /config\.header must be string/);
  });

  it('says what Envoy does meanwhile by the failure policy of the refused entries', () => {
    const openSchema = { type: 'object', properties: { n: { type: 'integer' } } };
    const filters = input({}).wasmFilters.map((f) =>
      f.metadata.name === 'open' ? { ...f, spec: { ...f.spec, configSchema: openSchema } } : f,
    );
    const message = (entries: FilterPolicy['spec']['filters']) =>
      resolvePolicies(
        input({
          wasmFilters: filters,
          policies: [policy('team-a', 'p', { targetRefs: [gwRef('web')], filters: entries })],
        }),
      ).status.get('team-a/p')?.[0]?.conditions[0]?.message ?? '';
    const badOpen = { name: 'o', filterRef: { name: 'open' }, config: { n: 'x' } };
    const badClosed = { name: 'rw', filterRef: { name: 'rewrite' }, config: {} };
    assert.match(message([badOpen]), /; requests pass without these filters until this is fixed \(FailOpen\)$/);
    assert.doesNotMatch(message([badOpen]), /FailClosed/);
    assert.match(
      message([badClosed, badOpen]),
      /; requests the FailClosed ones would see are rejected until this is fixed \(FailClosed\); requests pass without the FailOpen ones until this is fixed \(FailOpen\)$/,
    );
  });

  it('orders Gateway policies before route policies, oldest first, list order within a policy', () => {
    const routeFirst = policy('team-a', 'route-old', {
      targetRefs: [routeRef('checkout')],
      filters: [{ name: 'r', filterRef: { name: 'open' } }],
    });
    const gwNew = policy('team-a', 'gw-new', {
      targetRefs: [gwRef('web')],
      filters: [
        { name: 'b', filterRef: { name: 'auth', namespace: 'legate-system' } },
        { name: 'a', filterRef: { name: 'rewrite' }, config: { header: 'h' } },
      ],
    });
    const r = resolvePolicies(input({ policies: [gwNew, routeFirst] }));
    assert.deepEqual(
      r.byGateway.get('team-a/web')?.map((f) => `${f.policy.name}/${f.policy.entry}`),
      ['gw-new/b', 'gw-new/a', 'route-old/r'],
    );
  });

  it('marks the newer of two policies attaching the same filter to the same target Conflicted', () => {
    const entry = { name: 'auth', filterRef: { name: 'auth', namespace: 'legate-system' } };
    const older = policy('team-a', 'older', { targetRefs: [gwRef('web')], filters: [entry] });
    const newer = policy('team-a', 'newer', { targetRefs: [gwRef('web')], filters: [entry] });
    const r = resolvePolicies(input({ policies: [newer, older] }));
    assert.equal(accepted(r, 'team-a/older')[0]?.status, 'True');
    assert.deepEqual(pick(r.status.get('team-a/newer')?.[0]?.conditions[0]), {
      status: 'False',
      reason: 'Conflicted',
      message: 'legate-system/auth is already attached to Gateway/team-a/web by the older FilterPolicy team-a/older',
    });
    assert.equal(r.byGateway.get('team-a/web')?.length, 1);
  });

  it('reports targets that do not exist, per target', () => {
    const r = resolvePolicies(
      input({
        policies: [
          policy('team-a', 'missing', {
            targetRefs: [gwRef('web', 'https'), routeRef('checkout', 'nope'), gwRef('web', 'http')],
            filters: [{ name: 'auth', filterRef: { name: 'auth', namespace: 'legate-system' } }],
          }),
        ],
      }),
    );
    const byName = Object.fromEntries(
      accepted(r, 'team-a/missing').map((a) => [
        `${a.ancestor.kind}/${a.ancestor.name}#${a.ancestor.sectionName ?? ''}`,
        a,
      ]),
    );
    assert.equal(byName['Gateway/web#https']?.message, 'Gateway team-a/web has no listener named https');
    assert.equal(byName['HTTPRoute/checkout#nope']?.message, 'HTTPRoute team-a/checkout has no rule named nope');
    assert.equal(byName['Gateway/web#http']?.status, 'True');
    assert.deepEqual(r.byGateway.get('team-a/web')?.[0]?.scope.listeners, ['http']);
  });

  it('keeps a FailClosed filter without a good module on the chain, blocked', () => {
    const r = resolvePolicies(
      input({
        module: () => undefined,
        policies: [
          policy('team-a', 'p', {
            targetRefs: [gwRef('web')],
            filters: [{ name: 'auth', filterRef: { name: 'auth', namespace: 'legate-system' } }],
          }),
        ],
      }),
    );
    const [f] = r.byGateway.get('team-a/web') ?? [];
    assert.match(f?.blocked ?? '', /has no good module yet/);
    const c = r.status.get('team-a/p')?.[0]?.conditions[0];
    assert.equal(c?.status, 'True', 'the policy itself is fine');
    assert.match(c?.message ?? '', /WasmFilter legate-system\/auth has no good module yet/);
  });
});
