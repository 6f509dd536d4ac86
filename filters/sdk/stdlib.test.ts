// The SDK's standard library (random, hashing, hex, cookies, URLs, header checks) through a real
// module (filters/sdk/testdata/stdlib) on the test host, with published test vectors (FIPS 180-4,
// RFC 3174, RFC 4231, the FNV reference values) and node:crypto as an independent implementation.
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { builtModule } from '../cli/build-examples.ts';
import { FilterHost, type FilterHostOptions, TestRandom } from '../host/index.ts';

const get = { ':method': 'GET', ':path': '/', ':authority': 'a.example', ':scheme': 'http' };

async function stdlib(options: FilterHostOptions = {}): Promise<FilterHost> {
  return FilterHost.load(await builtModule('stdlib'), options);
}

/** Calls x-fn with its arguments and returns the body of the filter's 200. */
function call(host: FilterHost, fn: string, args: Record<string, string> = {}): string {
  const s = host.newStream();
  s.sendRequestHeaders({ ...get, 'x-fn': fn, ...args });
  assert.equal(s.localResponse?.status, 200, `${fn}: ${s.localResponse?.body}`);
  return s.localResponse.body;
}

const hex = (b: Uint8Array | string) => Buffer.from(b).toString('hex');

describe('random (WASI random_get)', () => {
  const shape =
    /^[0-9a-f]{16} [A-Za-z0-9_-]{22} [0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12} [0-9]$/;

  it('gives hex, base64url ids, version-4 UUIDs and bounded integers, different on every call', async () => {
    const host = await stdlib();
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const body = call(host, 'random');
      assert.match(body, shape);
      seen.add(body.split(' ')[2]!);
    }
    assert.equal(seen.size, 20);
  });

  it('is pinned by the test host seed: the same seed gives the same ids, another seed others', async () => {
    const a = call(await stdlib({ randomSeed: 'pin' }), 'random');
    const b = call(await stdlib({ randomSeed: 'pin' }), 'random');
    const c = call(await stdlib({ randomSeed: 'other' }), 'random');
    assert.equal(a, b);
    assert.notEqual(a, c);
    assert.match(a, shape);
    // The first 8 bytes the module draws are the seeded stream's first 8 bytes.
    const expected = new Uint8Array(8);
    new TestRandom('pin').fill(expected);
    assert.equal(a.split(' ')[0], hex(expected));
  });

  it('a seeded stream is shared by the workers in call order', async () => {
    const host = await stdlib({ randomSeed: 7, workers: 2 });
    const first = call(host, 'random');
    const s = host.newStream(1);
    s.sendRequestHeaders({ ...get, 'x-fn': 'random' });
    const again = await stdlib({ randomSeed: 7, workers: 2 });
    assert.equal(call(again, 'random'), first);
    assert.notEqual(s.localResponse?.body, first);
  });
});

describe('hashing', () => {
  it('SHA-256 and SHA-1: FIPS 180-4 / RFC 3174 vectors', async () => {
    const host = await stdlib();
    const abc = hex('abc');
    const two = hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq');
    assert.equal(
      call(host, 'sha256', { 'x-arg': abc }),
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    assert.equal(
      call(host, 'sha256', { 'x-arg': '' }),
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    assert.equal(
      call(host, 'sha256', { 'x-arg': two }),
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
    assert.equal(call(host, 'sha1', { 'x-arg': abc }), 'a9993e364706816aba3e25717850c26c9cd0d89d');
    assert.equal(call(host, 'sha1', { 'x-arg': '' }), 'da39a3ee5e6b4b0d3255bfef95601890afd80709');
    assert.equal(call(host, 'sha1', { 'x-arg': two }), '84983e441c3bd26ebaae4aa1f95129e5e54670f1');
    assert.equal(call(host, 'sha256-text', { 'x-arg': 'ålice' }), createHash('sha256').update('ålice').digest('hex'));
  });

  it('agree with node:crypto at every length around the block and padding boundaries', async () => {
    const host = await stdlib();
    for (const n of [1, 55, 56, 63, 64, 65, 111, 112, 119, 120, 127, 128, 129, 1000]) {
      const data = randomBytes(n);
      for (const alg of ['sha1', 'sha256', 'sha512'] as const) {
        assert.equal(
          call(host, alg, { 'x-arg': hex(data) }),
          createHash(alg).update(data).digest('hex'),
          `${alg} ${n}`,
        );
      }
    }
  });

  it('HMAC-SHA256: RFC 4231 test cases 1, 2 and 6 (key longer than a block), and verification', async () => {
    const host = await stdlib();
    const cases = [
      ['0b'.repeat(20), hex('Hi There'), 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7'],
      [
        hex('Jefe'),
        hex('what do ya want for nothing?'),
        '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
      ],
      [
        'aa'.repeat(131),
        hex('Test Using Larger Than Block-Size Key - Hash Key First'),
        '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
      ],
    ];
    for (const [key, msg, mac] of cases) {
      assert.equal(call(host, 'hmac', { 'x-arg': key!, 'x-arg2': msg! }), mac);
      assert.equal(call(host, 'hmac-verify', { 'x-arg': key!, 'x-arg2': msg!, 'x-arg3': mac! }), 'valid');
      const flipped = mac!.slice(0, -1) + (mac!.endsWith('0') ? '1' : '0');
      assert.equal(call(host, 'hmac-verify', { 'x-arg': key!, 'x-arg2': msg!, 'x-arg3': flipped }), 'invalid');
    }
    const key = randomBytes(40);
    const msg = randomBytes(300);
    assert.equal(
      call(host, 'hmac', { 'x-arg': hex(key), 'x-arg2': hex(msg) }),
      createHmac('sha256', key).update(msg).digest('hex'),
    );
  });

  it('FNV-1a 32 and 64 bit: reference values, over the UTF-8 bytes of text', async () => {
    const host = await stdlib();
    const fnv = (text: string) => {
      let h32 = 0x811c9dc5;
      let h64 = 0xcbf29ce484222325n;
      for (const b of Buffer.from(text)) {
        h32 = Math.imul(h32 ^ b, 0x01000193) >>> 0;
        h64 = ((h64 ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
      }
      return `${h32} ${h64}`;
    };
    assert.equal(call(host, 'fnv', { 'x-arg': '' }), '2166136261 14695981039346656037');
    assert.equal(call(host, 'fnv', { 'x-arg': 'a' }), `${0xe40c292c} ${0xaf63dc4c8601ec8cn}`);
    assert.equal(call(host, 'fnv', { 'x-arg': 'foobar' }), `${0xbf9cf968} ${0x85944171f73967e8n}`);
    assert.equal(call(host, 'fnv', { 'x-arg': 'ålice-€' }), fnv('ålice-€'));
  });
});

describe('hex', () => {
  it('decodes either case and encodes lower case; odd lengths and non-hex characters are refused', async () => {
    const host = await stdlib();
    assert.equal(call(host, 'hex', { 'x-arg': 'DEADbeef00' }), 'deadbeef00 5');
    assert.equal(call(host, 'hex', { 'x-arg': '' }), ' 0');
    assert.equal(call(host, 'hex', { 'x-arg': 'abc' }), 'null');
    assert.equal(call(host, 'hex', { 'x-arg': 'zz' }), 'null');
  });
});

/** Calls x-fn with header pairs (for repeated headers such as cookie). */
function callPairs(host: FilterHost, pairs: Array<[string, string]>): string {
  const s = host.newStream();
  s.sendRequestHeaders([...Object.entries(get), ...pairs]);
  assert.equal(s.localResponse?.status, 200, s.localResponse?.body);
  return s.localResponse.body;
}

describe('cookies', () => {
  it('reads every cookie header (one per cookie on HTTP/2), trims, unquotes, skips pairs without "="', async () => {
    const host = await stdlib();
    const body = callPairs(host, [
      ['cookie', 'a=1; b="two" ;junk; =x'],
      ['cookie', 'uid=xyz'],
      ['x-fn', 'cookies'],
      ['x-arg', 'uid'],
      ['x-arg2', ' c = 3 ;uid=in ; uid=second'],
    ]);
    assert.equal(body, 'a=1\nb=two\nuid=xyz\nget=xyz in-arg=in');
    assert.equal(
      callPairs(host, [
        ['x-fn', 'cookies'],
        ['x-arg', 'uid'],
      ]),
      'get=null in-arg=null',
    );
  });

  it('builds Set-Cookie values with attributes, and refuses what a cookie cannot carry', async () => {
    const host = await stdlib();
    const set = (name: string, value: string, attrs = '') =>
      call(host, 'set-cookie', { 'x-arg': name, 'x-arg2': value, 'x-attrs': attrs });
    assert.equal(
      set('uid', 'abc', 'path=/;maxAge=60;httpOnly;secure;sameSite=Lax;domain=example.com'),
      'uid=abc; Path=/; Domain=example.com; Max-Age=60; Secure; HttpOnly; SameSite=Lax',
    );
    assert.equal(set('uid', 'abc', 'expires=784111777000'), 'uid=abc; Expires=Sun, 06 Nov 1994 08:49:37 GMT');
    assert.equal(set('gone', '', 'maxAge=-5'), 'gone=; Max-Age=0');
    assert.equal(
      set('p', '"quoted"', 'secure;partitioned;sameSite=None'),
      'p="quoted"; Secure; SameSite=None; Partitioned',
    );
    assert.equal(set('a b', 'x'), 'error: cookie name is not a token: a b');
    assert.equal(set('a', 'x;y'), 'error: cookie value has a character a cookie cannot carry (encode it)');
    assert.equal(set('a', 'x y'), 'error: cookie value has a character a cookie cannot carry (encode it)');
    assert.equal(set('a', 'x', 'sameSite=None'), 'error: SameSite=None needs Secure');
    assert.equal(set('a', 'x', 'sameSite=lax'), 'error: SameSite must be Strict, Lax or None');
    assert.equal(set('a', 'x', 'path=/a;b'.replace(';b', '')), 'a=x; Path=/a');
  });

  it('formats IMF-fixdates as Date.prototype.toUTCString does', async () => {
    const host = await stdlib();
    const times = [0, 784111777000, 951782400000, 4102444800000, Date.UTC(2026, 0, 1), -1, 1e12 + 999];
    for (let i = 0; i < 10; i++) times.push(Math.floor(Math.random() * 4e12));
    for (const t of times)
      assert.equal(call(host, 'http-date', { 'x-arg': String(t) }), new Date(t).toUTCString(), `${t}`);
  });
});

describe('query strings and URLs', () => {
  it('splits :path and parses the query as URLSearchParams does; rebuilds it percent-encoded', async () => {
    const host = await stdlib();
    const query = 'a=1&b=x%20y&a=2&c&d=%E2%82%AC&e=a+b&f=%zz&drop=1&&';
    const body = call(host, 'query', { 'x-arg': `/api/v1?${query}#frag`, 'x-arg2': 'a' });
    const expected = [...new URLSearchParams(query)].map(([k, v]) => `${k}=${v}`).join('\n');
    assert.equal(
      body,
      `path=/api/v1\n${expected}\nget=1\nall=1,2\nrebuilt=a=1&b=x%20y&a=2&c=&d=%E2%82%AC&e=a%20b&f=%25zz&added=a%20b%26c`,
    );
    assert.equal(
      call(host, 'query', { 'x-arg': '/p', 'x-arg2': 'a' }),
      'path=/p\nget=null\nall=\nrebuilt=added=a%20b%26c',
    );
  });

  it('parses absolute URLs (case, IPv6, ports) and refuses what is not one', async () => {
    const host = await stdlib();
    const url = (u: string) => call(host, 'url', { 'x-arg': u });
    assert.equal(
      url('HTTPS://User:pw@Example.COM:8443/a/b?x=1#top'),
      'https|User:pw|example.com|8443|/a/b|x=1|top|example.com:8443|https://User:pw@example.com:8443/a/b?x=1#top',
    );
    assert.equal(url('http://[::1]:80/'), 'http||::1|80|/|||[::1]:80|http://[::1]:80/');
    assert.equal(url('http://h'), 'http||h|-1||||h|http://h');
    for (const bad of [
      'example.com/x',
      'http://:80/',
      'http://h:99999/',
      'http://h:8a/',
      'http://h/a b',
      '1http://x',
      'http://[::1',
    ]) {
      assert.equal(url(bad), 'null', bad);
    }
  });

  it("percent-encodes like encodeURIComponent (and also !'()*) and decodes strictly", async () => {
    const host = await stdlib();
    for (const text of ['a b/ü~', 'x=1&y=€', '日本', '-._~']) {
      assert.equal(call(host, 'pct-encode', { 'x-arg': text }), encodeURIComponent(text), text);
    }
    assert.equal(call(host, 'pct-encode', { 'x-arg': "!'()*" }), '%21%27%28%29%2A');
    const dec = (s: string, plus = false) => call(host, 'pct-decode', { 'x-arg': s, 'x-arg2': plus ? 'plus' : '' });
    assert.equal(dec('a%20b+c'), 'a b+c');
    assert.equal(dec('a%20b+c', true), 'a b c');
    assert.equal(dec('%E2%82%AC'), '€');
    for (const bad of ['%zz', '%E2%82', '%C0%AF', '%', '%ED%A0%80']) assert.equal(dec(bad), 'null', bad);
  });
});

describe('header checks', () => {
  it('names are RFC 9110 tokens (or pseudo-headers); values have no control characters or edge whitespace', async () => {
    const host = await stdlib();
    const check = (name: string, value: string) => call(host, 'header-check', { 'x-arg': name, 'x-arg2': value });
    assert.equal(check('x-team', 'payments'), 'name-ok value-ok no-crlf');
    assert.equal(check(':path', '/x?y'), 'name-ok value-ok no-crlf');
    assert.equal(check('X-Mixed_Case.1', ''), 'name-ok value-ok no-crlf');
    for (const bad of ['x team', 'x-é', ':', 'x:y', 'a(b)']) assert.match(check(bad, 'v'), /^name-bad/, bad);
    assert.equal(check('x', 'a\r\nx-evil: 1'), 'name-ok value-bad crlf');
    assert.equal(check('x', 'a\nb'), 'name-ok value-bad crlf');
    assert.equal(check('x', 'nul\0'), 'name-ok value-bad crlf');
    assert.equal(check('x', ' lead'), 'name-ok value-bad no-crlf');
    assert.equal(check('x', 'trail\t'), 'name-ok value-bad no-crlf');
    assert.equal(check('x', 'del\x7f'), 'name-ok value-bad no-crlf');
    assert.equal(check('x', 'tab\tinside, café'), 'name-ok value-ok no-crlf');
  });
});

describe('an A/B bucketer written with the SDK only (random id, FNV-1a bucket, SHA-256, cookies)', () => {
  const fnv32 = (text: string) => {
    let h = 0x811c9dc5;
    for (const b of Buffer.from(text)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
    return h;
  };

  it('issues a pinned id as a cookie when absent, and buckets by the cookie when present', async () => {
    const host = await stdlib({ randomSeed: 'ab' });
    const s = host.newStream();
    s.sendRequestHeaders({ ...get, 'x-fn': 'ab' });
    const seeded = new Uint8Array(16);
    new TestRandom('ab').fill(seeded);
    const uid = Buffer.from(seeded).toString('base64url');
    assert.equal(s.request.headers.get('x-bucket'), String(fnv32(uid) % 100));
    assert.equal(s.request.headers.get('x-uid-sha256'), createHash('sha256').update(uid).digest('hex'));
    s.sendResponseHeaders({ ':status': '200' });
    assert.equal(s.response.headers.get('set-cookie'), `uid=${uid}; Path=/; Max-Age=2592000; HttpOnly; SameSite=Lax`);

    const back = host.newStream();
    back.sendRequestHeaders({ ...get, 'x-fn': 'ab', cookie: `theme=dark; uid=${uid}` });
    assert.equal(back.request.headers.get('x-bucket'), String(fnv32(uid) % 100));
    back.sendResponseHeaders({ ':status': '200' });
    assert.equal(back.response.headers.get('set-cookie'), undefined);
  });
});

describe('typed JSON access without non-null assertions', () => {
  const doc = JSON.stringify({
    claims: { tenant: 'acme', n: 3 },
    groups: ['a', 'b', 1],
    'a/b': { '~x': true },
    big: 1e300,
    f: 1.5,
    nul: null,
  });
  const read = async (host: FilterHost, json: string, pointer: string) =>
    Object.fromEntries(
      call(host, 'json', { 'x-arg': json, 'x-arg2': pointer })
        .split(' ')
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );

  it('field/item/pointer chains give typed values or fallbacks, never a trap', async () => {
    const host = await stdlib();
    const tenant = await read(host, doc, '/claims/tenant');
    assert.deepEqual(
      [tenant.text, tenant.number, tenant.integer, tenant.missing, tenant.exists],
      ['acme', '-1.0', '-1', 'false', 'true'],
    );
    assert.deepEqual([tenant.tenant, tenant.first, tenant.keys], ['acme', 'a', 'claims,groups,a/b,big,f,nul']);
    const n = await read(host, doc, '/claims/n');
    assert.deepEqual([n.text, n.number, n.integer], ['-', '3.0', '3']);
    const groups = await read(host, doc, '/groups');
    assert.deepEqual([groups.size, groups.texts], ['3', 'a,b']);
    assert.equal((await read(host, doc, '/groups/1')).text, 'b');
    assert.equal((await read(host, doc, '/groups/01')).missing, 'true', 'no leading zeros in array indexes');
    assert.equal((await read(host, doc, '/groups/3')).missing, 'true');
    assert.equal((await read(host, doc, '/a~1b/~0x')).boolean, 'true');
    assert.deepEqual(Object.values(await read(host, doc, '/big')).slice(1, 3), ['1e+300', '-1']);
    assert.equal((await read(host, doc, '/f')).integer, '-1', '1.5 is not an integer');
    const nul = await read(host, doc, '/nul');
    assert.deepEqual([nul.missing, nul.exists], ['false', 'false']);
    const deep = await read(host, doc, '/nope/deeper/0');
    assert.deepEqual([deep.missing, deep.text, deep.size], ['true', '-', '0']);
    assert.equal((await read(host, doc, '')).size, '6');
    const broken = await read(host, '{"claims":', '/claims');
    assert.deepEqual([broken.missing, broken.tenant, broken.first, broken.keys], ['true', 'none', 'none', '']);
  });
});

describe('structured logs', () => {
  it('writes logfmt fields, quoting values that need it, at the levels the host lets through', async () => {
    const line = 'stdlib: routed tenant="a b" status=400 ratio=0.25 cached=false empty=""';
    const host = await stdlib();
    assert.equal(call(host, 'log', { 'x-arg': 'a b' }), line);
    assert.ok(host.logMessages('info').includes(line));
    assert.ok(host.logMessages('debug').includes(line));
    const quiet = await stdlib({ logLevel: 'info' });
    call(quiet, 'log', { 'x-arg': 'acme' });
    assert.ok(quiet.logMessages('info').includes(line.replace('"a b"', 'acme')));
    assert.equal(quiet.logMessages('debug').length, 0, 'below the host level: not formatted into a log');
  });
});

describe('JSON bodies and HTTP dates', () => {
  it('builds a JSON body with typed setters (escaping included)', async () => {
    const host = await stdlib();
    const body = call(host, 'json-build', { 'x-arg': 'no "tenant"\tclaim' });
    assert.equal(
      body,
      JSON.stringify({
        error: 'no "tenant"\tclaim',
        status: 400,
        ratio: 0.5,
        ok: false,
        none: null,
        tags: ['a', 'b"c'],
      }),
    );
  });

  it('parses IMF-fixdates back to Unix milliseconds, refusing other forms and impossible dates', async () => {
    const host = await stdlib();
    const parse = (text: string) => Number(call(host, 'http-date-parse', { 'x-arg': text }));
    for (const t of [0, 784111777000, 951782400000, 4102444800000, Date.UTC(2026, 0, 1, 23, 59, 59)]) {
      assert.equal(parse(new Date(t).toUTCString()), t);
    }
    for (const bad of [
      'Sunday, 06-Nov-94 08:49:37 GMT', // RFC 850
      'Sun Nov  6 08:49:37 1994', // asctime
      'Mon, 06 Nov 1994 08:49:37 GMT', // wrong weekday
      'Tue, 29 Feb 2100 00:00:00 GMT', // not a leap year
      'Sun, 06 Nov 1994 24:00:00 GMT',
      'Sun, 06 Nov 1994 08:49:37 UTC',
      'Sun, 6 Nov 1994 08:49:37 GMT',
      'Sun, 06 Foo 1994 08:49:37 GMT',
    ]) {
      assert.equal(parse(bad), -1, bad);
    }
  });
});
