// helm install, upgrade from the previous chart version, and uninstall against a real kube-apiserver:
// every object the chart renders is created, an upgrade keeps the xDS CA and removes what the new
// version no longer renders, and uninstall leaves nothing of the release behind (only the CRDs, as
// Helm documents for crds/).
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, type KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { type TestCluster, testCluster } from '../harness/cluster.ts';
import { chartDir, type Helm, helmCli, objectId, parseObjects } from '../harness/helm.ts';

const previousVersion = '0.1.0';

/**
 * The chart as it was one version ago: the current chart with the previous version number and one
 * object the current version no longer renders, so the upgrade has something to remove.
 */
function packagePreviousChart(dir: string): string {
  const copy = path.join(dir, 'legate');
  cpSync(chartDir, copy, { recursive: true });
  const chartYaml = path.join(copy, 'Chart.yaml');
  writeFileSync(chartYaml, readFileSync(chartYaml, 'utf8').replace(/^version: .*$/m, `version: ${previousVersion}`));
  writeFileSync(
    path.join(copy, 'templates', 'legacy-settings.yaml'),
    `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "legate.fullname" . }}-legacy-settings
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "legate.labels" . | nindent 4 }}
data:
  note: rendered by chart ${previousVersion} only
`,
  );
  return copy;
}

describe('helm install / upgrade / uninstall', () => {
  let helm: Helm;
  let cluster: TestCluster;
  let objects: KubernetesObjectApi;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'legate-helm-lifecycle-'));
  const namespace = `legate-${Date.now().toString(36)}`;
  const teamNamespace = `${namespace}-team`;
  const release = 'legate';
  // A realistic values file of a platform team: one watched namespace, a pinned tag, own resources.
  const valuesFile = path.join(tmp, 'values.yaml');
  let installed: KubernetesObject[] = [];

  const exists = async (o: KubernetesObject) =>
    objects
      .read({
        apiVersion: o.apiVersion,
        kind: o.kind,
        metadata: { name: o.metadata?.name as string, namespace: o.metadata?.namespace },
      })
      .then(
        () => true,
        (err: { code?: number }) => {
          if (err.code === 404) return false;
          throw err;
        },
      );
  const caSecret = async () =>
    cluster.kubeConfig().makeApiClient(CoreV1Api).readNamespacedSecret({ name: 'legate-xds-ca', namespace });

  before(async () => {
    cluster = await testCluster();
    helm = await helmCli(cluster.kubeconfigPath);
    objects = KubernetesObjectApi.makeApiClient(cluster.kubeConfig());
    const core = cluster.kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: teamNamespace } } });
    writeFileSync(
      valuesFile,
      stringify({
        image: { tag: '0.1.0' },
        watchNamespaces: [teamNamespace],
        resources: { requests: { cpu: '200m', memory: '256Mi' }, limits: { memory: '1Gi' } },
        gatewayClass: { name: `${namespace}-class`, proxyConfig: { service: { type: 'ClusterIP' } } },
      }),
    );
  });
  after(async () => {
    helm?.cleanup();
    rmSync(tmp, { recursive: true, force: true });
    await cluster?.stop();
  });

  it(`installs chart ${previousVersion} (the previous version) and creates every object it renders`, async () => {
    const previous = packagePreviousChart(tmp);
    const packaged = await helm.ok('package', previous, '--destination', tmp);
    const tgz = /saved it to: (\S+)/.exec(packaged)?.[1];
    assert.ok(tgz, packaged);
    const notes = await helm.ok(
      'install',
      release,
      tgz,
      '--namespace',
      namespace,
      '--create-namespace',
      '-f',
      valuesFile,
    );
    // The install notes tell the platform engineer what teams do next, with commands that fit these values.
    assert.match(
      notes,
      new RegExp(`Teams can now create a Gateway of class "${namespace}-class" in namespace ${teamNamespace}`),
    );
    assert.ok(notes.includes(`kubectl -n ${teamNamespace} get proxyconfig ${namespace}-class -o yaml`), notes);
    installed = parseObjects(await helm.ok('get', 'manifest', release, '--namespace', namespace));
    const ids = installed.map(objectId);
    for (const id of [
      `Deployment/${namespace}/legate`,
      `ServiceAccount/${namespace}/legate`,
      `Service/${namespace}/legate-xds`,
      `Service/${namespace}/legate-metrics`,
      `Secret/${namespace}/legate-xds-ca`,
      `ConfigMap/${namespace}/legate-legacy-settings`,
      'ClusterRole/legate',
      `Role/${teamNamespace}/legate`,
      `GatewayClass/${namespace}-class`,
      // With watchNamespaces the default ProxyConfig goes where the operator reads ProxyConfigs.
      `ProxyConfig/${teamNamespace}/${namespace}-class`,
    ]) {
      assert.ok(ids.includes(id), `${id} in ${ids.join(', ')}`);
    }
    for (const o of installed) assert.ok(await exists(o), `${objectId(o)} exists in the cluster`);
  });

  it('upgrades to the current chart: keeps the xDS CA, removes what the new version dropped', async () => {
    const before = (await caSecret()).data;
    const current = (/^version: (.*)$/m.exec(readFileSync(path.join(chartDir, 'Chart.yaml'), 'utf8')) ?? [])[1];
    await helm.ok('upgrade', release, chartDir, '--namespace', namespace, '-f', valuesFile);
    const after = (await caSecret()).data;
    assert.deepEqual(after, before, 'the CA Envoys trust survives the upgrade');

    const legacy = installed.find((o) => o.metadata?.name === 'legate-legacy-settings') as KubernetesObject;
    assert.equal(await exists(legacy), false, 'the ConfigMap only the previous chart rendered is gone');
    const deploy = (await objects.read({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'legate', namespace },
    })) as KubernetesObject;
    assert.equal(deploy.metadata?.labels?.['helm.sh/chart'], `legate-${current}`);
    const history = JSON.parse(await helm.ok('history', release, '--namespace', namespace, '-o', 'json')) as {
      revision: number;
      status: string;
      chart: string;
    }[];
    assert.deepEqual(
      history.map((h) => [h.revision, h.status, h.chart]),
      [
        [1, 'superseded', `legate-${previousVersion}`],
        [2, 'deployed', `legate-${current}`],
      ],
    );
    installed = parseObjects(await helm.ok('get', 'manifest', release, '--namespace', namespace));
  });

  it('uninstalls without leaving an object of the release behind (CRDs stay, as documented)', async () => {
    await helm.ok('uninstall', release, '--namespace', namespace, '--wait', '--timeout', '60s');
    for (const o of installed) assert.equal(await exists(o), false, `${objectId(o)} was removed`);
    // Nothing labelled with the release is left anywhere, and Helm's own release records are gone.
    const selector = `app.kubernetes.io/instance=${release}`;
    for (const [apiVersion, kind, ns] of [
      ['v1', 'ConfigMap', namespace],
      ['v1', 'Secret', namespace],
      ['v1', 'ServiceAccount', namespace],
      ['v1', 'Service', namespace],
      ['apps/v1', 'Deployment', namespace],
      ['rbac.authorization.k8s.io/v1', 'Role', teamNamespace],
      ['rbac.authorization.k8s.io/v1', 'RoleBinding', teamNamespace],
      ['rbac.authorization.k8s.io/v1', 'ClusterRole', undefined],
      ['rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', undefined],
      ['gateway.networking.k8s.io/v1', 'GatewayClass', undefined],
    ] as const) {
      const left = await objects.list(apiVersion, kind, ns, undefined, undefined, undefined, undefined, selector);
      assert.deepEqual(
        left.items.map((o) => o.metadata?.name),
        [],
        `${kind} left behind`,
      );
    }
    const records = await objects.list(
      'v1',
      'Secret',
      namespace,
      undefined,
      undefined,
      undefined,
      undefined,
      'owner=helm',
    );
    assert.deepEqual(
      records.items.map((o) => o.metadata?.name),
      [],
    );
    assert.ok(
      await exists({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'proxyconfigs.legate.dev' },
      }),
      'CRDs are kept (Helm never deletes crds/)',
    );
  });
});
