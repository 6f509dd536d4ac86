// The ADS protocol as Envoy expects it, checked with a raw client over mTLS: per-Gateway client
// certificates, versions and nonces, ACK/NACK, stale nonces, removals, SotW and Delta, readiness.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { envoyType, TypeUrls } from '../../operator/src/envoy/protos.ts';
import type { DiscoveryResponseMessage } from '../../operator/src/xds/ads-service.ts';
import {
  type GatewayKey,
  type IssuedCertificate,
  XdsCertificateAuthority,
  xdsClientCredentials,
  xdsServerCredentials,
} from '../../operator/src/xds/identity.ts';
import { contentHash } from '../../operator/src/xds/resources.ts';
import { type NackEvent, XdsServer } from '../../operator/src/xds/server.ts';
import { apiListener, edsCluster, gatewayResources, loadAssignment, rawAdsClient } from './xds-fixtures.ts';

const gwA: GatewayKey = 'team-a/web';
const gwB: GatewayKey = 'team-b/web';

const base = {
  listener: 'http',
  route: 'routes',
  rules: [{ backends: { a: 1 } }],
  clusters: { a: [10001], b: [10002] },
};

function names(response: DiscoveryResponseMessage): string[] {
  return (response.resources ?? []).map((any) => {
    const decoded = envoyType(any.type_url.replace('type.googleapis.com/', '')).decode(any.value) as unknown as {
      name?: string;
      clusterName?: string;
    };
    return decoded.name ?? decoded.clusterName ?? '';
  });
}

describe('ADS protocol over mTLS', () => {
  let ca: XdsCertificateAuthority;
  let server: XdsServer;
  let certA: IssuedCertificate;
  let certB: IssuedCertificate;
  const nacks: NackEvent[] = [];
  const clients: { close(): void }[] = [];

  const clientFor = (cert: IssuedCertificate | undefined) => {
    const credentials = cert ? xdsClientCredentials(cert) : grpc.credentials.createSsl(Buffer.from(ca.certPem)); // TLS, but no client certificate
    const client = rawAdsClient(server.port, credentials);
    clients.push(client);
    return client;
  };
  const node = (cluster: string) => ({ id: `envoy-${cluster}`, cluster });

  before(async () => {
    ca = await XdsCertificateAuthority.create();
    const serverCert = await ca.issueServerCertificate({ dns: ['localhost'], ips: ['127.0.0.1'] });
    [certA, certB] = await Promise.all([ca.issueGatewayCertificate(gwA), ca.issueGatewayCertificate(gwB)]);
    server = await XdsServer.start({ port: 0, host: '127.0.0.1', credentials: xdsServerCredentials(serverCert) });
    server.onNack((event) => nacks.push(event));
  });

  after(async () => {
    for (const client of clients) client.close();
    await server?.stop();
  });

  it('serves nothing before the first full sync, then the Gateway snapshot', async () => {
    const stream = clientFor(certA).sotw();
    stream.send({ node: node(gwA), typeUrl: TypeUrls.cluster, resourceNames: [] });
    server.setSnapshot(gwA, gatewayResources(base));
    assert.equal(await stream.responses.quiet(300), undefined, 'no response before markSynced');
    server.markSynced();
    const first = await stream.responses.next();
    assert.equal(first.typeUrl, TypeUrls.cluster);
    assert.deepEqual(names(first).sort(), ['a', 'b']);
    assert.ok(first.versionInfo && first.nonce);
    stream.close();
  });

  it('follows SotW versions and nonces: ACK, only-latest-nonce, changes, NACK, removal', async () => {
    const stream = clientFor(certA).sotw();
    stream.send({ node: node(gwA), typeUrl: TypeUrls.cluster, resourceNames: [] });
    const cds1 = await stream.responses.next();
    // The version depends only on content, so a new stream (or a restarted operator) sees the same one.
    assert.equal(cds1.versionInfo, server.cache.get(gwA)?.get(TypeUrls.cluster)?.version);
    stream.send({ typeUrl: TypeUrls.route, resourceNames: ['routes'] });
    const rds1 = await stream.responses.next();
    assert.deepEqual(names(rds1), ['routes']);

    // ACK both: nothing more to send.
    stream.send({ typeUrl: TypeUrls.cluster, versionInfo: cds1.versionInfo, responseNonce: cds1.nonce });
    stream.send({
      typeUrl: TypeUrls.route,
      versionInfo: rds1.versionInfo,
      responseNonce: rds1.nonce,
      resourceNames: ['routes'],
    });
    assert.equal(await stream.responses.quiet(200), undefined);

    // A route change reaches RDS only.
    server.setSnapshot(gwA, gatewayResources({ ...base, rules: [{ backends: { a: 1, b: 1 } }] }));
    const rds2 = await stream.responses.next();
    assert.equal(rds2.typeUrl, TypeUrls.route);
    assert.notEqual(rds2.versionInfo, rds1.versionInfo);
    assert.equal(await stream.responses.quiet(200), undefined, 'no CDS push for a route change');

    // A request carrying an old nonce is stale: ignored, even though it names a new subscription.
    stream.send({ typeUrl: TypeUrls.route, responseNonce: rds1.nonce, resourceNames: ['routes', 'other'] });
    assert.equal(await stream.responses.quiet(200), undefined);

    // NACK the latest: reported with the proxy's text; the rejected content is not sent again.
    stream.send({
      typeUrl: TypeUrls.route,
      versionInfo: rds1.versionInfo,
      responseNonce: rds2.nonce,
      resourceNames: ['routes'],
      errorDetail: { code: 3, message: 'route: weighted cluster b unknown' },
    });
    assert.equal(await stream.responses.quiet(300), undefined, 'a NACKed version is not resent');
    const nack = nacks.at(-1);
    assert.deepEqual(
      nack && { gateway: nack.gateway, typeUrl: nack.typeUrl, version: nack.version, message: nack.message },
      {
        gateway: gwA,
        typeUrl: TypeUrls.route,
        version: rds2.versionInfo,
        message: 'route: weighted cluster b unknown',
      },
    );
    assert.match(await server.registry.getSingleMetricAsString('legate_xds_nacks_total'), /type="route"} 1/);

    // The fix is the next version, and it is sent.
    server.setSnapshot(gwA, gatewayResources({ ...base, rules: [{ backends: { b: 1 } }] }));
    const rds3 = await stream.responses.next();
    assert.notEqual(rds3.versionInfo, rds2.versionInfo);

    // Removing a cluster: the next CDS response is the full set, without it.
    server.setSnapshot(gwA, gatewayResources({ ...base, rules: [{ backends: { b: 1 } }], clusters: { b: [10002] } }));
    const cds2 = await stream.responses.next();
    assert.equal(cds2.typeUrl, TypeUrls.cluster);
    assert.deepEqual(names(cds2), ['b']);
    stream.close();
  });

  it('pushes a change only to the streams of the Gateway it belongs to', async () => {
    server.setSnapshot(gwB, gatewayResources(base));
    const a = clientFor(certA).sotw();
    const b = clientFor(certB).sotw();
    a.send({ node: node(gwA), typeUrl: TypeUrls.cluster, resourceNames: [] });
    b.send({ node: node(gwB), typeUrl: TypeUrls.cluster, resourceNames: [] });
    const [a1, b1] = await Promise.all([a.responses.next(), b.responses.next()]);
    assert.deepEqual(names(a1), ['b'], 'team-a sees only its own clusters');
    assert.deepEqual(names(b1).sort(), ['a', 'b']);
    a.send({ typeUrl: TypeUrls.cluster, versionInfo: a1.versionInfo, responseNonce: a1.nonce });
    b.send({ typeUrl: TypeUrls.cluster, versionInfo: b1.versionInfo, responseNonce: b1.nonce });
    server.setSnapshot(gwB, gatewayResources({ ...base, clusters: { a: [10001], b: [10002], c: [10003] } }));
    assert.deepEqual(names(await b.responses.next()).sort(), ['a', 'b', 'c']);
    assert.equal(await a.responses.quiet(200), undefined, 'team-a got nothing');
    assert.equal(server.streamCount(gwB), 1);
    a.close();
    b.close();
  });

  it('refuses, with PERMISSION_DENIED and no resources, a client claiming another Gateway', async () => {
    const stream = clientFor(certA).sotw();
    stream.send({ node: node(gwB), typeUrl: TypeUrls.cluster, resourceNames: [] });
    const status = await stream.status;
    assert.equal(status.code, grpc.status.PERMISSION_DENIED);
    assert.match(status.details, /belongs to Gateway team-a\/web/);
    assert.equal(await stream.responses.quiet(50), undefined);
  });

  it('refuses a client without a client certificate, and one with a certificate from another CA', async () => {
    const stream = clientFor(undefined).sotw();
    stream.send({ node: node(gwA), typeUrl: TypeUrls.cluster, resourceNames: [] });
    assert.equal((await stream.status).code, grpc.status.PERMISSION_DENIED);

    const otherCa = await XdsCertificateAuthority.create();
    const forged = await otherCa.issueGatewayCertificate(gwA);
    const forgedStream = clientFor({ ...forged, caPem: ca.certPem }).sotw();
    forgedStream.send({ node: node(gwA), typeUrl: TypeUrls.cluster, resourceNames: [] });
    assert.equal((await forgedStream.status).code, grpc.status.PERMISSION_DENIED);
    assert.match(
      await server.registry.getSingleMetricAsString('legate_xds_denied_streams_total'),
      /reason="no-identity"} 2/,
    );
  });

  it('gives a gRPC library with a Gateway certificate (gRFC A65) the proxyless view on the mTLS port', async () => {
    server.setSnapshot(gwA, gatewayResources({ ...base, listener: 'team-a/web/80' }), {
      proxylessListeners: [apiListener('team-a/web/grpc', 'routes')],
    });
    const envoy = clientFor(certA).sotw();
    const grpcGo = clientFor(certA).sotw();
    envoy.send({ node: { ...node(gwA), userAgentName: 'envoy' }, typeUrl: TypeUrls.listener, resourceNames: [] });
    grpcGo.send({ node: { ...node(gwA), userAgentName: 'gRPC Go' }, typeUrl: TypeUrls.listener, resourceNames: [] });
    assert.deepEqual(names(await envoy.responses.next()), ['team-a/web/80']);
    assert.deepEqual(names(await grpcGo.responses.next()), ['team-a/web/grpc']);
    assert.equal(server.streamCount(gwA, 'proxyless'), 1);
    envoy.close();
    grpcGo.close();
  });

  it('speaks Delta: wildcard, per-resource versions, changes only, removals, explicit names', async () => {
    server.setSnapshot(gwA, gatewayResources(base));
    const stream = clientFor(certA).delta();
    stream.send({ node: node(gwA), typeUrl: TypeUrls.cluster });
    const d1 = await stream.responses.next();
    assert.deepEqual(d1.resources?.map((r) => r.name).sort(), ['a', 'b']);
    assert.equal(d1.resources?.find((r) => r.name === 'a')?.version, contentHash(edsCluster('a').bytes));
    stream.send({ typeUrl: TypeUrls.cluster, responseNonce: d1.nonce });

    // Explicit EDS names; the client already holds `a` at the current version, so only `b` comes.
    stream.send({
      typeUrl: TypeUrls.endpoint,
      resourceNamesSubscribe: ['a', 'b', 'missing'],
      initialResourceVersions: { a: contentHash(loadAssignment('a', [10001]).bytes) },
    });
    const e1 = await stream.responses.next();
    assert.deepEqual(
      e1.resources?.map((r) => r.name),
      ['b'],
    );
    assert.deepEqual(e1.removedResources, ['missing'], 'a subscribed name that does not exist is reported');
    stream.send({ typeUrl: TypeUrls.endpoint, responseNonce: e1.nonce });

    // Endpoint change: only the changed assignment.
    server.setSnapshot(gwA, gatewayResources({ ...base, clusters: { a: [10001], b: [10002, 10004] } }));
    const e2 = await stream.responses.next();
    assert.equal(e2.typeUrl, TypeUrls.endpoint);
    assert.deepEqual(
      e2.resources?.map((r) => r.name),
      ['b'],
    );
    stream.send({ typeUrl: TypeUrls.endpoint, responseNonce: e2.nonce });
    assert.equal(await stream.responses.quiet(200), undefined, 'no CDS push for an endpoint change');

    // NACK is reported; the same bytes are not resent.
    server.setSnapshot(gwA, gatewayResources({ ...base, clusters: { a: [10001], b: [10002, 10005] } }));
    const e3 = await stream.responses.next();
    stream.send({
      typeUrl: TypeUrls.endpoint,
      responseNonce: e3.nonce,
      errorDetail: { code: 3, message: 'endpoint rejected' },
    });
    assert.equal(await stream.responses.quiet(200), undefined);
    assert.equal(nacks.at(-1)?.protocol, 'delta');
    assert.equal(nacks.at(-1)?.message, 'endpoint rejected');

    // Removing cluster b: CDS reports it removed, EDS too (the client subscribed to it by name).
    server.setSnapshot(gwA, gatewayResources({ ...base, clusters: { a: [10001] } }));
    const [r1, r2] = [await stream.responses.next(), await stream.responses.next()];
    assert.equal(r1.typeUrl, TypeUrls.cluster, 'CDS is pushed before EDS');
    assert.deepEqual(r1.removedResources, ['b']);
    assert.deepEqual(r1.resources, []);
    assert.equal(r2.typeUrl, TypeUrls.endpoint);
    assert.deepEqual(r2.removedResources, ['b']);

    // Unsubscribing stops updates for that name.
    stream.send({ typeUrl: TypeUrls.endpoint, resourceNamesUnsubscribe: ['a'] });
    assert.equal(await stream.responses.quiet(200), undefined, 'unsubscribing is not answered');
    server.setSnapshot(gwA, gatewayResources({ ...base, clusters: { a: [10009] } }));
    assert.equal(await stream.responses.quiet(300), undefined, 'no EDS update after unsubscribing');
    stream.close();
  });

  it('coalesces changes for a proxy that reads slowly, ending on the latest state', async () => {
    const gw: GatewayKey = 'team-a/web';
    const many = (n: number) => Array.from({ length: 2000 }, (_, i) => 20000 + ((i + n) % 40000));
    server.setSnapshot(gw, { [TypeUrls.endpoint]: [loadAssignment('big', many(0))] });
    const stream = clientFor(certA).delta();
    stream.send({ node: node(gw), typeUrl: TypeUrls.endpoint, resourceNamesSubscribe: ['big'] });
    const first = await stream.responses.next();
    stream.send({ typeUrl: TypeUrls.endpoint, responseNonce: first.nonce });
    await stream.responses.quiet(100);
    stream.pause();
    const changes = 300;
    for (let n = 1; n <= changes; n++) {
      server.setSnapshot(gw, { [TypeUrls.endpoint]: [loadAssignment('big', many(n))] });
    }
    stream.resume();
    const finalVersion = contentHash(loadAssignment('big', many(changes)).bytes);
    let received = 0;
    let last = '';
    while (last !== finalVersion) {
      const response = await stream.responses.next();
      received++;
      last = response.resources?.[0]?.version ?? '';
      stream.send({ typeUrl: TypeUrls.endpoint, responseNonce: response.nonce });
    }
    assert.ok(received < changes, `${received} responses for ${changes} changes`);
    assert.equal(await stream.responses.quiet(200), undefined, 'nothing after the latest state');
    stream.close();
  });

  it('exports streams, pushes, push latency and NACK metrics', async () => {
    const text = await server.registry.metrics();
    for (const name of [
      'legate_xds_streams',
      'legate_xds_pushes_total',
      'legate_xds_push_latency_seconds_bucket',
      'legate_xds_nacks_total',
    ]) {
      assert.match(text, new RegExp(`^${name}\\{`, 'm'), name);
    }
  });
});
