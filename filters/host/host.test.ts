// The host's Envoy semantics and the SDK surface, through the real probe module
// (filters/sdk/testdata/probe) and hand-made modules.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { builtModule } from '../cli/build-examples.ts';
import { decodePairs, encodePairs } from './headers.ts';
import { FilterHost, ModuleRejected } from './index.ts';
import { SharedData } from './shared.ts';

const get = { ':method': 'GET', ':path': '/p?q=1', ':authority': 'a.example', ':scheme': 'http' };

async function probe(options: Parameters<typeof FilterHost.load>[1] = {}) {
  return FilterHost.load(await builtModule('probe'), { configuration: { greeting: 'hi' }, ...options });
}

/** A module importing env.abort and nothing else: what AssemblyScript emits without --use abort. */
const importsAbort = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x01, 0x60, 0x04, 0x7f, 0x7f, 0x7f, 0x7f, 0x00, 0x02,
  0x0d, 0x01, 0x03, 0x65, 0x6e, 0x76, 0x05, 0x61, 0x62, 0x6f, 0x72, 0x74, 0x00, 0x00,
]);

describe('module checks', () => {
  it('refuses a module importing what Envoy does not provide, naming the import', async () => {
    await assert.rejects(FilterHost.load(importsAbort), (e: Error) => {
      assert.ok(e instanceof ModuleRejected);
      assert.match(e.message, /env\.abort \(function\): AssemblyScript: build with --use abort=legateAbort/);
      return true;
    });
  });

  it('refuses a module without the ABI marker', async () => {
    const empty = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    await assert.rejects(FilterHost.load(empty), /does not export proxy_abi_version_0_2_1, proxy_on_memory_allocate/);
  });

  it('SDK modules import only env functions Envoy provides', async () => {
    for (const name of ['noop', 'header-rewrite', 'http-callout', 'probe', 'stdlib']) {
      const host = await FilterHost.load(await builtModule(name), { configuration: { cluster: 'c' } });
      assert.equal(host.failure, undefined, name);
    }
  });
});

describe('header pairs encoding', () => {
  it('round-trips UTF-8 names and values in the proxy-wasm format', () => {
    const pairs: Array<[string, string]> = [
      [':path', '/ünï'],
      ['x-empty', ''],
      ['x-emoji', '🚀'],
    ];
    const bytes = encodePairs(pairs);
    assert.equal(new DataView(bytes.buffer).getUint32(0, true), 3);
    assert.deepEqual(decodePairs(bytes), pairs);
  });
});

describe('configuration (JSON config helpers)', () => {
  it('passes typed values to the filter', async () => {
    const host = await probe({ configuration: { greeting: 'héllo', limit: 42, tags: ['a', 'b'] } });
    assert.equal(host.configured, true);
    const s = host.newStream();
    s.sendRequestHeaders({ ...get, 'x-probe': 'config' });
    assert.equal(s.localResponse?.body, 'héllo;42;a,b');
    assert.deepEqual(s.localResponse?.headers, [['x-probe', 'config']]);
  });

  it('collects every error with the field path', async () => {
    const host = await probe({
      configuration: { limit: 5000, tags: ['a', 3], nested: [{ name: 'x' }, {}], extra: 1 },
    });
    assert.equal(host.configured, false);
    const error = host.logMessages('error')[0] ?? '';
    assert.match(error, /config\.extra: unknown field/);
    assert.match(error, /config\.limit: must be between 1 and 1000, got 5000/);
    assert.match(error, /config\.tags\[1\]: expected a string, got number/);
    assert.match(error, /config\.nested\[1\]\.name: required/);
  });

  it('reports invalid JSON with line and column', async () => {
    const host = await probe({ configuration: '{\n  "greeting": "x",\n  "limit": 01\n}' });
    assert.equal(host.configured, false);
    assert.match(host.logMessages('error')[0] ?? '', /invalid JSON: line 3, column 12: leading zeros/);
  });

  it('accepts an empty configuration (all defaults)', async () => {
    const host = await probe({ configuration: '' });
    assert.equal(host.configured, true);
  });
});

describe('JSON and base64 in the module', () => {
  const cases: Array<[string, string]> = [
    ['{"a":[1,2.5,-3e2,true,null],"b":{"c":"d\\n\\u00e9"}}', '{"a":[1,2.5,-300,true,null],"b":{"c":"d\\né"}}'],
    ['  "x"  ', '"x"'],
    ['[]', '[]'],
  ];
  for (const [input, expected] of cases) {
    it(`parses and re-serializes ${input.trim()}`, async () => {
      const host = await probe();
      const s = host.newStream();
      s.sendRequestHeaders({ ...get, 'x-probe': 'json', 'x-arg': input });
      assert.equal(s.localResponse?.status, 200);
      assert.equal(s.localResponse?.body, expected);
      assert.deepEqual(JSON.parse(s.localResponse?.body ?? ''), JSON.parse(input));
    });
  }

  it('names the position of a syntax error', async () => {
    const host = await probe();
    const s = host.newStream();
    s.sendRequestHeaders({ ...get, 'x-probe': 'json', 'x-arg': '{"a": [1, 2,]}' });
    assert.equal(s.localResponse?.status, 400);
    assert.equal(s.localResponse?.body, "line 1, column 13: unexpected character ']'");
  });

  it('decodes base64url and re-encodes it', async () => {
    const host = await probe();
    const s = host.newStream();
    const text = '{"sub":"ålice"}';
    s.sendRequestHeaders({ ...get, 'x-probe': 'base64', 'x-arg': Buffer.from(text).toString('base64url') });
    assert.equal(s.localResponse?.body, `${text}|${Buffer.from(text).toString('base64url')}`);
  });

  it('values larger than the module memory arrive whole (the memory grows while the host copies them in)', async () => {
    const host = await probe();
    const before = host.workers[0]!.memoryBytes;
    const text = 'ålice € '.repeat(100_000);
    const b64 = Buffer.from(text).toString('base64url');
    const s = host.newStream();
    s.sendRequestHeaders({ ...get, 'x-probe': 'base64', 'x-arg': b64 });
    assert.ok(host.workers[0]!.memoryBytes > before + b64.length, 'the module memory grew');
    assert.equal(s.localResponse?.body, `${text}|${b64}`);
    const peer = `10.0.0.1:${'9'.repeat(2_000_000)}`;
    const p = host.newStream();
    p.properties.set('source.address', new TextEncoder().encode(peer));
    p.sendRequestHeaders({ ...get, 'x-probe': 'props' });
    assert.equal(p.request.headers.get('x-prop-source'), peer);
  });
});

describe('shared data across workers', () => {
  it('two workers increment one counter with compare-and-swap', async () => {
    const host = await probe({ workers: 2 });
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      const s = host.newStream(i % 2);
      s.sendRequestHeaders({ ...get, 'x-probe': 'count' });
      seen.push(s.request.headers.get('x-count') ?? '');
    }
    assert.deepEqual(seen, ['1', '2', '3', '4', '5', '6']);
    assert.equal(host.sharedData.text('probe.count'), '6');
  });

  it('a stale CAS token is refused', () => {
    const data = new SharedData();
    data.set('k', new Uint8Array([1]), 0);
    const first = data.get('k')!;
    assert.equal(data.set('k', new Uint8Array([2]), first.cas), 0, 'Ok');
    assert.equal(data.set('k', new Uint8Array([3]), first.cas), 8, 'CasMismatch');
    assert.deepEqual([...data.get('k')!.value], [2]);
    assert.deepEqual([...first.value], [1], 'what was read is a snapshot, as a module gets a copy');
  });
});

describe('queues, timers, metrics, properties, bodies', () => {
  it('delivers an enqueued item to the registering root (onQueueReady) after the call', async () => {
    const host = await probe({ workers: 2 });
    const s = host.newStream(1);
    s.sendRequestHeaders({ ...get, 'x-probe': 'enqueue', 'x-arg': 'job-1' });
    assert.ok(host.logMessages('info').includes('probe: dequeued job-1'));
  });

  it('fires onTick on the test clock', async () => {
    const host = await probe({ configuration: { tickMs: 1000 } });
    host.advance(999);
    assert.equal(host.metric('probe.ticks'), 0);
    host.advance(2001);
    assert.equal(host.metric('probe.ticks'), 3);
  });

  it('exposes request properties', async () => {
    const host = await probe();
    const s = host.newStream();
    s.sendRequestHeaders({ ...get, 'x-probe': 'props' });
    const h = s.request.headers;
    assert.equal(h.get('x-prop-path'), '/p?q=1');
    assert.equal(h.get('x-prop-source'), '127.0.0.1:50000');
    assert.equal(h.get('x-prop-missing'), 'null');
    assert.equal(h.get('x-prop-size-bytes'), '8', 'integers are 8 bytes, as in Envoy');
  });

  it('buffers a request body until the end and replaces it', async () => {
    const host = await probe();
    const s = host.newStream();
    s.sendRequestHeaders({ ...get, ':method': 'POST', 'x-probe': 'upper-body' }, false);
    assert.equal(s.sendRequestBody('hello ', false), 'StopIterationAndBuffer');
    assert.equal(s.request.body, '');
    assert.equal(s.sendRequestBody('world', true), 'Continue');
    assert.equal(s.request.body, 'HELLO WORLD');
    assert.deepEqual(host.metricDetail('probe.body_size')?.values, [11]);
  });

  it('rewrites a response body', async () => {
    const host = await probe();
    const s = host.newStream();
    s.sendRequestHeaders({ ...get, 'x-probe': 'wrap-response' });
    s.sendResponseHeaders({ ':status': '200' }, false);
    s.sendResponseBody('{"ok":true}');
    assert.equal(s.response.body, '[{"ok":true}]');
  });

  it('tracks a gauge and calls onLog when the stream completes', async () => {
    const host = await probe();
    const s = host.newStream();
    s.sendRequestHeaders({ ...get, 'x-probe': 'pairs' });
    assert.equal(host.metric('probe.inflight'), 1);
    s.complete();
    assert.equal(host.metric('probe.inflight'), 0);
    assert.ok(host.logMessages('info').includes('probe: log pairs'));
  });

  it('lists header pairs in order, pseudo-headers included', async () => {
    const host = await probe();
    const s = host.newStream();
    s.sendRequestHeaders([...Object.entries(get), ['X-Probe', 'pairs']]);
    assert.equal(
      s.localResponse?.body,
      ':method=GET\n:path=/p?q=1\n:authority=a.example\n:scheme=http\nx-probe=pairs\n',
    );
  });

  it('sends a gRPC local response with details', async () => {
    const host = await probe();
    const s = host.newStream();
    s.sendRequestHeaders({ ...get, 'x-probe': 'grpc-deny' });
    assert.equal(s.localResponse?.grpcStatus, 7);
    assert.equal(s.localResponse?.details, 'probe_denied');
  });
});

describe('many concurrent streams', () => {
  it('keeps each stream on its own context while streams come and go', async () => {
    const host = await FilterHost.load(await builtModule('http-callout'), { configuration: { cluster: 'authz' } });
    const open: Array<{ stream: ReturnType<FilterHost['newStream']>; user: string }> = [];
    let next = 0;
    // Grow to 300 open streams (the SDK's context table grows), answering and closing in a
    // scrambled order, so deletions shift entries inside the table.
    for (let round = 0; round < 600; round++) {
      if (round < 300 || round % 3 !== 0) {
        const stream = host.newStream();
        stream.sendRequestHeaders({ ...get, authorization: `Bearer ${next}` });
        open.push({ stream, user: `user-${next++}` });
      }
      if (round >= 300) {
        const [item] = open.splice((round * 7919) % open.length, 1);
        item!.stream.pendingHttpCalls[0]!.respond({ headers: { 'x-user': item!.user } });
        assert.equal(item!.stream.request.headers.get('x-user'), item!.user);
        item!.stream.complete();
      }
    }
    for (const item of open) {
      item.stream.pendingHttpCalls[0]!.respond({ headers: { 'x-user': item.user } });
      assert.equal(item.stream.request.headers.get('x-user'), item.user);
      item.stream.complete();
    }
    assert.equal(host.metric('http_callout.allowed'), next);
    assert.equal(host.failure, undefined);
  });
});

describe('memory under load', () => {
  it('the module memory stays flat over many requests (incremental GC, buffers freed)', async () => {
    const host = await FilterHost.load(await builtModule('http-callout'), { configuration: { cluster: 'authz' } });
    const request = () => {
      const s = host.newStream();
      s.sendRequestHeaders({ ...get, authorization: 'Bearer abc', 'x-pad': 'p'.repeat(200) });
      s.pendingHttpCalls[0]!.respond({ headers: { 'x-user': 'u'.repeat(100) }, body: 'b'.repeat(500) });
      s.sendResponseHeaders({ ':status': '200' });
      s.complete();
    };
    for (let i = 0; i < 2000; i++) request();
    const warm = host.workers[0]!.memoryBytes;
    for (let i = 0; i < 10000; i++) request();
    assert.equal(host.workers[0]!.memoryBytes, warm);
  });
});

describe('StopIteration and failures', () => {
  it('a trap fails the VM: the stream gets 503 and the abort message is logged', async () => {
    const host = await probe();
    const s = host.newStream();
    s.sendRequestHeaders({ ...get, 'x-probe': 'abort', 'x-arg': 'now' });
    assert.equal(s.localResponse?.status, 503);
    assert.ok(host.failure);
    const critical = host.logMessages('critical').join('\n');
    assert.match(critical, /abort: probe asked to abort/);
    assert.match(critical, /wasm VM 0 failed/);
    assert.equal(host.newStream().sendRequestHeaders(get), 'StopIteration');
  });

  it('a failed bounds check names the file and line', async () => {
    const host = await probe();
    host.newStream().sendRequestHeaders({ ...get, 'x-probe': 'out-of-range' });
    assert.match(host.logMessages('critical').join('\n'), /abort: Index out of range at ~lib\/array\.ts:\d+:\d+/);
  });

  it('honours allow_on_headers_stop_iteration', async () => {
    const cfg = { configuration: { cluster: 'authz' } };
    const strict = await FilterHost.load(await builtModule('http-callout'), cfg);
    const s = strict.newStream();
    assert.equal(s.sendRequestHeaders(get, false), 'StopAllIterationAndWatermark');
    assert.equal(s.sendRequestBody('x'), 'Held');
  });
});
