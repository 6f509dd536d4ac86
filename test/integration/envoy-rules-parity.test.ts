// The translator's judgement of Envoy's rules (operator/src/translate/envoy-rules.ts) held to Envoy
// 1.40 itself (`envoy --mode validate`): every rule the translator keeps renders to a
// RouteConfiguration Envoy accepts, and every rule it drops is one Envoy refuses, except the listed
// gaps (a regex whose RE2 program Envoy counts bigger than re2js estimates: caught by NACK isolation).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { HTTPRoute, HTTPRouteRule } from '../../operator/src/k8s/gateway-api.ts';
import {
  gateway,
  httpRoute,
  input,
  mustTranslate,
  resource,
  service,
} from '../../operator/src/translate/testing/fixtures.ts';
import { envoyBinary } from '../harness/envoy.ts';

const run = promisify(execFile);
const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

type Case = { name: string; rule: HTTPRouteRule; envoyOnly?: 'refuses' };
const regexPath = (value: string): HTTPRouteRule => ({
  matches: [{ path: { type: 'RegularExpression', value } }],
  backendRefs: [{ name: 'a', port: 80 }],
});
const setHeader = (name: string, value: string): HTTPRouteRule => ({
  filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name, value }] } }],
  backendRefs: [{ name: 'a', port: 80 }],
});
const cases: Case[] = [
  ...['/v1/.*', '/api/v[0-9]+/users/[^/]+', '(?i)/admin/.*', '/(?P<id>[0-9]+)', '[[:alpha:]]+', '\\pN+', '.{30}'].map(
    (re) => ({ name: `regex ${re}`, rule: regexPath(re) }),
  ),
  ...['/v1/(?=users).*', '/v1/(?!admin).*', '(a)\\1', 'x\\Z', 'x{1001}', '/items/x{150}'].map((re) => ({
    name: `regex ${re}`,
    rule: regexPath(re),
  })),
  // re2js estimates about 50; Envoy counts 113, over its limit of 100: a NACK, isolated.
  { name: 'regex /(\\pL){12}', rule: regexPath('/(\\pL){12}'), envoyOnly: 'refuses' },
  { name: 'header value 50%', rule: setHeader('x-share', '50%') },
  { name: 'header value %REQ(x)%', rule: setHeader('x-literal', '%REQ(x)%') },
  { name: 'header Host', rule: setHeader('Host', 'example.com') },
  {
    name: 'remove Host',
    rule: {
      filters: [{ type: 'ResponseHeaderModifier', responseHeaderModifier: { remove: ['host'] } }],
      backendRefs: [{ name: 'a', port: 80 }],
    },
  },
];

describe('Envoy rules, held to Envoy 1.40', () => {
  let envoy: string;
  let dir: string;
  before(async () => {
    envoy = await envoyBinary();
    dir = mkdtempSync(path.join(os.tmpdir(), `legate-parity-${process.pid}-`));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Envoy's verdict on one RouteConfiguration: undefined when accepted, else its error. */
  async function envoySays(routeConfig: object, name: string): Promise<string | undefined> {
    const file = path.join(dir, `${name.replace(/[^a-z0-9]/gi, '_')}-${Math.random().toString(36).slice(2)}.json`);
    const config = {
      static_resources: {
        listeners: [
          {
            name: 'l',
            address: { socket_address: { address: '127.0.0.1', port_value: 1 } },
            filter_chains: [
              {
                filters: [
                  {
                    name: 'envoy.filters.network.http_connection_manager',
                    typed_config: {
                      '@type': HCM,
                      stat_prefix: 'x',
                      http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER } }],
                      route_config: { ...routeConfig, validateClusters: false },
                    },
                  },
                ],
              },
            ],
          },
        ],
      },
    };
    writeFileSync(file, JSON.stringify(config));
    try {
      await run(envoy, ['--mode', 'validate', '-c', file, '-l', 'critical']);
      return undefined;
    } catch (e) {
      const out = `${(e as { stdout?: string }).stdout ?? ''}${(e as { stderr?: string }).stderr ?? ''}`;
      return /error initializing configuration '[^']*': (.*)/.exec(out)?.[1] ?? out.trim().split('\n').at(-1);
    }
  }

  /** The rule as a route without Legate's checks, for Envoy to judge. */
  function raw(rule: HTTPRouteRule): object {
    const route: Record<string, unknown> = { match: { prefix: '/' }, directResponse: { status: 200 } };
    const path = rule.matches?.[0]?.path;
    if (path?.type === 'RegularExpression') route.match = { safeRegex: { regex: path.value } };
    const f = rule.filters?.[0];
    if (f?.type === 'RequestHeaderModifier') {
      route.requestHeadersToAdd = f.requestHeaderModifier?.set?.map((h) => ({
        header: { key: h.name, value: h.value },
      }));
    }
    if (f?.type === 'ResponseHeaderModifier') route.responseHeadersToRemove = f.responseHeaderModifier?.remove;
    return { name: 'raw', virtualHosts: [{ name: 'v', domains: ['*'], routes: [route] }] };
  }

  for (const c of cases) {
    it(c.name, async () => {
      const gw = gateway('team', 'gw', [{ name: 'http', port: 80, protocol: 'HTTP' }]);
      const route: HTTPRoute = httpRoute('team', 'r', { parentRefs: [{ name: 'gw' }], rules: [c.rule] });
      const t = mustTranslate(
        input({ gateways: [gw], httpRoutes: [route], services: [service('team', 'a', 80)] }),
        'team/gw',
      );
      const dropped = t.status.routes[0]?.conditions.some((x) => x.type === 'Accepted' && x.status === 'False');
      if (dropped) {
        assert.ok(await envoySays(raw(c.rule), c.name), 'dropped, so Envoy must refuse it too');
        return;
      }
      const verdict = await envoySays(resource(t, 'route', 'team/gw/80'), c.name);
      if (c.envoyOnly === 'refuses') assert.match(verdict ?? '', /RE2 program size of \d+ > max program size of 100/);
      else assert.equal(verdict, undefined, 'kept, so Envoy must accept what Legate renders');
    });
  }
});
