// Each Gateway gets its own xDS client certificate, issued by the operator's CA (loaded from a
// mounted kubernetes.io/tls Secret folder, as the Helm chart mounts it) into the Secret
// legate-<gateway>-xds that the Envoy Deployment mounts; it is reissued when it comes from another
// CA, deleted or edited by hand (within seconds, not at the next resync), and removed with the Gateway.

import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { KubernetesObject } from '@kubernetes/client-node';
import { XdsCertificateAuthority } from '../../operator/src/xds/identity.ts';
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

describe('operator: per-Gateway xDS client certificates', () => {
  const suffix = uniqueSuffix();
  const ns = `op-id-${suffix}`;
  const controllerName = `legate.dev/test-${suffix}`;
  const className = `legate-${suffix}`;
  let xdsCa: XdsCaFolder;
  let ca: XdsCertificateAuthority;
  let cluster: TestCluster;
  let kube: Kube;
  let operator: OperatorProcess;
  const secret = () => kube.get<Obj>('v1', 'Secret', ns, 'legate-web-xds');
  const decode = (s: Obj, key: string) => Buffer.from(s.data[key], 'base64').toString();
  /** The Secret once it holds a certificate from our CA whose key is the Secret's key, other than `not`. */
  const goodSecret = async (not?: string) => {
    const s = await secret();
    if (!s?.data || decode(s, 'ca.crt') !== ca.certPem) return undefined;
    const cert = new X509Certificate(decode(s, 'tls.crt'));
    if (!cert.checkPrivateKey(createPrivateKey(decode(s, 'tls.key'))) || cert.serialNumber === not) return undefined;
    return cert;
  };
  // The operator runs with the default resync (300 s): a repair that waited for it would miss this.
  const withinSeconds = 10_000;

  before(async () => {
    xdsCa = await xdsCaFolder();
    ca = xdsCa.ca;
    cluster = await testCluster();
    kube = new Kube(cluster.kubeConfig());
    await kube.createNamespace(ns);
    await kube.apply({
      apiVersion: gwApi,
      kind: 'GatewayClass',
      metadata: { name: className },
      spec: { controllerName },
    } as Obj);
    operator = startOperator({
      kubeconfigPath: cluster.kubeconfigPath,
      namespace: ns,
      controllerName,
      leaseName: `legate-${suffix}`,
      identity: `id-${suffix}`,
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

  it('issues legate-<gateway>-xds with the Gateway SPIFFE identity, signed by the operator CA', async () => {
    await kube.apply({
      apiVersion: gwApi,
      kind: 'Gateway',
      metadata: { name: 'web', namespace: ns },
      spec: { gatewayClassName: className, listeners: [{ name: 'http', protocol: 'HTTP', port: 8080 }] },
    } as Obj);
    const s = await eventually('xDS Secret', secret);
    assert.equal(s.type, 'kubernetes.io/tls');
    const cert = new X509Certificate(decode(s, 'tls.crt'));
    assert.equal(cert.subjectAltName, `URI:spiffe://legate.dev/ns/${ns}/gateway/web`);
    assert.ok(cert.verify(new X509Certificate(ca.certPem).publicKey), 'signed by the operator CA');
    assert.equal(decode(s, 'ca.crt'), ca.certPem);
    assert.ok(decode(s, 'tls.key').includes('PRIVATE KEY'));
    const deploy = await eventually('Deployment', () => kube.get<Obj>('apps/v1', 'Deployment', ns, 'legate-web'));
    const volume = deploy.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'xds-tls');
    assert.equal(volume.secret.secretName, 'legate-web-xds');
  });

  it('reissues a certificate that another CA signed', async () => {
    const other = await XdsCertificateAuthority.create();
    const foreign = await other.issueGatewayCertificate(`${ns}/web`);
    await kube.objects.replace({
      ...((await secret()) as Obj),
      data: undefined,
      stringData: { 'tls.crt': foreign.certPem, 'tls.key': foreign.keyPem, 'ca.crt': foreign.caPem },
    } as Obj);
    // The edit of the Secret alone brings the repair; nothing else changes.
    await eventually('reissued by our CA', () => goodSecret(), withinSeconds);
  });

  it('reissues a deleted Secret within seconds', async () => {
    const before = await eventually('the current certificate', () => goodSecret());
    await kube.objects.delete({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'legate-web-xds', namespace: ns },
    });
    const after = await eventually('the Secret back', () => goodSecret(before.serialNumber), withinSeconds);
    assert.equal(after.subjectAltName, `URI:spiffe://legate.dev/ns/${ns}/gateway/web`);
    const s = (await secret()) as Obj;
    assert.equal(s.metadata?.labels?.['app.kubernetes.io/managed-by'], 'legate');
    assert.equal(s.metadata?.ownerReferences?.[0]?.kind, 'Gateway');
  });

  it('reissues a Secret whose key was replaced by hand (a key that does not match the certificate)', async () => {
    const before = await eventually('the current certificate', () => goodSecret());
    const other = await ca.issueGatewayCertificate(`${ns}/web`);
    const s = (await secret()) as Obj;
    await kube.objects.replace({ ...s, data: { ...s.data, 'tls.key': Buffer.from(other.keyPem).toString('base64') } });
    await eventually('a certificate matching its key', () => goodSecret(before.serialNumber), withinSeconds);
  });

  it('removes the Secret with the Gateway', async () => {
    await kube.objects.delete({ apiVersion: gwApi, kind: 'Gateway', metadata: { name: 'web', namespace: ns } });
    await eventually('Secret deleted', async () => ((await secret()) ? undefined : true));
  });
});
