// The WasmFilter and FilterPolicy CRDs on a real kube-apiserver: the examples under examples/filters/
// are accepted (with the schema's defaults applied), nonsense is rejected with the CEL rule's own
// message, and status is a subresource the operator can write without touching spec.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { type TestCluster, testCluster } from '../harness/cluster.ts';
import { applyManifests, readManifests } from '../harness/crds.ts';
import { repoRoot } from '../harness/go-tools.ts';

const group = 'legate.dev';
const version = 'v1alpha1';
const suffix = Date.now().toString(36);
// The examples use fixed namespaces; a suffix keeps reruns against a shared cluster independent.
const ns = { teamA: `team-a-${suffix}`, teamB: `team-b-${suffix}`, system: `legate-system-${suffix}` };

function examples(): Record<string, unknown>[] {
  const objects = readManifests(path.join(repoRoot, 'examples', 'filters')) as unknown as {
    metadata: { namespace: string };
    spec: { from?: { namespace: string }[]; filters?: { filterRef: { namespace?: string } }[] };
  }[];
  const rename = (n: string | undefined) =>
    n === 'team-a' ? ns.teamA : n === 'team-b' ? ns.teamB : n === 'legate-system' ? ns.system : n;
  for (const o of objects) {
    o.metadata.namespace = rename(o.metadata.namespace) ?? ns.teamA;
    for (const f of o.spec.from ?? []) f.namespace = rename(f.namespace) ?? '';
    for (const f of o.spec.filters ?? [])
      if (f.filterRef.namespace) f.filterRef.namespace = rename(f.filterRef.namespace);
  }
  return objects as unknown as Record<string, unknown>[];
}

type ApiError = Error & { code?: number; body?: string };

function rejectedWith(pattern: RegExp) {
  return (err: ApiError) => {
    assert.equal(err.code, 422, String(err.body ?? err.message));
    const status = JSON.parse(String(err.body)) as { reason: string; message: string };
    assert.equal(status.reason, 'Invalid');
    assert.match(status.message, pattern);
    return true;
  };
}

const wasmFilter = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: `${group}/${version}`,
  kind: 'WasmFilter',
  metadata: { name },
  spec,
});
const policy = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: `${group}/${version}`,
  kind: 'FilterPolicy',
  metadata: { name },
  spec,
});
const gatewayTarget = { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'web' };
const SHA = 'a'.repeat(64);

describe('WasmFilter and FilterPolicy CRDs (real kube-apiserver)', () => {
  let cluster: TestCluster;
  let kc: KubeConfig;
  let objects: CustomObjectsApi;

  before(async () => {
    cluster = await testCluster();
    kc = cluster.kubeConfig();
    objects = kc.makeApiClient(CustomObjectsApi);
    const core = kc.makeApiClient(CoreV1Api);
    for (const name of Object.values(ns)) await core.createNamespace({ body: { metadata: { name } } });
  });
  after(() => cluster.stop());

  const create = (plural: string, body: object, namespace = ns.teamA) =>
    objects.createNamespacedCustomObject({ group, version, namespace, plural, body });

  it('accepts every example and applies the failurePolicy default', async () => {
    const all = examples();
    assert.ok(all.length >= 5, 'examples/filters has the WasmFilter, FilterPolicy and ReferenceGrant examples');
    await applyManifests(kc, all as never);
    const https = await objects.getNamespacedCustomObject({
      group,
      version,
      namespace: ns.system,
      plural: 'wasmfilters',
      name: 'request-id',
    });
    assert.equal(https.spec.source.https.sha256.length, 64);
    const unset = await create(
      'wasmfilters',
      wasmFilter('defaults', { source: { type: 'ConfigMap', configMap: { name: 'm', key: 'filter.wasm' } } }),
    );
    assert.equal(unset.spec.failurePolicy, 'FailClosed');
    const route = await objects.getNamespacedCustomObject({
      group,
      version,
      namespace: ns.teamA,
      plural: 'filterpolicies',
      name: 'checkout-filters',
    });
    assert.deepEqual(
      route.spec.filters.map((f: { name: string }) => f.name),
      ['rewrite', 'request-id'],
    );
    assert.deepEqual(route.spec.filters[0].config, { headers: { 'x-team': 'team-a' } }, 'config is kept as given');
  });

  it('rejects a source whose type does not match its member', async () => {
    await assert.rejects(
      create('wasmfilters', wasmFilter('bad-type', { source: { type: 'HTTPS', configMap: { name: 'm', key: 'k' } } })),
      rejectedWith(/source\.type HTTPS needs source\.https and no source\.configMap/),
    );
    await assert.rejects(
      create(
        'wasmfilters',
        wasmFilter('both', {
          source: {
            type: 'ConfigMap',
            configMap: { name: 'm', key: 'k' },
            https: { url: 'https://x.example/f.wasm', sha256: SHA },
          },
        }),
      ),
      rejectedWith(/source\.type ConfigMap needs source\.configMap and no source\.https/),
    );
  });

  it('rejects a plain-http URL and an HTTPS source without a valid sha256', async () => {
    await assert.rejects(
      create(
        'wasmfilters',
        wasmFilter('http', { source: { type: 'HTTPS', https: { url: 'http://x.example/f.wasm', sha256: SHA } } }),
      ),
      rejectedWith(/source\.https\.url must start with https:\/\//),
    );
    await assert.rejects(
      create(
        'wasmfilters',
        wasmFilter('nosha', { source: { type: 'HTTPS', https: { url: 'https://x.example/f.wasm' } } }),
      ),
      rejectedWith(/spec\.source\.https\.sha256: Required value/),
    );
    await assert.rejects(
      create(
        'wasmfilters',
        wasmFilter('badsha', { source: { type: 'HTTPS', https: { url: 'https://x.example/f.wasm', sha256: 'ABC' } } }),
      ),
      rejectedWith(/spec\.source\.https\.sha256: Invalid value: "ABC"/),
    );
    await assert.rejects(
      create(
        'wasmfilters',
        wasmFilter('badpolicy', {
          source: { type: 'ConfigMap', configMap: { name: 'm', key: 'k' } },
          failurePolicy: 'Ignore',
        }),
      ),
      rejectedWith(/spec\.failurePolicy: Unsupported value: "Ignore"/),
    );
  });

  it('rejects duplicate filter names and duplicate targets in a FilterPolicy', async () => {
    const entry = { name: 'same', filterRef: { name: 'header-rewrite' } };
    await assert.rejects(
      create('filterpolicies', policy('dup-filters', { targetRefs: [gatewayTarget], filters: [entry, entry] })),
      rejectedWith(/filters\[\]\.name must be unique/),
    );
    await assert.rejects(
      create('filterpolicies', policy('dup-targets', { targetRefs: [gatewayTarget, gatewayTarget], filters: [entry] })),
      rejectedWith(/targetRefs must be unique \(kind, name, sectionName\)/),
    );
    // The same Gateway with two different listeners is two targets, not a duplicate.
    await create(
      'filterpolicies',
      policy('two-listeners', {
        targetRefs: [
          { ...gatewayTarget, sectionName: 'http' },
          { ...gatewayTarget, sectionName: 'https' },
        ],
        filters: [entry],
      }),
    );
  });

  it('rejects targets Legate cannot attach to and policies with nothing to attach', async () => {
    const entry = { name: 'x', filterRef: { name: 'header-rewrite' } };
    await assert.rejects(
      create(
        'filterpolicies',
        policy('svc', { targetRefs: [{ group: '', kind: 'Service', name: 's' }], filters: [entry] }),
      ),
      rejectedWith(/spec\.targetRefs\[0\]\.kind: Unsupported value: "Service"/),
    );
    await assert.rejects(
      create('filterpolicies', policy('empty', { targetRefs: [gatewayTarget], filters: [] })),
      rejectedWith(/spec\.filters: Invalid value: 0: spec\.filters in body should have at least 1 items/),
    );
  });

  it('stores status written through the status subresource without touching spec', async () => {
    const name = 'status-check';
    await create(
      'wasmfilters',
      wasmFilter(name, { source: { type: 'ConfigMap', configMap: { name: 'm', key: 'k' } } }),
    );
    const status = {
      observedGeneration: 1,
      sha256: SHA,
      size: 4096,
      abiVersion: '0.2.1',
      conditions: [
        {
          type: 'Ready',
          status: 'False',
          reason: 'ChecksumMismatch',
          message: `sha256 mismatch: expected ${SHA}, got ${'b'.repeat(64)}`,
          lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        },
      ],
    };
    await objects.patchNamespacedCustomObjectStatus({
      group,
      version,
      namespace: ns.teamA,
      plural: 'wasmfilters',
      name,
      body: [{ op: 'add', path: '/status', value: status }],
    });
    const read = await objects.getNamespacedCustomObject({
      group,
      version,
      namespace: ns.teamA,
      plural: 'wasmfilters',
      name,
    });
    assert.equal(read.status.conditions[0].reason, 'ChecksumMismatch');
    assert.equal(read.status.size, 4096);
    assert.equal(read.spec.failurePolicy, 'FailClosed');
  });
});
