// The README's main job, run as a user runs it: `node scripts/start.ts --keep-running` with no cluster
// starts the local control plane, applies examples/ (so this also keeps the examples true), runs the
// operator, an Envoy per example Gateway and the example backends, and prints each Gateway
// Programmed=True and curl commands. Every printed command is then run with the real curl, through
// sh, exactly as printed, and must answer as the line under it says. An Envoy killed under the demo
// makes its Gateway Programmed=False; Ctrl-C stops everything the demo started.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { repoRoot } from '../harness/go-tools.ts';
import { eventually } from './operator-helpers.ts';

interface Printed {
  title: string;
  command: string;
  expect: string;
}

/** The `Try it.` section: `# title`, the command, `#   → expectation`, for each. */
function parseTryIt(out: string): Printed[] {
  const section = out.slice(out.indexOf('\nTry it.'), out.indexOf('\nStarted in'));
  const lines = section.split('\n').map((l) => l.trim());
  const found: Printed[] = [];
  for (let i = 0; i + 2 < lines.length; i++) {
    const [title, command, expect] = [lines[i], lines[i + 1], lines[i + 2]] as [string, string, string];
    if (title.startsWith('# ') && !command.startsWith('#') && expect.startsWith('#   → ')) {
      found.push({ title: title.slice(2), command, expect: expect.slice('#   → '.length) });
      i += 2;
    }
  }
  return found;
}

function sh(command: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', command], { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('npm start with no cluster: the local demo', () => {
  let child: ChildProcess;
  let out = '';
  let exited: Promise<number | null>;
  let kubeconfig = '';

  before(async () => {
    const started = Date.now();
    child = spawn(
      path.join(repoRoot, 'node_modules', '.bin', 'node'),
      [path.join(repoRoot, 'scripts', 'start.ts'), '--keep-running'],
      { env: { ...process.env, LEGATE_START_LOCAL: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    exited = new Promise((resolve) => child.once('close', resolve));
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    await Promise.race([
      eventually('the demo to be up', async () => out.match(/\nRunning\. export KUBECONFIG=(\S+)/)?.[1], 280_000, 250),
      exited.then((code) => assert.fail(`npm start exited (${code}) before it was up:\n${out}`)),
    ]).then((k) => {
      kubeconfig = k;
    });
    console.log(`the demo was up in ${Date.now() - started} ms (it says: ${out.match(/Started in \S+/)?.[0]})`);
  });

  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });

  it('applies examples/ and the chart built-in filters, and prints every Gateway with its fleet', () => {
    for (const line of [
      'GatewayClass   legate',
      'ProxyConfig    legate-system/defaults',
      'Gateway        team-b/api',
      'HTTPRoute      team-a/store',
      'GRPCRoute      team-b/who',
      'FilterPolicy   team-a/checkout-rate-limit',
      'WasmFilter     legate-system/legate-ratelimit',
    ]) {
      assert.ok(out.includes(line), `applied: ${line}\n${out}`);
    }
    for (const gw of ['team-a/web', 'team-b/api']) {
      assert.ok(out.includes(`\nGateway ${gw}\n`), out);
      const section = out.slice(out.indexOf(`\nGateway ${gw}\n`));
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
      assert.match(section, /Programmed=True \(Programmed\): 1 Envoy replica\(s\) available/);
    }
    assert.match(out, /listener http: kinds HTTPRoute, GRPCRoute; 2 route\(s\); ok/);
    assert.match(out, /listener https: kinds HTTPRoute, GRPCRoute; 2 route\(s\); ok/);
    assert.match(out, /listener grpc: kinds HTTPRoute, GRPCRoute; 1 route\(s\); ok/);
    for (const line of [
      /HTTPRoute +team-a\/store +Accepted=True ResolvedRefs=True\n/,
      /HTTPRoute +team-a\/checkout +Accepted=True ResolvedRefs=True\n/,
      /GRPCRoute +team-b\/who +Accepted=True ResolvedRefs=True\n/,
      /FilterPolicy +team-a\/checkout-rate-limit +Accepted=True\n/,
      /WasmFilter +legate-system\/legate-ratelimit +Ready=True Accepted=True\n/,
    ]) {
      assert.match(out, line);
    }
    // The team B ProxyConfig overrides the class defaults field by field.
    assert.match(out, /HorizontalPodAutoscaler +team-b\/legate-api +3\.\.20 replicas, cpu 70%, memory 80%/);
    assert.match(out, /Service +team-b\/legate-api +ClusterIP, ports 8080->8080/);
    assert.match(out, /Service +team-a\/legate-web +LoadBalancer, ports 80->10080 443->10443/);
    // The LoadBalancer Service's address (the pod, as the demo's load-balancer controller says) is the Gateway's.
    const web = out.slice(out.indexOf('\nGateway team-a/web\n'));
    const pod = web.match(/Envoy pod \(run by the demo\): team-a\/legate-web-\S+ at (198\.1[89]\.\d+\.\d+)/)?.[1];
    assert.ok(pod, web);
    assert.ok(web.includes(`address IPAddress ${pod} (the Service's load-balancer address`), web);
  });

  it('prints curl commands that answer as printed, run with curl exactly as printed', async () => {
    assert.ok(!out.includes('✗'), `every command was checked by the demo:\n${out}`);
    const printed = parseTryIt(out);
    assert.ok(printed.length >= 7, `the try-it commands:\n${out}`);
    assert.ok(printed.some((p) => p.command.includes('https://')));
    assert.ok(printed.some((p) => p.command.includes('application/grpc')));
    for (const p of printed) {
      const answered = /^answered by (.+)$/.exec(p.expect);
      const prints = /^prints: (.+)$/.exec(p.expect);
      if (answered?.[1]) {
        // Every named backend must answer (a split: within a bounded number of tries), and no other.
        const names = answered[1].split(' or ');
        const seen = new Set<string>();
        for (let i = 0; i < 60 && seen.size < names.length; i++) {
          const r = await sh(p.command);
          assert.equal(r.code, 0, `${p.command}\n${r.stderr}`);
          const name = (JSON.parse(r.stdout) as { name: string }).name;
          assert.ok(names.includes(name), `${p.command}: answered by ${name}, expected ${p.expect}`);
          seen.add(name);
        }
        assert.deepEqual([...seen].sort(), [...names].sort(), `${p.command}: ${p.expect}`);
      } else if (prints?.[1]) {
        const r = await sh(p.command);
        assert.equal(r.code, 0, `${p.command}\n${r.stderr}`);
        assert.equal(r.stdout.trim(), prints[1], `${p.title}\n${p.command}`);
      } else {
        assert.fail(`an expectation the test cannot check: ${p.expect}`);
      }
    }
  });

  it('takes a route change made while it runs to its Envoy, as the printed kubectl example says', async () => {
    const example = out.match(/^ +(kubectl -n team-a patch httproute store .*)$/m)?.[1];
    assert.ok(example, out);
    // The same change through the API (kubectl is not part of the project's tools): store-v1's weight 0.
    const patch = JSON.parse(/-p '(.*)'$/.exec(example)?.[1] ?? '[]') as { path: string; value: number }[];
    assert.deepEqual(patch, [{ op: 'replace', path: '/spec/rules/2/backendRefs/0/weight', value: 0 }]);
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    await kc.makeApiClient(CustomObjectsApi).patchNamespacedCustomObject(
      {
        group: 'gateway.networking.k8s.io',
        version: 'v1',
        namespace: 'team-a',
        plural: 'httproutes',
        name: 'store',
        body: patch,
        fieldManager: 'main-job-test',
      },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    const split = parseTryIt(out).find((p) => p.expect === 'answered by store-v1 or store-v2');
    assert.ok(split);
    await eventually(
      'the split to send everything to store-v2',
      async () => {
        for (let i = 0; i < 10; i++) {
          const r = await sh(split.command);
          if ((JSON.parse(r.stdout) as { name: string }).name !== 'store-v2') return undefined;
        }
        return true;
      },
      20_000,
    );
  });

  it('runs Envoys that use no deprecated feature', async () => {
    const pods = [...out.matchAll(/Envoy pod \(run by the demo\): \S+ at (\S+)/g)].map((m) => m[1]);
    assert.equal(pods.length, 2);
    for (const address of pods) {
      const metrics = await (await fetch(`http://${address}:19002/stats/prometheus`)).text();
      const used = /^envoy_runtime_deprecated_feature_use\{?[^ ]*\}? (\d+)/m.exec(metrics)?.[1];
      assert.equal(used, '0', `${address}: runtime.deprecated_feature_use`);
    }
  });

  it('keeps the Deployment status in step with the pod: an Envoy that dies makes its Gateway Programmed=False', async () => {
    const podName = out.match(/Envoy pod \(run by the demo\): team-b\/(legate-api-\S+)/)?.[1];
    assert.ok(podName, out);
    execFileSync('pkill', ['-KILL', '-f', '--', `^envoy .*--service-node ${podName}( |$)`]);
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const objects = KubernetesObjectApi.makeApiClient(kc);
    const read = (apiVersion: string, kind: string, name: string) =>
      // biome-ignore lint/suspicious/noExplicitAny: status fields
      objects.read({ apiVersion, kind, metadata: { namespace: 'team-b', name } }) as Promise<any>;
    await eventually(
      'Programmed=False on team-b/api',
      async () => {
        const gw = await read('gateway.networking.k8s.io/v1', 'Gateway', 'api');
        const programmed = gw.status?.conditions?.find((c: { type: string }) => c.type === 'Programmed');
        return programmed?.status === 'False' ? programmed : undefined;
      },
      30_000,
    );
    const deployment = await read('apps/v1', 'Deployment', 'legate-api');
    assert.equal(deployment.status.availableReplicas, undefined);
    assert.equal(deployment.status.unavailableReplicas, 1);
    assert.equal(deployment.status.observedGeneration, deployment.metadata.generation);
    assert.match(out, new RegExp(`Envoy pod team-b/${podName} is not ready: Deployment team-b/legate-api now has 0`));
    await eventually(
      'the demo to report the exit',
      async () => out.includes(`Envoy in pod team-b/${podName} exited`) || undefined,
    );
    // Team A's Gateway is not affected.
    const web = await objects.read({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { namespace: 'team-a', name: 'web' },
    });
    assert.ok(
      (web as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions?.some(
        (c) => c.type === 'Programmed' && c.status === 'True',
      ),
    );
  });

  it('stops everything it started on Ctrl-C (SIGINT)', async () => {
    const id = ((child.pid ?? 0) % 46_000).toString(36);
    const podNames = [...out.matchAll(/Envoy pod \(run by the demo\): \S+\/(\S+) at/g)].map((m) => m[1]);
    child.kill('SIGINT');
    assert.equal(await exited, 0, out);
    assert.match(out, /SIGINT: stopping/);
    const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
    assert.ok(!new RegExp(`\\blgb${id}\\b`).test(links), `the demo's test network bridge lgb${id} is gone`);
    const netns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    assert.ok(!new RegExp(`^legate-${id}[0-9a-z]{1,2}\\b`, 'm').test(netns), netns);
    for (const pod of podNames) {
      const left = spawnSyncCode('pgrep', ['-f', '--', `^envoy .*--service-node ${pod}( |$)`]);
      assert.equal(left, 1, `Envoy ${pod} is not running any more`);
    }
  });
});

function spawnSyncCode(command: string, args: string[]): number {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return 0;
  } catch (err) {
    return (err as { status?: number }).status ?? 1;
  }
}
