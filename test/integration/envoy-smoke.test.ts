// The first thing a team sees: a Gateway and an HTTPRoute, an Envoy pod run from the fleet the
// operator applied, and a request that reaches the route's backend. Also holds the harness itself to
// what it promises: the Deployment's non-root user, the pinned version, no deprecated features.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { EnvoyVersion } from '../../operator/src/infra/envoy-version.ts';
import { request } from '../harness/http-client.ts';
import { assertNoDeprecatedFeatures } from './envoy-traffic.ts';
import { type EnvoyPod, type GatewayEnv, startGatewayEnv } from './gateway-env.ts';
import { eventually } from './operator-helpers.ts';

describe('a real Envoy pod serves a Gateway from the operator', () => {
  let env: GatewayEnv;
  let envoy: EnvoyPod;

  before(async () => {
    env = await startGatewayEnv();
    await env.gateway('web', [{ name: 'http', port: 80, protocol: 'HTTP' }]);
    await env.echoService('shop');
    await env.apply({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { namespace: env.namespace, name: 'shop' },
      spec: { parentRefs: [{ name: 'web' }], rules: [{ backendRefs: [{ name: 'shop', port: 80 }] }] },
    });
    envoy = await env.envoy('web');
  });

  after(() => env?.stop());

  it('routes a request to the backend of the HTTPRoute', async () => {
    const res = await eventually(
      'a routed request',
      async () => {
        const r = await request(envoy.url(80, '/cart'), { headers: { host: 'shop.example' } });
        return r.status === 200 ? r : undefined;
      },
      20_000,
    );
    const echo = res.json<{ name: string; path: string; host: string }>();
    assert.equal(echo?.name, 'shop-0');
    assert.equal(echo?.path, '/cart');
    assert.equal(echo?.host, 'shop.example');
  });

  it('runs the pinned Envoy release as the non-root user of the Deployment', async () => {
    const info = JSON.parse(await envoy.admin('/server_info'));
    assert.match(info.version, new RegExp(`/${EnvoyVersion.replaceAll('.', '\\.')}/`));
    assert.equal(info.node.cluster, `${env.namespace}/web`);
    assert.equal(info.node.id, envoy.name, 'the node id is the pod name from --service-node $(POD_NAME)');
    const pid = execFileSync('pgrep', ['-f', '--', `^envoy .*--service-node ${envoy.name}`], {
      encoding: 'utf8',
    }).trim();
    const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    assert.equal(uid, '65532');
  });

  it('uses no deprecated Envoy feature', async () => {
    await assertNoDeprecatedFeatures(envoy);
  });
});
