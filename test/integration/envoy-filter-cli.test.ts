// A filter author's whole loop, outside the repository, ending in real Envoy traffic: `legate filter
// init` in a temporary folder, `build`, `test`, `push` (ConfigMap + WasmFilter through the
// kubeconfig), a FilterPolicy attaching it to a route, and the header it sets seen by the backend.
// Then a changed module pushed again reaches the running Envoy over ECDS alone: the listener is
// not rebuilt, so no connection is drained.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { EchoResponse } from '../harness/echo-backend.ts';
import { repoRoot } from '../harness/go-tools.ts';
import { request } from '../harness/http-client.ts';
import { assertNoDeprecatedFeatures } from './envoy-traffic.ts';
import { type EnvoyPod, type GatewayEnv, startGatewayEnv } from './gateway-env.ts';
import { eventually } from './operator-helpers.ts';

const execFileAsync = promisify(execFile);

/** This process's environment without what node:test sets for its own children (a nested run would report to us). */
function userEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NODE_TEST')));
}

describe('a filter made outside the repository, from legate filter init to real Envoy traffic', () => {
  let env: GatewayEnv;
  let envoy: EnvoyPod;
  // A folder of the user's, nowhere near the repository.
  const work = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'legate-author-')));
  const project = path.join(work, 'greeter');
  const printed: string[] = [];

  /** `legate …` as a user runs it with the repository's bin folder on PATH, from their own folder. */
  const legate = async (...args: string[]) => {
    const bin = path.join(repoRoot, 'node_modules', '.bin');
    try {
      const { stdout, stderr } = await execFileAsync(path.join(bin, 'legate'), args, {
        cwd: work,
        env: { ...userEnv(), PATH: `${bin}:${process.env.PATH}`, KUBECONFIG: env.cluster.kubeconfigPath },
        maxBuffer: 16 << 20,
        timeout: 240_000,
      });
      printed.push(`$ legate ${args.join(' ')}\n${stdout}${stderr}`);
      return stdout;
    } catch (err) {
      const e = err as Error & { stdout?: string; stderr?: string };
      assert.fail(`legate ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    }
  };
  const greet = () =>
    request(envoy.url(80, '/hello'), { headers: { host: 'greet.example' } }).then((r) => ({
      status: r.status,
      headers: r.headers,
      echo: r.json<EchoResponse>(),
    }));

  before(async () => {
    env = await startGatewayEnv();
    await env.gateway('web', [{ name: 'http', port: 80, protocol: 'HTTP' }]);
    await env.echoService('hello');
    await env.apply({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { namespace: env.namespace, name: 'greet' },
      spec: {
        parentRefs: [{ name: 'web' }],
        hostnames: ['greet.example'],
        rules: [{ backendRefs: [{ name: 'hello', port: 80 }] }],
      },
    });
    envoy = await env.envoy('web');
  });

  after(async () => {
    await env?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('scaffolds, builds and tests the filter in a folder outside the repository', async () => {
    assert.ok(path.relative(repoRoot, work).startsWith('..'), `${work} is outside the repository`);
    await legate('filter', 'init', 'greeter');
    assert.match(await legate('filter', 'build', 'greeter'), /built greeter\/build\/greeter\.wasm: \d+ bytes/);
    assert.match(await legate('filter', 'test', 'greeter'), /pass 2/);
  });

  it('pushes it, and a FilterPolicy puts it on the route: the backend sees its header', async () => {
    // The module just built and tested; a push of the folder would build it again.
    const out = await legate(
      'filter',
      'push',
      'greeter',
      '--wasm',
      'greeter/build/greeter.wasm',
      '--name',
      'greeter',
      '-n',
      env.namespace,
    );
    assert.match(out, /Ready=True/, printed.join('\n'));
    assert.equal((await greet()).echo?.headers['x-greeting'], undefined, 'no filter before the policy');
    await env.apply({
      apiVersion: 'legate.dev/v1alpha1',
      kind: 'FilterPolicy',
      metadata: { namespace: env.namespace, name: 'greet' },
      spec: {
        targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'greet' }],
        filters: [{ name: 'greeter', filterRef: { name: 'greeter' }, config: { header: 'x-greeting', value: 'hi' } }],
      },
    });
    const res = await eventually('the header the filter sets', async () => {
      const r = await greet();
      return r.echo?.headers['x-greeting'] === 'hi' ? r : undefined;
    });
    assert.equal(res.status, 200);
    assert.equal(res.echo?.name, 'hello-0');
  });

  it('takes a changed module over ECDS alone: the listener is not rebuilt', async () => {
    const before = await envoy.stats();
    const source = path.join(project, 'assembly', 'index.ts');
    // The author's change: the filter also stamps the response.
    const edited = readFileSync(source, 'utf8')
      .replace('  requestHeaders,\n', '  requestHeaders,\n  responseHeaders,\n')
      .replace(
        '    return FilterHeadersStatus.Continue;\n  }\n}',
        '    return FilterHeadersStatus.Continue;\n  }\n\n' +
          '  onResponseHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {\n' +
          '    responseHeaders.replace("x-greeter-version", "2");\n' +
          '    return FilterHeadersStatus.Continue;\n  }\n}',
      );
    assert.notEqual(edited, readFileSync(source, 'utf8'), 'the scaffold has the shape this edit expects');
    writeFileSync(source, edited);
    assert.match(await legate('filter', 'push', 'greeter', '--name', 'greeter', '-n', env.namespace), /Ready=True/);
    const res = await eventually('the new module', async () => {
      const r = await greet();
      return r.headers['x-greeter-version'] === '2' ? r : undefined;
    });
    assert.equal(res.echo?.headers['x-greeting'], 'hi', 'the same configuration, on the new module');
    const now = await envoy.stats();
    for (const counter of ['listener_manager.listener_modified', 'listener_manager.lds.update_success']) {
      assert.equal(now.get(counter), before.get(counter), `${counter}: a module change is no listener change`);
    }
    const ecds = `extension_config_discovery.http_filter.${env.namespace}/web/filter/${env.namespace}/greet/greeter`;
    assert.ok(
      (now.get(`${ecds}.config_reload`) ?? 0) > (before.get(`${ecds}.config_reload`) ?? 0),
      'Envoy reloaded the filter from ECDS',
    );
  });

  it('uses no deprecated Envoy feature', async () => {
    await assertNoDeprecatedFeatures(envoy);
  });
});
