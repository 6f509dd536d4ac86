// @peculiar/x509 needs the Reflect metadata API before it loads (identity.ts imports it too).
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, generateKeyPairSync, webcrypto, X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import * as x509 from '@peculiar/x509';
import {
  certificateValidity,
  clientSecretProblem,
  gatewayFromSpiffeId,
  gatewayFromSubjectAltName,
  gatewaySpiffeId,
  needsRotation,
  XdsCertificateAuthority,
} from './identity.ts';

describe('xDS identity', () => {
  it('maps a Gateway to its SPIFFE ID and back, and rejects other shapes', () => {
    assert.equal(gatewaySpiffeId('team-a/web'), 'spiffe://legate.dev/ns/team-a/gateway/web');
    assert.equal(gatewayFromSpiffeId('spiffe://legate.dev/ns/team-a/gateway/web'), 'team-a/web');
    assert.equal(gatewayFromSpiffeId('spiffe://evil.dev/ns/team-a/gateway/web'), undefined);
    assert.equal(gatewayFromSpiffeId('spiffe://legate.dev/ns/team-a/gateway/web/extra'), undefined);
    assert.equal(gatewayFromSpiffeId('spiffe://legate.dev/ns/Team_A/gateway/web'), undefined);
    assert.throws(() => gatewaySpiffeId('a/b/c' as 'a/b'));
  });

  it('issues certificates that chain to a CA whose key identifier is not SHA-1 of its key', async () => {
    // As Go 1.25+ (and so Helm's genCA) writes it: a truncated SHA-256 of the key, here any 20 bytes.
    const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
    const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const caCert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '01',
      name: 'CN=elsewhere CA',
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 86_400_000),
      signingAlgorithm: algorithm,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
        new x509.SubjectKeyIdentifierExtension('00112233445566778899aabbccddeeff00112233'),
      ],
    });
    const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
    const keyPem = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({
      type: 'pkcs8',
      format: 'pem',
    });
    const ca = await XdsCertificateAuthority.load({ certPem: caCert.toString('pem'), keyPem: keyPem.toString() });
    const issued = await ca.issueGatewayCertificate('team-a/web');
    const leaf = new X509Certificate(issued.certPem);
    // OpenSSL's issuer check compares the AuthorityKeyIdentifier with the CA's SubjectKeyIdentifier.
    assert.equal(leaf.checkIssued(new X509Certificate(caCert.toString('pem'))), true);
    assert.equal(leaf.verify(new X509Certificate(caCert.toString('pem')).publicKey), true);
  });

  it('needs exactly one Gateway URI SAN in a certificate', () => {
    assert.equal(gatewayFromSubjectAltName('URI:spiffe://legate.dev/ns/a/gateway/g, DNS:x.example'), 'a/g');
    assert.equal(
      gatewayFromSubjectAltName('URI:spiffe://legate.dev/ns/a/gateway/g, URI:spiffe://legate.dev/ns/b/gateway/g'),
      undefined,
    );
    assert.equal(gatewayFromSubjectAltName('DNS:a.example'), undefined);
    assert.equal(gatewayFromSubjectAltName(undefined), undefined);
  });

  it('issues a Gateway client certificate that chains to the CA and names only that Gateway', async () => {
    const ca = await XdsCertificateAuthority.create();
    const issued = await ca.issueGatewayCertificate('team-a/web', { validityDays: 30 });
    const cert = new X509Certificate(issued.certPem);
    const caCert = new X509Certificate(issued.caPem);
    assert.ok(cert.checkIssued(caCert));
    assert.ok(cert.verify(caCert.publicKey));
    assert.equal(cert.ca, false);
    assert.equal(caCert.ca, true);
    assert.equal(gatewayFromSubjectAltName(cert.subjectAltName), 'team-a/web');
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2']); // clientAuth only
    const lifetimeDays = (issued.notAfter.getTime() - Date.now()) / 86_400_000;
    assert.ok(lifetimeDays > 29.9 && lifetimeDays <= 30, `lifetime ${lifetimeDays}`);
    assert.equal(certificateValidity(issued.certPem).notAfter.getTime(), issued.notAfter.getTime());
    // Each issue is a fresh key pair.
    const again = await ca.issueGatewayCertificate('team-a/web');
    assert.notEqual(again.keyPem, issued.keyPem);
  });

  it('reloads a stored CA and keeps issuing certificates that verify against the same root', async () => {
    const ca = await XdsCertificateAuthority.create();
    const reloaded = await XdsCertificateAuthority.load(ca.export());
    const issued = await reloaded.issueGatewayCertificate('ns/gw');
    assert.ok(new X509Certificate(issued.certPem).verify(new X509Certificate(ca.certPem).publicKey));
  });

  it('loads the chart-generated CA (SEC1 "EC PRIVATE KEY") and refuses a key of another CA', async () => {
    const ca = await XdsCertificateAuthority.create();
    const sec1 = createPrivateKey(ca.export().keyPem).export({ type: 'sec1', format: 'pem' }).toString();
    assert.match(sec1, /BEGIN EC PRIVATE KEY/);
    const loaded = await XdsCertificateAuthority.load({ certPem: ca.certPem, keyPem: sec1 });
    const issued = await loaded.issueGatewayCertificate('ns/gw');
    assert.ok(new X509Certificate(issued.certPem).verify(new X509Certificate(ca.certPem).publicKey));
    const other = await XdsCertificateAuthority.create();
    await assert.rejects(
      XdsCertificateAuthority.load({ certPem: ca.certPem, keyPem: other.export().keyPem }),
      /does not belong/,
    );
  });

  it('signs with an RSA CA key too', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keys = {
      privateKey: await webcrypto.subtle.importKey(
        'pkcs8',
        privateKey.export({ type: 'pkcs8', format: 'der' }),
        { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
        true,
        ['sign'],
      ),
      publicKey: await webcrypto.subtle.importKey(
        'spki',
        createPublicKey(privateKey).export({ type: 'spki', format: 'der' }),
        { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
        true,
        ['verify'],
      ),
    };
    const caCert = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=rsa ca',
      keys,
      signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
      extensions: [new x509.BasicConstraintsExtension(true, 0, true)],
    });
    const ca = await XdsCertificateAuthority.load({
      certPem: caCert.toString('pem'),
      keyPem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    });
    const issued = await ca.issueGatewayCertificate('ns/gw');
    assert.ok(new X509Certificate(issued.certPem).verify(new X509Certificate(issued.caPem).publicKey));
  });

  it("keeps a Gateway's Secret only while it is whole, ours, its own and not due", async () => {
    const ca = await XdsCertificateAuthority.create();
    const issued = await ca.issueGatewayCertificate('team-a/web');
    const good = { 'tls.crt': issued.certPem, 'tls.key': issued.keyPem, 'ca.crt': issued.caPem };
    assert.equal(clientSecretProblem(good, ca.certPem, 'team-a/web'), undefined);
    assert.equal(clientSecretProblem({}, ca.certPem, 'team-a/web'), 'missing');
    assert.equal(clientSecretProblem({ ...good, 'tls.key': '' }, ca.certPem, 'team-a/web'), 'missing');
    const other = await (await XdsCertificateAuthority.create()).issueGatewayCertificate('team-a/web');
    assert.equal(
      clientSecretProblem({ ...good, 'ca.crt': other.caPem }, ca.certPem, 'team-a/web'),
      'another CA bundle',
    );
    assert.equal(
      clientSecretProblem({ ...good, 'tls.crt': other.certPem }, ca.certPem, 'team-a/web'),
      'not signed by the operator CA',
    );
    assert.equal(clientSecretProblem(good, ca.certPem, 'team-b/web'), 'issued for another identity');
    const sibling = await ca.issueGatewayCertificate('team-a/web');
    assert.equal(
      clientSecretProblem({ ...good, 'tls.key': sibling.keyPem }, ca.certPem, 'team-a/web'),
      'the key is not the certificate key',
    );
    assert.match(clientSecretProblem({ ...good, 'tls.crt': 'junk' }, ca.certPem, 'team-a/web') ?? '', /^unreadable/);
    const late = new Date(Date.now() + 365 * 24 * 3600 * 1000);
    assert.equal(clientSecretProblem(good, ca.certPem, 'team-a/web', late), 'due for rotation');
  });

  it('rotates once less than a third of the lifetime is left', () => {
    const notBefore = new Date('2026-01-01T00:00:00Z');
    const notAfter = new Date('2026-01-31T00:00:00Z');
    assert.equal(needsRotation({ notBefore, notAfter }, new Date('2026-01-15T00:00:00Z')), false);
    assert.equal(needsRotation({ notBefore, notAfter }, new Date('2026-01-22T00:00:00Z')), true);
  });
});
