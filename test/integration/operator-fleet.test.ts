// The operator against a real API server: a GatewayClass + ProxyConfig + Gateway become the Envoy
// fleet with the ProxyConfig's values, status follows the fleet, edits flow through, hand edits are
// put back, bad input becomes conditions and Events, and deleting the Gateway leaves nothing.
// The operator runs as its own process (operator/src/main.ts), scoped to this suite's namespace and
// controllerName so suites sharing the cluster never see each other's objects.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AppsV1Api, type KubernetesObject, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { type TestCluster, testCluster } from '../harness/cluster.ts';
import {
  eventually,
  Kube,
  type OperatorProcess,
  startOperator,
  uniqueSuffix,
  type XdsCaFolder,
  xdsCaFolder,
} from './operator-helpers.ts';

// biome-ignore lint/suspicious/noExplicitAny: manifests read back in tests
type Obj = KubernetesObject & Record<string, any>;

const gwApi = 'gateway.networking.k8s.io/v1';
const kinds = [
  ['v1', 'ServiceAccount'],
  ['v1', 'ConfigMap'],
  ['apps/v1', 'Deployment'],
  ['v1', 'Service'],
  ['autoscaling/v2', 'HorizontalPodAutoscaler'],
  ['policy/v1', 'PodDisruptionBudget'],
] as const;

describe('operator: an Envoy fleet per Gateway', () => {
  const suffix = uniqueSuffix();
  const ns = `op-fleet-${suffix}`;
  const controllerName = `legate.dev/test-${suffix}`;
  const className = `legate-${suffix}`;
  let cluster: TestCluster;
  let kube: Kube;
  let operator: OperatorProcess;
  let xdsCa: XdsCaFolder;

  const condition = (obj: Obj | undefined, type: string) =>
    (obj?.status?.conditions as { type: string; status: string; reason: string; message: string }[] | undefined)?.find(
      (c) => c.type === type,
    );
  const gateway = (name: string) => kube.get<Obj>(gwApi, 'Gateway', ns, name);
  const managed = (apiVersion: string, kind: string, gw: string) => kube.get<Obj>(apiVersion, kind, ns, `legate-${gw}`);

  before(async () => {
    // As the chart runs it: with an xDS CA, so Gateways get client certificates and the translator
    // (which writes per-listener status) runs too.
    xdsCa = await xdsCaFolder();
    cluster = await testCluster();
    kube = new Kube(cluster.kubeConfig());
    await kube.createNamespace(ns);
    await kube.apply({
      apiVersion: 'legate.dev/v1alpha1',
      kind: 'ProxyConfig',
      metadata: { name: 'class-defaults', namespace: ns },
      spec: {
        envoy: { image: 'envoyproxy/envoy:v1.40.0', logLevel: 'warning' },
        autoscaling: { minReplicas: 2, maxReplicas: 7, targetCPUUtilizationPercentage: 65 },
        resources: { requests: { cpu: '250m', memory: '200Mi' } },
        service: { type: 'NodePort' },
      },
    } as Obj);
    await kube.apply({
      apiVersion: gwApi,
      kind: 'GatewayClass',
      metadata: { name: className },
      spec: {
        controllerName,
        parametersRef: { group: 'legate.dev', kind: 'ProxyConfig', name: 'class-defaults', namespace: ns },
      },
    } as Obj);
    operator = startOperator({
      kubeconfigPath: cluster.kubeconfigPath,
      namespace: ns,
      controllerName,
      leaseName: `legate-${suffix}`,
      identity: `fleet-${suffix}`,
      extraArgs: ['--xds-ca-dir', xdsCa.dir],
    });
  });

  after(async () => {
    await operator?.stop();
    await kube?.objects
      .delete({ apiVersion: gwApi, kind: 'GatewayClass', metadata: { name: className } })
      .catch(() => {});
    await kube?.core.deleteNamespace({ name: ns }).catch(() => {});
    await cluster?.stop();
    xdsCa?.remove();
  });

  it('accepts its GatewayClass', async () => {
    const gc = await eventually('GatewayClass Accepted', async () => {
      const obj = await kube.get<Obj>(gwApi, 'GatewayClass', undefined, className);
      return condition(obj, 'Accepted')?.status === 'True' ? obj : undefined;
    });
    assert.equal(condition(gc, 'Accepted')?.reason, 'Accepted');
  });

  it('creates the fleet with the ProxyConfig values, owned by and labelled for the Gateway', async () => {
    const started = Date.now();
    const gw = await kube.apply({
      apiVersion: gwApi,
      kind: 'Gateway',
      metadata: { name: 'web', namespace: ns },
      spec: {
        gatewayClassName: className,
        infrastructure: { labels: { team: 'a' }, annotations: { 'example.com/owner': 'team-a' } },
        listeners: [
          { name: 'http', protocol: 'HTTP', port: 80 },
          { name: 'alt', protocol: 'HTTP', port: 8080 },
        ],
      },
    } as Obj);
    for (const [apiVersion, kind] of kinds) {
      const obj = await eventually(`${kind} legate-web`, () => managed(apiVersion, kind, 'web'));
      assert.equal(obj.metadata?.labels?.['app.kubernetes.io/managed-by'], 'legate', kind);
      assert.equal(obj.metadata?.labels?.['app.kubernetes.io/name'], 'envoy', kind);
      assert.equal(obj.metadata?.labels?.['gateway.networking.k8s.io/gateway-name'], 'web', kind);
      assert.equal(obj.metadata?.labels?.team, 'a', `${kind} carries the infrastructure labels`);
      assert.equal(obj.metadata?.annotations?.['example.com/owner'], 'team-a', kind);
      assert.deepEqual(
        obj.metadata?.ownerReferences?.map((o) => [o.kind, o.name, o.uid]),
        [['Gateway', 'web', gw.metadata?.uid]],
      );
    }
    console.log(`fleet of 6 objects created in ${Date.now() - started} ms`);
    const hpa = (await managed('autoscaling/v2', 'HorizontalPodAutoscaler', 'web')) as Obj;
    assert.equal(hpa.spec.minReplicas, 2);
    assert.equal(hpa.spec.maxReplicas, 7);
    assert.equal(hpa.spec.metrics[0].resource.name, 'cpu');
    assert.equal(hpa.spec.metrics[0].resource.target.averageUtilization, 65);
    const deploy = (await managed('apps/v1', 'Deployment', 'web')) as Obj;
    const ours = deploy.metadata?.managedFields?.find((m) => m.manager === 'legate-operator');
    assert.ok(ours, 'applied with server-side apply as legate-operator');
    assert.equal(JSON.stringify(ours.fieldsV1).includes('"f:replicas"'), false, 'replicas is left to the HPA');
    const envoy = deploy.spec.template.spec.containers[0];
    assert.equal(envoy.image, 'envoyproxy/envoy:v1.40.0');
    assert.equal(envoy.resources.requests.cpu, '250m');
    assert.ok(envoy.args.includes('warning'));
    const svc = (await managed('v1', 'Service', 'web')) as Obj;
    assert.equal(svc.spec.type, 'NodePort');
    assert.deepEqual(
      svc.spec.ports.map((p: { port: number; targetPort: number }) => [p.port, p.targetPort]),
      [
        [80, 10080],
        [8080, 8080],
      ],
    );
    const cm = (await managed('v1', 'ConfigMap', 'web')) as Obj;
    assert.equal(JSON.parse(cm.data['bootstrap.json']).node.cluster, `${ns}/web`);
  });

  it('reports Accepted, addresses from the Service, listener kinds, and Programmed once a replica is available', async () => {
    const gw = await eventually('Gateway Accepted', async () => {
      const obj = await gateway('web');
      const ready = condition(obj, 'Accepted')?.status === 'True' && obj?.status?.addresses?.length;
      return ready && obj?.status?.listeners?.length === 2 ? obj : undefined;
    });
    const svc = (await managed('v1', 'Service', 'web')) as Obj;
    assert.deepEqual(gw.status.addresses, [{ type: 'IPAddress', value: svc.spec.clusterIP }]);
    assert.equal(condition(gw, 'Programmed')?.status, 'False');
    assert.equal(condition(gw, 'Programmed')?.reason, 'Pending');
    const http = gw.status.listeners.find((l: { name: string }) => l.name === 'http');
    assert.deepEqual(
      http.supportedKinds.map((k: { kind: string }) => k.kind),
      ['HTTPRoute', 'GRPCRoute'],
    );
    // Nothing runs pods here: play the Deployment controller and report an available replica.
    const appsApi = cluster.kubeConfig().makeApiClient(AppsV1Api);
    await appsApi.patchNamespacedDeploymentStatus(
      {
        name: 'legate-web',
        namespace: ns,
        body: { status: { replicas: 1, readyReplicas: 1, availableReplicas: 1 } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const programmed = await eventually('Programmed=True', async () => {
      const obj = await gateway('web');
      return condition(obj, 'Programmed')?.status === 'True' ? obj : undefined;
    });
    assert.equal(condition(programmed, 'Programmed')?.reason, 'Programmed');
  });

  it('updates the HPA and Deployment in place when the ProxyConfig changes', async () => {
    const before = (await managed('apps/v1', 'Deployment', 'web')) as Obj;
    await kube.apply({
      apiVersion: 'legate.dev/v1alpha1',
      kind: 'ProxyConfig',
      metadata: { name: 'class-defaults', namespace: ns },
      spec: {
        envoy: { image: 'envoyproxy/envoy:v1.36.3', logLevel: 'warning' },
        autoscaling: { minReplicas: 3, maxReplicas: 12, targetCPUUtilizationPercentage: 50 },
        resources: { requests: { cpu: '500m', memory: '200Mi' } },
        service: { type: 'NodePort' },
      },
    } as Obj);
    const hpa = await eventually('HPA updated', async () => {
      const obj = await managed('autoscaling/v2', 'HorizontalPodAutoscaler', 'web');
      return obj?.spec.maxReplicas === 12 ? obj : undefined;
    });
    assert.equal(hpa.spec.minReplicas, 3);
    assert.equal(hpa.spec.metrics[0].resource.target.averageUtilization, 50);
    const after = await eventually('Deployment updated', async () => {
      const obj = await managed('apps/v1', 'Deployment', 'web');
      return obj?.spec.template.spec.containers[0].image === 'envoyproxy/envoy:v1.36.3' ? obj : undefined;
    });
    assert.equal(after.metadata?.uid, before.metadata?.uid, 'updated in place, not recreated');
    assert.equal(after.spec.template.spec.containers[0].resources.requests.cpu, '500m');
  });

  it('puts back a hand edit of a managed field', async () => {
    await kube.objects.patch(
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'legate-web', namespace: ns },
        spec: { template: { spec: { terminationGracePeriodSeconds: 1 } } },
      } as Obj,
      undefined,
      undefined,
      'kubectl-edit',
      undefined,
      PatchStrategy.MergePatch,
    );
    await kube.objects.patch(
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'legate-web', namespace: ns },
        spec: { type: 'ClusterIP', ports: [{ name: 'tcp-80', port: 80, protocol: 'TCP', targetPort: 9999 }] },
      } as Obj,
      undefined,
      undefined,
      'kubectl-edit',
      undefined,
      PatchStrategy.MergePatch,
    );
    const deploy = await eventually('Deployment put back', async () => {
      const obj = await managed('apps/v1', 'Deployment', 'web');
      return obj?.spec.template.spec.terminationGracePeriodSeconds === 20 ? obj : undefined;
    });
    assert.ok(deploy);
    const svc = await eventually('Service put back', async () => {
      const obj = await managed('v1', 'Service', 'web');
      return obj?.spec.type === 'NodePort' && obj.spec.ports.every((p: { targetPort: number }) => p.targetPort !== 9999)
        ? obj
        : undefined;
    });
    assert.ok(svc);
  });

  it('follows a listener port change in the Service', async () => {
    await kube.apply({
      apiVersion: gwApi,
      kind: 'Gateway',
      metadata: { name: 'web', namespace: ns },
      spec: {
        gatewayClassName: className,
        infrastructure: { labels: { team: 'a' }, annotations: { 'example.com/owner': 'team-a' } },
        listeners: [
          { name: 'http', protocol: 'HTTP', port: 80 },
          { name: 'alt', protocol: 'HTTP', port: 9090 },
        ],
      },
    } as Obj);
    const svc = await eventually('Service port 9090', async () => {
      const obj = await managed('v1', 'Service', 'web');
      return obj?.spec.ports.some((p: { port: number }) => p.port === 9090) ? obj : undefined;
    });
    assert.deepEqual(
      svc.spec.ports.map((p: { port: number }) => p.port),
      [80, 9090],
    );
  });

  it('stamps listener conditions with the new generation after a spec change that leaves them as they were', async () => {
    await kube.apply({
      apiVersion: gwApi,
      kind: 'Gateway',
      metadata: { name: 'web', namespace: ns },
      spec: {
        gatewayClassName: className,
        infrastructure: { labels: { team: 'a' }, annotations: { 'example.com/owner': 'team-a2' } },
        listeners: [
          { name: 'http', protocol: 'HTTP', port: 80 },
          { name: 'alt', protocol: 'HTTP', port: 9090 },
        ],
      },
    } as Obj);
    const gw = await eventually('listener status for the new generation', async () => {
      const obj = await gateway('web');
      const stamped = (obj?.status?.listeners ?? []).flatMap((l: { conditions: { observedGeneration: number }[] }) =>
        l.conditions.map((c) => c.observedGeneration),
      );
      return stamped.length > 0 && stamped.every((g: number) => g === obj?.metadata?.generation) ? obj : undefined;
    });
    assert.deepEqual(gw.status.listeners.map((l: { name: string }) => l.name).sort(), ['alt', 'http']);
  });

  it('deletes the HPA and sets replicas when autoscaling is switched off per Gateway', async () => {
    await kube.apply({
      apiVersion: 'legate.dev/v1alpha1',
      kind: 'ProxyConfig',
      metadata: { name: 'web-fixed', namespace: ns },
      spec: { replicas: 4 },
    } as Obj);
    // A Gateway-level ProxyConfig cannot unset the class's autoscaling field by field, so the class
    // drops it and the Gateway pins the replica count.
    await kube.apply({
      apiVersion: 'legate.dev/v1alpha1',
      kind: 'ProxyConfig',
      metadata: { name: 'class-defaults', namespace: ns },
      spec: { envoy: { image: 'envoyproxy/envoy:v1.36.3' }, service: { type: 'NodePort' } },
    } as Obj);
    await kube.apply({
      apiVersion: gwApi,
      kind: 'Gateway',
      metadata: { name: 'web', namespace: ns },
      spec: {
        gatewayClassName: className,
        infrastructure: {
          labels: { team: 'a' },
          annotations: { 'example.com/owner': 'team-a' },
          parametersRef: { group: 'legate.dev', kind: 'ProxyConfig', name: 'web-fixed' },
        },
        listeners: [
          { name: 'http', protocol: 'HTTP', port: 80 },
          { name: 'alt', protocol: 'HTTP', port: 9090 },
        ],
      },
    } as Obj);
    await eventually('HPA deleted', async () =>
      (await managed('autoscaling/v2', 'HorizontalPodAutoscaler', 'web')) ? undefined : true,
    );
    const deploy = await eventually('replicas 4', async () => {
      const obj = await managed('apps/v1', 'Deployment', 'web');
      return obj?.spec.replicas === 4 ? obj : undefined;
    });
    assert.ok(deploy);
  });

  it('reports an unknown parametersRef as Accepted=False/InvalidParameters with an Event, sparing other Gateways', async () => {
    await kube.apply({
      apiVersion: gwApi,
      kind: 'Gateway',
      metadata: { name: 'broken', namespace: ns },
      spec: {
        gatewayClassName: className,
        infrastructure: { parametersRef: { group: 'legate.dev', kind: 'ProxyConfig', name: 'does-not-exist' } },
        listeners: [{ name: 'http', protocol: 'HTTP', port: 80 }],
      },
    } as Obj);
    const gw = await eventually('broken Gateway status', async () => {
      const obj = await gateway('broken');
      return condition(obj, 'Accepted')?.status === 'False' ? obj : undefined;
    });
    assert.equal(condition(gw, 'Accepted')?.reason, 'InvalidParameters');
    assert.match(condition(gw, 'Accepted')?.message ?? '', /ProxyConfig .*does-not-exist not found/);
    assert.equal(await managed('apps/v1', 'Deployment', 'broken'), undefined, 'no fleet for an invalid Gateway');
    const events = await eventually('InvalidParameters event', async () => {
      const list = await kube.core.listNamespacedEvent({ namespace: ns });
      const found = list.items.filter((e) => e.involvedObject.name === 'broken' && e.reason === 'InvalidParameters');
      return found.length > 0 ? found : undefined;
    });
    assert.equal(events[0]?.type, 'Warning');
    // The good Gateway is untouched.
    assert.equal(condition(await gateway('web'), 'Accepted')?.status, 'True');
    assert.ok(operator.child.exitCode === null, 'the operator is still running');
  });

  it('reports a port clash on the listener, with an Event', async () => {
    await kube.apply({
      apiVersion: gwApi,
      kind: 'Gateway',
      metadata: { name: 'clash', namespace: ns },
      spec: {
        gatewayClassName: className,
        listeners: [
          { name: 'web', protocol: 'HTTP', port: 8443 },
          { name: 'tls', protocol: 'HTTPS', port: 8443, tls: { certificateRefs: [{ name: 'cert' }] } },
        ],
      },
    } as Obj);
    const gw = await eventually('clash status', async () => {
      const obj = await gateway('clash');
      const done = obj?.status?.listeners?.length === 2 && condition(obj, 'Accepted')?.reason === 'ListenersNotValid';
      return done ? obj : undefined;
    });
    // Whichever side the status writer marks, the clash shows as Conflicted=True/ProtocolConflict.
    const conflicted = gw.status.listeners
      .flatMap((l: { conditions: { type: string; status: string; reason: string }[] }) => l.conditions)
      .filter((c: { type: string; status: string }) => c.type === 'Conflicted' && c.status === 'True');
    assert.ok(conflicted.length > 0, JSON.stringify(gw.status.listeners));
    assert.equal(conflicted[0].reason, 'ProtocolConflict');
    assert.equal(condition(gw, 'Accepted')?.reason, 'ListenersNotValid');
    await eventually('ProtocolConflict event', async () => {
      const list = await kube.core.listNamespacedEvent({ namespace: ns });
      return list.items.some((e) => e.involvedObject.name === 'clash' && e.reason === 'ProtocolConflict')
        ? true
        : undefined;
    });
  });

  it('serves health, readiness and Prometheus metrics', async () => {
    const health = await fetch(`http://127.0.0.1:${operator.healthPort()}/healthz`);
    assert.equal(health.status, 200);
    const ready = await fetch(`http://127.0.0.1:${operator.healthPort()}/readyz`);
    assert.equal(ready.status, 200);
    const metrics = await (await fetch(`http://127.0.0.1:${operator.metricsPort()}/metrics`)).text();
    assert.match(metrics, /legate_reconcile_total\{kind="gateway",result="success"\} [1-9]/);
    assert.match(metrics, /legate_reconcile_duration_seconds_count\{kind="gateway"\} [1-9]/);
    assert.match(metrics, /legate_managed_gateways [1-9]/);
    assert.match(metrics, /legate_leader 1/);
    const log = operator.logs.find((l) => l.msg === 'became leader');
    assert.ok(log && typeof log.time === 'string' && log.level === 'info', 'structured JSON logs');
  });

  it('removes every managed object when the Gateway is deleted', async () => {
    await kube.objects.delete({ apiVersion: gwApi, kind: 'Gateway', metadata: { name: 'web', namespace: ns } });
    for (const [apiVersion, kind] of [...kinds, ['v1', 'Secret']] as const) {
      await eventually(`${kind} deleted`, async () => ((await managed(apiVersion, kind, 'web')) ? undefined : true));
    }
    const left = await kube.objects.list('apps/v1', 'Deployment', ns);
    assert.deepEqual(
      left.items.map((d) => d.metadata?.name),
      ['legate-clash'],
      "only the other Gateway's fleet remains",
    );
  });
});
