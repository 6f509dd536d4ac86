import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HTTPRoute } from '../k8s/gateway-api.ts';
import { affectedGateways, indexInput, translate, translateGateway } from './index.ts';
import type { Decision, Request } from './testing/envoy-router.ts';
import { route as envoyRoute } from './testing/envoy-router.ts';
import {
  gateway,
  grant,
  grpcRoute,
  httpRoute,
  input,
  listenerConditions,
  mustTranslate,
  names,
  resource,
  routeConditions,
  service,
  tlsSecret,
} from './testing/fixtures.ts';

const HTTP = { name: 'http', port: 80, protocol: 'HTTP' } as const;
const gw = gateway('team', 'gw', [HTTP]);

/** Translates one HTTP Gateway `team/gw` with these routes and answers requests through it. */
function routeThrough(routes: HTTPRoute[], services = [service('team', 'a', 80), service('team', 'b', 80)]) {
  const t = mustTranslate(input({ gateways: [gw], httpRoutes: routes, services }), 'team/gw');
  const rc = resource(t, 'route', 'team/gw/80');
  return { t, ask: (req: Partial<Request>): Decision => envoyRoute(rc, { host: 'x.example.com', path: '/', ...req }) };
}

function backends(d: Decision): Record<string, number> | string {
  return d.kind === 'forward' ? d.clusters : d.kind;
}

describe('HTTPRoute matching and precedence', () => {
  const cases: { name: string; routes: HTTPRoute[]; req: Partial<Request>; want: Record<string, number> | string }[] = [
    {
      name: 'Exact beats a longer PathPrefix',
      routes: [
        httpRoute('team', 'r1', {
          parentRefs: [{ name: 'gw' }],
          rules: [
            { matches: [{ path: { type: 'PathPrefix', value: '/foo/bar' } }], backendRefs: [{ name: 'a', port: 80 }] },
          ],
        }),
        httpRoute('team', 'r2', {
          parentRefs: [{ name: 'gw' }],
          rules: [{ matches: [{ path: { type: 'Exact', value: '/foo' } }], backendRefs: [{ name: 'b', port: 80 }] }],
        }),
      ],
      req: { path: '/foo' },
      want: { 'team/b/80': 1 },
    },
    {
      name: 'the longest PathPrefix wins, across routes',
      routes: [
        httpRoute('team', 'short', {
          parentRefs: [{ name: 'gw' }],
          rules: [
            { matches: [{ path: { type: 'PathPrefix', value: '/api' } }], backendRefs: [{ name: 'a', port: 80 }] },
          ],
        }),
        httpRoute('team', 'long', {
          parentRefs: [{ name: 'gw' }],
          rules: [
            { matches: [{ path: { type: 'PathPrefix', value: '/api/v2' } }], backendRefs: [{ name: 'b', port: 80 }] },
          ],
        }),
      ],
      req: { path: '/api/v2/users' },
      want: { 'team/b/80': 1 },
    },
    {
      name: 'PathPrefix matches whole segments only',
      routes: [
        httpRoute('team', 'r', {
          parentRefs: [{ name: 'gw' }],
          rules: [
            { matches: [{ path: { type: 'PathPrefix', value: '/api/' } }], backendRefs: [{ name: 'a', port: 80 }] },
          ],
        }),
      ],
      req: { path: '/apiary' },
      want: 'none',
    },
    {
      name: 'a trailing slash in a prefix is ignored',
      routes: [
        httpRoute('team', 'r', {
          parentRefs: [{ name: 'gw' }],
          rules: [
            { matches: [{ path: { type: 'PathPrefix', value: '/api/' } }], backendRefs: [{ name: 'a', port: 80 }] },
          ],
        }),
      ],
      req: { path: '/api' },
      want: { 'team/a/80': 1 },
    },
    {
      name: 'a method match outranks a header match on the same path',
      routes: [
        httpRoute('team', 'hdr', {
          parentRefs: [{ name: 'gw' }],
          rules: [{ matches: [{ headers: [{ name: 'x-v', value: '2' }] }], backendRefs: [{ name: 'a', port: 80 }] }],
        }),
        httpRoute('team', 'method', {
          parentRefs: [{ name: 'gw' }],
          rules: [{ matches: [{ method: 'POST' }], backendRefs: [{ name: 'b', port: 80 }] }],
        }),
      ],
      req: { path: '/x', method: 'POST', headers: { 'X-V': '2' } },
      want: { 'team/b/80': 1 },
    },
    {
      name: 'more header matches win (A/B by header)',
      routes: [
        httpRoute('team', 'ab', {
          parentRefs: [{ name: 'gw' }],
          rules: [
            { backendRefs: [{ name: 'a', port: 80 }] },
            { matches: [{ headers: [{ name: 'x-variant', value: 'b' }] }], backendRefs: [{ name: 'b', port: 80 }] },
          ],
        }),
      ],
      req: { path: '/', headers: { 'x-variant': 'b' } },
      want: { 'team/b/80': 1 },
    },
    {
      name: 'a regular-expression header match',
      routes: [
        httpRoute('team', 'rx', {
          parentRefs: [{ name: 'gw' }],
          rules: [
            {
              matches: [{ headers: [{ type: 'RegularExpression', name: 'user-agent', value: '.*Mobile.*' }] }],
              backendRefs: [{ name: 'b', port: 80 }],
            },
            { backendRefs: [{ name: 'a', port: 80 }] },
          ],
        }),
      ],
      req: { path: '/', headers: { 'user-agent': 'Foo Mobile Bar' } },
      want: { 'team/b/80': 1 },
    },
    {
      name: 'query parameter match',
      routes: [
        httpRoute('team', 'q', {
          parentRefs: [{ name: 'gw' }],
          rules: [
            { matches: [{ queryParams: [{ name: 'beta', value: '1' }] }], backendRefs: [{ name: 'b', port: 80 }] },
            { backendRefs: [{ name: 'a', port: 80 }] },
          ],
        }),
      ],
      req: { path: '/x?beta=1' },
      want: { 'team/b/80': 1 },
    },
    {
      name: 'on a full tie the oldest route wins',
      routes: [
        httpRoute(
          'team',
          'aaa-new',
          { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs: [{ name: 'a', port: 80 }] }] },
          '2026-02-01T00:00:00Z',
        ),
        httpRoute(
          'team',
          'zzz-old',
          { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs: [{ name: 'b', port: 80 }] }] },
          '2026-01-01T00:00:00Z',
        ),
      ],
      req: { path: '/' },
      want: { 'team/b/80': 1 },
    },
    {
      name: 'on a tie in age, alphabetical namespace/name wins',
      routes: [
        httpRoute('team', 'zzz', { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs: [{ name: 'a', port: 80 }] }] }),
        httpRoute('team', 'aaa', { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs: [{ name: 'b', port: 80 }] }] }),
      ],
      req: { path: '/' },
      want: { 'team/b/80': 1 },
    },
    {
      name: 'a more specific route hostname wins over a wildcard, other paths fall through',
      routes: [
        httpRoute('team', 'wild', {
          parentRefs: [{ name: 'gw' }],
          hostnames: ['*.example.com'],
          rules: [{ backendRefs: [{ name: 'a', port: 80 }] }],
        }),
        httpRoute('team', 'exact', {
          parentRefs: [{ name: 'gw' }],
          hostnames: ['x.example.com'],
          rules: [
            { matches: [{ path: { type: 'PathPrefix', value: '/special' } }], backendRefs: [{ name: 'b', port: 80 }] },
          ],
        }),
      ],
      req: { path: '/other' },
      want: { 'team/a/80': 1 },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(backends(routeThrough(c.routes).ask(c.req)), c.want);
    });
  }
});

describe('HTTPRoute filters and backends', () => {
  it('splits traffic by weight and skips weight 0', () => {
    const { ask } = routeThrough([
      httpRoute('team', 'canary', {
        parentRefs: [{ name: 'gw' }],
        rules: [
          {
            backendRefs: [
              { name: 'a', port: 80, weight: 90 },
              { name: 'b', port: 80, weight: 10 },
            ],
          },
        ],
      }),
    ]);
    assert.deepEqual(backends(ask({ path: '/' })), { 'team/a/80': 90, 'team/b/80': 10 });
  });

  it('drains a backend whose Service has no ready endpoints into the others, unless none has any', () => {
    const canary = httpRoute('team', 'canary', {
      parentRefs: [{ name: 'gw' }],
      rules: [
        {
          backendRefs: [
            { name: 'a', port: 80, weight: 90 },
            { name: 'b', port: 80, weight: 10 },
          ],
        },
      ],
    });
    const aEmpty = routeThrough([canary], [service('team', 'a', 80, []), service('team', 'b', 80)]);
    // One backend left: a plain cluster route, all traffic to b.
    assert.deepEqual(backends(aEmpty.ask({ path: '/' })), { 'team/b/80': 1 });
    const bothEmpty = routeThrough([canary], [service('team', 'a', 80, []), service('team', 'b', 80, [])]);
    assert.deepEqual(backends(bothEmpty.ask({ path: '/' })), { 'team/a/80': 90, 'team/b/80': 10 });
  });

  it('answers 500 when every weight is 0', () => {
    const { ask } = routeThrough([
      httpRoute('team', 'zero', {
        parentRefs: [{ name: 'gw' }],
        rules: [{ backendRefs: [{ name: 'a', port: 80, weight: 0 }] }],
      }),
    ]);
    assert.deepEqual(ask({ path: '/' }), { kind: 'direct', route: 'HTTPRoute/team/zero/rule/0/match/0', status: 500 });
  });

  it('answers 500 for a missing Service and reports BackendNotFound', () => {
    const { t, ask } = routeThrough([
      httpRoute('team', 'missing', {
        parentRefs: [{ name: 'gw' }],
        rules: [{ backendRefs: [{ name: 'nope', port: 80 }] }],
      }),
    ]);
    assert.equal(ask({ path: '/' }).kind, 'direct');
    assert.deepEqual(routeConditions(t, 'team/missing'), [
      'Accepted=True/Accepted',
      'ResolvedRefs=False/BackendNotFound',
    ]);
  });

  it('sends the share of an invalid backend to a 500 and the rest to the valid one', () => {
    const { ask } = routeThrough([
      httpRoute('team', 'half', {
        parentRefs: [{ name: 'gw' }],
        rules: [
          {
            backendRefs: [
              { name: 'a', port: 80 },
              { name: 'nope', port: 80 },
            ],
          },
        ],
      }),
    ]);
    const d = ask({ path: '/' });
    assert.equal(d.kind, 'forward');
    if (d.kind !== 'forward') return;
    assert.deepEqual(d.clusters, { 'team/a/80': 1, 'legate/invalid-backend': 1 });
    assert.equal(d.notFoundCode, 'INTERNAL_SERVER_ERROR');
  });

  it('redirects http to https without a port, with the status code asked for', () => {
    const { ask } = routeThrough([
      httpRoute('team', 'tls', {
        parentRefs: [{ name: 'gw' }],
        rules: [{ filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', statusCode: 301 } }] }],
      }),
    ]);
    assert.deepEqual(ask({ host: 'shop.example.com', path: '/cart?id=1' }), {
      kind: 'redirect',
      route: 'HTTPRoute/team/tls/rule/0/match/0',
      location: 'https://shop.example.com/cart?id=1',
      code: 'MOVED_PERMANENTLY',
    });
  });

  it('redirects with hostname, port and prefix replacement', () => {
    const { ask } = routeThrough([
      httpRoute('team', 'move', {
        parentRefs: [{ name: 'gw' }],
        rules: [
          {
            matches: [{ path: { type: 'PathPrefix', value: '/old' } }],
            filters: [
              {
                type: 'RequestRedirect',
                requestRedirect: {
                  hostname: 'new.example.com',
                  port: 8080,
                  path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/new' },
                },
              },
            ],
          },
        ],
      }),
    ]);
    const d = ask({ path: '/old/page' });
    assert.equal(d.kind === 'redirect' && d.location, 'http://new.example.com:8080/new/page');
    assert.equal(d.kind === 'redirect' && d.code, 'FOUND');
  });

  it('redirects to a well-known port from a listener on another port (the Host names that port)', () => {
    const gw8080 = gateway('team', 'gw', [{ name: 'http', port: 8080, protocol: 'HTTP' }]);
    const redirectTo = (requestRedirect: Record<string, unknown>) =>
      httpRoute('team', 'r', {
        parentRefs: [{ name: 'gw' }],
        rules: [{ filters: [{ type: 'RequestRedirect', requestRedirect }] }],
      });
    const location = (requestRedirect: Record<string, unknown>) => {
      const t = mustTranslate(input({ gateways: [gw8080], httpRoutes: [redirectTo(requestRedirect)] }), 'team/gw');
      const d = envoyRoute(resource(t, 'route', 'team/gw/8080'), { host: 'x.example.com:8080', path: '/a' });
      return d.kind === 'redirect' ? new URL(d.location).href : d.kind;
    };
    assert.equal(location({}), 'http://x.example.com:8080/a');
    assert.equal(location({ scheme: 'https' }), 'https://x.example.com/a');
    assert.equal(location({ port: 80 }), 'http://x.example.com/a');
    assert.equal(location({ scheme: 'https', hostname: 'y.example.com' }), 'https://y.example.com/a');
    assert.equal(location({ hostname: 'y.example.com' }), 'http://y.example.com:8080/a');
  });

  for (const [replacement, path, want] of [
    ['/', '/api/v1/users', '/users'],
    ['/', '/api/v1', '/'],
    ['/v2', '/api/v1/users', '/v2/users'],
    ['/v2/', '/api/v1/users', '/v2/users'],
  ] as const) {
    it(`URLRewrite ReplacePrefixMatch ${replacement}: ${path} → ${want}`, () => {
      const { ask } = routeThrough([
        httpRoute('team', 'rw', {
          parentRefs: [{ name: 'gw' }],
          rules: [
            {
              matches: [{ path: { type: 'PathPrefix', value: '/api/v1' } }],
              filters: [
                {
                  type: 'URLRewrite',
                  urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: replacement } },
                },
              ],
              backendRefs: [{ name: 'a', port: 80 }],
            },
          ],
        }),
      ]);
      const d = ask({ path });
      assert.equal(d.kind === 'forward' && d.path, want);
    });
  }

  it('URLRewrite full path and hostname', () => {
    const { ask } = routeThrough([
      httpRoute('team', 'rw', {
        parentRefs: [{ name: 'gw' }],
        rules: [
          {
            filters: [
              {
                type: 'URLRewrite',
                urlRewrite: { hostname: 'internal', path: { type: 'ReplaceFullPath', replaceFullPath: '/status' } },
              },
            ],
            backendRefs: [{ name: 'a', port: 80 }],
          },
        ],
      }),
    ]);
    const d = ask({ path: '/anything/here' });
    assert.equal(d.kind === 'forward' && `${d.host}${d.path}`, 'internal/status');
  });

  it('mirrors a percentage of requests', () => {
    const { t, ask } = routeThrough([
      httpRoute('team', 'mirror', {
        parentRefs: [{ name: 'gw' }],
        rules: [
          {
            filters: [{ type: 'RequestMirror', requestMirror: { backendRef: { name: 'b', port: 80 }, percent: 25 } }],
            backendRefs: [{ name: 'a', port: 80 }],
          },
        ],
      }),
    ]);
    assert.deepEqual(ask({ path: '/' }).kind === 'forward' && (ask({ path: '/' }) as { mirrors: string[] }).mirrors, [
      'team/b/80',
    ]);
    const rc = resource(t, 'route', 'team/gw/80') as never as {
      virtualHosts: { routes: { route: { requestMirrorPolicies: unknown[] } }[] }[];
    };
    assert.deepEqual(rc.virtualHosts[0]?.routes[0]?.route.requestMirrorPolicies, [
      { cluster: 'team/b/80', runtimeFraction: { defaultValue: { numerator: 250000, denominator: 'MILLION' } } },
    ]);
  });

  it('applies the request timeout, bounded by backendRequest', () => {
    const { ask } = routeThrough([
      httpRoute('team', 't', {
        parentRefs: [{ name: 'gw' }],
        rules: [{ timeouts: { request: '10s', backendRequest: '2500ms' }, backendRefs: [{ name: 'a', port: 80 }] }],
      }),
    ]);
    assert.equal((ask({ path: '/' }) as { timeout?: string }).timeout, '2.5s');
  });

  it('fails closed (500) on a filter type Legate does not support', () => {
    const { t, ask } = routeThrough([
      httpRoute('team', 'ext', {
        parentRefs: [{ name: 'gw' }],
        rules: [
          {
            filters: [{ type: 'ExtensionRef', extensionRef: { group: 'x.io', kind: 'Auth', name: 'a' } }],
            backendRefs: [{ name: 'a', port: 80 }],
          },
        ],
      }),
    ]);
    assert.equal(ask({ path: '/' }).kind, 'direct');
    assert.deepEqual(routeConditions(t, 'team/ext'), ['Accepted=True/Accepted', 'ResolvedRefs=False/UnsupportedValue']);
  });

  it('drops an invalid rule and says so; other rules keep working', () => {
    const { t, ask } = routeThrough([
      httpRoute('team', 'mixed', {
        parentRefs: [{ name: 'gw' }],
        rules: [
          {
            matches: [{ path: { type: 'RegularExpression', value: '/(unclosed' } }],
            backendRefs: [{ name: 'b', port: 80 }],
          },
          { backendRefs: [{ name: 'a', port: 80 }] },
        ],
      }),
    ]);
    assert.deepEqual(backends(ask({ path: '/x' })), { 'team/a/80': 1 });
    assert.deepEqual(routeConditions(t, 'team/mixed'), [
      'Accepted=True/Accepted',
      'PartiallyInvalid=True/UnsupportedValue',
      'ResolvedRefs=True/ResolvedRefs',
    ]);
    const partially = t.status.routes[0]?.conditions.find((c) => c.type === 'PartiallyInvalid');
    assert.match(partially?.message ?? '', /^Dropped Rule/);
  });

  it('sets backend-level header filters on the weighted cluster', () => {
    const { t } = routeThrough([
      httpRoute('team', 'bh', {
        parentRefs: [{ name: 'gw' }],
        rules: [
          {
            backendRefs: [
              {
                name: 'a',
                port: 80,
                filters: [
                  { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'X-Pool', value: 'a' }] } },
                ],
              },
            ],
          },
        ],
      }),
    ]);
    const rc = JSON.stringify(resource(t, 'route', 'team/gw/80'));
    assert.match(
      rc,
      /"requestHeadersToAdd":\[\{"header":\{"key":"x-pool","value":"a"\},"appendAction":"OVERWRITE_IF_EXISTS_OR_ADD"\}\]/,
    );
  });
});

describe('attachment and status', () => {
  it('cross-namespace backends need a ReferenceGrant', () => {
    const routes = [
      httpRoute('team', 'x', {
        parentRefs: [{ name: 'gw' }],
        rules: [{ backendRefs: [{ name: 'db', namespace: 'other', port: 80 }] }],
      }),
    ];
    const svc = [service('other', 'db', 80)];
    const denied = mustTranslate(input({ gateways: [gw], httpRoutes: routes, services: svc }), 'team/gw');
    assert.deepEqual(routeConditions(denied, 'team/x'), [
      'Accepted=True/Accepted',
      'ResolvedRefs=False/RefNotPermitted',
    ]);
    assert.deepEqual(names(denied, 'type.googleapis.com/envoy.config.cluster.v3.Cluster'), []);
    const allowed = mustTranslate(
      input({
        gateways: [gw],
        httpRoutes: routes,
        services: svc,
        referenceGrants: [grant('other', 'HTTPRoute', 'team', 'Service', 'db')],
      }),
      'team/gw',
    );
    assert.deepEqual(routeConditions(allowed, 'team/x'), ['Accepted=True/Accepted', 'ResolvedRefs=True/ResolvedRefs']);
    assert.deepEqual(names(allowed, 'type.googleapis.com/envoy.config.cluster.v3.Cluster'), ['other/db/80']);
  });

  it('allowedRoutes: Same rejects other namespaces, All accepts them', () => {
    const foreign = httpRoute('elsewhere', 'r', {
      parentRefs: [{ name: 'gw', namespace: 'team' }],
      rules: [{ backendRefs: [{ name: 'a', port: 80 }] }],
    });
    const same = mustTranslate(input({ gateways: [gw], httpRoutes: [foreign] }), 'team/gw');
    assert.deepEqual(routeConditions(same, 'elsewhere/r')[0], 'Accepted=False/NotAllowedByListeners');
    const open = gateway('team', 'gw', [{ ...HTTP, allowedRoutes: { namespaces: { from: 'All' } } }]);
    const all = mustTranslate(input({ gateways: [open], httpRoutes: [foreign] }), 'team/gw');
    assert.deepEqual(routeConditions(all, 'elsewhere/r')[0], 'Accepted=True/Accepted');
    assert.equal(all.status.gateway.listeners[0]?.attachedRoutes, 1);
  });

  it('reports NoMatchingParent and NoMatchingListenerHostname', () => {
    const g = gateway('team', 'gw', [{ ...HTTP, hostname: '*.example.com' }]);
    const t = mustTranslate(
      input({
        gateways: [g],
        httpRoutes: [
          httpRoute('team', 'bad-section', { parentRefs: [{ name: 'gw', sectionName: 'nope' }] }),
          httpRoute('team', 'bad-host', { parentRefs: [{ name: 'gw' }], hostnames: ['example.net'] }),
          httpRoute('team', 'some-host', {
            parentRefs: [{ name: 'gw' }],
            hostnames: ['a.example.com', 'example.net'],
            rules: [{ backendRefs: [{ name: 'a', port: 80 }] }],
          }),
        ],
        services: [service('team', 'a', 80)],
      }),
      'team/gw',
    );
    assert.equal(routeConditions(t, 'team/bad-section')[0], 'Accepted=False/NoMatchingParent');
    assert.equal(routeConditions(t, 'team/bad-host')[0], 'Accepted=False/NoMatchingListenerHostname');
    assert.equal(routeConditions(t, 'team/some-host')[0], 'Accepted=True/Accepted');
    const vhosts = (resource(t, 'route', 'team/gw/80').virtualHosts as { domains: string[] }[]).map(
      (v) => v.domains[0],
    );
    assert.deepEqual(vhosts, ['a.example.com']);
    assert.equal(t.status.gateway.listeners[0]?.attachedRoutes, 1);
  });

  it('marks conflicting listeners and leaves them out of the Envoy config', () => {
    const g = gateway('team', 'gw', [
      { name: 'a', port: 80, protocol: 'HTTP', hostname: 'x.example.com' },
      { name: 'b', port: 80, protocol: 'HTTP', hostname: 'x.example.com' },
      { name: 'c', port: 8443, protocol: 'HTTP' },
      { name: 'd', port: 8443, protocol: 'HTTPS', tls: { certificateRefs: [{ name: 'cert' }] } },
      { name: 'e', port: 9000, protocol: 'UDP' },
      { name: 'f', port: 8080, protocol: 'HTTP' },
      { name: 'g', port: 81, protocol: 'HTTP' },
      { name: 'h', port: 10081, protocol: 'HTTP' },
    ]);
    const t = mustTranslate(input({ gateways: [g], secrets: [tlsSecret('team', 'cert')] }), 'team/gw');
    assert.ok(listenerConditions(t, 'a').includes('Conflicted=True/HostnameConflict'));
    assert.ok(listenerConditions(t, 'd').includes('Conflicted=True/ProtocolConflict'));
    assert.ok(listenerConditions(t, 'e').includes('Accepted=False/UnsupportedProtocol'));
    assert.ok(listenerConditions(t, 'f').includes('Programmed=True/Programmed'));
    assert.ok(listenerConditions(t, 'h').includes('Accepted=False/PortUnavailable'));
    assert.deepEqual(names(t, 'type.googleapis.com/envoy.config.listener.v3.Listener'), ['team/gw/8080']);
    assert.deepEqual(
      t.status.gateway.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`),
      ['Accepted=True/ListenersNotValid', 'Programmed=True/Programmed'],
    );
  });

  it('HTTPS: one filter chain per hostname, certificates over SDS', () => {
    const g = gateway('team', 'gw', [
      {
        name: 'shop',
        port: 443,
        protocol: 'HTTPS',
        hostname: 'shop.example.com',
        tls: { certificateRefs: [{ name: 'shop-cert' }] },
      },
      {
        name: 'any',
        port: 443,
        protocol: 'HTTPS',
        tls: { certificateRefs: [{ name: 'wild-cert' }, { name: 'missing' }] },
      },
    ]);
    const t = mustTranslate(
      input({
        gateways: [g],
        secrets: [tlsSecret('team', 'shop-cert'), tlsSecret('team', 'wild-cert')],
        httpRoutes: [
          httpRoute('team', 'r', {
            parentRefs: [{ name: 'gw', sectionName: 'shop' }],
            rules: [{ backendRefs: [{ name: 'a', port: 80 }] }],
          }),
        ],
        services: [service('team', 'a', 80)],
      }),
      'team/gw',
    );
    const l = resource(t, 'listener', 'team/gw/443') as never as {
      address: { socketAddress: { portValue: number } };
      filterChains: {
        filterChainMatch?: { serverNames: string[] };
        transportSocket: { typedConfig: { commonTlsContext: { tlsCertificateSdsSecretConfigs: { name: string }[] } } };
      }[];
    };
    assert.equal(l.address.socketAddress.portValue, 10443);
    assert.deepEqual(
      l.filterChains.map((c) => [
        c.filterChainMatch?.serverNames ?? [],
        c.transportSocket.typedConfig.commonTlsContext.tlsCertificateSdsSecretConfigs.map((s) => s.name),
      ]),
      [
        [['shop.example.com'], ['team/shop-cert']],
        [[], ['team/wild-cert']],
      ],
    );
    assert.deepEqual(names(t, 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret'), [
      'team/shop-cert',
      'team/wild-cert',
    ]);
    assert.ok(listenerConditions(t, 'any').includes('ResolvedRefs=False/InvalidCertificateRef'));
    assert.ok(listenerConditions(t, 'any').includes('Programmed=True/Programmed'));
    assert.deepEqual(names(t, 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration'), [
      'team/gw/443/shop',
      'team/gw/443/any',
    ]);
  });

  it('a cross-namespace certificate needs a ReferenceGrant', () => {
    const g = gateway('team', 'gw', [
      { name: 's', port: 443, protocol: 'HTTPS', tls: { certificateRefs: [{ name: 'c', namespace: 'certs' }] } },
    ]);
    const t = mustTranslate(input({ gateways: [g], secrets: [tlsSecret('certs', 'c')] }), 'team/gw');
    assert.ok(listenerConditions(t, 's').includes('ResolvedRefs=False/RefNotPermitted'));
    assert.ok(listenerConditions(t, 's').includes('Programmed=False/Invalid'));
    const ok = mustTranslate(
      input({
        gateways: [g],
        secrets: [tlsSecret('certs', 'c')],
        referenceGrants: [grant('certs', 'Gateway', 'team', 'Secret')],
      }),
      'team/gw',
    );
    assert.ok(listenerConditions(ok, 's').includes('ResolvedRefs=True/ResolvedRefs'));
  });
});

describe('GRPCRoute', () => {
  it('matches service and method, and speaks HTTP/2 to the backend', () => {
    const t = mustTranslate(
      input({
        gateways: [gw],
        grpcRoutes: [
          grpcRoute('team', 'g', {
            parentRefs: [{ name: 'gw' }],
            rules: [
              {
                matches: [{ method: { service: 'shop.Cart', method: 'Add' } }],
                backendRefs: [{ name: 'b', port: 80 }],
              },
              { matches: [{ method: { service: 'shop.Cart' } }], backendRefs: [{ name: 'a', port: 80 }] },
            ],
          }),
        ],
        services: [service('team', 'a', 80), service('team', 'b', 80)],
      }),
      'team/gw',
    );
    const rc = resource(t, 'route', 'team/gw/80');
    const ask = (path: string) => backends(envoyRoute(rc, { host: 'h', path, method: 'POST' }));
    assert.deepEqual(ask('/shop.Cart/Add'), { 'team/b/80/h2c': 1 });
    assert.deepEqual(ask('/shop.Cart/Remove'), { 'team/a/80/h2c': 1 });
    assert.equal(ask('/shop.Other/Add'), 'none');
    assert.match(JSON.stringify(resource(t, 'cluster', 'team/b/80/h2c')), /http2ProtocolOptions/);
  });
});

describe('robustness and determinism', () => {
  it('never throws on malformed objects, and other routes still translate', () => {
    const junk = [
      {
        metadata: { namespace: 'team', name: 'j1' },
        spec: { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs: [{ name: 'a' }] }] },
      },
      {
        metadata: { namespace: 'team', name: 'j2' },
        spec: { parentRefs: [{ name: 'gw' }], rules: [{ matches: [{ path: { type: 'Bogus' } }] }] },
      },
      {
        metadata: { namespace: 'team', name: 'j3' },
        spec: { parentRefs: [{ name: 'gw' }], rules: [{ filters: [{ type: 'URLRewrite' }] }] },
      },
      { metadata: { namespace: 'team', name: 'j4' } },
    ] as unknown as HTTPRoute[];
    const good = httpRoute('team', 'good', {
      parentRefs: [{ name: 'gw' }],
      rules: [{ backendRefs: [{ name: 'a', port: 80 }] }],
    });
    const { t, ask } = routeThrough([...junk, good]);
    assert.deepEqual(backends(ask({ path: '/' })), { 'team/a/80': 1 });
    assert.equal(routeConditions(t, 'team/j2')[0], 'Accepted=False/UnsupportedValue');
  });

  it('gives byte-identical output whatever the input order', () => {
    const routes = ['r1', 'r2', 'r3'].map((n, i) =>
      httpRoute('team', n, {
        parentRefs: [{ name: 'gw' }],
        rules: [
          {
            matches: [{ path: { type: 'PathPrefix', value: `/${i}` } }],
            backendRefs: [{ name: i % 2 ? 'a' : 'b', port: 80 }],
          },
        ],
      }),
    );
    const svcs = [service('team', 'a', 80, ['10.0.0.2', '10.0.0.1']), service('team', 'b', 80)];
    const bytes = (rs: HTTPRoute[], ss: typeof svcs) => {
      const t = mustTranslate(input({ gateways: [gw], httpRoutes: rs, services: ss }), 'team/gw');
      return Object.values(t.resources).flatMap((list) =>
        (list ?? []).map((r) => Buffer.from(r.bytes).toString('hex')),
      );
    };
    assert.deepEqual(bytes(routes, svcs), bytes([...routes].reverse(), [...svcs].reverse()));
  });

  it('translateGateway touches one Gateway; affectedGateways finds the ones an object changes', () => {
    const g2 = gateway('team2', 'gw2', [HTTP]);
    const r1 = httpRoute('team', 'r1', {
      parentRefs: [{ name: 'gw' }],
      rules: [{ backendRefs: [{ name: 'a', port: 80 }] }],
    });
    const r2 = httpRoute('team2', 'r2', {
      parentRefs: [{ name: 'gw2' }],
      rules: [{ backendRefs: [{ name: 'b', port: 80 }] }],
    });
    const svcs = [service('team', 'a', 80), service('team2', 'b', 80)];
    const inp = input({ gateways: [gw, g2], httpRoutes: [r1, r2], services: svcs });
    const idx = indexInput(inp);
    assert.deepEqual([...translate(idx).gateways.keys()], ['team/gw', 'team2/gw2']);
    assert.equal(translateGateway(idx, 'team/none'), undefined);
    assert.deepEqual(affectedGateways(idx, { kind: 'HTTPRoute', object: r2 }), ['team2/gw2']);
    assert.deepEqual(affectedGateways(idx, { kind: 'EndpointSlice', object: svcs[0]![1] }), ['team/gw']);
    assert.deepEqual(affectedGateways(idx, { kind: 'Service', object: svcs[1]![0] }), ['team2/gw2']);
    assert.deepEqual(
      affectedGateways(idx, {
        kind: 'GatewayClass',
        object: { metadata: { name: 'legate' }, spec: { controllerName: 'x' } },
      }),
      ['team/gw', 'team2/gw2'],
    );
    assert.deepEqual(affectedGateways(idx, { kind: 'Namespace', object: { metadata: { name: 'team' } } }), []);
  });

  it('translates only Gateways of its controller when one is named', () => {
    const inp = {
      ...input({ gateways: [gw] }),
      controllerName: 'legate.dev/gateway-controller',
      gatewayClasses: [{ metadata: { name: 'legate' }, spec: { controllerName: 'someone.else/controller' } }],
    };
    assert.equal(translateGateway(inp, 'team/gw'), undefined);
  });
});

describe('GRPCRoute failures', () => {
  it('answers gRPC UNAVAILABLE (HTTP 503 to Envoy) for no valid backend and for an invalid backend share', () => {
    const t = mustTranslate(
      input({
        gateways: [gw],
        grpcRoutes: [
          grpcRoute('team', 'g', {
            parentRefs: [{ name: 'gw' }],
            rules: [
              { matches: [{ method: { service: 's', method: 'Gone' } }], backendRefs: [{ name: 'nope', port: 80 }] },
              {
                matches: [{ method: { service: 's', method: 'Zero' } }],
                backendRefs: [{ name: 'a', port: 80, weight: 0 }],
              },
              {
                matches: [{ method: { service: 's', method: 'Half' } }],
                backendRefs: [
                  { name: 'a', port: 80 },
                  { name: 'nope', port: 80 },
                ],
              },
            ],
          }),
        ],
        services: [service('team', 'a', 80)],
      }),
      'team/gw',
    );
    const rc = resource(t, 'route', 'team/gw/80');
    const ask = (path: string) => envoyRoute(rc, { host: 'h', path, method: 'POST' });
    assert.deepEqual(ask('/s/Gone'), { kind: 'direct', route: 'GRPCRoute/team/g/rule/0/match/0', status: 503 });
    assert.deepEqual(ask('/s/Zero'), { kind: 'direct', route: 'GRPCRoute/team/g/rule/1/match/0', status: 503 });
    const half = ask('/s/Half');
    assert.equal(half.kind === 'forward' && half.notFoundCode, 'SERVICE_UNAVAILABLE');
  });
});

describe('GRPCRoute precedence', () => {
  it('a service match outranks a method-only match', () => {
    const t = mustTranslate(
      input({
        gateways: [gw],
        grpcRoutes: [
          grpcRoute('team', 'm', {
            parentRefs: [{ name: 'gw' }],
            rules: [
              { matches: [{ method: { method: 'Get' } }], backendRefs: [{ name: 'a', port: 80 }] },
              { matches: [{ method: { service: 'shop.Cart' } }], backendRefs: [{ name: 'b', port: 80 }] },
            ],
          }),
        ],
        services: [service('team', 'a', 80), service('team', 'b', 80)],
      }),
      'team/gw',
    );
    const rc = resource(t, 'route', 'team/gw/80');
    assert.deepEqual(backends(envoyRoute(rc, { host: 'h', path: '/shop.Cart/Get' })), { 'team/b/80/h2c': 1 });
    assert.deepEqual(backends(envoyRoute(rc, { host: 'h', path: '/shop.Other/Get' })), { 'team/a/80/h2c': 1 });
  });
});

describe('HTTPRoute retry', () => {
  it('retries on the listed codes with a per-attempt timeout and backoff', () => {
    const { t } = routeThrough([
      httpRoute('team', 'retry', {
        parentRefs: [{ name: 'gw' }],
        rules: [
          {
            retry: { codes: [503, 500, 503], attempts: 2, backoff: '100ms' },
            timeouts: { backendRequest: '1s' },
            backendRefs: [{ name: 'a', port: 80 }],
          },
          {
            matches: [{ path: { type: 'PathPrefix', value: '/none' } }],
            retry: { attempts: 0 },
            backendRefs: [{ name: 'a', port: 80 }],
          },
        ],
      }),
    ]);
    const routes = (
      resource(t, 'route', 'team/gw/80').virtualHosts as { routes: { route: Record<string, unknown> }[] }[]
    )[0]?.routes;
    assert.deepEqual(routes?.find((r) => !('retryPolicy' in r.route) === false)?.route, {
      cluster: 'team/a/80',
      timeout: '3s',
      retryPolicy: {
        retryOn: 'connect-failure,refused-stream,retriable-status-codes',
        numRetries: 2,
        retriableStatusCodes: [500, 503],
        retryBackOff: { baseInterval: '0.1s' },
        perTryTimeout: '1s',
      },
    });
    assert.equal(routes?.filter((r) => 'retryPolicy' in r.route).length, 1);
  });
});

describe('render hooks', () => {
  it('lets other parts add to the rendered config, under the same strict check', () => {
    const inp = input({ gateways: [gw] });
    const t = translateGateway(inp, 'team/gw', {
      hooks: {
        listener: (json, l) => ({ ...json, statPrefix: `gw-${l.port}` }),
        routeConfig: (json, chain) => ({ ...json, requestHeadersToRemove: chain.gatewayListeners }),
        extraResources: (key) => [
          {
            typeUrl: 'type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig',
            name: `${key}/f`,
            json: {
              name: `${key}/f`,
              typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' },
            },
          },
        ],
      },
    });
    assert.ok(t);
    assert.deepEqual(t.errors, []);
    assert.equal(resource(t, 'listener', 'team/gw/80').statPrefix, 'gw-80');
    assert.deepEqual(resource(t, 'route', 'team/gw/80').requestHeadersToRemove, ['http']);
    assert.deepEqual(names(t, 'type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig'), ['team/gw/f']);
    const bad = translateGateway(inp, 'team/gw', { hooks: { listener: (json) => ({ ...json, bogusField: 1 }) } });
    assert.match(bad?.errors[0] ?? '', /Listener team\/gw\/80: \$\.bogusField/);
  });
});

describe('HTTPRoute CORS', () => {
  it('adds the CORS filter and a per-route policy for Envoy, nothing for proxyless clients', () => {
    const { t } = routeThrough([
      httpRoute('team', 'cors', {
        parentRefs: [{ name: 'gw' }],
        rules: [
          {
            filters: [
              {
                type: 'CORS',
                cors: {
                  allowOrigins: ['https://app.example.com', 'https://*.example.org'],
                  allowMethods: ['GET', 'POST'],
                  maxAge: 600,
                  allowCredentials: true,
                },
              },
            ],
            backendRefs: [{ name: 'a', port: 80 }],
          },
        ],
      }),
    ]);
    const text = JSON.stringify(resource(t, 'listener', 'team/gw/80'));
    assert.match(text, /"name":"envoy.filters.http.cors".*"name":"envoy.filters.http.router"/);
    const route = (resource(t, 'route', 'team/gw/80').virtualHosts as { routes: Record<string, unknown>[] }[])[0]
      ?.routes[0];
    assert.deepEqual(route?.typedPerFilterConfig, {
      'envoy.filters.http.cors': {
        '@type': 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy',
        allowOriginStringMatch: [
          { exact: 'https://app.example.com' },
          { safeRegex: { regex: 'https://.*\\.example\\.org' } },
        ],
        allowMethods: 'GET,POST',
        maxAge: '600',
        allowCredentials: true,
      },
    });
    assert.doesNotMatch(JSON.stringify(t.proxylessListeners.map((l) => l.resource)), /CorsPolicy|http\.cors/);
  });
});
