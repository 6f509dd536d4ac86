// The chart and the Gateway API CRDs, on a private API server that starts without them: the install
// fails with the version and the command to run; opting in with --set-file installs them with the
// chart (kept on uninstall); CRDs older than gatewayAPI.minVersion are refused.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApiextensionsV1Api, type KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import { startCluster, type TestCluster } from '../harness/cluster.ts';
import { gatewayApiCrdFiles, gatewayApiVersion } from '../harness/gateway-api.ts';
import { chartDir, type Helm, helmCli } from '../harness/helm.ts';

describe('helm chart and the Gateway API CRDs', () => {
  let cluster: TestCluster;
  let kc: KubeConfig;
  let helm: Helm;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'legate-helm-gwapi-'));
  const bundle = path.join(tmp, 'standard-install.yaml');
  const namespace = 'legate-system';

  const crdNames = async () =>
    (await kc.makeApiClient(ApiextensionsV1Api).listCustomResourceDefinition()).items.map((c) => c.metadata?.name);
  const gatewayClassExists = (name: string) =>
    KubernetesObjectApi.makeApiClient(kc)
      .read({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name } })
      .then(
        () => true,
        () => false,
      );

  before(async () => {
    // Private: the shared cluster has the Gateway API CRDs installed, and this suite needs it without.
    cluster = await startCluster({ crds: false });
    kc = cluster.kubeConfig();
    helm = await helmCli(cluster.kubeconfigPath);
    // What a user downloads as standard-install.yaml: the standard channel's files in one stream.
    writeFileSync(bundle, (await gatewayApiCrdFiles()).map((f) => readFileSync(f, 'utf8')).join('\n---\n'));
  });
  after(async () => {
    helm?.cleanup();
    rmSync(tmp, { recursive: true, force: true });
    await cluster?.stop();
  });

  it('fails the install with the required version and the command to install them', async () => {
    const result = await helm.run('install', 'legate', chartDir, '-n', namespace, '--create-namespace');
    assert.notEqual(result.code, 0);
    assert.match(
      result.stderr,
      /Legate needs the Gateway API CRDs \(standard channel, v1\.1\.0 or newer; tested with v1\.6\.3\)/,
    );
    assert.match(result.stderr, /missing: gatewayclasses, gateways, httproutes, grpcroutes, referencegrants/);
    assert.ok(
      result.stderr.includes(
        `kubectl apply --server-side -f https://github.com/kubernetes-sigs/gateway-api/releases/download/${gatewayApiVersion()}/standard-install.yaml`,
      ),
      result.stderr,
    );
    assert.deepEqual(JSON.parse(await helm.ok('list', '-A', '-a', '-o', 'json')), [], 'no release was recorded');
    // Helm applies crds/ before it renders templates, so Legate's own CRDs may already be there; no
    // template object is.
    const deployments = await KubernetesObjectApi.makeApiClient(kc)
      .list('apps/v1', 'Deployment', namespace)
      .then(
        (l) => l.items,
        () => [],
      );
    assert.deepEqual(deployments, []);
  });

  it('installs them with the chart when opted in with --set-file; the next upgrade adds the GatewayClass; uninstall keeps the CRDs', async () => {
    const installed = await helm.ok(
      'install',
      'legate',
      chartDir,
      '-n',
      namespace,
      '--create-namespace',
      '--set-file',
      `gatewayAPI.crds.manifest=${bundle}`,
    );
    const names = await crdNames();
    for (const crd of ['gatewayclasses', 'gateways', 'httproutes', 'grpcroutes', 'referencegrants']) {
      assert.ok(names.includes(`${crd}.gateway.networking.k8s.io`), `${crd} installed`);
    }
    assert.ok(names.includes('proxyconfigs.legate.dev'));
    // Helm resolves every kind before creating anything: the class cannot come in the same run.
    assert.equal(await gatewayClassExists('legate'), false);
    assert.match(installed, /helm upgrade legate <chart> -n legate-system --reuse-values/);

    await helm.ok('upgrade', 'legate', chartDir, '-n', namespace, '--reuse-values');
    assert.ok(await gatewayClassExists('legate'), 'the upgrade added the default GatewayClass');

    await helm.ok('uninstall', 'legate', '-n', namespace, '--wait');
    assert.equal(await gatewayClassExists('legate'), false, 'the GatewayClass went with the release');
    const kept = await crdNames();
    assert.ok(kept.includes('gateways.gateway.networking.k8s.io'), 'the Gateway API CRDs are kept');
  });

  it('refuses Gateway API CRDs older than gatewayAPI.minVersion', async () => {
    // Pretend the installed bundle is v1.0.0 (as a cluster that never upgraded would have it). The
    // bundle's own admission policy forbids exactly that edit, so it goes first.
    await KubernetesObjectApi.makeApiClient(kc).delete({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name: 'safe-upgrades.gateway.networking.k8s.io' },
    });
    const patch = () =>
      kc.makeApiClient(ApiextensionsV1Api).patchCustomResourceDefinition({
        name: 'gateways.gateway.networking.k8s.io',
        body: [
          { op: 'replace', path: '/metadata/annotations/gateway.networking.k8s.io~1bundle-version', value: 'v1.0.0' },
        ],
      });
    // The API server's admission plugin learns of the deleted binding a moment later.
    for (let attempt = 0; ; attempt++) {
      try {
        await patch();
        break;
      } catch (err) {
        if (attempt > 50) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const result = await helm.run('install', 'legate', chartDir, '-n', namespace, '--create-namespace');
    assert.notEqual(result.code, 0);
    assert.match(
      result.stderr,
      /The installed Gateway API CRDs are v1\.0\.0; Legate needs v1\.1\.0 or newer \(tested with v1\.6\.3\)/,
    );
    assert.match(result.stderr, /standard-install\.yaml/);
  });
});
