// The built rate-limit module on the project's proxy-wasm host (filters/host), under its test clock:
// 429 with Retry-After and RateLimit-* headers, refill, per-client isolation, several rules, buckets
// shared by all workers of an Envoy, and configuration refused in onConfigure.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { FilterHost, type HttpStream } from '../../host/index.ts';
import { builtinWasm } from '../build.ts';

let wasm: Uint8Array;
before(async () => {
  wasm = await builtinWasm('ratelimit');
});

async function host(configuration: object, workers = 1): Promise<FilterHost> {
  const h = await FilterHost.load(wasm, { configuration, workers });
  assert.ok(h.configured, h.logMessages().join('\n'));
  return h;
}

function request(
  h: FilterHost,
  opts: { ip?: string; headers?: Record<string, string>; worker?: number } = {},
): HttpStream {
  const s = h.newStream(opts.worker ?? 0);
  s.properties.set('source.address', new TextEncoder().encode(`${opts.ip ?? '192.0.2.1'}:40000`));
  s.sendRequestHeaders({ ':method': 'GET', ':path': '/api/items?x=1', ':authority': 'api.example', ...opts.headers });
  return s;
}

const header = (s: HttpStream, name: string) =>
  s.localResponse?.headers.find(([k]) => k === name)?.[1] ?? s.response.headers.get(name);

describe('rate-limit filter', () => {
  test('per client IP: burst, 429 with Retry-After and RateLimit-*, refill', async () => {
    const h = await host({ rules: [{ name: 'per-ip', descriptors: ['client_ip'], requests: 3, unit: 'minute' }] });
    for (let i = 0; i < 3; i++) {
      const s = request(h);
      assert.equal(s.localResponse, null);
      s.sendResponseHeaders({ ':status': '200' });
      assert.equal(s.response.headers.get('ratelimit-limit'), '3');
      assert.equal(s.response.headers.get('ratelimit-remaining'), String(2 - i));
    }
    const denied = request(h);
    assert.equal(denied.localResponse?.status, 429);
    assert.equal(header(denied, 'retry-after'), '20', 'one token every 20 s');
    assert.equal(header(denied, 'ratelimit-remaining'), '0');
    assert.equal(header(denied, 'ratelimit-reset'), '60');
    assert.equal(JSON.parse(denied.localResponse!.body).rule, 'per-ip');
    assert.equal(request(h, { ip: '198.51.100.7' }).localResponse, null, 'another client has its own bucket');
    assert.equal(h.metric('legate_ratelimit_limited_total'), 1);
    h.clock.advanceBy(20_000);
    assert.equal(request(h).localResponse, null);
    assert.equal(request(h).localResponse?.status, 429);
  });

  test('several rules: the most restrictive decides; a rule whose descriptor is absent does not apply', async () => {
    const h = await host({
      rules: [
        { name: 'global', requests: 100, unit: 'second' },
        { name: 'per-tenant', descriptors: ['header:x-tenant'], requests: 2, unit: 'hour' },
      ],
    });
    const t = { headers: { 'x-tenant': 'acme' } };
    assert.equal(request(h, t).localResponse, null);
    assert.equal(request(h, t).localResponse, null);
    const denied = request(h, t);
    assert.equal(denied.localResponse?.status, 429);
    assert.equal(header(denied, 'ratelimit-limit'), '2');
    assert.equal(request(h, { headers: { 'x-tenant': 'other' } }).localResponse, null);
    assert.equal(request(h).localResponse, null, 'no tenant header: only the global rule applies');
  });

  test('workers of one Envoy share the buckets', async () => {
    const h = await host({ rules: [{ name: 'r', requests: 4, unit: 'minute' }] }, 2);
    let allowed = 0;
    for (let i = 0; i < 8; i++) if (request(h, { worker: i % 2 }).localResponse === null) allowed++;
    assert.equal(allowed, 4);
  });

  test('the per-pod share: replicas divides the limit', async () => {
    const h = await host({ replicas: 2, rules: [{ name: 'r', requests: 10, unit: 'minute' }] });
    let allowed = 0;
    for (let i = 0; i < 10; i++) if (request(h).localResponse === null) allowed++;
    assert.equal(allowed, 5);
  });

  test('client IP from X-Forwarded-For with trusted hops', async () => {
    const h = await host({
      xffTrustedHops: 1,
      rules: [{ name: 'r', descriptors: ['client_ip'], requests: 1, unit: 'hour' }],
    });
    const via = (xff: string) => request(h, { ip: '10.0.0.1', headers: { 'x-forwarded-for': xff } });
    assert.equal(via('203.0.113.9, 198.51.100.1').localResponse, null);
    assert.equal(
      via('6.6.6.6, 198.51.100.1').localResponse?.status,
      429,
      'a client cannot change its key by prepending',
    );
    assert.equal(via('198.51.100.2').localResponse, null);
  });

  test('a rule over several parts keys on their combination; the query string is not part of the path', async () => {
    const h = await host({ rules: [{ name: 'r', descriptors: ['method', 'path'], requests: 1, unit: 'hour' }] });
    const at = (method: string, path: string) => request(h, { headers: { ':method': method, ':path': path } });
    assert.equal(at('GET', '/a?x=1').localResponse, null);
    assert.equal(at('GET', '/a?y=2').localResponse?.status, 429, 'same method and path');
    assert.equal(at('POST', '/a').localResponse, null);
    assert.equal(at('GET', '/b').localResponse, null);
    // Length-prefixed parts: "GE" + "T/a" is not "GET" + "/a".
    assert.equal(at('GE', 'T/a').localResponse, null);
  });

  test('per route: the route name keys the bucket; a request without one is not limited by the rule', async () => {
    const h = await host({ rules: [{ name: 'r', descriptors: ['route'], requests: 1, unit: 'hour' }] });
    const on = (route?: string) => {
      const s = h.newStream();
      if (route !== undefined) s.properties.set('xds.route_name', new TextEncoder().encode(route));
      s.sendRequestHeaders({ ':method': 'GET', ':path': '/', ':authority': 'x' });
      return s;
    };
    assert.equal(on('orders').localResponse, null);
    assert.equal(on('orders').localResponse?.status, 429);
    assert.equal(on('users').localResponse, null);
    assert.equal(on().localResponse, null);
    assert.equal(on().localResponse, null);
  });

  test('the client IP is the address without its port, IPv6 included', async () => {
    const h = await host({ rules: [{ name: 'r', descriptors: ['client_ip'], requests: 1, unit: 'hour' }] });
    assert.equal(request(h, { ip: '[2001:db8::1]' }).localResponse, null);
    assert.equal(request(h, { ip: '[2001:db8::1]' }).localResponse?.status, 429);
    const s = h.newStream();
    s.properties.set('source.address', new TextEncoder().encode('[2001:db8::1]:51000'));
    s.sendRequestHeaders({ ':method': 'GET', ':path': '/', ':authority': 'x' });
    assert.equal(s.localResponse?.status, 429, 'another port of the same client');
    assert.equal(request(h, { ip: '[2001:db8::2]' }).localResponse, null);
  });

  test('X-Forwarded-For entries are trimmed, ports dropped; too few entries fall back to the peer', async () => {
    const h = await host({
      xffTrustedHops: 2,
      rules: [{ name: 'r', descriptors: ['client_ip'], requests: 1, unit: 'hour' }],
    });
    const via = (xff: string, ip = '10.0.0.1') => request(h, { ip, headers: { 'x-forwarded-for': xff } });
    assert.equal(via('1.1.1.1,\t203.0.113.9:4711 , 198.51.100.1').localResponse, null);
    assert.equal(via('203.0.113.9,198.51.100.1').localResponse?.status, 429, 'same client, other spacing');
    // Unicode spaces are trimmed as String#trim does.
    assert.equal(via('\u00a0203.0.113.9\u00a0, 198.51.100.1').localResponse?.status, 429);
    assert.equal(via('198.51.100.1').localResponse, null, 'one entry: the peer 10.0.0.1');
    assert.equal(via('198.51.100.1', '10.0.0.1').localResponse?.status, 429);
  });

  test('memory stays flat under load from many clients', async () => {
    const h = await host({
      maxKeys: 1000,
      rules: [{ name: 'r', descriptors: ['client_ip'], requests: 5, unit: 'second' }],
    });
    const run = (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const s = request(h, { ip: `10.1.${(i >> 8) & 15}.${i & 255}` });
        if (!s.localResponse) s.sendResponseHeaders({ ':status': '200' });
        s.complete();
      }
    };
    run(0, 5000);
    const after5k = h.workers[0]!.memoryBytes;
    run(5000, 30000);
    assert.equal(h.workers[0]!.memoryBytes, after5k);
    assert.equal(h.failure, undefined);
  });

  test('a bad configuration is refused in onConfigure with a logged reason', async () => {
    const h = await FilterHost.load(wasm, { configuration: { rules: [{ name: 'r', requests: -1 }] } });
    assert.equal(h.configured, false);
    assert.ok(h.logMessages('error').some((m) => m.includes('config.rules[0].requests')));
  });
});
