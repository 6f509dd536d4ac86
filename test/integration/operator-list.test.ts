// The operator's initial list and periodic re-list against the real API server: every object arrives
// across pages (of built-in kinds and of CRDs), and what the cache keeps is trimmed of managedFields
// and kubectl's last-applied copy.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CustomObjectsApi, type KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';
import { listPages } from '../../operator/src/controller/list-pages.ts';
import { type TestCluster, testCluster } from '../harness/cluster.ts';
import { Kube, uniqueSuffix } from './operator-helpers.ts';

describe('listing a kind in pages', () => {
  const ns = `op-list-${uniqueSuffix()}`;
  let cluster: TestCluster;
  let kube: Kube;

  before(async () => {
    cluster = await testCluster();
    kube = new Kube(cluster.kubeConfig());
    await kube.createNamespace(ns);
    for (let i = 0; i < 5; i++) {
      await kube.apply({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: {
          namespace: ns,
          name: `svc-${i}`,
          annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"kind":"Service"}', team: 'a' },
        },
        spec: { ports: [{ port: 80 + i }] },
      } as KubernetesObject);
      await kube.apply({
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { namespace: ns, name: `route-${i}` },
        spec: {
          parentRefs: [{ name: 'gw' }],
          rules: [{ matches: [{ path: { type: 'PathPrefix', value: `/r${i}` } }] }],
        },
      } as KubernetesObject);
    }
  });
  after(async () => {
    await kube.core.deleteNamespace({ name: ns }).catch(() => undefined);
    await cluster.stop();
  });

  it('returns every object across pages, without managedFields or the last-applied copy', async () => {
    const objects = KubernetesObjectApi.makeApiClient(cluster.kubeConfig());
    const limits: (number | undefined)[] = [];
    const counting = Object.create(objects, {
      list: {
        value: (...args: Parameters<KubernetesObjectApi['list']>) => {
          limits.push(args[8]);
          return objects.list(...args);
        },
      },
    }) as KubernetesObjectApi;

    const items = await listPages(counting, { apiVersion: 'v1', kind: 'Service' }, ns, 2);

    assert.deepEqual(
      items.map((s) => s.metadata?.name),
      ['svc-0', 'svc-1', 'svc-2', 'svc-3', 'svc-4'],
    );
    assert.deepEqual(limits, [2, 2, 2], 'five objects in pages of two take three requests');
    for (const item of items) {
      assert.equal(item.metadata?.managedFields, undefined);
      assert.deepEqual(item.metadata?.annotations, { team: 'a' });
    }
    // The API server did record managedFields: the trimming is ours.
    const raw = await objects.read({ apiVersion: 'v1', kind: 'Service', metadata: { namespace: ns, name: 'svc-0' } });
    assert.ok((raw.metadata?.managedFields?.length ?? 0) > 0);
  });

  it('returns every HTTPRoute across pages: a CRD list keeps its continue token', async () => {
    // The operator's initial list and re-list of 4,000 HTTPRoutes used to stop after the first 500:
    // client-node reads a CRD list's metadata without `continue`.
    const objects = KubernetesObjectApi.makeApiClient(cluster.kubeConfig());
    const customObjects = cluster.kubeConfig().makeApiClient(CustomObjectsApi);
    const items = await listPages(
      objects,
      { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', plural: 'httproutes' },
      ns,
      2,
      customObjects,
    );

    assert.deepEqual(
      items.map((r) => r.metadata?.name),
      ['route-0', 'route-1', 'route-2', 'route-3', 'route-4'],
    );
    for (const item of items) {
      assert.equal(item.kind, 'HTTPRoute');
      assert.equal(item.metadata?.managedFields, undefined);
    }
  });
});
