import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import tls from 'node:tls';
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
