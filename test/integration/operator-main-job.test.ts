// The README's main job, run as a user runs it: `node scripts/start.ts` with no cluster starts the
// local control plane, applies examples/ (so this also keeps the examples true), runs the operator
// and prints each Gateway's fleet and status.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { it } from 'node:test';
import { repoRoot } from '../harness/go-tools.ts';

it('npm start with no cluster applies examples/ and prints every Gateway with its fleet and status', async () => {
  const started = Date.now();
  const child = spawn(
    path.join(repoRoot, 'node_modules', '.bin', 'node'),
    [path.join(repoRoot, 'scripts', 'start.ts')],
    { env: { ...process.env, LEGATE_START_LOCAL: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  console.log(`main job finished in ${Date.now() - started} ms`);
  assert.equal(code, 0, out);
  for (const line of ['GatewayClass   legate', 'ProxyConfig    legate-system/defaults', 'Gateway        team-b/api']) {
    assert.ok(out.includes(line), `applied: ${line}\n${out}`);
  }
  for (const gw of ['team-a/web', 'team-b/api']) {
    const section = out.slice(out.indexOf(`Gateway ${gw}\n`));
    assert.ok(out.includes(`Gateway ${gw}\n`), out);
    const name = gw.replace('/', '/legate-');
    for (const kind of [
      'ServiceAccount',
      'ConfigMap',
      'Deployment',
      'Service',
      'HorizontalPodAutoscaler',
      'PodDisruptionBudget',
    ]) {
      assert.match(section, new RegExp(`${kind} +${name}`), `${gw} ${kind}`);
    }
    assert.match(section, /Accepted=True \(Accepted\)/);
    assert.match(section, /Programmed=False \(Pending\)/);
  }
  // The team B ProxyConfig overrides the class defaults field by field.
  assert.match(out, /HorizontalPodAutoscaler +team-b\/legate-api +3\.\.20 replicas, cpu 70%, memory 80%/);
  assert.match(out, /Service +team-b\/legate-api +ClusterIP, ports 8080->8080/);
  assert.match(out, /Service +team-a\/legate-web +LoadBalancer, ports 80->10080 443->10443/);
});
