// Translator → xDS server → real proxyless client: a GRPCRoute, its Services and EndpointSlices
// (pointing at real gRPC backends on loopback) are translated by the real translator and served by
// the xDS server; @grpc/grpc-js-xds routes real calls by them. Object changes are applied the way the
// operator will: re-translate the Gateway, set its snapshot. (The same flow with the API server and
// the operator process is the end-to-end suite the lead adds when the operator serves xDS.)

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { TypeUrls } from '../../operator/src/envoy/protos.ts';
import type { GRPCRoute } from '../../operator/src/k8s/gateway-api.ts';
import { apiListenerName, type TranslationInput, translateGateway } from '../../operator/src/translate/index.ts';
import type { GatewayKey } from '../../operator/src/xds/identity.ts';
import { XdsServer } from '../../operator/src/xds/server.ts';
import {
  type Backend,
  backendSlice,
  grpcService,
  type ProxylessClient,
  proxylessClient,
  startBackend,
} from './xds-fixtures.ts';

const ns = 'team-a';
const gatewayKey: GatewayKey = `${ns}/web`;
const servicePort = 50051;

const service = (name: string) => grpcService(ns, name, servicePort);
const slice = (serviceName: string, backend: Backend) => backendSlice(ns, serviceName, backend, '127.0.0.1');

function grpcRoute(weights: { a: number; b: number }): GRPCRoute {
  return {
    metadata: { namespace: ns, name: 'backend', generation: 1 },
    spec: {
      parentRefs: [{ name: 'web' }],
      rules: [
        {
          matches: [{ headers: [{ name: 'x-tier', value: 'gold' }] }],
          backendRefs: [{ name: 'gold', port: servicePort }],
        },
        {
          matches: [{ headers: [{ name: 'x-pool', value: 'service' }] }],
          backendRefs: [{ name: 'pool', port: servicePort }],
        },
        {
          backendRefs: [
            { name: 'a', port: servicePort, weight: weights.a },
            { name: 'b', port: servicePort, weight: weights.b },
          ],
        },
      ],
    },
  };
}

describe('translated GRPCRoute served to a real proxyless client', () => {
  let backends: Record<'gold' | 'a' | 'b' | 'p1' | 'p2', Backend>;
  let server: XdsServer;
  let client: ProxylessClient;
  let input: TranslationInput;

  const publish = () => {
    const t = translateGateway(input, gatewayKey);
    assert.ok(t, 'the Gateway translates');
    assert.deepEqual(t.errors, []);
    return server.setSnapshot(gatewayKey, t.resources, { proxylessListeners: t.proxylessListeners });
  };

  before(async () => {
    const started = await Promise.all(['gold', 'a', 'b', 'p1', 'p2'].map((name) => startBackend(name)));
    const [gold, a, b, p1, p2] = started as [Backend, Backend, Backend, Backend, Backend];
    backends = { gold, a, b, p1, p2 };
    input = {
      gateways: [
        {
          metadata: { namespace: ns, name: 'web', generation: 1 },
          spec: { gatewayClassName: 'legate', listeners: [{ name: 'grpc', port: 80, protocol: 'HTTP' }] },
        },
      ],
      grpcRoutes: [grpcRoute({ a: 90, b: 10 })],
      services: ['gold', 'a', 'b', 'pool'].map(service),
      endpointSlices: [slice('gold', gold), slice('a', a), slice('b', b), slice('pool', p1), slice('pool', p2)],
    };
    server = await XdsServer.start({
      port: 0,
      credentials: grpc.ServerCredentials.createInsecure(),
      proxyless: { port: 0, allow: (key) => key === gatewayKey },
    });
    publish();
    server.markSynced();
    client = proxylessClient(server.proxylessPort!, gatewayKey, apiListenerName(gatewayKey, 'grpc'));
  });

  after(async () => {
    client?.close();
    await server?.stop();
    await Promise.all(Object.values(backends ?? {}).map((b) => b.stop()));
  });

  it('sends calls matching a GRPCRoute header to its backend', async () => {
    assert.deepEqual([...(await client.spread(40, { 'x-tier': 'gold' }))], [['gold', 40]]);
  });

  it('splits 90/10 over 1,000 calls, and follows a weight change without a client restart', async () => {
    const before = await client.spread(1000);
    assert.ok(Math.abs((before.get('a') ?? 0) - 900) <= 50, JSON.stringify([...before]));
    input = { ...input, grpcRoutes: [grpcRoute({ a: 10, b: 90 })] };
    const change = publish();
    assert.ok(!change.typeUrls.includes(TypeUrls.cluster), 'a weight change pushes no clusters');
    await waitFor(async () => ((await client.spread(100)).get('b') ?? 0) >= 70);
    const after = await client.spread(1000);
    assert.ok(Math.abs((after.get('b') ?? 0) - 900) <= 50, JSON.stringify([...after]));
  });

  it('moves traffic to the remaining endpoint when an EndpointSlice goes away (EDS only)', async () => {
    const both = await client.spread(100, { 'x-pool': 'service' });
    assert.ok((both.get('p1') ?? 0) > 20 && (both.get('p2') ?? 0) > 20, JSON.stringify([...both]));
    input = {
      ...input,
      endpointSlices: input.endpointSlices!.filter((s) => s.metadata?.name !== 'pool-p2'),
    };
    const change = publish();
    assert.deepEqual(change.typeUrls, [TypeUrls.endpoint], 'an endpoint-only change is an EDS-only push');
    await waitFor(async () => !(await client.spread(20, { 'x-pool': 'service' })).has('p2'));
    assert.deepEqual([...(await client.spread(200, { 'x-pool': 'service' }))], [['p1', 200]]);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
