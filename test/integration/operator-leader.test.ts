// Two operator processes share one Lease: one leads and reconciles, the other waits. Killing the
// leader with SIGKILL (no chance to release the Lease) makes the standby take over within 15 s and
// reconcile a change made while nobody led. A clean SIGTERM releases the Lease for a faster handover.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CoordinationV1Api, type KubernetesObject } from '@kubernetes/client-node';
import { type TestCluster, testCluster } from '../harness/cluster.ts';
import { eventually, Kube, type OperatorProcess, startOperator, uniqueSuffix } from './operator-helpers.ts';

// biome-ignore lint/suspicious/noExplicitAny: manifests read back in tests
type Obj = KubernetesObject & Record<string, any>;
const gwApi = 'gateway.networking.k8s.io/v1';

describe('operator: leader election on a Lease', () => {
  const suffix = uniqueSuffix();
  const ns = `op-leader-${suffix}`;
  const controllerName = `legate.dev/test-${suffix}`;
  const className = `legate-${suffix}`;
  const leaseName = `legate-${suffix}`;
  let cluster: TestCluster;
  let kube: Kube;
  const operators: OperatorProcess[] = [];

  const start = (identity: string) => {
    const op = startOperator({
      kubeconfigPath: cluster.kubeconfigPath,
      namespace: ns,
      controllerName,
      leaseName,
      identity,
    });
    operators.push(op);
    return op;
  };
  const holder = async () =>
    (
      await cluster
        .kubeConfig()
        .makeApiClient(CoordinationV1Api)
        .readNamespacedLease({ name: leaseName, namespace: ns })
    ).spec?.holderIdentity;
  const gatewayWithPort = (port: number) =>
    ({
      apiVersion: gwApi,
      kind: 'Gateway',
      metadata: { name: 'web', namespace: ns },
      spec: { gatewayClassName: className, listeners: [{ name: 'http', protocol: 'HTTP', port }] },
    }) as Obj;
  const servicePorts = async () =>
    ((await kube.get<Obj>('v1', 'Service', ns, 'legate-web'))?.spec.ports ?? []).map((p: { port: number }) => p.port);

  before(async () => {
    cluster = await testCluster();
    kube = new Kube(cluster.kubeConfig());
    await kube.createNamespace(ns);
    await kube.apply({
      apiVersion: gwApi,
      kind: 'GatewayClass',
      metadata: { name: className },
      spec: { controllerName },
    } as Obj);
    await kube.apply(gatewayWithPort(8080));
  });

  after(async () => {
    for (const op of operators) await op.stop('SIGKILL');
    await kube?.objects
      .delete({ apiVersion: gwApi, kind: 'GatewayClass', metadata: { name: className } })
      .catch(() => {});
    await kube?.core.deleteNamespace({ name: ns }).catch(() => {});
    await cluster?.stop();
  });

  it('lets exactly one of two replicas lead, and the standby take over within 15 s of the leader being killed', async () => {
    const a = start(`a-${suffix}`);
    await eventually('a leads', async () =>
      (await holder().catch(() => undefined)) === `a-${suffix}` ? true : undefined,
    );
    const b = start(`b-${suffix}`);
    await eventually('Service from the leader', async () => ((await servicePorts()).includes(8080) ? true : undefined));
    // b syncs its caches and stays a standby while a renews.
    await eventually('b ready', async () => {
      const port = b.healthPort();
      return port && (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200 ? true : undefined;
    });
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(await holder(), `a-${suffix}`);
    assert.equal(
      b.logs.some((l) => l.msg === 'became leader'),
      false,
      'the standby does not lead',
    );
    assert.match(await (await fetch(`http://127.0.0.1:${b.metricsPort()}/metrics`)).text(), /legate_leader 0/);

    a.child.kill('SIGKILL');
    const killedAt = Date.now();
    await a.exited;
    // A change made while no replica leads.
    await kube.apply(gatewayWithPort(9090));
    await eventually(
      'the standby reconciles the change',
      async () => ((await servicePorts()).includes(9090) ? true : undefined),
      20_000,
    );
    const takeover = Date.now() - killedAt;
    console.log(`standby took over and reconciled ${takeover} ms after the leader was killed`);
    assert.ok(takeover < 15_000, `took ${takeover} ms`);
    assert.equal(await holder(), `b-${suffix}`);
  });

  it('hands the Lease over at once when the leader stops cleanly', async () => {
    const c = start(`c-${suffix}`);
    await eventually('c ready', async () => {
      const port = c.healthPort();
      return port && (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200 ? true : undefined;
    });
    const b = operators.find(
      (o) => o.logs.some((l) => l.msg === 'became leader') && o.child.exitCode === null && o.child.signalCode === null,
    );
    assert.ok(b);
    const stoppedAt = Date.now();
    await b.stop('SIGTERM');
    assert.ok(
      b.logs.some((l) => l.msg === 'released leader lease'),
      JSON.stringify(b.logs.slice(-6)),
    );
    await eventually('c leads', async () => ((await holder()) === `c-${suffix}` ? true : undefined), 10_000);
    const handover = Date.now() - stoppedAt;
    console.log(`clean handover took ${handover} ms`);
    assert.ok(handover < 5_000, `took ${handover} ms`);
  });
});
