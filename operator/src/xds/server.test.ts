import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import tls from 'node:tls';
import { TypeUrls } from '../envoy/protos.ts';
import {
  type IssuedCertificate,
  ServerCertificateProvider,
  XdsCertificateAuthority,
  xdsServerCredentials,
} from './identity.ts';
import { XdsServer } from './server.ts';

/** The serial number of the certificate the server presents to a new TLS connection. */
function servedSerial(port: number, client: IssuedCertificate): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca: client.caPem,
      cert: client.certPem,
      key: client.keyPem,
      ALPNProtocols: ['h2'],
    });
    socket.once('secureConnect', () => {
      resolve(socket.getPeerX509Certificate()?.serialNumber ?? '');
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

describe('XdsServer', () => {
  it('rotates its serving certificate without a restart', async () => {
    const ca = await XdsCertificateAuthority.create();
    const first = await ca.issueServerCertificate({ dns: ['localhost'] });
    const provider = new ServerCertificateProvider(first);
    const server = await XdsServer.start({ port: 0, credentials: xdsServerCredentials(provider) });
    try {
      const client = await ca.issueGatewayCertificate('ns/gw');
      assert.equal(await servedSerial(server.port, client), new X509Certificate(first.certPem).serialNumber);
      const second = await ca.issueServerCertificate({ dns: ['localhost'] });
      provider.update(second);
      assert.equal(await servedSerial(server.port, client), new X509Certificate(second.certPem).serialNumber);
    } finally {
      await server.stop();
    }
  });
});

describe('XdsServer snapshots', () => {
  const bytes = (s: string) => new TextEncoder().encode(s);
  const resources = (endpoint: string) => ({
    [TypeUrls.cluster]: [{ name: 'c', bytes: bytes('cluster') }],
    [TypeUrls.endpoint]: [{ name: 'c', bytes: bytes(endpoint) }],
    [TypeUrls.listener]: [{ name: 'ns/gw/80', bytes: bytes('socket listener') }],
  });

  it('serves proxyless clients the same routing resources, held once, with their own listeners', async () => {
    const ca = await XdsCertificateAuthority.create();
    const cert = await ca.issueServerCertificate({ dns: ['localhost'] });
    const server = await XdsServer.start({
      port: 0,
      credentials: xdsServerCredentials(new ServerCertificateProvider(cert)),
    });
    try {
      const apiListeners = [{ name: 'ns/gw/grpc', bytes: bytes('api listener') }];
      server.setSnapshot('ns/gw', resources('10.0.0.1'), { proxylessListeners: apiListeners });
      const envoy = server.cache.get('ns/gw');
      const proxyless = server.proxylessCache.get('ns/gw');
      for (const typeUrl of [TypeUrls.cluster, TypeUrls.endpoint]) {
        assert.equal(proxyless?.get(typeUrl), envoy?.get(typeUrl), `${typeUrl} is shared, not copied`);
      }
      assert.deepEqual([...(proxyless?.get(TypeUrls.listener)?.resources.keys() ?? [])], ['ns/gw/grpc']);

      // An endpoint change reaches both views; the proxyless listeners stay as they were.
      const listenersBefore = proxyless?.get(TypeUrls.listener);
      const changes: string[][] = [];
      server.proxylessCache.onChange((c) => changes.push([...c.typeUrls]));
      server.setSnapshot('ns/gw', resources('10.0.0.2'), { proxylessListeners: apiListeners });
      assert.deepEqual(changes, [[TypeUrls.endpoint]]);
      assert.equal(server.proxylessCache.get('ns/gw')?.get(TypeUrls.listener), listenersBefore);
      assert.equal(
        server.proxylessCache.get('ns/gw')?.get(TypeUrls.endpoint),
        server.cache.get('ns/gw')?.get(TypeUrls.endpoint),
      );
    } finally {
      await server.stop();
    }
  });
});
