// End to end through a real, independent xDS client: @grpc/grpc-js-xds resolves `xds:///<name>`
// through Legate's ADS server and routes real calls to gRPC backends on loopback by the served
// Listener, RouteConfiguration, Clusters and ClusterLoadAssignments.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { TypeUrls } from '../../operator/src/envoy/protos.ts';
import { strictEncode } from '../../operator/src/envoy/strict.ts';
import { apiListenerName } from '../../operator/src/translate/names.ts';
import type { GatewayKey } from '../../operator/src/xds/identity.ts';
import { XdsServer } from '../../operator/src/xds/server.ts';
import {
  type Backend,
  type GatewayConfig,
  gatewayResources,
  type ProxylessClient,
  proxylessClient,
  rawAdsClient,
  startBackend,
} from './xds-fixtures.ts';

const gateway: GatewayKey = 'team-a/web';
// The translator's documented proxyless name: `<namespace>/<gateway>/<listener>`.
const listener = apiListenerName(gateway, 'grpc');

describe('proxyless gRPC through the xDS server', () => {
  let server: XdsServer;
  let backends: Record<'gold' | 'a' | 'b' | 's1' | 's2', Backend>;
  let client: ProxylessClient;

  const config = (weights: { a: number; b: number }, servicePorts?: number[]): GatewayConfig => ({
    listener,
    route: 'team-a/web/grpc',
    rules: [
      { headers: { 'x-tier': 'gold' }, backends: { gold: 1 } },
      { headers: { 'x-pool': 'service' }, backends: { svc: 1 } },
      { backends: { a: weights.a, b: weights.b } },
    ],
    clusters: {
      gold: [backends.gold.port],
      a: [backends.a.port],
      b: [backends.b.port],
      svc: servicePorts ?? [backends.s1.port, backends.s2.port],
    },
  });

  // The API listener goes to proxyless clients only; everything else is the Gateway's Envoy config.
  const publish = (key: GatewayKey, gatewayConfig: GatewayConfig) => {
    const { [TypeUrls.listener]: apiListeners, ...resources } = gatewayResources(gatewayConfig);
    return server.setSnapshot(key, resources, { proxylessListeners: apiListeners ?? [] });
  };

  before(async () => {
    const [gold, a, b, s1, s2] = await Promise.all(['gold', 'a', 'b', 's1', 's2'].map((n) => startBackend(n)));
    backends = { gold: gold!, a: a!, b: b!, s1: s1!, s2: s2! };
    server = await XdsServer.start({
      port: 0,
      host: '127.0.0.1',
      // The Envoy port (no client here has a Gateway certificate, so it would refuse them all).
      credentials: grpc.ServerCredentials.createInsecure(),
      proxyless: { port: 0, allow: (key) => key === gateway },
    });
    publish(gateway, config({ a: 90, b: 10 }));
    server.markSynced();
    client = proxylessClient(server.proxylessPort!, gateway, listener);
  });

  after(async () => {
    client?.close();
    await server?.stop();
    await Promise.all(Object.values(backends ?? {}).map((b) => b.stop()));
  });

  it('sends calls with a matching header to the backend the rule names', async () => {
    const counts = await client.spread(50, { 'x-tier': 'gold' });
    assert.deepEqual([...counts], [['gold', 50]]);
  });

  it('splits 90/10 by weight over 1,000 calls (within 5 %)', async () => {
    const counts = await client.spread(1000);
    const a = counts.get('a') ?? 0;
    assert.equal(a + (counts.get('b') ?? 0), 1000, `only a and b answer: ${JSON.stringify([...counts])}`);
    assert.ok(Math.abs(a - 900) <= 50, `a answered ${a} of 1000`);
  });

  it('follows a weight change without restarting the client', async () => {
    const change = publish(gateway, config({ a: 10, b: 90 }));
    assert.deepEqual(change.typeUrls, [TypeUrls.route], 'only the RouteConfiguration changed');
    await waitFor(async () => ((await client.spread(100)).get('b') ?? 0) >= 70);
    const counts = await client.spread(1000);
    const b = counts.get('b') ?? 0;
    assert.ok(Math.abs(b - 900) <= 50, `b answered ${b} of 1000`);
  });

  it('moves traffic to the remaining endpoint when one is removed (EDS only)', async () => {
    const both = await client.spread(100, { 'x-pool': 'service' });
    assert.ok((both.get('s1') ?? 0) > 20 && (both.get('s2') ?? 0) > 20, JSON.stringify([...both]));
    const pushesBefore = await pushCount(server);
    const change = publish(gateway, config({ a: 10, b: 90 }, [backends.s1.port]));
    assert.deepEqual(change.typeUrls, [TypeUrls.endpoint], 'an endpoint-only change touches only EDS');
    await waitFor(async () => !(await client.spread(20, { 'x-pool': 'service' })).has('s2'));
    const after = await client.spread(200, { 'x-pool': 'service' });
    assert.deepEqual([...after], [['s1', 200]]);
    const pushesAfter = await pushCount(server);
    assert.equal(pushesAfter.endpoint - pushesBefore.endpoint, 1, 'one EDS response');
    assert.equal(pushesAfter.other - pushesBefore.other, 0, 'no other type was pushed');
  });

  it('refuses, with PERMISSION_DENIED, a proxyless client claiming a Gateway that did not opt in', async () => {
    publish('team-b/web', config({ a: 1, b: 1 }));
    const raw = rawAdsClient(server.proxylessPort!, grpc.credentials.createInsecure());
    try {
      const stream = raw.sotw();
      stream.send({ node: { id: 'intruder', cluster: 'team-b/web' }, typeUrl: TypeUrls.listener, resourceNames: [] });
      const status = await stream.status;
      assert.equal(status.code, grpc.status.PERMISSION_DENIED);
      assert.match(status.details, /does not allow proxyless/);
      assert.equal(await stream.responses.quiet(50), undefined, 'no resources');
    } finally {
      raw.close();
    }
    const denied = await server.registry.getSingleMetricAsString('legate_xds_denied_streams_total');
    assert.match(denied, /reason="not-allowed"} 1/);
  });

  it('serves proxyless clients the API listeners and routing only, never Secrets', async () => {
    const secret = { name: 'team-a/tls', bytes: strictEncode(TypeUrls.secret, { name: 'team-a/tls' }) };
    server.setSnapshot(
      gateway,
      { ...withoutListener(config({ a: 10, b: 90 }, [backends.s1.port])), [TypeUrls.secret]: [secret] },
      { proxylessListeners: [gatewayResources(config({ a: 10, b: 90 }))[TypeUrls.listener]![0]!] },
    );
    const raw = rawAdsClient(server.proxylessPort!, grpc.credentials.createInsecure());
    try {
      const stream = raw.sotw();
      stream.send({ node: { id: 'raw', cluster: gateway }, typeUrl: TypeUrls.listener, resourceNames: [] });
      const lds = await stream.responses.next();
      assert.equal(lds.resources?.length, 1, 'exactly the one API listener');
      stream.send({ typeUrl: TypeUrls.secret, resourceNames: ['team-a/tls'] });
      assert.equal(await stream.responses.quiet(300), undefined, 'no Secret for a proxyless client');
      assert.equal(server.cache.get(gateway)?.get(TypeUrls.secret)?.resources.size, 1, 'Envoys do get it');
      assert.equal(
        server.cache.get(gateway)?.get(TypeUrls.listener)?.resources.size,
        0,
        'Envoys never get API listeners',
      );
      stream.close();
    } finally {
      raw.close();
    }
  });

  it('keeps serving after an unrelated Gateway is removed', async () => {
    server.removeSnapshot('team-b/web');
    assert.equal(await client.who({ 'x-tier': 'gold' }), 'gold');
  });
});

function withoutListener(gatewayConfig: GatewayConfig) {
  const { [TypeUrls.listener]: _apiListeners, ...resources } = gatewayResources(gatewayConfig);
  return resources;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function pushCount(server: XdsServer): Promise<{ endpoint: number; other: number }> {
  const metric = await server.metrics.pushes.get();
  let endpoint = 0;
  let other = 0;
  for (const value of metric.values) {
    if (value.labels.type === 'endpoint') endpoint += value.value;
    else other += value.value;
  }
  return { endpoint, other };
}
