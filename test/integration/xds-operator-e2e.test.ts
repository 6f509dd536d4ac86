// End to end with every real part: the real API server, the operator process (watches → store →
// translation → xDS server), real gRPC backends behind EndpointSlices, and a real
// @grpc/grpc-js-xds client routing real calls by what the operator serves. Changes are made only
// through the API server, as a team would make them. The backends run in a test host (a network
// namespace on this machine) because the API server refuses loopback addresses in EndpointSlices.

type Backend = { name: string; port: number };

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubernetesObject } from '@kubernetes/client-node';
import { proxylessAnnotation } from '../../operator/src/controller/xds-serving.ts';
import type { GRPCRoute } from '../../operator/src/k8s/gateway-api.ts';
import { apiListenerName } from '../../operator/src/translate/index.ts';
import { type TestCluster, testCluster } from '../harness/cluster.ts';
import { startTestHost, type TestHost } from '../harness/netns.ts';
import {
  eventually,
  Kube,
  type OperatorProcess,
  startOperator,
  uniqueSuffix,
  type XdsCaFolder,
  xdsCaFolder,
} from './operator-helpers.ts';
import { backendSlice, grpcService, type ProxylessClient, proxylessClient } from './xds-fixtures.ts';

const servicePort = 50051;

describe('operator serves translated GRPCRoutes to a real proxyless gRPC client', () => {
  const suffix = uniqueSuffix();
  const ns = `e2e-${suffix}`;
  const controllerName = `legate.dev/e2e-${suffix}`;
  const gatewayKey = `${ns}/web` as const;
  let cluster: TestCluster;
  let kube: Kube;
  let operator: OperatorProcess;
  let client: ProxylessClient;
  let xdsCa: XdsCaFolder;
  const backends: Record<string, Backend> = {};
  let host: TestHost;

  const apply = (obj: KubernetesObject) => kube.apply(obj);
  const route = (weights: { a: number; b: number }): GRPCRoute & KubernetesObject => ({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'GRPCRoute',
    metadata: { namespace: ns, name: 'backend' },
    spec: {
      parentRefs: [{ name: 'web' }],
      rules: [
        {
          matches: [{ headers: [{ name: 'x-tier', value: 'gold' }] }],
          backendRefs: [{ name: 'gold', port: servicePort }],
        },
        {
          backendRefs: [
            { name: 'a', port: servicePort, weight: weights.a },
            { name: 'b', port: servicePort, weight: weights.b },
          ],
        },
      ],
    },
  });

  before(async () => {
    cluster = await testCluster();
    kube = new Kube(cluster.kubeConfig());
    await kube.createNamespace(ns);
    host = startTestHost();
    for (const name of ['gold', 'a', 'b']) backends[name] = await host.startGrpcBackend(name);

    xdsCa = await xdsCaFolder();

    await apply({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'GatewayClass',
      metadata: { name: `e2e-${suffix}` },
      spec: { controllerName },
    } as KubernetesObject);
    await apply({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { namespace: ns, name: 'web', annotations: { [proxylessAnnotation]: 'true' } },
      spec: { gatewayClassName: `e2e-${suffix}`, listeners: [{ name: 'grpc', port: 80, protocol: 'HTTP' }] },
    } as KubernetesObject);
    for (const name of ['gold', 'a', 'b']) {
      await apply(grpcService(ns, name, servicePort));
      await apply(backendSlice(ns, name, backends[name] as Backend, host.address));
    }
    await apply(route({ a: 90, b: 10 }));

    operator = startOperator({
      kubeconfigPath: cluster.kubeconfigPath,
      namespace: ns,
      controllerName,
      leaseName: `e2e-${suffix}`,
      identity: 'e2e',
      extraArgs: ['--leader-elect', 'false', '--xds-ca-dir', xdsCa.dir, '--xds-proxyless-port', '0'],
    });
    const listening = await eventually('the xDS server to listen', async () =>
      operator.logs.find((l) => l.msg === 'xds server listening'),
    );
    client = proxylessClient(listening.proxylessPort as number, gatewayKey, apiListenerName(gatewayKey, 'grpc'));
    // The first call waits for the xDS resources and a backend connection: settle that once here, so
    // each test's figures measure routing, not start-up.
    await eventually('the first routed call', () => client.who({ 'x-tier': 'gold' }, 2000), 30_000, 200);
  });

  after(async () => {
    client?.close();
    await operator?.stop();
    host?.stop();
    xdsCa?.remove();
    await cluster?.stop();
  });

  it('routes a call matching the GRPCRoute header to its backend', async () => {
    const counts = await client.spread(20, { 'x-tier': 'gold' });
    assert.deepEqual([...counts], [['gold', 20]]);
  });

  it('writes Accepted and ResolvedRefs on the route for its Gateway', async () => {
    const status = await eventually('route status', async () => {
      const r = await kube.get<GRPCRoute>('gateway.networking.k8s.io/v1', 'GRPCRoute', ns, 'backend');
      const parent = r?.status?.parents?.find((p) => p.controllerName === controllerName);
      return parent?.conditions?.length ? parent : undefined;
    });
    const byType = Object.fromEntries((status.conditions ?? []).map((c) => [c.type, c.status]));
    assert.equal(byType.Accepted, 'True');
    assert.equal(byType.ResolvedRefs, 'True');
  });

  it('splits 90/10 and follows a weight change made in the API server, without restarting the client', async () => {
    const first = await client.spread(1000);
    assert.ok(Math.abs((first.get('a') ?? 0) - 900) <= 50, `90/10 expected, got ${JSON.stringify([...first])}`);

    await apply(route({ a: 10, b: 90 }));
    await eventually(
      'the new split',
      async () => ((await client.spread(100)).get('b') ?? 0) >= 70 || undefined,
      20_000,
      200,
    );
    const second = await client.spread(1000);
    assert.ok(Math.abs((second.get('b') ?? 0) - 900) <= 50, `10/90 expected, got ${JSON.stringify([...second])}`);
  });

  it('moves traffic to the remaining backend when one loses its endpoints', async () => {
    await kube.objects.delete({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { namespace: ns, name: `b-${(backends.b as Backend).name}` },
    });
    await eventually('all traffic on a', async () => ((await client.spread(50)).get('a') === 50 ? true : undefined));
    const after = await client.spread(200);
    assert.deepEqual([...after], [['a', 200]]);
  });
});
