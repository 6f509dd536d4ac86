// The pipeline against a real HTTPS server on 127.0.0.1 (certificate from the operator's own CA
// code) and an in-memory ConfigMap store, with real timers and a real disk cache.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { XdsCertificateAuthority } from '../xds/identity.ts';
import { ModuleCache } from './module-cache.ts';
import { sha256Hex } from './module-check.ts';
import { backoffDelay, ModulePipeline } from './module-pipeline.ts';
import type { ConfigMapLike } from './module-source.ts';
import { proxyWasmModule } from './testing/wasm-builder.ts';
import type { WasmFilter } from './types.ts';
import { wasmFilterStatus } from './wasm-filter-status.ts';

const good = proxyWasmModule();
const better = proxyWasmModule({ functions: ['proxy_on_request_headers'] });
const withAbort = proxyWasmModule({ imports: ['env.proxy_log', 'env.abort'] });

/** What the test server answers per path: bytes, or an HTTP status. */
const routes = new Map<string, Uint8Array | number>();
let server: Server;
let base: string;
let ca: string;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'legate-modules-'));

before(async () => {
  const authority = await XdsCertificateAuthority.create();
  const cert = await authority.issueServerCertificate({ ips: ['127.0.0.1'] });
  ca = cert.caPem;
  server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    const answer = routes.get(req.url ?? '');
    if (answer instanceof Uint8Array) res.end(answer);
    else res.writeHead(answer ?? 404).end('nope');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.close();
  rmSync(tmp, { recursive: true, force: true });
});

function httpsFilter(
  name: string,
  url: string,
  sha256: string,
  failurePolicy: 'FailClosed' | 'FailOpen' = 'FailClosed',
): WasmFilter {
  return {
    metadata: { name, namespace: 'team-a', generation: 1 },
    spec: { source: { type: 'HTTPS', https: { url, sha256 } }, failurePolicy },
  };
}

function harness(configMaps = new Map<string, ConfigMapLike>(), dir?: string) {
  const changes: string[] = [];
  const cache = new ModuleCache({ dir, maxMemoryBytes: 1 << 20, maxDiskBytes: 1 << 20, maxModuleBytes: 1 << 20 });
  const pipeline = new ModulePipeline({
    cache,
    source: {
      readConfigMap: async (ns, name) => configMaps.get(`${ns}/${name}`),
      maxBytes: 1 << 20,
      ca,
      timeoutMs: 2000,
    },
    backoff: { initialMs: 20, maxMs: 80 },
    onChange: (key) => changes.push(key),
  });
  return { pipeline, changes, cache };
}

async function until(what: string, check: () => boolean, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('ModulePipeline', () => {
  it('doubles the retry delay up to the cap', () => {
    const b = { initialMs: 1000, maxMs: 300_000 };
    assert.deepEqual(
      [1, 2, 3, 10].map((n) => backoffDelay(n, b)),
      [1000, 2000, 4000, 300_000],
    );
  });

  it('loads a module from a ConfigMap binaryData key and reports Ready with its digest', async () => {
    const cms = new Map([['team-a/mod', { binaryData: { 'filter.wasm': Buffer.from(good).toString('base64') } }]]);
    const { pipeline, changes } = harness(cms);
    const filter: WasmFilter = {
      metadata: { name: 'hr', namespace: 'team-a', generation: 3 },
      spec: { source: { type: 'ConfigMap', configMap: { name: 'mod', key: 'filter.wasm' } } },
    };
    pipeline.upsert(filter);
    await pipeline.idle();
    assert.deepEqual(changes, ['team-a/hr']);
    assert.equal(pipeline.serving('team-a/hr')?.sha256, sha256Hex(good));
    const status = wasmFilterStatus(filter, pipeline.state('team-a/hr'));
    assert.equal(status.sha256, sha256Hex(good));
    assert.equal(status.abiVersion, '0.2.1');
    assert.equal(status.observedGeneration, 3);
    assert.equal(status.conditions?.[0]?.status, 'True');
    assert.match(
      status.conditions?.[0]?.message ?? '',
      /^module sha256:[0-9a-f]{64} \(\d+ bytes, proxy-wasm 0\.2\.1\) from ConfigMap team-a\/mod key filter\.wasm$/,
    );

    // The ConfigMap gets a module importing env.abort: the last good version keeps serving.
    cms.set('team-a/mod', { binaryData: { 'filter.wasm': Buffer.from(withAbort).toString('base64') } });
    pipeline.configMapChanged('team-a', 'mod');
    await pipeline.idle();
    assert.equal(pipeline.serving('team-a/hr')?.sha256, sha256Hex(good));
    const ready = wasmFilterStatus(filter, pipeline.state('team-a/hr')).conditions?.[0];
    assert.equal(ready?.status, 'False');
    assert.equal(ready?.reason, 'UnsupportedImport');
    assert.match(
      ready?.message ?? '',
      /imports a function Envoy does not provide: env\.abort .*; still serving the last good version sha256:/,
    );
    pipeline.close();
  });

  it('reports a checksum mismatch with both digests and keeps FailClosed traffic from passing', async () => {
    routes.set('/bad.wasm', good);
    const pinned = 'd'.repeat(64);
    const filter = httpsFilter('pinned', `${base}/bad.wasm`, pinned);
    const { pipeline } = harness();
    pipeline.upsert(filter);
    await pipeline.idle();
    assert.equal(pipeline.serving('team-a/pinned'), undefined);
    const ready = wasmFilterStatus(filter, pipeline.state('team-a/pinned')).conditions?.[0];
    assert.equal(ready?.reason, 'ChecksumMismatch');
    assert.equal(
      ready?.message,
      `sha256 mismatch: expected ${pinned} (spec.source.https.sha256), got ${sha256Hex(good)} (attempt 1, retrying with backoff); ` +
        'no good version yet: FailClosed, so requests that would run this filter are rejected',
    );
    pipeline.close();
  });

  it('retries an unreachable source with backoff and recovers without an edit', async () => {
    routes.set('/later.wasm', 503);
    const filter = httpsFilter('later', `${base}/later.wasm`, sha256Hex(better), 'FailOpen');
    const { pipeline, changes } = harness();
    pipeline.upsert(filter);
    await until('two failed attempts', () => (pipeline.state('team-a/later')?.failures ?? 0) >= 2);
    const ready = wasmFilterStatus(filter, pipeline.state('team-a/later')).conditions?.[0];
    assert.equal(ready?.reason, 'SourceUnreachable');
    assert.match(
      ready?.message ?? '',
      /^source unreachable: GET https:\/\/127\.0\.0\.1:\d+\/later\.wasm answered HTTP 503 \(attempt \d+, retrying with backoff\); no good version yet: FailOpen, so the filter is skipped$/,
    );
    routes.set('/later.wasm', better);
    await until('recovery', () => pipeline.serving('team-a/later') !== undefined);
    assert.equal(pipeline.serving('team-a/later')?.sha256, sha256Hex(better));
    assert.equal(wasmFilterStatus(filter, pipeline.state('team-a/later')).conditions?.[0]?.status, 'True');
    assert.deepEqual([...new Set(changes)], ['team-a/later']);
    pipeline.close();
  });

  it('says an unreachable host is unreachable', async () => {
    const filter = httpsFilter('nohost', 'https://127.0.0.1:1/x.wasm', sha256Hex(good));
    const { pipeline } = harness();
    pipeline.upsert(filter);
    await pipeline.idle();
    assert.match(
      pipeline.state('team-a/nohost')?.problem?.message ?? '',
      /^source unreachable: GET https:\/\/127\.0\.0\.1:1\/x\.wasm: connect ECONNREFUSED/,
    );
    pipeline.close();
  });

  it('serves a pinned module from the disk cache after a restart while the source is down', async () => {
    const dir = path.join(tmp, 'cache');
    routes.set('/cached.wasm', good);
    const filter = httpsFilter('cached', `${base}/cached.wasm`, sha256Hex(good));
    const first = harness(new Map(), dir);
    first.pipeline.upsert(filter);
    await first.pipeline.idle();
    first.pipeline.close();
    assert.deepEqual(readdirSync(path.join(dir, 'team-a')), [`${sha256Hex(good)}.wasm`]);

    routes.set('/cached.wasm', 500);
    const restarted = harness(new Map(), dir);
    restarted.pipeline.upsert(filter);
    await restarted.pipeline.idle();
    assert.equal(restarted.pipeline.serving('team-a/cached')?.sha256, sha256Hex(good));
    restarted.pipeline.close();
  });

  it("never serves another namespace's cached module for the same digest: that team must download it", async () => {
    const dir = path.join(tmp, 'tenant-cache');
    routes.set('/private.wasm', good);
    const { pipeline } = harness(new Map(), dir);
    pipeline.upsert(httpsFilter('private', `${base}/private.wasm`, sha256Hex(good)));
    await pipeline.idle();
    assert.equal(pipeline.serving('team-a/private')?.sha256, sha256Hex(good));

    // Team B names the same digest with a source it cannot download from.
    const guess = httpsFilter('guess', `${base}/missing.wasm`, sha256Hex(good));
    guess.metadata.namespace = 'team-b';
    pipeline.upsert(guess);
    await pipeline.idle();
    assert.equal(pipeline.serving('team-b/guess'), undefined, "team A's module is not team B's");
    assert.equal(pipeline.state('team-b/guess')?.problem?.reason, 'SourceUnreachable');
    pipeline.close();
  });

  it('does not refetch when only non-source fields change, and refetches on a source change', async () => {
    routes.set('/a.wasm', good);
    routes.set('/b.wasm', better);
    const { pipeline, changes } = harness();
    const filter = httpsFilter('switch', `${base}/a.wasm`, sha256Hex(good));
    pipeline.upsert(filter);
    await pipeline.idle();
    pipeline.upsert({ ...filter, spec: { ...filter.spec, rootId: 'other' } });
    assert.equal(pipeline.state('team-a/switch')?.fetching, false);
    pipeline.upsert(httpsFilter('switch', `${base}/b.wasm`, sha256Hex(better)));
    assert.equal(pipeline.state('team-a/switch')?.current, false, 'the old module is not current for the new source');
    assert.equal(
      pipeline.serving('team-a/switch')?.sha256,
      sha256Hex(good),
      'but keeps serving until the new one is good',
    );
    await pipeline.idle();
    assert.equal(pipeline.serving('team-a/switch')?.sha256, sha256Hex(better));
    assert.equal(changes.length, 2);
    pipeline.close();
  });
});

describe('ModuleCache', () => {
  it('evicts the least recently used modules beyond its memory bound', async () => {
    const a = proxyWasmModule({ padding: 1000 });
    const b = proxyWasmModule({ padding: 1001 });
    const c = proxyWasmModule({ padding: 1002 });
    const cache = new ModuleCache({ maxMemoryBytes: 2 * a.length + 10, maxDiskBytes: 0, maxModuleBytes: 1 << 20 });
    const mod = (bytes: Uint8Array) => ({
      sha256: sha256Hex(bytes),
      size: bytes.length,
      abiVersion: '0.2.1' as const,
      bytes,
    });
    await cache.put('team-a', mod(a));
    await cache.put('team-a', mod(b));
    await cache.get('team-a', sha256Hex(a)); // a is now the most recent
    await cache.put('team-a', mod(c));
    assert.ok(await cache.get('team-a', sha256Hex(a)));
    assert.equal(await cache.get('team-a', sha256Hex(b)), undefined);
    assert.ok(await cache.get('team-a', sha256Hex(c)));
    assert.ok(cache.memoryBytes <= 2 * a.length + 10);
  });
});

describe('wasmFilterStatus', () => {
  it('reports a configSchema that is not a JSON Schema in an Accepted condition, apart from Ready', () => {
    const filter: WasmFilter = {
      metadata: { name: 'f', namespace: 'team-a', generation: 4 },
      spec: { source: { type: 'ConfigMap', configMap: { name: 'm', key: 'k' } }, configSchema: { type: 'objekt' } },
    };
    const conditions = wasmFilterStatus(filter, undefined).conditions ?? [];
    assert.deepEqual(
      conditions.map((c) => [c.type, c.status, c.reason, c.observedGeneration]),
      [
        ['Ready', 'Unknown', 'Pending', 4],
        ['Accepted', 'False', 'InvalidConfigSchema', 4],
      ],
    );
    assert.match(
      conditions[1]?.message ?? '',
      /^spec\.configSchema is not a valid JSON Schema: schema is invalid: data\/type must be equal to one of the allowed values/,
    );
    const fine = wasmFilterStatus({ ...filter, spec: { ...filter.spec, configSchema: { type: 'object' } } }, undefined);
    assert.equal(fine.conditions?.[1]?.status, 'True');
  });
});
