// Known-answer and cross-checked tests for the AssemblyScript crypto (crypto/assembly/), run on the
// compiled test module. Constants come from FIPS 180-4 examples and RFC 4231; everything else is
// checked against node:crypto (OpenSSL), an independent implementation.
import assert from 'node:assert/strict';
import {
  constants,
  createHash,
  createHmac,
  generateKeyPairSync,
  type KeyObject,
  privateEncrypt,
  randomBytes,
  sign,
} from 'node:crypto';
import { before, describe, test } from 'node:test';
import { CryptoModule, HASH, type HashKind } from './crypto-module.ts';

let m: CryptoModule;
before(async () => {
  m = await CryptoModule.load();
});

const hex = (s: string) => Buffer.from(s, 'hex');
const NODE_HASH = { [HASH.SHA256]: 'sha256', [HASH.SHA384]: 'sha384', [HASH.SHA512]: 'sha512' } as const;
const KINDS: HashKind[] = [HASH.SHA256, HASH.SHA384, HASH.SHA512];

describe('SHA-2', () => {
  test('FIPS 180-4 example messages', () => {
    const abc = Buffer.from('abc');
    const two = Buffer.from('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq');
    const four = Buffer.from(
      'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu',
    );
    assert.equal(
      m.hash(HASH.SHA256, abc).toString('hex'),
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    assert.equal(
      m.hash(HASH.SHA256, two).toString('hex'),
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
    assert.equal(
      m.hash(HASH.SHA256, Buffer.alloc(0)).toString('hex'),
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    assert.equal(
      m.hash(HASH.SHA384, abc).toString('hex'),
      'cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7',
    );
    assert.equal(
      m.hash(HASH.SHA512, abc).toString('hex'),
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    );
    assert.equal(
      m.hash(HASH.SHA512, four).toString('hex'),
      '8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909',
    );
  });

  test('one million "a" (SHA-256)', () => {
    assert.equal(
      m.hash(HASH.SHA256, Buffer.alloc(1_000_000, 'a')).toString('hex'),
      'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0',
    );
  });

  test('every length 0..300 around the block and padding boundaries matches node:crypto', () => {
    const data = Buffer.alloc(300);
    for (let i = 0; i < data.length; i++) data[i] = (i * 131 + 7) & 0xff;
    for (const kind of KINDS) {
      for (let len = 0; len <= 300; len++) {
        const msg = data.subarray(0, len);
        assert.equal(
          m.hash(kind, msg).toString('hex'),
          createHash(NODE_HASH[kind]).update(msg).digest('hex'),
          `${NODE_HASH[kind]} len ${len}`,
        );
      }
    }
  });
});

describe('HMAC (RFC 4231)', () => {
  const cases: { key: Buffer; data: Buffer; sha256: string; sha384: string; sha512: string; truncate?: number }[] = [
    {
      key: Buffer.alloc(20, 0x0b),
      data: Buffer.from('Hi There'),
      sha256: 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
      sha384: 'afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6',
      sha512:
        '87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854',
    },
    {
      key: Buffer.from('Jefe'),
      data: Buffer.from('what do ya want for nothing?'),
      sha256: '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
      sha384: 'af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649',
      sha512:
        '164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737',
    },
    {
      key: Buffer.alloc(20, 0xaa),
      data: Buffer.alloc(50, 0xdd),
      sha256: '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe',
      sha384: '88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b2a5ab39dc13814b94e3ab6e101a34f27',
      sha512:
        'fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb',
    },
    {
      key: hex('0102030405060708090a0b0c0d0e0f10111213141516171819'),
      data: Buffer.alloc(50, 0xcd),
      sha256: '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b',
      sha384: '3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e6801dd23c4a7d679ccf8a386c674cffb',
      sha512:
        'b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3dba91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd',
    },
    {
      key: Buffer.alloc(20, 0x0c),
      data: Buffer.from('Test With Truncation'),
      sha256: 'a3b6167473100ee06e0c796c2955552b',
      sha384: '3abf34c3503b2a23a46efc619baef897',
      sha512: '415fad6271580a531d4179bc891d87a6',
      truncate: 16,
    },
    {
      key: Buffer.alloc(131, 0xaa),
      data: Buffer.from('Test Using Larger Than Block-Size Key - Hash Key First'),
      sha256: '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
      sha384: '4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952',
      sha512:
        '80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598',
    },
    {
      key: Buffer.alloc(131, 0xaa),
      data: Buffer.from(
        'This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.',
      ),
      sha256: '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
      sha384: '6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5a678cc31e799176d3860e6110c46523e',
      sha512:
        'e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58',
    },
  ];
  cases.forEach((c, i) => {
    test(`test case ${i + 1}`, () => {
      const cut = (b: Buffer) => (c.truncate ? b.subarray(0, c.truncate) : b).toString('hex');
      assert.equal(cut(m.hmac(HASH.SHA256, c.key, c.data)), c.sha256);
      assert.equal(cut(m.hmac(HASH.SHA384, c.key, c.data)), c.sha384);
      assert.equal(cut(m.hmac(HASH.SHA512, c.key, c.data)), c.sha512);
    });
  });

  test('keys of every length around the block size match node:crypto', () => {
    for (const kind of KINDS) {
      for (let len = 0; len <= 200; len += 7) {
        const key = Buffer.alloc(len, len);
        const data = Buffer.from(`message ${len}`);
        assert.equal(
          m.hmac(kind, key, data).toString('hex'),
          createHmac(NODE_HASH[kind], key).update(data).digest('hex'),
        );
      }
    }
  });
});

describe('base64url', () => {
  test('round-trips every length and matches node', () => {
    for (let len = 0; len < 70; len++) {
      const data = Buffer.alloc(len);
      for (let i = 0; i < len; i++) data[i] = (i * 97 + len) & 0xff;
      const text = data.toString('base64url');
      assert.equal(m.base64urlEncode(data), text);
      assert.deepEqual(m.base64urlDecode(text), data);
    }
  });

  test('rejects padding, standard-alphabet characters, impossible lengths and non-zero trailing bits', () => {
    assert.equal(m.base64urlDecode('YQ=='), null);
    assert.equal(m.base64urlDecode('a+b/'), null);
    assert.equal(m.base64urlDecode('abcde'), null);
    assert.equal(m.base64urlDecode('YR'), null, '"YR" decodes to "a" only if trailing bits are ignored');
    assert.equal(m.base64urlDecode('ab c'), null);
    assert.deepEqual(m.base64urlDecode('YQ'), Buffer.from('a'));
  });
});

function rsaKey(bits: number): { privateKey: KeyObject; n: Buffer; e: Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  const jwk = publicKey.export({ format: 'jwk' });
  return { privateKey, n: Buffer.from(jwk.n!, 'base64url'), e: Buffer.from(jwk.e!, 'base64url') };
}

const DIGEST_INFO = {
  [HASH.SHA256]: hex('3031300d060960864801650304020105000420'),
  [HASH.SHA384]: hex('3041300d060960864801650304020205000430'),
  [HASH.SHA512]: hex('3051300d060960864801650304020305000440'),
};

/** A raw RSA signature over an arbitrary encoded message, to build malformed paddings. */
function rawSign(privateKey: KeyObject, em: Buffer): Buffer {
  return privateEncrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, em);
}

function encode(len: number, t: Buffer, ps = len - t.length - 3): Buffer {
  return Buffer.concat([hex('0001'), Buffer.alloc(ps, 0xff), hex('00'), t, Buffer.alloc(len - 3 - ps - t.length)]);
}

describe('Montgomery modular exponentiation', () => {
  test('matches BigInt for random odd moduli of 1 to 130 limbs', () => {
    const big = (b: Buffer) => BigInt(`0x${b.toString('hex') || '0'}`);
    const pow = (b: bigint, e: bigint, n: bigint) => {
      let r = 1n;
      for (let x = b % n; e > 0n; e >>= 1n, x = (x * x) % n) if (e & 1n) r = (r * x) % n;
      return r;
    };
    for (const bytes of [4, 5, 8, 31, 32, 64, 100, 256, 384, 512, 520]) {
      const n = randomBytes(bytes);
      n[0]! |= 0x80;
      n[bytes - 1]! |= 1;
      const base = Buffer.from(randomBytes(bytes));
      base[0]! &= 0x7f;
      const exp = randomBytes(bytes > 64 ? 4 : bytes);
      const got = m.modPow(n, base, exp);
      assert.ok(got);
      assert.equal(big(got), pow(big(base), big(exp), big(n)), `${bytes} bytes`);
    }
  });
});

describe('RSA PKCS#1 v1.5 verify', () => {
  for (const bits of [2048, 3072, 4096]) {
    test(`${bits}-bit key: valid signatures for each hash, rejected when tampered`, () => {
      const { privateKey, n, e } = rsaKey(bits);
      for (const kind of KINDS) {
        const msg = Buffer.from(`eyJhbGciOiJSUzI1NiJ9.payload-${bits}-${kind}`);
        const sig = sign(NODE_HASH[kind], msg, privateKey);
        assert.deepEqual(m.rsaVerify(kind, n, e, msg, sig), { valid: true });
        const other = KINDS.find((k) => k !== kind)!;
        assert.deepEqual(m.rsaVerify(other, n, e, msg, sig), { valid: false }, 'hash mismatch');
        const tamperedMsg = Buffer.from(msg);
        tamperedMsg[5]! ^= 1;
        assert.deepEqual(m.rsaVerify(kind, n, e, tamperedMsg, sig), { valid: false });
        const tamperedSig = Buffer.from(sig);
        tamperedSig[sig.length - 1]! ^= 0x80;
        assert.deepEqual(m.rsaVerify(kind, n, e, msg, tamperedSig), { valid: false });
      }
    });
  }

  test('malformed signatures: wrong length, zero, s = n, s > n', () => {
    const { privateKey, n, e } = rsaKey(2048);
    const msg = Buffer.from('message');
    const sig = sign('sha256', msg, privateKey);
    const v = (s: Buffer) => m.rsaVerify(HASH.SHA256, n, e, msg, s);
    assert.deepEqual(v(sig.subarray(1)), { valid: false }, 'one byte short');
    assert.deepEqual(v(Buffer.concat([hex('00'), sig])), { valid: false }, 'leading zero byte added');
    assert.deepEqual(v(Buffer.alloc(0)), { valid: false }, 'empty');
    assert.deepEqual(v(Buffer.alloc(n.length)), { valid: false }, 's = 0');
    assert.deepEqual(v(n), { valid: false }, 's = n');
    const plusN = Buffer.from(n);
    plusN[plusN.length - 1]! += 1; // n is odd: no carry
    assert.deepEqual(v(plusN), { valid: false }, 's = n + 1');
    assert.deepEqual(v(Buffer.alloc(n.length, 0xff)), { valid: false }, 's = 2^2048 - 1');
  });

  test('malformed encodings signed with the real key are rejected (Wycheproof-style)', () => {
    const { privateKey, n, e } = rsaKey(2048);
    const msg = Buffer.from('message');
    const h = createHash('sha256').update(msg).digest();
    const t = Buffer.concat([DIGEST_INFO[HASH.SHA256], h]);
    const v = (em: Buffer) => m.rsaVerify(HASH.SHA256, n, e, msg, rawSign(privateKey, em)).valueOf();
    assert.deepEqual(v(encode(256, t)), { valid: true }, 'the correct encoding, signed raw, verifies');
    // DigestInfo without the NULL parameters.
    const noNull = Buffer.concat([hex('302f300b0609608648016503040201'), hex('0420'), h]);
    assert.deepEqual(v(encode(256, noNull)), { valid: false }, 'missing NULL');
    // SHA-256 digest under the SHA-512 OID.
    const wrongOid = Buffer.concat([hex('3031300d060960864801650304020305000420'), h]);
    assert.deepEqual(v(encode(256, wrongOid)), { valid: false }, 'wrong OID');
    // Short padding followed by garbage (the Bleichenbacher 2006 forgery shape).
    assert.deepEqual(v(encode(256, t, 8)), { valid: false }, 'garbage after the digest');
    // Padding bytes that are not 0xFF.
    const badPs = encode(256, t);
    badPs[10] = 0xfe;
    assert.deepEqual(v(badPs), { valid: false }, 'non-FF padding');
    // Block type 2 (encryption) instead of 1.
    const bt2 = encode(256, t);
    bt2[1] = 2;
    assert.deepEqual(v(bt2), { valid: false }, 'block type 2');
    // Digest of a different message.
    const otherT = Buffer.concat([DIGEST_INFO[HASH.SHA256], createHash('sha256').update('other').digest()]);
    assert.deepEqual(v(encode(256, otherT)), { valid: false }, 'other digest');
  });

  test('keys outside policy are refused with a reason', () => {
    const small = rsaKey(1024);
    assert.match(
      (m.rsaVerify(HASH.SHA256, small.n, small.e, Buffer.alloc(1), Buffer.alloc(128)) as { keyError: string }).keyError,
      /2048 to 4096 bits/,
    );
    const { n, e } = rsaKey(2048);
    const even = Buffer.from(n);
    even[even.length - 1]! &= 0xfe;
    assert.match((m.rsaVerify(HASH.SHA256, even, e, Buffer.alloc(1), n) as { keyError: string }).keyError, /odd/);
    assert.ok('keyError' in m.rsaVerify(HASH.SHA256, n, hex('010000'), Buffer.alloc(1), n), 'even exponent');
    assert.ok('keyError' in m.rsaVerify(HASH.SHA256, n, hex('01'), Buffer.alloc(1), n), 'e = 1');
  });
});

const P256_N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
const P256_P = BigInt('0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff');
const be32 = (v: bigint) => Buffer.from(v.toString(16).padStart(64, '0'), 'hex');
const int = (b: Buffer) => BigInt(`0x${b.toString('hex')}`);

function p256Key(): { privateKey: KeyObject; x: Buffer; y: Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  return { privateKey, x: Buffer.from(jwk.x!, 'base64url'), y: Buffer.from(jwk.y!, 'base64url') };
}

describe('ECDSA P-256 verify', () => {
  test('signatures from node:crypto verify (including high-s), tampered ones do not', () => {
    for (let i = 0; i < 12; i++) {
      const { privateKey, x, y } = p256Key();
      const msg = Buffer.from(`eyJhbGciOiJFUzI1NiJ9.payload-${i}`);
      const sig = sign('sha256', msg, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      assert.deepEqual(m.p256Verify(x, y, msg, sig), { valid: true });
      // (r, n - s) is the other valid signature: ECDSA (and JWS) accept it.
      const highS = Buffer.concat([sig.subarray(0, 32), be32(P256_N - int(sig.subarray(32)))]);
      assert.deepEqual(m.p256Verify(x, y, msg, highS), { valid: true });
      const tampered = Buffer.from(msg);
      tampered[3]! ^= 4;
      assert.deepEqual(m.p256Verify(x, y, tampered, sig), { valid: false });
      const flipped = Buffer.from(sig);
      flipped[i]! ^= 1;
      assert.deepEqual(m.p256Verify(x, y, msg, flipped), { valid: false });
    }
  });

  test('edge values of r and s are rejected', () => {
    const { privateKey, x, y } = p256Key();
    const msg = Buffer.from('message');
    const sig = sign('sha256', msg, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    const r = int(sig.subarray(0, 32));
    const s = int(sig.subarray(32));
    const v = (rr: bigint, ss: bigint) => m.p256Verify(x, y, msg, Buffer.concat([be32(rr), be32(ss)]));
    assert.deepEqual(v(r, s), { valid: true });
    assert.deepEqual(v(0n, s), { valid: false }, 'r = 0');
    assert.deepEqual(v(r, 0n), { valid: false }, 's = 0');
    assert.deepEqual(v(P256_N, s), { valid: false }, 'r = n');
    assert.deepEqual(v(r, P256_N), { valid: false }, 's = n');
    if (r + P256_N < 2n ** 256n) assert.deepEqual(v(r + P256_N, s), { valid: false }, 'r + n');
    assert.deepEqual(v(r, s + P256_N < 2n ** 256n ? s + P256_N : s ^ 1n), { valid: false }, 's + n');
    assert.deepEqual(m.p256Verify(x, y, msg, sig.subarray(0, 63)), { valid: false }, '63 bytes');
    assert.deepEqual(m.p256Verify(x, y, msg, Buffer.concat([sig, hex('00')])), { valid: false }, '65 bytes');
    // A DER signature is not a JWS signature.
    const der = sign('sha256', msg, privateKey);
    assert.deepEqual(m.p256Verify(x, y, msg, der), { valid: false }, 'DER encoding');
  });

  test('digests at or above n are reduced mod n before use', () => {
    // Search for a message whose SHA-256 is >= n (about 1 in 2^32 would be too rare); instead check
    // many random messages agree with node, which exercises the reduction path whenever it occurs and
    // the ordinary path always.
    const { privateKey, x, y } = p256Key();
    for (let i = 0; i < 20; i++) {
      const msg = Buffer.from(`m${i}`);
      const sig = sign('sha256', msg, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      assert.deepEqual(m.p256Verify(x, y, msg, sig), { valid: true });
    }
  });

  test('invalid public keys are refused: off the curve, coordinates >= p, wrong length', () => {
    const { x, y } = p256Key();
    const msg = Buffer.alloc(1);
    const sig = Buffer.alloc(64, 1);
    const refused = (xx: Buffer, yy: Buffer) => (m.p256Verify(xx, yy, msg, sig) as { keyError?: string }).keyError;
    assert.match(refused(x, be32((int(y) + 1n) % P256_P)) ?? '', /not on the P-256 curve/);
    assert.match(refused(be32(int(x) + P256_P < 2n ** 256n ? int(x) + P256_P : P256_P), y) ?? '', /range|curve/);
    assert.match(refused(x.subarray(1), y) ?? '', /32 bytes/);
    assert.match(refused(Buffer.alloc(32), Buffer.alloc(32)) ?? '', /not on the P-256 curve/, 'the point at infinity');
  });
});
