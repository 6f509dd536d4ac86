// Every HTTPRoute promise of docs/translate.md, held to real Envoy 1.40: the real API server, the
// operator process, an Envoy pod run from the fleet it applied, echo backends behind Services and
// EndpointSlices. Each case sends real requests and asserts what a user sees: the status, which
// backend (or which rule, by a response header the rule sets) answered, headers and redirects.
// One environment for the whole file; every case has its own hostname, so cases do not interfere.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { HTTPRoute } from '../../operator/src/k8s/gateway-api.ts';
import { request, type TestResponse } from '../harness/http-client.ts';
import {
  answeredBy,
  assertNoDeprecatedFeatures,
  assertNoRejectedConfig,
  countBy,
  type EchoResponse,
  httpRoute,
  until,
  via,
} from './envoy-traffic.ts';
import type { Backend, EnvoyPod, GatewayEnv, Manifest } from './gateway-env.ts';
import { startGatewayEnv } from './gateway-env.ts';
import { eventually } from './operator-helpers.ts';

const onHttp = [{ name: 'web', sectionName: 'http' }];

/** A response header naming the rule that matched, so precedence is visible from outside. */
const tag = (rule: string) => [
  { type: 'ResponseHeaderModifier', responseHeaderModifier: { set: [{ name: 'x-rule', value: rule }] } },
];
const ruleOf = (res: TestResponse) => (res.status === 200 ? String(res.headers['x-rule']) : `status ${res.status}`);
const prefix = (value: string) => ({ path: { type: 'PathPrefix', value } });
const exact = (value: string) => ({ path: { type: 'Exact', value } });
const to = (name: string, extra: Record<string, unknown> = {}) => ({ name, port: 80, ...extra });

describe('HTTPRoute features on real Envoy', () => {
  let env: GatewayEnv;
  let envoy: EnvoyPod;
  let ns: string;
  let mirror: Backend;
  let send: ReturnType<typeof via>;
  let send8080: ReturnType<typeof via>;

  before(async () => {
    env = await startGatewayEnv();
    ns = env.namespace;
    const route = (name: string, spec: Record<string, unknown>): Manifest => httpRoute(ns, name, spec);
    await env.gateway('web', [
      { name: 'http', port: 80, protocol: 'HTTP' },
      { name: 'wild', port: 8080, protocol: 'HTTP', hostname: '*.wild.example' },
      { name: 'exact', port: 8080, protocol: 'HTTP', hostname: 'api.wild.example' },
    ]);
    for (const name of ['a', 'b', 'c', 'pool']) await env.echoService(name);
    [mirror] = (await env.echoService('mirror')) as [Backend];
    // A Service without endpoints (scaled to zero).
    await env.apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { namespace: ns, name: 'empty' },
      spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
    });

    const routes: Manifest[] = [
      route('paths', {
        parentRefs: onHttp,
        hostnames: ['paths.example'],
        rules: [
          { matches: [exact('/exact')], filters: tag('exact'), backendRefs: [to('a')] },
          { matches: [prefix('/foo')], filters: tag('foo'), backendRefs: [to('a')] },
          { matches: [prefix('/trail/')], filters: tag('trail'), backendRefs: [to('a')] },
          {
            matches: [{ path: { type: 'RegularExpression', value: '/re/[0-9]+' } }],
            filters: tag('regex'),
            backendRefs: [to('a')],
          },
        ],
      }),
      route('matches', {
        parentRefs: onHttp,
        hostnames: ['matches.example'],
        rules: [
          {
            matches: [{ headers: [{ name: 'X-Env', value: 'canary' }] }],
            filters: tag('header'),
            backendRefs: [to('b')],
          },
          {
            matches: [{ headers: [{ type: 'RegularExpression', name: 'x-version', value: 'v[0-9]+' }] }],
            filters: tag('header-regex'),
            backendRefs: [to('a')],
          },
          {
            matches: [{ queryParams: [{ name: 'tier', value: 'gold' }] }],
            filters: tag('query'),
            backendRefs: [to('a')],
          },
          {
            matches: [{ queryParams: [{ type: 'RegularExpression', name: 'q', value: 'ab+c' }] }],
            filters: tag('query-regex'),
            backendRefs: [to('a')],
          },
          { matches: [{ method: 'DELETE' }], filters: tag('method'), backendRefs: [to('a')] },
          {
            // Within one match every condition must hold; any one of the matches is enough.
            matches: [
              { ...prefix('/both'), headers: [{ name: 'x-a', value: '1' }], queryParams: [{ name: 'b', value: '2' }] },
              prefix('/either'),
            ],
            filters: tag('and-or'),
            backendRefs: [to('a')],
          },
          { filters: tag('default'), backendRefs: [to('a')] },
        ],
      }),
      // Precedence: the older route (applied first) and the earlier rules hold the less specific
      // matches, so a translator ordering by age or rule index would fail these cases.
      route('prec-1', {
        parentRefs: onHttp,
        hostnames: ['precedence.example'],
        rules: [
          { matches: [prefix('/p')], filters: tag('short-prefix'), backendRefs: [to('a')] },
          { matches: [prefix('/p/exact')], filters: tag('prefix-as-long-as-exact'), backendRefs: [to('a')] },
          {
            matches: [{ ...prefix('/p/m'), headers: [hdr('x-h1'), hdr('x-h2')] }],
            filters: tag('two-headers'),
            backendRefs: [to('a')],
          },
          {
            matches: [{ ...prefix('/p/h'), headers: [hdr('x-h1')] }],
            filters: tag('one-header'),
            backendRefs: [to('a')],
          },
          {
            matches: [{ ...prefix('/p/q'), queryParams: [hdr('a')] }],
            filters: tag('one-query'),
            backendRefs: [to('a')],
          },
          {
            matches: [{ ...prefix('/p/hq'), queryParams: [hdr('a'), hdr('b')] }],
            filters: tag('two-queries'),
            backendRefs: [to('a')],
          },
        ],
      }),
      route('prec-2', {
        parentRefs: onHttp,
        hostnames: ['precedence.example'],
        rules: [
          { matches: [exact('/p/exact')], filters: tag('exact'), backendRefs: [to('a')] },
          { matches: [prefix('/p/long')], filters: tag('long-prefix'), backendRefs: [to('a')] },
          { matches: [{ ...prefix('/p/m'), method: 'GET' }], filters: tag('method'), backendRefs: [to('a')] },
          {
            matches: [{ ...prefix('/p/h'), headers: [hdr('x-h1'), hdr('x-h2')] }],
            filters: tag('two-headers'),
            backendRefs: [to('a')],
          },
          {
            matches: [{ ...prefix('/p/q'), queryParams: [hdr('a'), hdr('b')] }],
            filters: tag('two-queries'),
            backendRefs: [to('a')],
          },
          {
            matches: [{ ...prefix('/p/hq'), headers: [hdr('x-h1')] }],
            filters: tag('one-header'),
            backendRefs: [to('a')],
          },
        ],
      }),
      route('tie-z-older', {
        parentRefs: onHttp,
        hostnames: ['precedence.example'],
        rules: [
          { matches: [prefix('/tie')], filters: tag('older-route'), backendRefs: [to('a')] },
          { matches: [prefix('/tie/rule')], filters: tag('first-rule'), backendRefs: [to('a')] },
          { matches: [prefix('/tie/rule')], filters: tag('second-rule'), backendRefs: [to('a')] },
        ],
      }),
      // Hostnames: a route's hostnames intersected with its listener's, wildcards, and the most
      // specific listener of a port owning a host.
      route('host-wild', { parentRefs: [{ name: 'web', sectionName: 'wild' }], rules: [{ backendRefs: [to('a')] }] }),
      route('host-exact', { parentRefs: [{ name: 'web', sectionName: 'exact' }], rules: [{ backendRefs: [to('b')] }] }),
      route('host-narrow', {
        parentRefs: [{ name: 'web', sectionName: 'wild' }],
        hostnames: ['shop.wild.example', 'shop.other.example'],
        rules: [{ backendRefs: [to('c')] }],
      }),
      route('host-none', {
        parentRefs: [{ name: 'web', sectionName: 'wild' }],
        hostnames: ['only.other.example'],
        rules: [{ backendRefs: [to('c')] }],
      }),
      route('host-route-wild', {
        parentRefs: onHttp,
        hostnames: ['*.shop.example'],
        rules: [{ backendRefs: [to('a')] }],
      }),
      route('host-route-exact', {
        parentRefs: onHttp,
        hostnames: ['www.shop.example'],
        rules: [{ backendRefs: [to('b')] }],
      }),
      route('weights', {
        parentRefs: onHttp,
        hostnames: ['weights.example'],
        rules: [
          {
            backendRefs: [to('a', { weight: 80 }), to('b', { weight: 20 }), to('c', { weight: 0 })],
          },
        ],
      }),
      route('zero', {
        parentRefs: onHttp,
        hostnames: ['zero.example'],
        rules: [{ backendRefs: [to('a', { weight: 0 })] }],
      }),
      route('missing', {
        parentRefs: onHttp,
        hostnames: ['missing.example'],
        rules: [
          { matches: [prefix('/only')], backendRefs: [to('ghost')] },
          { matches: [prefix('/half')], backendRefs: [to('a'), to('ghost')] },
          { matches: [prefix('/none')] },
          // A backend with no ready endpoint is drained; with none anywhere, Envoy answers 503.
          { matches: [prefix('/drain')], backendRefs: [to('a'), to('empty', { weight: 3 })] },
          { matches: [prefix('/dark')], backendRefs: [to('empty')] },
        ],
      }),
      route('redirect', {
        parentRefs: onHttp,
        hostnames: ['redirect.example'],
        rules: [
          redirectRule('/scheme', { scheme: 'https', statusCode: 301 }),
          redirectRule('/host', { hostname: 'elsewhere.example' }),
          redirectRule('/port', { port: 8443 }),
          redirectRule('/full', { path: { type: 'ReplaceFullPath', replaceFullPath: '/replaced' }, statusCode: 303 }),
          redirectRule('/prefix', {
            path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/new' },
            statusCode: 307,
          }),
          redirectRule('/strip', { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/' } }),
          redirectRule('/all', { scheme: 'https', hostname: 'secure.example', port: 8443, statusCode: 308 }),
          redirectRule('/tls', { scheme: 'https', port: 443 }),
        ],
      }),
      // On a listener with a port that is not the scheme's well-known one, a client's Host carries
      // that port: the Location must still follow the spec's port rules.
      route('redirect-8080', {
        parentRefs: [{ name: 'web', sectionName: 'wild' }],
        hostnames: ['redirect.wild.example'],
        rules: [
          redirectRule('/none', {}),
          redirectRule('/host', { hostname: 'elsewhere.example' }),
          redirectRule('/scheme', { scheme: 'https' }),
          redirectRule('/scheme-host', { scheme: 'https', hostname: 'elsewhere.example' }),
          redirectRule('/port-80', { port: 80 }),
          redirectRule('/port-8443', { port: 8443 }),
          redirectRule('/scheme-port', { scheme: 'https', port: 443 }),
        ],
      }),
      route('rewrite', {
        parentRefs: onHttp,
        hostnames: ['rewrite.example'],
        rules: [
          rewriteRule('/host', { hostname: 'backend.internal' }),
          rewriteRule('/full', { path: { type: 'ReplaceFullPath', replaceFullPath: '/replaced' } }),
          rewriteRule('/prefix', { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/new' } }),
          rewriteRule('/strip', { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/' } }),
          rewriteRule('/slash/', { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/xyz/' } }),
          rewriteRule('/both', {
            hostname: 'backend.internal',
            path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/v2' },
          }),
        ],
      }),
      route('headers', {
        parentRefs: onHttp,
        hostnames: ['headers.example'],
        rules: [
          {
            matches: [prefix('/route')],
            filters: [
              {
                type: 'RequestHeaderModifier',
                requestHeaderModifier: {
                  set: [
                    { name: 'X-Set', value: 'one' },
                    { name: 'x-percent', value: '50% of %REQ(host)%' },
                  ],
                  add: [{ name: 'x-add', value: 'two' }],
                  remove: ['x-remove'],
                },
              },
              {
                type: 'ResponseHeaderModifier',
                responseHeaderModifier: {
                  set: [{ name: 'x-resp-set', value: 'gateway' }],
                  add: [{ name: 'x-resp-add', value: 'gateway' }],
                  remove: ['x-echo-backend'],
                },
              },
            ],
            backendRefs: [to('a')],
          },
          {
            matches: [prefix('/backend')],
            backendRefs: ['a', 'b'].map((name) =>
              to(name, {
                filters: [
                  { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-via', value: name }] } },
                  {
                    type: 'ResponseHeaderModifier',
                    responseHeaderModifier: { set: [{ name: 'x-via-response', value: name }] },
                  },
                ],
              }),
            ),
          },
        ],
      }),
      route('cors', {
        parentRefs: onHttp,
        hostnames: ['cors.example'],
        rules: [
          {
            filters: [
              {
                type: 'CORS',
                cors: {
                  allowOrigins: ['https://app.example', 'https://*.team.example'],
                  allowMethods: ['GET', 'PUT'],
                  allowHeaders: ['x-token'],
                  exposeHeaders: ['x-echo-backend'],
                  maxAge: 600,
                },
              },
            ],
            backendRefs: [to('a')],
          },
        ],
      }),
      route('mirror', {
        parentRefs: onHttp,
        hostnames: ['mirror.example'],
        rules: [
          {
            filters: [{ type: 'RequestMirror', requestMirror: { backendRef: to('mirror') } }],
            backendRefs: [to('a')],
          },
        ],
      }),
      route('timeouts', {
        parentRefs: onHttp,
        hostnames: ['timeouts.example'],
        rules: [
          { matches: [prefix('/request')], timeouts: { request: '500ms' }, backendRefs: [to('a')] },
          { matches: [prefix('/backend')], timeouts: { backendRequest: '500ms' }, backendRefs: [to('a')] },
        ],
      }),
      route('pool', { parentRefs: onHttp, hostnames: ['pool.example'], rules: [{ backendRefs: [to('pool')] }] }),
    ];
    for (const r of routes) await env.apply(r);
    // A second apart, so the creation timestamps (whole seconds) differ: the older route must win
    // though its name sorts last.
    await new Promise((r) => setTimeout(r, 1100));
    await env.apply(
      route('tie-a-newer', {
        parentRefs: onHttp,
        hostnames: ['precedence.example'],
        rules: [{ matches: [prefix('/tie')], filters: tag('newer-route'), backendRefs: [to('a')] }],
      }),
    );
    envoy = await env.envoy('web');
    send = via(envoy, 80);
    send8080 = via(envoy, 8080);
    // The last route applied has reached Envoy: every earlier one has too.
    await until(
      'the routes to reach Envoy',
      () => send('precedence.example', '/tie'),
      (r) => r.headers['x-rule'] === 'older-route' || r.headers['x-rule'] === 'newer-route',
    );
  });

  after(() => env?.stop());

  /** Asserts which rule (by its x-rule tag) answers each request. */
  async function expectRules(
    host: string,
    cases: [path: string, rule: string, options?: Parameters<typeof send>[2]][],
  ): Promise<void> {
    const got: string[] = [];
    for (const [path, , options] of cases) got.push(`${path} → ${ruleOf(await send(host, path, options))}`);
    assert.deepEqual(
      got,
      cases.map(([path, rule]) => `${path} → ${rule}`),
    );
  }

  it('matches paths: Exact, PathPrefix by whole segments, RegularExpression as a full match', async () => {
    await expectRules('paths.example', [
      ['/exact', 'exact'],
      ['/exact/', 'status 404'],
      ['/exact/more', 'status 404'],
      ['/foo', 'foo'],
      ['/foo/', 'foo'],
      ['/foo/bar', 'foo'],
      ['/foo?x=1', 'foo'],
      ['/foobar', 'status 404'],
      // normalize_path: dot segments are resolved before matching.
      ['/foobar/../foo/x', 'foo'],
      ['/x/../exact', 'exact'],
      ['/FOO', 'status 404'],
      ['/trail', 'trail'],
      ['/trail/x', 'trail'],
      ['/trailer', 'status 404'],
      ['/re/123', 'regex'],
      ['/re/12a', 'status 404'],
      ['/re/123/x', 'status 404'],
      ['/x/re/123', 'status 404'],
    ]);
  });

  it('matches headers (names case-insensitive), query parameters and methods; AND within a match, OR across', async () => {
    await expectRules('matches.example', [
      ['/', 'header', { headers: { 'x-env': 'canary' } }],
      ['/', 'header', { headers: { 'X-ENV': 'canary' } }],
      ['/', 'default', { headers: { 'x-env': 'Canary' } }],
      ['/', 'header-regex', { headers: { 'x-version': 'v12' } }],
      ['/', 'default', { headers: { 'x-version': 'v12x' } }],
      ['/?tier=gold', 'query'],
      ['/?tier=silver', 'default'],
      ['/?Tier=gold', 'default'],
      ['/?q=abbbc', 'query-regex'],
      ['/?q=ac', 'default'],
      ['/', 'method', { method: 'DELETE' }],
      ['/', 'default', { method: 'GET' }],
      ['/both?b=2', 'and-or', { headers: { 'x-a': '1' } }],
      ['/both?b=2', 'default'],
      ['/both', 'default', { headers: { 'x-a': '1' } }],
      ['/either', 'and-or'],
    ]);
    const res = await send('matches.example', '/', { headers: { 'x-env': 'canary' } });
    assert.equal(answeredBy(res), 'b-0');
  });

  it('orders matches as the spec does: exact, longest prefix, method, header count, query count, oldest route, first rule', async () => {
    const both = { 'x-h1': '1', 'x-h2': '1' };
    await expectRules('precedence.example', [
      ['/p/exact', 'exact'],
      ['/p/exact/x', 'prefix-as-long-as-exact'],
      ['/p/long/x', 'long-prefix'],
      ['/p/other', 'short-prefix'],
      ['/p/m', 'method', { headers: both }],
      ['/p/m', 'two-headers', { method: 'POST', headers: both }],
      ['/p/h', 'two-headers', { headers: both }],
      ['/p/h', 'one-header', { headers: { 'x-h1': '1' } }],
      ['/p/q?a=1&b=1', 'two-queries'],
      ['/p/q?a=1', 'one-query'],
      ['/p/hq?a=1&b=1', 'one-header', { headers: { 'x-h1': '1' } }],
      ['/tie', 'older-route'],
      ['/tie/rule', 'first-rule'],
    ]);
  });

  it('serves a host only where listener and route hostnames intersect; wildcards; the most specific wins', async () => {
    const cases: [string, string][] = [
      ['x.wild.example', 'a-0'],
      ['deep.x.wild.example', 'a-0'],
      ['X.Wild.Example', 'a-0'],
      ['x.wild.example:8080', 'a-0'],
      ['api.wild.example', 'b-0'],
      ['shop.wild.example', 'c-0'],
      ['shop.other.example', 'status 404'],
      ['only.other.example', 'status 404'],
      ['wild.example', 'status 404'],
    ];
    const got: string[] = [];
    for (const [host] of cases) got.push(`${host} → ${answeredBy(await send8080(host, '/'))}`);
    const onPort80: [string, string][] = [
      ['www.shop.example', 'b-0'],
      ['x.shop.example', 'a-0'],
      ['a.b.shop.example', 'a-0'],
      ['shop.example', 'status 404'],
    ];
    for (const [host] of onPort80) got.push(`${host} → ${answeredBy(await send(host, '/'))}`);
    assert.deepEqual(
      got,
      [...cases, ...onPort80].map(([host, who]) => `${host} → ${who}`),
    );
    const accepted = (await routeParentStatus('host-none')).find((c) => c.type === 'Accepted');
    assert.equal(`${accepted?.status} ${accepted?.reason}`, 'False NoMatchingListenerHostname');
  });

  it('splits 80/20 by weight and never sends to a weight-0 backend', async () => {
    const counts = await countBy(300, async () => answeredBy(await send('weights.example', '/')));
    const a = counts.get('a-0') ?? 0;
    const b = counts.get('b-0') ?? 0;
    assert.equal(a + b, 300, JSON.stringify([...counts]));
    // Binomial(300, 0.8): mean 240, sd 6.9; ±5 sd.
    assert.ok(a >= 205 && a <= 275, `80/20 expected, got ${JSON.stringify([...counts])}`);
  });

  it("answers 500 for zero weights, no or missing backends (and a missing backend's share); drains a backend without endpoints", async () => {
    assert.equal((await send('zero.example', '/')).status, 500);
    assert.equal((await send('missing.example', '/only')).status, 500);
    assert.equal((await send('missing.example', '/none')).status, 500);
    const counts = await countBy(100, async () => answeredBy(await send('missing.example', '/half')));
    const failed = counts.get('status 500') ?? 0;
    assert.equal(failed + (counts.get('a-0') ?? 0), 100, JSON.stringify([...counts]));
    // Binomial(100, 0.5): sd 5; ±5 sd.
    assert.ok(failed >= 25 && failed <= 75, `half the requests should fail, got ${JSON.stringify([...counts])}`);
    const drained = await countBy(20, async () => answeredBy(await send('missing.example', '/drain')));
    assert.deepEqual([...drained], [['a-0', 20]], 'a backend without endpoints gets no share');
    assert.equal((await send('missing.example', '/dark')).status, 503);
    const status = await routeParentStatus('missing');
    assert.equal(status.find((c) => c.type === 'ResolvedRefs')?.reason, 'BackendNotFound');
  });

  it('redirects: scheme, hostname, port, full path, prefix, every status code', async () => {
    const cases: [string, number, string][] = [
      ['/scheme/x', 301, 'https://redirect.example/scheme/x'],
      ['/host', 302, 'http://elsewhere.example/host'],
      ['/port', 302, 'http://redirect.example:8443/port'],
      ['/full/x', 303, 'http://redirect.example/replaced'],
      ['/prefix/a/b', 307, 'http://redirect.example/new/a/b'],
      ['/prefix', 307, 'http://redirect.example/new'],
      ['/prefix/a?x=1', 307, 'http://redirect.example/new/a?x=1'],
      ['/strip/a', 302, 'http://redirect.example/a'],
      ['/all', 308, 'https://secure.example:8443/all'],
      ['/tls', 302, 'https://redirect.example/tls'],
    ];
    const got: string[] = [];
    for (const [path] of cases) {
      const res = await send('redirect.example', path);
      got.push(`${path} → ${res.status} ${res.headers.location}`);
    }
    assert.deepEqual(
      got,
      cases.map(([path, status, location]) => `${path} → ${status} ${location}`),
    );
  });

  it('redirects to the port the spec derives, whatever port the Host header names', async () => {
    // A Location with the scheme's well-known port spelled out (`https://x:443/`) is equivalent:
    // compare normalised URLs.
    const cases: [string, string, string][] = [
      ['redirect.wild.example:8080', '/none', 'http://redirect.wild.example:8080/none'],
      ['redirect.wild.example:8080', '/host', 'http://elsewhere.example:8080/host'],
      ['redirect.wild.example:8080', '/scheme', 'https://redirect.wild.example/scheme'],
      ['redirect.wild.example:8080', '/scheme-host', 'https://elsewhere.example/scheme-host'],
      ['redirect.wild.example:8080', '/port-80', 'http://redirect.wild.example/port-80'],
      ['redirect.wild.example:8080', '/port-8443', 'http://redirect.wild.example:8443/port-8443'],
      ['redirect.wild.example:8080', '/scheme-port', 'https://redirect.wild.example/scheme-port'],
      ['redirect.wild.example', '/scheme', 'https://redirect.wild.example/scheme'],
    ];
    const got: string[] = [];
    for (const [host, path] of cases) {
      const res = await send8080(host, path);
      const location = res.headers.location ? new URL(res.headers.location).href : `none (${res.status})`;
      got.push(`${host}${path} → ${location}`);
    }
    const onPort80: [string, string, string][] = [
      ['redirect.example:80', '/scheme', 'https://redirect.example/scheme'],
      ['redirect.example:80', '/host', 'http://elsewhere.example/host'],
    ];
    for (const [host, path] of onPort80) {
      const res = await send(host, path);
      const location = res.headers.location ? new URL(res.headers.location).href : `none (${res.status})`;
      got.push(`${host}${path} → ${location}`);
    }
    assert.deepEqual(
      got,
      [...cases, ...onPort80].map(([host, path, location]) => `${host}${path} → ${new URL(location).href}`),
    );
  });

  it('rewrites the hostname, the full path and a prefix before forwarding', async () => {
    const cases: [string, string, string][] = [
      ['/host/x', 'backend.internal', '/host/x'],
      ['/full/x', 'rewrite.example', '/replaced'],
      ['/prefix/a?x=1', 'rewrite.example', '/new/a?x=1'],
      ['/prefix', 'rewrite.example', '/new'],
      ['/strip/a', 'rewrite.example', '/a'],
      ['/strip', 'rewrite.example', '/'],
      ['/both/y', 'backend.internal', '/v2/y'],
      ['/slash/bar', 'rewrite.example', '/xyz/bar'],
      ['/slash', 'rewrite.example', '/xyz'],
      ['/slash/', 'rewrite.example', '/xyz/'],
      ['/full/x?q=1', 'rewrite.example', '/replaced?q=1'],
    ];
    const got: string[] = [];
    for (const [path] of cases) {
      const echo = (await send('rewrite.example', path)).json<EchoResponse>();
      got.push(`${path} → ${echo?.host} ${echo?.path}`);
    }
    assert.deepEqual(
      got,
      cases.map(([path, host, rewritten]) => `${path} → ${host} ${rewritten}`),
    );
  });

  it('sets, adds and removes request and response headers, per rule and per backend', async () => {
    const res = await send('headers.example', '/route', {
      headers: {
        'x-set': 'client',
        'x-add': 'client',
        'x-remove': 'client',
        'x-echo-set-header': ['x-resp-set: backend', 'x-resp-add: backend'],
      },
    });
    const echo = res.json<EchoResponse>();
    assert.equal(echo?.headers['x-set'], 'one');
    assert.equal(echo?.headers['x-percent'], '50% of %REQ(host)%', 'header values are literal');
    assert.deepEqual(echo?.headers['x-add']?.split(/,\s*/), ['client', 'two']);
    assert.equal(echo?.headers['x-remove'], undefined);
    assert.equal(res.headers['x-resp-set'], 'gateway');
    assert.deepEqual(String(res.headers['x-resp-add']).split(/,\s*/), ['backend', 'gateway']);
    assert.equal(res.headers['x-echo-backend'], undefined);

    const seen = await countBy(20, async () => {
      const r = await send('headers.example', '/backend');
      const e = r.json<EchoResponse>();
      return `${e?.name} via=${e?.headers['x-via']} response=${r.headers['x-via-response']}`;
    });
    assert.deepEqual([...seen.keys()].sort(), ['a-0 via=a response=a', 'b-0 via=b response=b']);
  });

  it('answers CORS preflights for allowed origins only, and marks allowed responses', async () => {
    const preflight = (origin: string) =>
      send('cors.example', '/', {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'x-token' },
      });
    const ok = await preflight('https://app.example');
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['access-control-allow-origin'], 'https://app.example');
    assert.match(String(ok.headers['access-control-allow-methods']), /PUT/);
    assert.match(String(ok.headers['access-control-allow-headers']), /x-token/i);
    assert.equal(ok.headers['access-control-max-age'], '600');
    const wildcard = await preflight('https://ci.team.example');
    assert.equal(wildcard.headers['access-control-allow-origin'], 'https://ci.team.example');
    const denied = await preflight('https://evil.example');
    assert.equal(denied.headers['access-control-allow-origin'], undefined);

    const actual = await send('cors.example', '/', { headers: { origin: 'https://app.example' } });
    assert.equal(answeredBy(actual), 'a-0');
    assert.equal(actual.headers['access-control-allow-origin'], 'https://app.example');
    assert.match(String(actual.headers['access-control-expose-headers']), /x-echo-backend/);
  });

  it('mirrors a request to the mirror backend, and answers from the real one', async () => {
    const path = `/mirrored/${randomBytes(6).toString('hex')}`;
    const res = await send('mirror.example', path);
    assert.equal(answeredBy(res), 'a-0');
    const copy = await eventually('the mirrored copy', async () => {
      const recorded = (await request(`http://${env.backends.address}:${mirror.port}/__legate/requests`)).json<
        EchoResponse[]
      >();
      return recorded?.find((r) => r.path === path);
    });
    assert.equal(copy.name, 'mirror-0');
    assert.match(copy.host, /^mirror\.example/);
  });

  it('answers 504 when a request or backend request timeout passes, and 200 within it', async () => {
    const slow = { headers: { 'x-echo-delay-ms': '3000' } };
    for (const path of ['/request', '/backend']) {
      assert.equal((await send('timeouts.example', path)).status, 200, path);
      const res = await send('timeouts.example', path, slow);
      assert.equal(res.status, 504, `${path}: ${res.body}`);
      assert.match(res.body, /upstream request timeout/);
    }
  });

  it('follows EndpointSlice changes: a new endpoint gets traffic, a removed one none', async () => {
    const spread = async () => countBy(20, async () => answeredBy(await send('pool.example', '/')));
    assert.deepEqual([...(await spread())], [['pool-0', 20]]);
    const added = await env.backends.startEchoBackend('pool-1');
    await env.apply(slice('pool', added));
    await eventually('traffic on the new endpoint', async () => ((await spread()).get('pool-1') ?? 0) > 0 || undefined);

    await env.delete('discovery.k8s.io/v1', 'EndpointSlice', 'pool-0');
    const only = await eventually('traffic only on the remaining endpoint', async () => {
      const counts = await spread();
      return counts.get('pool-1') === 20 ? counts : undefined;
    });
    assert.deepEqual([...only], [['pool-1', 20]]);
  });

  it('accepted every update and used no deprecated Envoy feature', async () => {
    await assertNoRejectedConfig(envoy);
    await assertNoDeprecatedFeatures(envoy);
  });

  function slice(service: string, backend: Backend): Manifest {
    return {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { namespace: ns, name: backend.name, labels: { 'kubernetes.io/service-name': service } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: backend.port, protocol: 'TCP' }],
      endpoints: [{ addresses: [env.backends.address], conditions: { ready: true } }],
    };
  }

  async function routeParentStatus(name: string) {
    return eventually(`status of HTTPRoute ${name}`, async () => {
      const r = await env.kube.get<HTTPRoute>('gateway.networking.k8s.io/v1', 'HTTPRoute', ns, name);
      const parent = r?.status?.parents?.find((p) => p.controllerName === env.controllerName);
      return parent?.conditions?.length ? parent.conditions : undefined;
    });
  }
});

function hdr(name: string) {
  return { name, value: '1' };
}

function redirectRule(path: string, requestRedirect: Record<string, unknown>) {
  return { matches: [prefix(path)], filters: [{ type: 'RequestRedirect', requestRedirect }] };
}

function rewriteRule(path: string, urlRewrite: Record<string, unknown>) {
  return { matches: [prefix(path)], filters: [{ type: 'URLRewrite', urlRewrite }], backendRefs: [to('a')] };
}
