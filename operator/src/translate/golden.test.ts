// Golden scenarios: each testdata/scenarios/<name>.yaml is translated the way `legate translate`
// does it and compared with testdata/golden/<name>.json (UPDATE_GOLDEN=1 rewrites them). Every
// output must pass go-control-plane's validation (test/tools/xds-validate), and a few requests per
// scenario are routed through the output to check the decisions the scenario is about.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { goTool } from '../../../test/harness/go-tools.ts';
import { gatewayOutput, readInput } from '../cli/translate.ts';
import type { JsonValue } from '../envoy/strict.ts';
import { translate } from './index.ts';
import type { Request } from './testing/envoy-router.ts';
import { route } from './testing/envoy-router.ts';

const dir = path.join(import.meta.dirname, 'testdata');
const scenarios = readdirSync(path.join(dir, 'scenarios'))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.replace(/\.yaml$/, ''))
  .sort();

type Json = { [key: string]: JsonValue };
type Output = { gateways: Json[] };

function render(name: string): Output {
  const input = readInput([path.join(dir, 'scenarios', `${name}.yaml`)], () => '');
  return { gateways: [...translate(input).gateways.values()].map((t) => gatewayOutput(t, false)) };
}

/** The rendered RouteConfiguration `name` of a scenario output. */
function routeConfig(out: Output, name: string): Json {
  for (const g of out.gateways) {
    for (const r of g.resources as Json[]) {
      if (String(r['@type']).endsWith('RouteConfiguration') && r.name === name) return r;
    }
  }
  throw new Error(`no RouteConfiguration ${name}`);
}

/** What each scenario is about, as requests and where they must end up. */
const decisions: Record<string, [string, Request, JsonValue][]> = {
  canary: [
    [
      'shop/web/80',
      { host: 'shop.example.com', path: '/checkout/pay' },
      { 'shop/checkout-v1/8080': 90, 'shop/checkout-v2/8080': 10 },
    ],
  ],
  'blue-green': [['shop/web/8080', { host: 'www.shop.example.com', path: '/' }, { 'shop/green/80': 1 }]],
  'ab-header': [
    ['app/edge/80', { host: 'x', path: '/', headers: { 'x-variant': 'b' } }, { 'app/app-b/8080': 1 }],
    ['app/edge/80', { host: 'x', path: '/', headers: { cookie: 'a=1; beta=1' } }, { 'app/app-b/8080': 1 }],
    ['app/edge/80', { host: 'x', path: '/' }, { 'app/app-a/8080': 1 }],
  ],
  'https-redirect': [['web/site/80', { host: 'www.example.com', path: '/a?b=c' }, 'https://www.example.com/a?b=c']],
  'path-rewrite': [
    ['app/edge/80', { host: 'api.example.com', path: '/legacy/users/7' }, 'v2.internal/v2/users/7'],
    ['app/edge/80', { host: 'api.example.com', path: '/health' }, 'api.example.com/healthz'],
  ],
  grpc: [
    [
      'rpc/grpc/9000',
      { host: 'h', path: '/shop.v1.Cart/Checkout', method: 'POST' },
      { 'payments/checkout/50051/h2c': 1 },
    ],
    [
      'rpc/grpc/9000',
      { host: 'h', path: '/shop.v1.Cart/Get', method: 'POST', headers: { 'x-canary': 'true' } },
      { 'rpc/cart-canary/50051/h2c': 1 },
    ],
    [
      'rpc/grpc/9000',
      { host: 'h', path: '/shop.v1.Cart/Get', method: 'POST' },
      { 'rpc/cart/50051/h2c': 3, 'rpc/cart-canary/50051/h2c': 1 },
    ],
  ],
  'two-teams': [['team-b/gw/80', { host: 'x', path: '/' }, { 'team-b/svc/80': 1, 'legate/invalid-backend': 1 }]],
  'bad-input': [
    ['ops/messy/81', { host: 'x', path: '/items/42' }, { 'ops/ok/80': 1 }],
    ['ops/messy/81', { host: 'b.example.com', path: '/' }, 500],
  ],
};

function outcome(rc: Json, req: Request): JsonValue {
  const d = route(rc, req);
  if (d.kind === 'forward')
    return Object.keys(d.clusters).length === 1 && d.path !== req.path ? `${d.host}${d.path}` : d.clusters;
  if (d.kind === 'redirect') return d.location;
  return d.status;
}

describe('golden scenarios', () => {
  const outputs = new Map<string, Output>();
  for (const name of scenarios) {
    it(`${name}: matches its golden file and routes as intended`, () => {
      const out = render(name);
      outputs.set(name, out);
      const file = path.join(dir, 'golden', `${name}.json`);
      const text = `${JSON.stringify(out, null, 2)}\n`;
      if (process.env.UPDATE_GOLDEN) {
        mkdirSync(path.dirname(file), { recursive: true });
        writeFileSync(file, text);
      }
      assert.equal(
        text,
        readFileSync(file, 'utf8'),
        `${name}: output differs from ${file} (UPDATE_GOLDEN=1 to accept)`,
      );
      for (const [rc, req, want] of decisions[name] ?? []) {
        assert.deepEqual(outcome(routeConfig(out, rc), req), want, `${name}: ${req.host}${req.path}`);
      }
    });
  }

  it('every golden output passes go-control-plane validation and snapshot consistency', async () => {
    const bin = await goTool('xds-validate');
    const all = { gateways: scenarios.flatMap((n) => (outputs.get(n) ?? render(n)).gateways) };
    const res = spawnSync(bin, [], { input: JSON.stringify(all), encoding: 'utf8' });
    assert.equal(res.status, 0, `xds-validate: ${res.stdout}${res.stderr}`);
    assert.deepEqual(JSON.parse(res.stdout), { ok: true, errors: [] });
  });

  it('the validator rejects what Envoy would reject', async () => {
    const bin = await goTool('xds-validate');
    const bad = {
      gateways: [
        {
          gateway: 'x/y',
          resources: [
            {
              '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
              name: 'c',
              type: 'EDS',
              edsClusterConfig: { edsConfig: { ads: {} }, serviceName: 'missing-cla' },
              connectTimeout: '-1s',
            },
            {
              '@type': 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
              name: 'r',
              virtualHosts: [{ name: 'v' }],
            },
          ],
        },
      ],
    };
    const res = spawnSync(bin, [], { input: JSON.stringify(bad), encoding: 'utf8' });
    assert.equal(res.status, 1);
    const errors = (JSON.parse(res.stdout) as { errors: string[] }).errors.join('\n');
    assert.match(errors, /ConnectTimeout/);
    assert.match(errors, /Domains/);
  });
});
