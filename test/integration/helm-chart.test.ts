// The chart as helm and the API server see it: lint is clean, the rendered objects follow the rules the
// issue sets (least privilege, hardened pod, CA kept across upgrades), the whole output — CRDs, RBAC
// and all — passes a server-side dry run on a real kube-apiserver, and the chart's files stay in step
// with their sources (crds/, the values table).
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CoreV1Api,
  type KubernetesObject,
  KubernetesObjectApi,
  loadYaml,
  PatchStrategy,
} from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { XdsCertificateAuthority } from '../../operator/src/xds/identity.ts';
import { crdDrift, readmeWithTable } from '../../scripts/helm-chart.ts';
import { type TestCluster, testCluster } from '../harness/cluster.ts';
import { chartDir, type Helm, helmCli, kubeVersion, objectId, parseObjects } from '../harness/helm.ts';

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are read field by field, untyped.
type Obj = KubernetesObject & Record<string, any>;

describe('helm chart: lint, template and server-side dry run', () => {
  let helm: Helm;
  let cluster: TestCluster;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'legate-helm-chart-'));
  const namespace = `helm-chart-${Date.now().toString(36)}`;

  const valuesFile = (name: string, values: unknown) => {
    const file = path.join(tmp, `${name}.yaml`);
    writeFileSync(file, stringify(values));
    return file;
  };
  const render = async (...args: string[]) =>
    parseObjects(
      await helm.ok('template', 'legate', chartDir, '--namespace', namespace, ...kubeVersion, ...args),
    ) as Obj[];
  const find = (objects: Obj[], kind: string, name?: string) => {
    const found = objects.find((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
    assert.ok(found, `no ${kind}${name ? ` ${name}` : ''} in ${objects.map(objectId).join(', ')}`);
    return found;
  };

  before(async () => {
    cluster = await testCluster();
    helm = await helmCli(cluster.kubeconfigPath);
    await cluster
      .kubeConfig()
      .makeApiClient(CoreV1Api)
      .createNamespace({ body: { metadata: { name: namespace } } });
  });
  after(async () => {
    helm?.cleanup();
    rmSync(tmp, { recursive: true, force: true });
    await cluster?.stop();
  });

  it('keeps helm/crds/ identical to crds/ and the README values table generated from the schema', () => {
    assert.deepEqual(crdDrift(), [], 'run: node scripts/helm-chart.ts sync-crds');
    assert.equal(
      readmeWithTable(),
      readFileSync(path.join(chartDir, 'README.md'), 'utf8'),
      'run: node scripts/helm-chart.ts docs',
    );
  });

  it('passes helm lint --strict with the defaults and with every optional part switched on', async () => {
    const all = valuesFile('all-on', {
      watchNamespaces: ['team-a'],
      xds: { tls: { mode: 'secret', secretName: 'my-xds-ca' } },
      imagePullSecrets: ['regcred'],
      image: { digest: `sha256:${'a'.repeat(64)}` },
      gatewayClass: { proxyConfig: { replicas: 3, service: { type: 'ClusterIP' } } },
    });
    for (const args of [[], ['-f', all]]) {
      const out = await helm.ok('lint', '--strict', chartDir, ...kubeVersion, ...args);
      assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
      assert.doesNotMatch(out, /\[(WARNING|ERROR)\]/);
    }
  });

  it('renders a hardened operator Deployment with 2 replicas, leader election and probes', async () => {
    const objects = await render();
    const deploy = find(objects, 'Deployment', 'legate');
    assert.equal(deploy.spec.replicas, 2);
    const pod = deploy.spec.template.spec;
    const [container] = pod.containers;
    assert.equal(container.image, 'ghcr.io/legate-dev/legate:0.1.0', 'the tag defaults to appVersion');
    assert.ok(container.args.includes('--leader-elect=true'));
    assert.ok(container.args.includes('--lease-name=legate-operator'));
    assert.ok(container.args.includes(`--xds-address=legate-xds.${namespace}.svc:18000`));
    assert.equal(container.livenessProbe.httpGet.path, '/healthz');
    assert.equal(container.readinessProbe.httpGet.path, '/readyz');
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    assert.equal(container.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(container.securityContext.capabilities.drop, ['ALL']);
    assert.equal(pod.automountServiceAccountToken, false);
    const token = pod.volumes.find((v: Obj) => v.name === 'api-token');
    assert.ok(token.projected.sources[0].serviceAccountToken.expirationSeconds <= 3607);
    assert.equal(find(objects, 'ServiceAccount').automountServiceAccountToken, false);
    assert.ok(find(objects, 'PodDisruptionBudget'));
  });

  it('grants no wildcard, keeps the Lease in a Role, and moves namespaced rights to a Role with watchNamespaces', async () => {
    const all = await render();
    const rules = (o: Obj) => o.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    for (const role of all.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')) {
      for (const r of rules(role)) {
        assert.ok(![...r.apiGroups, ...r.resources, ...r.verbs].includes('*'), `${objectId(role)} has a wildcard`);
      }
    }
    const clusterRole = find(all, 'ClusterRole');
    assert.ok(!rules(clusterRole).some((r) => r.resources.includes('leases')), 'Leases only in a Role');
    const leaseRole = find(all, 'Role', 'legate-leader-election');
    assert.equal(leaseRole.metadata?.namespace, namespace);
    assert.deepEqual(
      rules(leaseRole).map((r: Obj) => [r.resources, r.resourceNames, r.verbs]),
      [
        [['leases'], undefined, ['create']],
        [['leases'], ['legate-operator'], ['get', 'update']],
      ],
    );

    const scoped = await render('--set', 'watchNamespaces={team-a}');
    const scopedCluster = rules(find(scoped, 'ClusterRole')).flatMap((r) => r.resources);
    assert.deepEqual(scopedCluster.sort(), ['gatewayclasses', 'gatewayclasses/status']);
    const role = find(scoped, 'Role', 'legate');
    assert.equal(role.metadata?.namespace, 'team-a');
    assert.ok(rules(role).some((r) => r.resources.includes('secrets')));
    assert.equal(find(scoped, 'RoleBinding', 'legate').metadata?.namespace, 'team-a');
    assert.ok(find(scoped, 'Deployment').spec.template.spec.containers[0].args.includes('--namespace=team-a'));
    // The operator reads ProxyConfigs where it watches, so the default one goes there.
    assert.equal(find(scoped, 'ProxyConfig').metadata?.namespace, 'team-a');
    // GatewayClass events are recorded in "default".
    assert.deepEqual(rules(find(scoped, 'Role', 'legate-events')), [
      { apiGroups: [''], resources: ['events'], verbs: ['create'] },
    ]);
  });

  it('renders the default GatewayClass pointing at its ProxyConfig with the Envoy image', async () => {
    const objects = await render(
      '--set',
      'envoy.image=example.com/envoy:v9',
      '--set',
      'gatewayClass.proxyConfig.replicas=4',
    );
    const gc = find(objects, 'GatewayClass', 'legate');
    assert.equal(gc.spec.controllerName, 'legate.dev/gateway-controller');
    assert.deepEqual(gc.spec.parametersRef, { group: 'legate.dev', kind: 'ProxyConfig', name: 'legate', namespace });
    const pc = find(objects, 'ProxyConfig', 'legate');
    assert.deepEqual(pc.spec, { envoy: { image: 'example.com/envoy:v9' }, replicas: 4 });
    const none = await render('--set', 'gatewayClass.create=false');
    assert.ok(!none.some((o) => o.kind === 'GatewayClass' || o.kind === 'ProxyConfig'));
  });

  it('renders the xDS CA once per mode: generated Secret, an existing Secret, or a cert-manager Certificate', async () => {
    const generated = find(await render(), 'Secret', 'legate-xds-ca');
    assert.equal(generated.type, 'kubernetes.io/tls');
    assert.match(Buffer.from(generated.data['tls.crt'], 'base64').toString(), /BEGIN CERTIFICATE/);

    const existing = await render('--set', 'xds.tls.mode=secret', '--set', 'xds.tls.secretName=corp-ca');
    assert.ok(!existing.some((o) => o.kind === 'Secret'));
    const volume = find(existing, 'Deployment').spec.template.spec.volumes.find((v: Obj) => v.name === 'xds-ca');
    assert.equal(volume.secret.secretName, 'corp-ca');

    const cm = await render('--set', 'xds.tls.mode=certManager', '--api-versions', 'cert-manager.io/v1/Certificate');
    const cert = find(cm, 'Certificate');
    assert.equal(cert.spec.isCA, true);
    assert.equal(cert.spec.secretName, 'legate-xds-ca');
    assert.equal(cert.spec.issuerRef.name, find(cm, 'Issuer').metadata?.name);

    const noCertManager = await helm.run(
      'template',
      'legate',
      chartDir,
      ...kubeVersion,
      '--set',
      'xds.tls.mode=certManager',
    );
    assert.notEqual(noCertManager.code, 0);
    assert.match(noCertManager.stderr, /xds\.tls\.mode=certManager needs the API cert-manager\.io\/v1\/Certificate/);
  });

  it('generates an ECDSA P-256 xDS CA that the operator can load and sign Gateway certificates with', async () => {
    const secret = find(await render(), 'Secret', 'legate-xds-ca');
    const certPem = Buffer.from(secret.data['tls.crt'], 'base64').toString();
    const keyPem = Buffer.from(secret.data['tls.key'], 'base64').toString();
    const caCert = new X509Certificate(certPem);
    assert.equal(caCert.ca, true);
    assert.equal(caCert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    // Sprig writes the key as SEC1 ("EC PRIVATE KEY"); the operator's CA loader takes PKCS#8, which
    // Node converts to without loss.
    const pkcs8 = createPrivateKey(keyPem).export({ type: 'pkcs8', format: 'pem' }).toString();
    const ca = await XdsCertificateAuthority.load({ certPem, keyPem: pkcs8 });
    const issued = await ca.issueGatewayCertificate(`${namespace}/web`);
    const leaf = new X509Certificate(issued.certPem);
    assert.ok(leaf.verify(caCert.publicKey), 'the Gateway certificate is signed by the chart CA');
    assert.equal(leaf.issuer, caCert.subject);
  });

  it('renders a ServiceMonitor only when asked and when the Prometheus Operator API is there', async () => {
    assert.ok(!(await render()).some((o) => o.kind === 'ServiceMonitor'));
    const sm = find(
      await render(
        '--set',
        'metrics.serviceMonitor.enabled=true',
        '--api-versions',
        'monitoring.coreos.com/v1/ServiceMonitor',
      ),
      'ServiceMonitor',
    );
    assert.equal(sm.spec.endpoints[0].port, 'metrics');
    const missing = await helm.run(
      'template',
      'legate',
      chartDir,
      ...kubeVersion,
      '--set',
      'metrics.serviceMonitor.enabled=true',
    );
    assert.match(missing.stderr, /monitoring\.coreos\.com\/v1\/ServiceMonitor/);
  });

  it('is accepted whole (CRDs, RBAC, GatewayClass, Deployment) by the real API server in a server-side dry run', async () => {
    const client = KubernetesObjectApi.makeApiClient(cluster.kubeConfig());
    const dryRun = async (objects: Obj[]) => {
      for (const obj of objects) {
        // Through client-node's typed models (as test/harness/crds.ts does), so x-kubernetes-* keys survive.
        await client
          .patch(
            loadYaml<KubernetesObject>(JSON.stringify(obj)),
            undefined,
            'All',
            'helm-dry-run',
            true,
            PatchStrategy.ServerSideApply,
          )
          .catch((err: { body?: string }) => assert.fail(`${objectId(obj)} rejected: ${err.body ?? err}`));
      }
      return new Set(objects.map((o) => o.kind as string));
    };
    const kinds = await dryRun(await render('--include-crds'));
    for (const kind of ['CustomResourceDefinition', 'ClusterRole', 'Role', 'Deployment', 'GatewayClass', 'Secret']) {
      assert.ok(kinds.has(kind), `dry run covered ${kind}`);
    }
    // The other RBAC shape, with a long release name (names and labels stay within their limits).
    const scoped = parseObjects(
      await helm.ok(
        'template',
        'a-rather-long-release-name-for-legate-in-production',
        chartDir,
        '--namespace',
        namespace,
        ...kubeVersion,
        '--set',
        `watchNamespaces={${namespace}}`,
        '--set',
        'imagePullSecrets={regcred}',
      ),
    ) as Obj[];
    assert.ok((await dryRun(scoped)).has('RoleBinding'));
  });
});
