// Loads the operator's xDS CA from a mounted kubernetes.io/tls Secret (tls.crt, tls.key), the
// issuer of every Gateway's xDS client certificate. Accepts PKCS#8 or SEC1 ("EC PRIVATE KEY", what
// Helm's genPrivateKey writes) keys.

import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { XdsCertificateAuthority } from '../xds/identity.ts';

export async function loadXdsCa(dir: string): Promise<XdsCertificateAuthority> {
  const certPem = readFileSync(path.join(dir, 'tls.crt'), 'utf8');
  const rawKey = readFileSync(path.join(dir, 'tls.key'), 'utf8');
  const keyPem = createPrivateKey(rawKey).export({ type: 'pkcs8', format: 'pem' }).toString();
  return XdsCertificateAuthority.load({ certPem, keyPem });
}
