// Tenant identity for xDS clients. The operator runs a small CA; every Gateway gets its own client
// certificate whose only identity is the URI SAN spiffe://legate.dev/ns/<ns>/gateway/<name>. The
// Secret `legate-<gateway>-xds` in the Gateway's namespace holds it; Envoy reads it through
// file-based SDS and presents it on the mTLS connection to the xDS server, which maps the SAN back to
// exactly one Gateway. Nothing is shared between Gateways, so one team's Envoy cannot ask for
// another team's configuration.
//
// X.509 issuance uses @peculiar/x509: Node's crypto parses certificates but cannot create them, and
// @peculiar/x509 is typed, maintained, and signs with WebCrypto (native ECDSA P-256) instead of a
// pure-JS bignum implementation such as node-forge.

// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import {
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  X509Certificate as NodeX509Certificate,
  webcrypto,
} from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import * as x509 from '@peculiar/x509';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
const crypto = webcrypto;
x509.cryptoProvider.set(crypto);

/** `<namespace>/<name>` of a Gateway: the key of its snapshot and its Envoys' node cluster. */
export type GatewayKey = `${string}/${string}`;

export const trustDomain = 'legate.dev';

const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** Parses `<namespace>/<name>`; undefined when either part is not a valid Kubernetes name. */
export function parseGatewayKey(value: string): { namespace: string; name: string } | undefined {
  const parts = value.split('/');
  if (parts.length !== 2) return undefined;
  const [namespace, name] = parts as [string, string];
  if (!dnsLabel.test(namespace) || !dnsSubdomain.test(name)) return undefined;
  return { namespace, name };
}

export function gatewayKey(namespace: string, name: string): GatewayKey {
  const key: GatewayKey = `${namespace}/${name}`;
  if (!parseGatewayKey(key)) throw new Error(`not a valid Gateway namespace/name: ${JSON.stringify(key)}`);
  return key;
}

/** The SPIFFE ID a Gateway's xDS client certificate carries. */
export function gatewaySpiffeId(key: GatewayKey): string {
  const parsed = parseGatewayKey(key);
  if (!parsed) throw new Error(`not a valid Gateway key: ${JSON.stringify(key)}`);
  return `spiffe://${trustDomain}/ns/${parsed.namespace}/gateway/${parsed.name}`;
}

/** The Gateway a SPIFFE ID names, or undefined for anything else (other trust domain, other shape). */
export function gatewayFromSpiffeId(uri: string): GatewayKey | undefined {
  const match = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/gateway\/([^/]+)$/.exec(uri);
  if (!match || match[1] !== trustDomain) return undefined;
  const key: GatewayKey = `${match[2]}/${match[3]}`;
  return parseGatewayKey(key) ? key : undefined;
}

/**
 * The Gateway a verified peer certificate belongs to. Node renders SANs as `URI:a, DNS:b`; a
 * certificate must carry exactly one Legate Gateway URI SAN, otherwise it proves nothing.
 */
export function gatewayFromSubjectAltName(subjectAltName: string | undefined): GatewayKey | undefined {
  if (!subjectAltName) return undefined;
  const uris = subjectAltName
    .split(', ')
    .filter((entry) => entry.startsWith('URI:'))
    .map((entry) => entry.slice('URI:'.length).replace(/^"(.*)"$/, '$1'));
  const gateways = uris.map(gatewayFromSpiffeId).filter((key) => key !== undefined);
  return gateways.length === 1 ? gateways[0] : undefined;
}

export function gatewayFromPeerCertificate(cert: PeerCertificate | undefined): GatewayKey | undefined {
  return gatewayFromSubjectAltName(cert?.subjectaltname);
}

/** Name of the Secret (in the Gateway's namespace) holding its xDS client certificate. */
export function clientCertSecretName(gatewayName: string): string {
  return `legate-${gatewayName}-xds`;
}

/** Keys of that Secret (a `kubernetes.io/tls` Secret plus the CA bundle). */
export const clientCertSecretKeys = { cert: 'tls.crt', key: 'tls.key', ca: 'ca.crt' } as const;

export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
  /** The CA that signed it: Envoy's validation context for the xDS server's certificate. */
  caPem: string;
  notBefore: Date;
  notAfter: Date;
}

/** The CA's own key pair, as the operator persists it (for example in a Secret in its namespace). */
export interface CaMaterial {
  certPem: string;
  keyPem: string;
}

const keyAlgorithm = { name: 'ECDSA', namedCurve: 'P-256' } as const;
type SigningAlgorithm = { name: 'ECDSA' | 'RSASSA-PKCS1-v1_5'; hash: 'SHA-256' | 'SHA-384' | 'SHA-512' };
const signingAlgorithm: SigningAlgorithm = { name: 'ECDSA', hash: 'SHA-256' };

const curves: Record<string, { curve: string; hash: SigningAlgorithm['hash'] }> = {
  prime256v1: { curve: 'P-256', hash: 'SHA-256' },
  secp384r1: { curve: 'P-384', hash: 'SHA-384' },
  secp521r1: { curve: 'P-521', hash: 'SHA-512' },
};

/** How to import and sign with a stored CA key (leaf keys are always ECDSA P-256). */
function caAlgorithm(key: KeyObject): {
  import: webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams;
  sign: SigningAlgorithm;
} {
  if (key.asymmetricKeyType === 'ec') {
    const named = curves[key.asymmetricKeyDetails?.namedCurve ?? ''];
    if (!named) throw new Error(`unsupported xDS CA curve ${key.asymmetricKeyDetails?.namedCurve}`);
    return { import: { name: 'ECDSA', namedCurve: named.curve }, sign: { name: 'ECDSA', hash: named.hash } };
  }
  if (key.asymmetricKeyType === 'rsa') {
    return {
      import: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
      sign: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    };
  }
  throw new Error(`unsupported xDS CA key type ${key.asymmetricKeyType}`);
}
const dayMs = 24 * 3600 * 1000;
// Certificates start a little in the past so a peer whose clock is slightly behind accepts them.
const clockSkewMs = 5 * 60 * 1000;

function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // positive INTEGER
  return Buffer.from(bytes).toString('hex');
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await crypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

/**
 * Rotate once less than a third of a certificate's lifetime is left (the same rule cert-manager
 * uses by default), so a missed reconcile or two never lets a Gateway's certificate expire.
 */
export function needsRotation(cert: { notBefore: Date; notAfter: Date }, now: Date = new Date()): boolean {
  const lifetime = cert.notAfter.getTime() - cert.notBefore.getTime();
  return cert.notAfter.getTime() - now.getTime() < lifetime / 3;
}

/**
 * Why the `legate-<gateway>-xds` Secret's contents (PEM text by key) cannot stay as they are, or
 * undefined when they can: anything missing or unreadable, a certificate our CA did not sign or that
 * names another Gateway, a key that is not the certificate's, or a certificate due for rotation. Any
 * answer but undefined means: issue a new certificate. Never throws.
 */
export function clientSecretProblem(
  pem: Partial<Record<(typeof clientCertSecretKeys)[keyof typeof clientCertSecretKeys], string>>,
  caCertPem: string,
  key: GatewayKey,
  now: Date = new Date(),
): string | undefined {
  const certPem = pem[clientCertSecretKeys.cert];
  const keyPem = pem[clientCertSecretKeys.key];
  if (!certPem || !keyPem || !pem[clientCertSecretKeys.ca]) return 'missing';
  if (pem[clientCertSecretKeys.ca] !== caCertPem) return 'another CA bundle';
  try {
    const cert = new NodeX509Certificate(certPem);
    if (!cert.verify(new NodeX509Certificate(caCertPem).publicKey)) return 'not signed by the operator CA';
    if (gatewayFromSubjectAltName(cert.subjectAltName) !== key) return 'issued for another identity';
    if (!cert.checkPrivateKey(createPrivateKey(keyPem))) return 'the key is not the certificate key';
    if (needsRotation({ notBefore: new Date(cert.validFrom), notAfter: new Date(cert.validTo) }, now))
      return 'due for rotation';
  } catch (err) {
    return `unreadable: ${(err as Error).message}`;
  }
  return undefined;
}

/** The validity window of a PEM certificate (for example one read back from a Secret). */
export function certificateValidity(certPem: string): { notBefore: Date; notAfter: Date; subjectAltName?: string } {
  const cert = new NodeX509Certificate(certPem);
  return { notBefore: new Date(cert.validFrom), notAfter: new Date(cert.validTo), subjectAltName: cert.subjectAltName };
}

export class XdsCertificateAuthority {
  readonly certPem: string;
  readonly #cert: x509.X509Certificate;
  readonly #key: CryptoKey;
  readonly #keyPem: string;
  readonly #signingAlgorithm: SigningAlgorithm;

  private constructor(
    cert: x509.X509Certificate,
    key: CryptoKey,
    keyPem: string,
    signing: SigningAlgorithm = signingAlgorithm,
  ) {
    this.#cert = cert;
    this.#key = key;
    this.#keyPem = keyPem;
    this.#signingAlgorithm = signing;
    this.certPem = cert.toString('pem');
  }

  /** A new self-signed CA, valid for `validityDays` (10 years by default). */
  static async create(options: { validityDays?: number; now?: Date } = {}): Promise<XdsCertificateAuthority> {
    const now = options.now ?? new Date();
    const keys = (await crypto.subtle.generateKey(keyAlgorithm, true, ['sign', 'verify'])) as CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: randomSerial(),
      name: 'CN=Legate xDS CA, O=legate.dev',
      notBefore: new Date(now.getTime() - clockSkewMs),
      notAfter: new Date(now.getTime() + (options.validityDays ?? 3650) * dayMs),
      signingAlgorithm,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    return new XdsCertificateAuthority(cert, keys.privateKey, await exportKeyPem(keys.privateKey));
  }

  /** The CA the operator stored earlier (so a restart keeps every issued certificate valid). */
  /**
   * The CA the operator stored earlier (so a restart keeps every issued certificate valid): the
   * chart's generated CA (ECDSA, PEM "EC PRIVATE KEY"), cert-manager's (PKCS#8) or an RSA one.
   */
  static async load(material: CaMaterial): Promise<XdsCertificateAuthority> {
    const cert = new x509.X509Certificate(material.certPem);
    const keyObject = createPrivateKey(material.keyPem);
    const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
    if (!spki(createPublicKey(keyObject)).equals(spki(new NodeX509Certificate(material.certPem).publicKey))) {
      throw new Error('the xDS CA key does not belong to the xDS CA certificate');
    }
    const algorithm = caAlgorithm(keyObject);
    const key = await crypto.subtle.importKey(
      'pkcs8',
      keyObject.export({ type: 'pkcs8', format: 'der' }),
      algorithm.import,
      true,
      ['sign'],
    );
    return new XdsCertificateAuthority(cert, key, material.keyPem, algorithm.sign);
  }

  export(): CaMaterial {
    return { certPem: this.certPem, keyPem: this.#keyPem };
  }

  get notAfter(): Date {
    return this.#cert.notAfter;
  }

  /**
   * The issued certificate's AuthorityKeyIdentifier must equal the CA's SubjectKeyIdentifier, or TLS
   * stacks (OpenSSL, BoringSSL in Envoy) cannot chain it. Copy it: CAs made elsewhere derive it
   * differently (Go since 1.25, and so Helm's genCA, uses a truncated SHA-256 of the key, not SHA-1).
   */
  async #authorityKeyIdentifier(): Promise<x509.AuthorityKeyIdentifierExtension> {
    const ski = this.#cert.getExtension(x509.SubjectKeyIdentifierExtension);
    return ski
      ? new x509.AuthorityKeyIdentifierExtension(ski.keyId)
      : x509.AuthorityKeyIdentifierExtension.create(this.#cert.publicKey);
  }

  async #issue(
    subject: string,
    sans: { type: 'url' | 'dns' | 'ip'; value: string }[],
    usage: x509.ExtendedKeyUsage,
    validityDays: number,
    now: Date,
  ): Promise<IssuedCertificate> {
    const keys = (await crypto.subtle.generateKey(keyAlgorithm, true, ['sign', 'verify'])) as CryptoKeyPair;
    const notBefore = new Date(now.getTime() - clockSkewMs);
    const notAfter = new Date(Math.min(now.getTime() + validityDays * dayMs, this.#cert.notAfter.getTime()));
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject,
      issuer: this.#cert.subject,
      notBefore,
      notAfter,
      signingAlgorithm: this.#signingAlgorithm,
      publicKey: keys.publicKey,
      signingKey: this.#key,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
        new x509.ExtendedKeyUsageExtension([usage]),
        new x509.SubjectAlternativeNameExtension(sans, true),
        await this.#authorityKeyIdentifier(),
      ],
    });
    return {
      certPem: cert.toString('pem'),
      keyPem: await exportKeyPem(keys.privateKey),
      caPem: this.certPem,
      notBefore: cert.notBefore,
      notAfter: cert.notAfter,
    };
  }

  /**
   * The client certificate for one Gateway's Envoys (and proxyless clients that support mTLS
   * channel credentials): SAN spiffe://legate.dev/ns/<ns>/gateway/<name>, 30 days by default.
   */
  issueGatewayCertificate(
    key: GatewayKey,
    options: { validityDays?: number; now?: Date } = {},
  ): Promise<IssuedCertificate> {
    const parsed = parseGatewayKey(key);
    if (!parsed) throw new Error(`not a valid Gateway key: ${JSON.stringify(key)}`);
    return this.#issue(
      `CN=${parsed.name}, OU=${parsed.namespace}, O=legate.dev`,
      [{ type: 'url', value: gatewaySpiffeId(key) }],
      x509.ExtendedKeyUsage.clientAuth,
      options.validityDays ?? 30,
      options.now ?? new Date(),
    );
  }

  /** The xDS server's own certificate, for the DNS names / IPs Envoys dial. */
  issueServerCertificate(
    hosts: { dns?: string[]; ips?: string[] },
    options: { validityDays?: number; now?: Date } = {},
  ): Promise<IssuedCertificate> {
    const sans = [
      ...(hosts.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
      ...(hosts.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
    ];
    if (sans.length === 0) throw new Error('a server certificate needs at least one DNS name or IP');
    return this.#issue(
      'CN=legate-xds, O=legate.dev',
      sans,
      x509.ExtendedKeyUsage.serverAuth,
      options.validityDays ?? 90,
      options.now ?? new Date(),
    );
  }
}

/**
 * Hands the server's certificate and the CA to grpc-js and can swap them while the server runs
 * (rotation), without restarting it.
 */
export class ServerCertificateProvider implements grpc.experimental.CertificateProvider {
  #current: IssuedCertificate;
  readonly #caListeners = new Set<grpc.experimental.CaCertificateUpdateListener>();
  readonly #identityListeners = new Set<grpc.experimental.IdentityCertificateUpdateListener>();

  constructor(current: IssuedCertificate) {
    this.#current = current;
  }

  get current(): IssuedCertificate {
    return this.#current;
  }

  update(next: IssuedCertificate): void {
    this.#current = next;
    for (const listener of this.#caListeners) listener({ caCertificate: Buffer.from(next.caPem) });
    for (const listener of this.#identityListeners) listener(this.#identity());
  }

  #identity(): grpc.experimental.IdentityCertificateUpdate {
    return { certificate: Buffer.from(this.#current.certPem), privateKey: Buffer.from(this.#current.keyPem) };
  }

  addCaCertificateListener(listener: grpc.experimental.CaCertificateUpdateListener): void {
    this.#caListeners.add(listener);
    // Asynchronously, as grpc-js's own providers do: it registers its watcher only after this call.
    queueMicrotask(() => {
      if (this.#caListeners.has(listener)) listener({ caCertificate: Buffer.from(this.#current.caPem) });
    });
  }
  removeCaCertificateListener(listener: grpc.experimental.CaCertificateUpdateListener): void {
    this.#caListeners.delete(listener);
  }
  addIdentityCertificateListener(listener: grpc.experimental.IdentityCertificateUpdateListener): void {
    this.#identityListeners.add(listener);
    queueMicrotask(() => {
      if (this.#identityListeners.has(listener)) listener(this.#identity());
    });
  }
  removeIdentityCertificateListener(listener: grpc.experimental.IdentityCertificateUpdateListener): void {
    this.#identityListeners.delete(listener);
  }
}

/**
 * gRPC server credentials for the xDS port: TLS with the server's certificate, asking every client
 * for a certificate signed by the CA. The handshake does not reject a client without one, so the
 * server can answer it with PERMISSION_DENIED (a clear error) instead of a failed connection.
 */
export function xdsServerCredentials(server: IssuedCertificate | ServerCertificateProvider): grpc.ServerCredentials {
  const provider = server instanceof ServerCertificateProvider ? server : new ServerCertificateProvider(server);
  // One provider serves both roles: grpc-js 1.14 swaps this function's two provider arguments
  // internally, which is harmless only when they are the same object.
  return grpc.experimental.createCertificateProviderServerCredentials(provider, provider, false);
}

/** Channel credentials for a client holding a Gateway certificate (tests, tools, the bench). */
export function xdsClientCredentials(client: IssuedCertificate): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(Buffer.from(client.caPem), Buffer.from(client.keyPem), Buffer.from(client.certPem));
}
