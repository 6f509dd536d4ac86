import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HTTPRoute } from '../k8s/gateway-api.ts';
import { headerNameProblem, headerValueProblem, modifiedHeaderProblem, re2Problem } from './envoy-rules.ts';
import { gateway, httpRoute, input, mustTranslate, resource, routeConditions, service } from './testing/fixtures.ts';

describe('Envoy rules: RE2', () => {
  it('refuses what RE2 refuses although JavaScript accepts it', () => {
    for (const re of ['/v1/(?=users).*', '/v1/(?!admin).*', '(?<=a)b', '(a)\\1', 'x\\Z']) {
      assert.doesNotThrow(() => new RegExp(re), re);
      assert.match(re2Problem(re) ?? '', /not valid RE2 syntax/, re);
    }
  });
  it('accepts RE2 syntax, including what JavaScript lacks', () => {
    for (const re of [
      '/v1/.*',
      '/api/v[0-9]+/users/[^/]+',
      '(?i)/Admin',
      '\\p{Greek}+',
      '(?P<id>[0-9]+)',
      '[[:alpha:]]+',
    ]) {
      assert.equal(re2Problem(re), undefined, re);
    }
  });
  it("refuses a program surely over Envoy's size limit of 100, never one Envoy takes", () => {
    assert.match(re2Problem('/items/x{150}') ?? '', /program size is about \d+, over Envoy's limit of 100/);
    // Envoy 1.40 compiles this one to exactly 100 (accepted) although re2js counts 111.
    const alternation =
      '^/user/(488/sms|h5/getJwt|captcha|version/getAIDrawTemplate|version/isMainLand|version/promotionTemplate|version/activityTemplate2).*';
    assert.equal(re2Problem(alternation), undefined);
    assert.match(re2Problem('') ?? '', /empty/);
  });
});

describe('Envoy rules: headers', () => {
  it('refuses modifying pseudo-headers and Host, in any case', () => {
    for (const h of [':path', ':authority', 'host', 'Host', 'HOST']) {
      assert.match(modifiedHeaderProblem(h, 'modified') ?? '', /may not be modified/, h);
      assert.match(modifiedHeaderProblem(h, 'removed') ?? '', /may not be removed/, h);
    }
    assert.equal(modifiedHeaderProblem('x-host', 'modified'), undefined);
  });
  it('refuses NUL, CR, LF and oversized names and values', () => {
    assert.match(headerNameProblem('a\nb') ?? '', /NUL, CR or LF/);
    assert.match(headerValueProblem('v\r\nx-evil: 1') ?? '', /NUL, CR or LF/);
    assert.match(headerValueProblem('x'.repeat(16_385)) ?? '', /longer than 16384/);
    assert.equal(headerNameProblem(''), 'is empty');
  });
});

describe('invalid rules are left out with a precise condition', () => {
  const gw = gateway('team', 'gw', [{ name: 'http', port: 80, protocol: 'HTTP' }]);
  const services = [service('team', 'a', 80), service('team', 'b', 80)];
  const translateRoutes = (routes: HTTPRoute[]) =>
    mustTranslate(input({ gateways: [gw], httpRoutes: routes, services }), 'team/gw');
  const routeNames = (t: ReturnType<typeof translateRoutes>) => {
    const rc = resource(t, 'route', 'team/gw/80') as { virtualHosts?: { routes?: { name: string }[] }[] };
    return (rc.virtualHosts ?? []).flatMap((vh) => (vh.routes ?? []).map((r) => r.name));
  };

  it('a lookahead regex drops its rule (PartiallyInvalid) and keeps the others', () => {
    const t = translateRoutes([
      httpRoute('team', 'mixed', {
        parentRefs: [{ name: 'gw' }],
        rules: [
          {
            name: 'users',
            matches: [{ path: { type: 'RegularExpression', value: '/v1/(?=users).*' } }],
            backendRefs: [{ name: 'b', port: 80 }],
          },
          { matches: [{ path: { type: 'PathPrefix', value: '/v2' } }], backendRefs: [{ name: 'a', port: 80 }] },
        ],
      }),
    ]);
    assert.deepEqual(routeConditions(t, 'team/mixed'), [
      'Accepted=True/Accepted',
      'PartiallyInvalid=True/UnsupportedValue',
      'ResolvedRefs=True/ResolvedRefs',
    ]);
    const message = t.status.routes[0]?.conditions.find((c) => c.type === 'PartiallyInvalid')?.message ?? '';
    assert.match(message, /rule 0 \(users\): path regex "\/v1\/\(\?=users\)\.\*" is not valid RE2 syntax/);
    assert.ok(!routeNames(t).some((n) => n.includes('/rule/0/')), 'the invalid rule is not sent to Envoy');
    assert.ok(routeNames(t).some((n) => n.includes('/rule/1/')));
  });

  it('a route whose every rule is invalid is not accepted; other routes are untouched', () => {
    const t = translateRoutes([
      httpRoute('team', 'bad', {
        parentRefs: [{ name: 'gw' }],
        rules: [
          {
            matches: [{ headers: [{ type: 'RegularExpression', name: 'x-id', value: '(a)\\1' }] }],
            backendRefs: [{ name: 'a', port: 80 }],
          },
          {
            filters: [
              { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'Host', value: 'x' }] } },
            ],
            backendRefs: [{ name: 'a', port: 80 }],
          },
          {
            filters: [{ type: 'ResponseHeaderModifier', responseHeaderModifier: { remove: [':status'] } }],
            backendRefs: [{ name: 'a', port: 80 }],
          },
        ],
      }),
      httpRoute('team', 'good', { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs: [{ name: 'b', port: 80 }] }] }),
    ]);
    assert.equal(routeConditions(t, 'team/bad')[0], 'Accepted=False/UnsupportedValue');
    const message = t.status.routes.find((r) => r.route === 'team/bad')?.conditions[0]?.message ?? '';
    assert.match(message, /rule 0: header x-id regex "\(a\)\\\\1" is not valid RE2 syntax/);
    assert.match(message, /rule 1: header "Host" may not be modified/);
    assert.match(message, /rule 2: removed header ":status" may not be removed/);
    assert.deepEqual(routeConditions(t, 'team/good')[0], 'Accepted=True/Accepted');
    assert.ok(!routeNames(t).some((n) => n.includes('team/bad')));
  });

  it('header values are literal: a % is doubled for Envoy', () => {
    const t = translateRoutes([
      httpRoute('team', 'pct', {
        parentRefs: [{ name: 'gw' }],
        rules: [
          {
            filters: [
              { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-share', value: '50%' }] } },
            ],
            backendRefs: [{ name: 'a', port: 80 }],
          },
        ],
      }),
    ]);
    assert.match(JSON.stringify(resource(t, 'route', 'team/gw/80')), /"key":"x-share","value":"50%%"/);
  });
});
