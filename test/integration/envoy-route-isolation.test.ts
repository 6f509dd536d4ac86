// A bad route against real Envoy 1.40 and the operator process: a rule Envoy's RE2 refuses is caught
// before sending (PartiallyInvalid, the other rules serve), and a route the operator's checks let
// through but Envoy refuses (a regex whose RE2 program is over Envoy's size limit, which re2js
// underestimates) is isolated on the NACK: it reports Envoy's own message, and later changes to the
// Gateway's other routes still reach Envoy. A filter configuration Envoy refuses (the built-in auth
// module refusing a 1024-bit RSA key in its on_configure) shows on its FilterPolicy with Envoy's reason.
// Everything goes through the API server, as a team does it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { builtinWasm } from '../../filters/builtins/build.ts';
import type { FilterPolicy } from '../../operator/src/filters/types.ts';
import type { Gateway, HTTPRoute } from '../../operator/src/k8s/gateway-api.ts';
import { request } from '../harness/http-client.ts';
import { assertNoDeprecatedFeatures } from './envoy-traffic.ts';
import { type EnvoyPod, type GatewayEnv, startGatewayEnv } from './gateway-env.ts';
import { eventually } from './operator-helpers.ts';

describe('real Envoy: one bad route does not freeze its Gateway', () => {
  let env: GatewayEnv;
  let envoy: EnvoyPod;

  const route = (name: string, rules: unknown[]) => ({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { namespace: env.namespace, name },
    spec: { parentRefs: [{ name: 'web' }], hostnames: [`${name}.example`], rules },
  });
  const prefix = (value: string, backend: string) => ({
    matches: [{ path: { type: 'PathPrefix', value } }],
    backendRefs: [{ name: backend, port: 80 }],
  });
  /** The backend that answered (echo backends answer with their name), or the status code. */
  const who = async (host: string, path: string) => {
    const r = await request(envoy.url(80, path), { headers: { host } });
    return r.status === 200 ? r.json<{ name: string }>()?.name : String(r.status);
  };
  /** Envoy's count of rejected RouteConfiguration updates (http.<prefix>.rds.<name>.update_rejected). */
  const rdsRejected = async () => {
    let total = 0;
    for (const [name, value] of await envoy.stats()) if (/\.rds\..*\.update_rejected$/.test(name)) total += value;
    return total;
  };
  const parentConditions = async (name: string) => {
    const r = await env.kube.get<HTTPRoute>('gateway.networking.k8s.io/v1', 'HTTPRoute', env.namespace, name);
    const parent = r?.status?.parents?.find((p) => p.controllerName === env.controllerName);
    return { generation: r?.metadata.generation, conditions: parent?.conditions ?? [] };
  };

  before(async () => {
    env = await startGatewayEnv();
    await env.gateway('web', [{ name: 'http', port: 80, protocol: 'HTTP' }]);
    await env.echoService('shop');
    await env.echoService('cart');
    await env.apply(route('team', [prefix('/v1', 'shop')]));
    envoy = await env.envoy('web');
    await eventually('the first route', async () =>
      (await who('team.example', '/v1')) === 'shop-0' ? true : undefined,
    );
  });

  after(() => env?.stop());

  it('a rule with a regex RE2 refuses is left out with PartiallyInvalid; its other rules serve', async () => {
    await env.apply(
      route('lookahead', [
        {
          matches: [{ path: { type: 'RegularExpression', value: '/v1/(?=users).*' } }],
          backendRefs: [{ name: 'shop', port: 80 }],
        },
        prefix('/v2', 'cart'),
      ]),
    );
    await eventually('the valid rule served', async () =>
      (await who('lookahead.example', '/v2/x')) === 'cart-0' ? true : undefined,
    );
    assert.equal(await who('lookahead.example', '/v1/users'), '404', 'the invalid rule is not in Envoy');
    const { conditions } = await eventually('route status', async () => {
      const s = await parentConditions('lookahead');
      return s.conditions.some((c) => c.type === 'PartiallyInvalid') ? s : undefined;
    });
    const partially = conditions.find((c) => c.type === 'PartiallyInvalid');
    assert.equal(partially?.status, 'True');
    assert.equal(partially?.reason, 'UnsupportedValue');
    assert.match(partially?.message ?? '', /rule 0: path regex "\/v1\/\(\?=users\)\.\*" is not valid RE2 syntax/);
    assert.equal(conditions.find((c) => c.type === 'Accepted')?.status, 'True');
    assert.equal(await rdsRejected(), 0, 'Envoy never saw it');
  });

  it('a route Envoy rejects is held with Envoy’s reason; later changes to other routes still reach Envoy', async () => {
    // re2js estimates this program at about 50; Envoy's RE2 compiles it to 113, over its limit of 100.
    await env.apply(
      route('unicode', [
        {
          matches: [{ path: { type: 'RegularExpression', value: '/(\\pL){12}' } }],
          backendRefs: [{ name: 'shop', port: 80 }],
        },
      ]),
    );
    const { conditions } = await eventually(
      'the held route reports Envoy’s reason',
      async () => {
        const s = await parentConditions('unicode');
        return s.conditions.some((c) => c.type === 'Accepted' && c.status === 'False') ? s : undefined;
      },
      20_000,
    );
    const accepted = conditions.find((c) => c.type === 'Accepted');
    assert.equal(accepted?.reason, 'UnsupportedValue');
    assert.match(accepted?.message ?? '', /^Envoy rejected this HTTPRoute \(/);
    assert.match(accepted?.message ?? '', /RE2 program size of \d+ > max program size of 100/);
    assert.match(accepted?.message ?? '', /It is not served \(Envoy never accepted a version of it\)/);

    // A change to another route of the same Gateway is live.
    await env.apply(route('team', [prefix('/v1', 'cart')]));
    await eventually('the other route’s change in Envoy', async () =>
      (await who('team.example', '/v1')) === 'cart-0' ? true : undefined,
    );
    assert.equal(await who('unicode.example', '/ÄÖÜäöüßÄÖÜäö'), '404', 'the rejected route is not served');

    // The Gateway says what happened and keeps its listener status (two writers, two field managers).
    const gw = await eventually('the Gateway names the held route', async () => {
      const g = await env.kube.get<Gateway>('gateway.networking.k8s.io/v1', 'Gateway', env.namespace, 'web');
      const c = g?.status?.conditions?.find((x) => x.type === 'legate.dev/ConfigAccepted');
      return c?.status === 'True' && c.message.includes(`HTTPRoute/${env.namespace}/unicode`) ? g : undefined;
    });
    assert.equal(gw.status?.listeners?.[0]?.name, 'http');

    // Fixing the route releases it: its new form ships.
    await env.apply(route('unicode', [prefix('/fixed', 'shop')]));
    await eventually('the fixed route in Envoy', async () =>
      (await who('unicode.example', '/fixed')) === 'shop-0' ? true : undefined,
    );
    await eventually('the fixed route accepted', async () => {
      const s = await parentConditions('unicode');
      return s.conditions.some((c) => c.type === 'Accepted' && c.status === 'True') ? true : undefined;
    });
    assert.ok((await rdsRejected()) >= 1, 'Envoy did reject a RouteConfiguration');
  });

  it('an operator restart keeps a held route held, and other routes keep changing', async () => {
    await env.apply(
      route('greek', [
        {
          matches: [{ path: { type: 'RegularExpression', value: '/(\\pL){12}/x' } }],
          backendRefs: [{ name: 'shop', port: 80 }],
        },
      ]),
    );
    const held = async () => {
      const s = await parentConditions('greek');
      const c = s.conditions.find((x) => x.type === 'Accepted');
      return c?.status === 'False' && c.message.startsWith('Envoy rejected this HTTPRoute') ? c : undefined;
    };
    const before = await eventually('the route held', held);
    const rejectedBefore = await rdsRejected();
    await env.restartOperator();
    await env.apply(route('team', [prefix('/v1', 'shop'), prefix('/after-restart', 'cart')]));
    await eventually('another route’s change after the restart', async () =>
      (await who('team.example', '/after-restart')) === 'cart-0' ? true : undefined,
    );
    assert.equal(await rdsRejected(), rejectedBefore, 'the new operator never sent Envoy the held route');
    assert.equal((await held())?.message, before.message);
  });

  it('a filter configuration Envoy refuses shows on its FilterPolicy, with Envoy’s reason', async () => {
    const legate = 'legate.dev/v1alpha1';
    await env.apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { namespace: env.namespace, name: 'auth-wasm' },
      binaryData: { 'filter.wasm': Buffer.from(await builtinWasm('auth')).toString('base64') },
    });
    await env.apply({
      apiVersion: legate,
      kind: 'WasmFilter',
      metadata: { namespace: env.namespace, name: 'auth' },
      spec: { source: { type: 'ConfigMap', configMap: { name: 'auth-wasm', key: 'filter.wasm' } } },
    });
    // A 1024-bit RSA key: no schema here refuses it, the module does (2048 to 4096 bits).
    const small = { kty: 'RSA', kid: 'small', n: Buffer.alloc(128, 0xff).toString('base64url'), e: 'AQAB' };
    await env.apply({
      apiVersion: legate,
      kind: 'FilterPolicy',
      metadata: { namespace: env.namespace, name: 'auth' },
      spec: {
        targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'web' }],
        filters: [{ name: 'auth', filterRef: { name: 'auth' }, config: { jwt: { jwks: { keys: [small] } } } }],
      },
    });
    const accepted = await eventually(
      'the policy reports Envoy’s reason',
      async () => {
        const p = await env.kube.get<FilterPolicy>(legate, 'FilterPolicy', env.namespace, 'auth');
        const a = p?.status?.ancestors?.find((x) => x.controllerName === env.controllerName);
        const c = a?.conditions.find((x) => x.type === 'Accepted');
        return c?.status === 'False' ? c : undefined;
      },
      30_000,
    );
    assert.equal(accepted.reason, 'Invalid');
    assert.match(accepted.message, /^Envoy rejected this filter configuration \(entry auth\) \(/);
    // FailClosed: Envoy has no configuration of ours for the filter, so its default (deny) answers.
    assert.equal(await who('team.example', '/v1'), '503');
  });

  it('uses no deprecated Envoy feature', async () => {
    await assertNoDeprecatedFeatures(envoy);
  });
});
