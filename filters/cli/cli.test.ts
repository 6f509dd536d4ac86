// `legate filter init/build/test` from an empty directory, the way a filter author starts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parseDiagnostics } from './compile.ts';
import { build, init, run, test } from './main.ts';
import { filterName, importPath } from './scaffold.ts';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s) }, out, err };
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'legate-filter-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('legate filter', () => {
  it('init, build and test pass from an empty directory in under two minutes', async () => {
    const started = Date.now();
    const dir = path.join(tmp, 'team-header');
    const i = capture();
    assert.equal(init(dir, i.io), 0, i.err.join(''));
    const project = JSON.parse(readFileSync(path.join(dir, 'filter.json'), 'utf8'));
    assert.equal(project.name, 'team-header');

    const b = capture();
    assert.equal(await build(dir, b.io), 0, b.err.join(''));
    const size = statSync(path.join(dir, 'build', 'team-header.wasm')).size;
    assert.match(b.out.join(''), new RegExp(`${size} bytes`));
    assert.match(b.out.join(''), /ABI check: proxy_abi_version_0_2_1/);

    assert.equal(await test(dir, capture().io), 0);
    const seconds = (Date.now() - started) / 1000;
    assert.ok(seconds < 120, `took ${seconds}s`);
  });

  it('refuses to init into a non-empty directory', () => {
    const dir = path.join(tmp, 'busy');
    assert.equal(init(dir, capture().io), 0);
    const c = capture();
    assert.equal(init(dir, c.io), 1);
    assert.match(c.err.join(''), /is not empty/);
  });

  it('reports compile errors with file, line and column', async () => {
    const dir = path.join(tmp, 'broken');
    assert.equal(init(dir, capture().io), 0);
    const file = path.join(dir, 'assembly', 'index.ts');
    const lines = readFileSync(file, 'utf8').split('\n');
    const at = lines.findIndex((l) => l.includes('requestHeaders.replace('));
    lines.splice(at, 0, '    const oops: i32 = "not a number";');
    writeFileSync(file, lines.join('\n'));
    const c = capture();
    assert.equal(await build(dir, c.io), 1);
    const errors = c.err.join('');
    assert.match(errors, new RegExp(`assembly/index\\.ts:${at + 1}:\\d+: error: .*not assignable`));
  });

  it('prints usage and rejects unknown commands', async () => {
    assert.equal(await run(['--help']), 0);
    assert.equal(await run(['frobnicate']), 2);
  });

  it('is what `legate filter` runs', async () => {
    const { main } = await import('../../operator/src/cli/main.ts');
    assert.equal(await main(['filter', 'help']), 0);
  });

  it('pushes a built module with `push --wasm` from the command line', () => {
    // AssemblyScript's asc, once imported, takes `--wasm <file>` from process.argv as its own
    // compiler and imports it: the CLI must not load it unless it compiles.
    const wasm = path.join(tmp, 'given.wasm');
    writeFileSync(wasm, new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 2, 7, 1, 3, 101, 110, 118, 0, 0]));
    const cli = path.join(import.meta.dirname, '..', '..', 'operator', 'src', 'cli', 'main.ts');
    const args = ['filter', 'push', '--wasm', wasm, '--name', 'given', '--kubeconfig', path.join(tmp, 'none')];
    const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: tmp, timeout: 60_000 });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /legate filter push: cannot load the kubeconfig/);
  });
});

describe('scaffold and diagnostics helpers', () => {
  it('derives a module name from the directory', () => {
    assert.equal(filterName('/x/My Filter_2'), 'my-filter-2');
    assert.equal(importPath('/a/b/assembly', '/a/sdk/assembly'), '../../sdk/assembly');
  });

  it('parses asc diagnostics into file:line:column', () => {
    const output = [
      "ERROR TS2322: Type '~lib/string/String' is not assignable to type 'i32'.",
      '    :',
      ' 61 │ const oops: i32 = "x";',
      '    └─ in assembly/index.ts(61,23)',
    ].join('\n');
    assert.deepEqual(parseDiagnostics(output, '/p'), [
      {
        file: '/p/assembly/index.ts',
        line: 61,
        column: 23,
        message: "Type '~lib/string/String' is not assignable to type 'i32'.",
      },
    ]);
  });
});
