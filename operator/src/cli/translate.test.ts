import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';

const main = path.join(import.meta.dirname, 'main.ts');
const scenarios = path.join(import.meta.dirname, '..', 'translate', 'testdata', 'scenarios');

function legate(args: string[], input?: string) {
  const res = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', input });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

describe('legate translate', () => {
  it('prints each Gateway with @type-tagged Envoy resources and status', () => {
    const { code, stdout } = legate(['translate', '-f', path.join(scenarios, 'two-teams.yaml')]);
    assert.equal(code, 0);
    const out = JSON.parse(stdout) as {
      gateways: { gateway: string; resources: { '@type': string; name?: string }[]; status: { routes: unknown[] } }[];
    };
    assert.deepEqual(
      out.gateways.map((g) => g.gateway),
      ['team-a/gw', 'team-b/gw'],
    );
    const types = new Set(out.gateways[0]?.resources.map((r) => r['@type']));
    assert.ok(types.has('type.googleapis.com/envoy.config.listener.v3.Listener'));
    assert.ok(types.has('type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment'));
  });

  it('filters by --gateway, prints the IR with --ir, and YAML with -o yaml', () => {
    const { code, stdout } = legate(['translate', '-f', scenarios, '--gateway', 'app/edge', '--ir', '-o', 'yaml']);
    assert.equal(code, 0);
    const out = parse(stdout) as { gateways: { gateway: string; ir: { listeners: { name: string }[] } }[] };
    assert.deepEqual(
      out.gateways.map((g) => g.gateway),
      ['app/edge'],
    );
    assert.equal(out.gateways[0]?.ir.listeners[0]?.name, 'app/edge/80');
  });

  it('reads stdin and a List, defaults the namespace, skips Gateways of other controllers', () => {
    const list = {
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { kind: 'GatewayClass', metadata: { name: 'other' }, spec: { controllerName: 'example.com/other' } },
        { kind: 'Gateway', metadata: { name: 'not-ours' }, spec: { gatewayClassName: 'other', listeners: [] } },
        {
          kind: 'Gateway',
          metadata: { name: 'g' },
          spec: { gatewayClassName: 'x', listeners: [{ name: 'h', port: 8080, protocol: 'HTTP' }] },
        },
      ],
    };
    const { code, stdout } = legate(['translate', '-f', '-'], JSON.stringify(list));
    assert.equal(code, 0);
    assert.deepEqual(
      (JSON.parse(stdout) as { gateways: { gateway: string }[] }).gateways.map((g) => g.gateway),
      ['default/g'],
    );
  });

  it('exits non-zero with a clear message on unreadable input', (t) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'legate-cli-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(bad, 'kind: Gateway\nmetadata: {name: [unclosed\n');
    const missing = legate(['translate', '-f', path.join(dir, 'nope.yaml')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read .*nope\.yaml/);
    const invalid = legate(['translate', '-f', bad]);
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /bad\.yaml: invalid YAML/);
    const noFile = legate(['translate']);
    assert.equal(noFile.code, 2);
    assert.match(legate(['translate', '-f', scenarios, '-g', 'x/y']).stderr, /Gateway x\/y not found/);
  });

  it('dispatches `filter` to the filters CLI, or says it is missing', () => {
    const res = legate(['filter', '--help']);
    assert.ok(res.code === 0 || /not available in this installation/.test(res.stderr), res.stderr);
    assert.equal(legate(['nope']).code, 2);
  });
});
