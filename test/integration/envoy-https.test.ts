// HTTPS listeners on real Envoy 1.40, through the operator and the real API server: several listeners
// with their own hostname and certificate on one port (the certificate chosen by SNI), a certificate
// rotated by updating its Secret (served without restarting Envoy), and references into another
// namespace that only a ReferenceGrant allows (a listener's certificate, a route's backend). Every
// certificate is issued by one test CA, and the client verifies the chain and the name as a browser
// would.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Gateway, HTTPRoute } from '../../operator/src/k8s/gateway-api.ts';
import { type IssuedCertificate, XdsCertificateAuthority } from '../../operator/src/xds/identity.ts';
import { request, type TestResponse } from '../harness/http-client.ts';
import { answeredBy, assertNoDeprecatedFeatures, assertNoRejectedConfig, httpRoute, until } from './envoy-traffic.ts';
import type { EnvoyPod, GatewayEnv, Manifest } from './gateway-env.ts';
import { startGatewayEnv } from './gateway-env.ts';
import { eventually, uniqueSuffix } from './operator-helpers.ts';

describe('HTTPS listeners on real Envoy', () => {
  let env: GatewayEnv;
  let envoy: EnvoyPod;
  let ns: string;
  let other: string;
  let ca: XdsCertificateAuthority;
  const certs: Record<string, IssuedCertificate> = {};

  const tlsSecret = (namespace: string, name: string, cert: IssuedCertificate): Manifest => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { namespace, name },
    type: 'kubernetes.io/tls',
    data: {
      'tls.crt': Buffer.from(cert.certPem).toString('base64'),
      'tls.key': Buffer.from(cert.keyPem).toString('base64'),
    },
  });
  const https = (name: string, hostname: string, certificateRef: Record<string, string>) => ({
    name,
    port: 443,
    protocol: 'HTTPS' as const,
    hostname,
    tls: { mode: 'Terminate', certificateRefs: [certificateRef] },
  });
  const grant = (name: string, fromKind: string, toKind: string, toName: string): Manifest => ({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'ReferenceGrant',
    metadata: { namespace: other, name },
    spec: {
      from: [{ group: 'gateway.networking.k8s.io', kind: fromKind, namespace: ns }],
      to: [{ group: '', kind: toKind, name: toName }],
    },
  });
  /** A verified HTTPS request with this SNI and Host. */
  const get = (host: string, path = '/'): Promise<TestResponse> =>
    request(envoy.url(443, path, 'https'), { headers: { host }, servername: host, ca: ca.certPem });
  const fingerprint = (cert: IssuedCertificate) => new X509Certificate(cert.certPem).fingerprint256;

  before(async () => {
    env = await startGatewayEnv({ allNamespaces: true });
    ns = env.namespace;
    other = `certs-${uniqueSuffix()}`;
    await env.createNamespace(other);
    ca = await XdsCertificateAuthority.create();
    for (const host of ['one.example', 'two.example', '*.wild.example', 'cross.example']) {
      certs[host] = await ca.issueServerCertificate({ dns: [host] });
    }
    await env.apply(tlsSecret(ns, 'one-cert', certs['one.example'] as IssuedCertificate));
    await env.apply(tlsSecret(ns, 'two-cert', certs['two.example'] as IssuedCertificate));
    await env.apply(tlsSecret(ns, 'wild-cert', certs['*.wild.example'] as IssuedCertificate));
    await env.apply(tlsSecret(other, 'cross-cert', certs['cross.example'] as IssuedCertificate));
    await env.gateway('secure', [
      https('one', 'one.example', { name: 'one-cert' }),
      https('two', 'two.example', { name: 'two-cert' }),
      https('wild', '*.wild.example', { name: 'wild-cert' }),
      https('cross', 'cross.example', { name: 'cross-cert', namespace: other }),
    ]);
    await env.echoService('a');
    await env.echoService('far', { namespace: other });
    await env.apply(
      httpRoute(ns, 'site', { parentRefs: [{ name: 'secure' }], rules: [{ backendRefs: [{ name: 'a', port: 80 }] }] }),
    );
    await env.apply(
      httpRoute(ns, 'far', {
        parentRefs: [{ name: 'secure', sectionName: 'two' }],
        rules: [
          {
            matches: [{ path: { type: 'PathPrefix', value: '/far' } }],
            backendRefs: [{ name: 'far', namespace: other, port: 80 }],
          },
        ],
      }),
    );
    envoy = await env.envoy('secure');
    await until(
      'HTTPS to reach Envoy',
      () => get('one.example'),
      (r) => r.status === 200,
    );
  });

  after(() => env?.stop());

  it('presents each listener’s certificate by SNI on one port, and routes behind it', async () => {
    const got: string[] = [];
    for (const host of ['one.example', 'two.example', 'x.wild.example']) {
      const res = await get(host);
      got.push(`${host} → ${res.peerCertificate?.subjectaltname} ${answeredBy(res)}`);
    }
    assert.deepEqual(got, [
      'one.example → DNS:one.example a-0',
      'two.example → DNS:two.example a-0',
      'x.wild.example → DNS:*.wild.example a-0',
    ]);
    // A wildcard listener takes every subdomain depth (Gateway API), though a TLS client refuses a
    // `*.wild.example` certificate for two labels: look at what is served without verifying.
    const deep = await request(envoy.url(443, '/', 'https'), { headers: { host: 'a.b.wild.example' } });
    assert.equal(`${deep.peerCertificate?.subjectaltname} ${answeredBy(deep)}`, 'DNS:*.wild.example a-0');
    await assert.rejects(get('a.b.wild.example'), /does not match|altnames/i);
  });

  it('refuses a TLS handshake for a name no listener serves, and a Host beyond its SNI’s listener', async () => {
    await assert.rejects(get('nobody.example'));
    // Connected for one.example, asking for two.example: not served from one.example's listener.
    const crossed = await request(envoy.url(443, '/', 'https'), {
      headers: { host: 'two.example' },
      servername: 'one.example',
      ca: ca.certPem,
    });
    assert.ok([404, 421].includes(crossed.status), `${crossed.status} ${crossed.body}`);
  });

  it('serves a rotated certificate after its Secret changes, without restarting Envoy', async () => {
    const before = await envoy.stats();
    const old = await get('one.example');
    assert.equal(old.peerCertificate?.fingerprint256, fingerprint(certs['one.example'] as IssuedCertificate));

    const renewed = await ca.issueServerCertificate({ dns: ['one.example'] });
    await env.apply(tlsSecret(ns, 'one-cert', renewed));
    const res = await until(
      'the renewed certificate',
      () => get('one.example'),
      (r) => r.peerCertificate?.fingerprint256 === fingerprint(renewed),
    );
    assert.equal(answeredBy(res), 'a-0');
    // The other listeners kept theirs.
    assert.equal(
      (await get('two.example')).peerCertificate?.fingerprint256,
      fingerprint(certs['two.example'] as IssuedCertificate),
    );
    const afterwards = await envoy.stats();
    assert.ok((afterwards.get('server.uptime') ?? 0) >= (before.get('server.uptime') ?? 0), 'Envoy did not restart');
    assert.equal(
      afterwards.get('listener_manager.listener_modified'),
      before.get('listener_manager.listener_modified'),
      'the listener was not replaced (no drain): only the SDS secret changed',
    );
  });

  it('uses a certificate from another namespace only while a ReferenceGrant allows it', async () => {
    await assert.rejects(get('cross.example'), 'no certificate without a grant: the listener is not programmed');
    const listener = await eventually('the cross listener status', async () => {
      const gw = await env.kube.get<Gateway>('gateway.networking.k8s.io/v1', 'Gateway', ns, 'secure');
      const status = gw?.status?.listeners?.find((l) => l.name === 'cross');
      return status?.conditions?.find((c) => c.type === 'ResolvedRefs');
    });
    assert.equal(`${listener.status} ${listener.reason}`, 'False RefNotPermitted');

    await env.apply(grant('gateway-certs', 'Gateway', 'Secret', 'cross-cert'));
    const res = await until(
      'the granted certificate',
      () => get('cross.example').catch((err: Error) => ({ status: 0, body: err.message }) as TestResponse),
      (r) => r.status === 200,
    );
    assert.equal(res.peerCertificate?.fingerprint256, fingerprint(certs['cross.example'] as IssuedCertificate));

    await env.delete('gateway.networking.k8s.io/v1', 'ReferenceGrant', 'gateway-certs', other);
    await eventually('the certificate to be withdrawn with the grant', async () =>
      get('cross.example').then(
        () => undefined,
        () => true,
      ),
    );
  });

  it('forwards to a Service in another namespace only while a ReferenceGrant allows it', async () => {
    assert.equal((await get('two.example', '/far')).status, 500);
    await env.apply(grant('routes-to-far', 'HTTPRoute', 'Service', 'far'));
    const res = await until(
      'the granted backend',
      () => get('two.example', '/far'),
      (r) => r.status === 200,
    );
    assert.equal(answeredBy(res), 'far-0');
  });

  it('takes a route from another namespace only when the listener’s allowedRoutes lets it in', async () => {
    await env.apply(
      httpRoute(other, 'intruder', {
        parentRefs: [{ name: 'secure', namespace: ns, sectionName: 'two' }],
        rules: [
          { matches: [{ path: { type: 'PathPrefix', value: '/intruder' } }], backendRefs: [{ name: 'far', port: 80 }] },
        ],
      }),
    );
    const accepted = await eventually('the intruder route status', async () => {
      const r = await env.kube.get<HTTPRoute>('gateway.networking.k8s.io/v1', 'HTTPRoute', other, 'intruder');
      const parent = r?.status?.parents?.find((p) => p.controllerName === env.controllerName);
      return parent?.conditions?.find((c) => c.type === 'Accepted');
    });
    assert.equal(`${accepted.status} ${accepted.reason}`, 'False NotAllowedByListeners');
    assert.equal(answeredBy(await get('two.example', '/intruder')), 'a-0', 'served by the team’s own route');

    await env.gateway('secure', [
      https('one', 'one.example', { name: 'one-cert' }),
      { ...https('two', 'two.example', { name: 'two-cert' }), allowedRoutes: { namespaces: { from: 'All' } } },
      https('wild', '*.wild.example', { name: 'wild-cert' }),
      https('cross', 'cross.example', { name: 'cross-cert', namespace: other }),
    ]);
    await until(
      'the route from the other namespace',
      () => get('two.example', '/intruder'),
      (r) => answeredBy(r) === 'far-0',
    );
    // Only on the listener that allows it.
    assert.equal((await get('one.example', '/intruder')).status, 200);
    assert.equal(answeredBy(await get('one.example', '/intruder')), 'a-0');
  });

  it('accepted every update and used no deprecated Envoy feature', async () => {
    await assertNoRejectedConfig(envoy);
    await assertNoDeprecatedFeatures(envoy);
  });
});
