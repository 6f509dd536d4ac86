// The example filters on two hosts: Legate's TypeScript host (V8) and an independent one, the
// wazero-based proxytest host of the proxy-wasm Go SDK (test/tools/proxytest). Same module, same
// requests, same results — except where the Go host differs from Envoy, checked explicitly below.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { builtModule } from '../../filters/cli/build-examples.ts';
import { build, init } from '../../filters/cli/main.ts';
import type { Scenario, ScenarioResult } from '../../filters/host/scenario.ts';
import { runScenario } from '../../filters/host/scenario.ts';
import { goTool } from '../harness/go-tools.ts';

let proxytest: string;

function runOnProxytest(s: Scenario): ScenarioResult {
  const r = spawnSync(proxytest, [], { input: JSON.stringify(s), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`proxytest failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as ScenarioResult;
}

/** Logs compare as sorted lists: proxytest groups them by level, our host keeps time order. */
function normalized(r: ScenarioResult): ScenarioResult {
  return { ...r, logs: r.logs ? [...r.logs].sort() : null };
}

async function bothHosts(s: Scenario): Promise<{ ours: ScenarioResult; theirs: ScenarioResult }> {
  return { ours: normalized(await runScenario(s)), theirs: normalized(runOnProxytest(s)) };
}

const get: Array<[string, string]> = [
  [':method', 'GET'],
  [':path', '/orders?id=7'],
  [':authority', 'shop.example'],
];

describe('cross-check: TypeScript host vs proxy-wasm Go SDK proxytest (wazero)', () => {
  before(async () => {
    proxytest = await goTool('proxytest');
  });

  it('header-rewrite gives the same headers, metrics and logs', async () => {
    const s: Scenario = {
      wasm: await builtModule('header-rewrite'),
      configuration: JSON.stringify({
        request: { set: { 'x-team': 'payments' }, add: { via: 'legate' }, remove: ['x-debug'] },
        response: { set: { 'x-served-by': 'legate' } },
        copyPathTo: 'x-original-path',
      }),
      metrics: ['header_rewrite.requests'],
      requests: [
        { requestHeaders: [...get, ['x-debug', '1']], responseHeaders: [[':status', '200']] },
        { requestHeaders: [...get, ['x-team', 'spoofed']], responseHeaders: [[':status', '404']] },
      ],
    };
    const { ours, theirs } = await bothHosts(s);
    assert.deepEqual(ours, theirs);
    assert.equal(ours.requests[1]?.requestHeaders.find(([k]) => k === 'x-team')?.[1], 'payments');
    assert.equal(ours.metrics['header_rewrite.requests'], 2);
  });

  it('header-rewrite rejects a bad configuration on both, with the same message', async () => {
    const s: Scenario = {
      wasm: await builtModule('header-rewrite'),
      configuration: '{"request": {"set": {"a": 1}}}',
      metrics: [],
      requests: [],
    };
    const { ours, theirs } = await bothHosts(s);
    assert.equal(ours.configured, false);
    assert.deepEqual(ours, { ...theirs, requests: [] });
  });

  it('http-callout pauses, calls out, and resumes or answers 403 the same way', async () => {
    const s: Scenario = {
      wasm: await builtModule('http-callout'),
      configuration: JSON.stringify({ cluster: 'authz', path: '/check' }),
      metrics: ['http_callout.allowed', 'http_callout.denied'],
      requests: [
        {
          requestHeaders: [...get, ['authorization', 'Bearer t']],
          httpCallResponse: {
            headers: [
              [':status', '200'],
              ['x-user', 'alice'],
            ],
            body: '',
          },
        },
        { requestHeaders: get, httpCallResponse: { headers: [[':status', '401']], body: 'no' } },
      ],
    };
    const { ours, theirs } = await bothHosts(s);
    assert.deepEqual(ours, theirs);
    assert.equal(ours.requests[0]?.actionAfterCalls, 0, 'resumed');
    assert.equal(ours.requests[1]?.localResponse?.status, 403);
  });

  it('the probe filter: JSON, base64, header pairs, gRPC local responses and shared data agree', async () => {
    const probe = (action: string, arg = ''): Scenario['requests'][number] => ({
      requestHeaders: [...get, ['x-probe', action], ['x-arg', arg]],
    });
    const s: Scenario = {
      wasm: await builtModule('probe'),
      configuration: JSON.stringify({ greeting: 'héllo', limit: 7, tags: ['x', 'y'] }),
      metrics: [],
      requests: [
        probe('json', '{"a":[1,2.5,{"b":null}],"c":"\\u00e9"}'),
        probe('json', '{"a":'),
        probe('base64', Buffer.from('ålice').toString('base64url')),
        probe('pairs'),
        probe('grpc-deny'),
        probe('config'),
        probe('count'),
        probe('count'),
      ],
    };
    const { ours, theirs } = await bothHosts(s);
    // proxytest keeps log messages and local-response details as Go strings that alias the module's
    // memory (no copy); once the module's GC reuses that memory they read as garbage. Compare them
    // on our host only; everything else must agree. See docs/filters/hosts.md.
    const withoutAliased = (r: ScenarioResult) => ({
      ...r,
      logs: null,
      requests: r.requests.map((q) => ({
        ...q,
        localResponse: q.localResponse && { ...q.localResponse, details: '' },
      })),
    });
    assert.deepEqual(withoutAliased(ours), withoutAliased(theirs));
    assert.equal(ours.requests[4]?.localResponse?.details, 'probe_denied');
    assert.equal(ours.requests[4]?.localResponse?.grpcStatus, 7);
    assert.equal(ours.requests[7]?.requestHeaders.find(([k]) => k === 'x-count')?.[1], '2');
  });

  it('a module scaffolded by `legate filter init` and built by `build` gives the same results', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'legate-crosscheck-'));
    try {
      const dir = path.join(tmp, 'team-header');
      const quiet = { out: () => {}, err: (s: string) => process.stderr.write(s) };
      assert.equal(init(dir, quiet), 0);
      assert.equal(await build(dir, quiet), 0);
      const s: Scenario = {
        wasm: path.join(dir, 'build', 'team-header.wasm'),
        configuration: JSON.stringify({ header: 'x-team', value: 'payments' }),
        metrics: [],
        requests: [{ requestHeaders: [...get, ['x-team', 'spoofed']], responseHeaders: [[':status', '200']] }],
      };
      const { ours, theirs } = await bothHosts(s);
      assert.deepEqual(ours, theirs);
      assert.equal(ours.requests[0]?.requestHeaders.find(([k]) => k === 'x-team')?.[1], 'payments');
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('documented difference: adding to an existing header', async () => {
    // Envoy (HeaderMap::addCopy) keeps a second entry, as our host does; proxytest appends the new
    // value to the existing one without a separator. See docs/filters/hosts.md.
    const s: Scenario = {
      wasm: await builtModule('header-rewrite'),
      configuration: JSON.stringify({ request: { add: { via: 'legate' } } }),
      metrics: [],
      requests: [{ requestHeaders: [...get, ['via', 'edge']] }],
    };
    const { ours, theirs } = await bothHosts(s);
    assert.deepEqual(ours.requests[0]?.requestHeaders.slice(-2), [
      ['via', 'edge'],
      ['via', 'legate'],
    ]);
    assert.deepEqual(theirs.requests[0]?.requestHeaders.slice(-1), [['via', 'edgelegate']]);
  });
});
