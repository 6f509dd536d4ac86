// Proves the test control plane is a real Kubernetes API server with the real Gateway API CRDs:
// objects round-trip, CRD validation rejects bad input with its own message, and watches see updates.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  VersionApi,
  Watch,
} from '@kubernetes/client-node';
import { type TestCluster, testCluster } from '../harness/cluster.ts';

const group = 'gateway.networking.k8s.io';
const version = 'v1';

describe('test cluster (real kube-apiserver + etcd)', () => {
  let cluster: TestCluster;
  let kc: KubeConfig;
  let objects: CustomObjectsApi;
  const namespace = `smoke-${Date.now().toString(36)}`;

  before(async () => {
    cluster = await testCluster();
    kc = cluster.kubeConfig();
    objects = kc.makeApiClient(CustomObjectsApi);
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
  });
  after(() => cluster.stop());

  it('is a real kube-apiserver of Kubernetes 1.34 or newer', async () => {
    const info = await kc.makeApiClient(VersionApi).getCode();
    console.log(`kube-apiserver /version: ${JSON.stringify(info)}`);
    assert.equal(info.major, '1');
    assert.ok(Number.parseInt(info.minor, 10) >= 34, `minor ${info.minor} is older than 1.34`);
    assert.match(info.gitVersion, /^v1\.\d+\.\d+/);
  });

  it('stores a GatewayClass and a Gateway and reads them back', async () => {
    const className = `${namespace}-class`;
    await objects.createClusterCustomObject({
      group,
      version,
      plural: 'gatewayclasses',
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'GatewayClass',
        metadata: { name: className },
        spec: { controllerName: 'legate.dev/gateway-controller' },
      },
    });
    await objects.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'gateways',
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'Gateway',
        metadata: { name: 'web' },
        spec: { gatewayClassName: className, listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] },
      },
    });

    const gatewayClass = await objects.getClusterCustomObject({
      group,
      version,
      plural: 'gatewayclasses',
      name: className,
    });
    assert.equal(gatewayClass.spec.controllerName, 'legate.dev/gateway-controller');
    const gateway = await objects.getNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'gateways',
      name: 'web',
    });
    assert.equal(gateway.spec.gatewayClassName, className);
    assert.deepEqual(
      gateway.spec.listeners.map((l: { name: string; port: number }) => [l.name, l.port]),
      [['http', 80]],
    );
    // The CRD's defaults were applied by the API server, not by us.
    assert.equal(gateway.spec.listeners[0].allowedRoutes.namespaces.from, 'Same');
  });

  it('rejects an invalid HTTPRoute with the CRD validation message', async () => {
    const badRoute = {
      apiVersion: `${group}/${version}`,
      kind: 'HTTPRoute',
      metadata: { name: 'bad-path' },
      spec: {
        parentRefs: [{ name: 'web' }],
        rules: [{ matches: [{ path: { type: 'PathPrefix', value: 'no-leading-slash' } }] }],
      },
    };
    await assert.rejects(
      objects.createNamespacedCustomObject({ group, version, namespace, plural: 'httproutes', body: badRoute }),
      (err: Error & { code?: number; body?: string }) => {
        assert.equal(err.code, 422);
        const status = JSON.parse(String(err.body)) as { reason: string; message: string };
        assert.equal(status.reason, 'Invalid');
        assert.match(status.message, /HTTPRoute\.gateway\.networking\.k8s\.io "bad-path" is invalid/);
        assert.match(
          status.message,
          /spec\.rules\[0\]\.matches\[0\]\.path: .*must be an absolute path and start with '\/'/,
        );
        return true;
      },
    );
  });

  it('delivers an update to a watch', async () => {
    const name = 'watched';
    await objects.createNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'httproutes',
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'HTTPRoute',
        metadata: { name },
        spec: { parentRefs: [{ name: 'web' }], hostnames: ['a.example.com'] },
      },
    });
    const seen = new Promise<KubernetesObject & { spec: { hostnames: string[] } }>((resolve, reject) => {
      const watch = new Watch(kc);
      let request: { abort(): void } | undefined;
      watch
        .watch(
          `/apis/${group}/${version}/namespaces/${namespace}/httproutes`,
          { fieldSelector: `metadata.name=${name}` },
          (type, obj: KubernetesObject & { spec: { hostnames: string[] } }) => {
            if (type === 'MODIFIED') {
              request?.abort();
              resolve(obj);
            }
          },
          (err) => err && reject(err),
        )
        .then((req) => {
          request = req;
          return objects.patchNamespacedCustomObject({
            group,
            version,
            namespace,
            plural: 'httproutes',
            name,
            body: [{ op: 'replace', path: '/spec/hostnames/0', value: 'b.example.com' }],
          });
        }, reject);
    });
    const updated = await seen;
    assert.deepEqual(updated.spec.hostnames, ['b.example.com']);
  });
});
