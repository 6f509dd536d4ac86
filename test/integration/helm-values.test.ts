// Invalid values files fail `helm install` with the message of values.schema.json, naming the key,
// before anything reaches the cluster.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AppsV1Api } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { type TestCluster, testCluster } from '../harness/cluster.ts';
import { chartDir, type Helm, helmCli } from '../harness/helm.ts';

/** [what is wrong, values, the key the message must name, what the message must say]. */
const invalid: [string, unknown, string, RegExp][] = [
  ['zero replicas', { replicas: 0 }, '/replicas', /minimum: got 0, want 1/],
  ['replicas as a word', { replicas: 'two' }, '/replicas', /got string, want integer/],
  [
    'an unknown log level',
    { logLevel: 'verbose' },
    '/logLevel',
    /value must be one of 'debug', 'info', 'warn', 'error'/,
  ],
  ['a misspelt key', { replica: 3 }, '', /additional properties 'replica' not allowed/],
  ['a misspelt nested key', { image: { repo: 'x' } }, '/image', /additional properties 'repo' not allowed/],
  ['a bad pull policy', { image: { pullPolicy: 'Sometimes' } }, '/image/pullPolicy', /value must be one of/],
  [
    'a namespace that is not a DNS label',
    { watchNamespaces: ['Team_A'] },
    '/watchNamespaces/0',
    /does not match pattern/,
  ],
  [
    'a memory limit that is not a quantity',
    { resources: { limits: { memory: 'lots' } } },
    '/resources/limits/memory',
    /does not match pattern/,
  ],
  [
    'mode secret without a Secret name',
    { xds: { tls: { mode: 'secret' } } },
    '/xds/tls',
    /at '\/xds\/tls\/secretName': minLength: got 0, want 1/,
  ],
  [
    'two replicas without leader election',
    { leaderElection: { enabled: false } },
    '/leaderElection/enabled',
    /value must be true/,
  ],
  ['an xDS port out of range', { xds: { port: 70000 } }, '/xds/port', /maximum: got 70,000, want 65,535/],
];

describe('helm install with invalid values', () => {
  let helm: Helm;
  let cluster: TestCluster;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'legate-helm-values-'));
  const namespace = `helm-values-${Date.now().toString(36)}`;

  before(async () => {
    cluster = await testCluster();
    helm = await helmCli(cluster.kubeconfigPath);
  });
  after(async () => {
    helm?.cleanup();
    rmSync(tmp, { recursive: true, force: true });
    await cluster?.stop();
  });

  for (const [what, values, key, message] of invalid) {
    it(`fails on ${what} with the schema's message for ${key || 'the top level'}`, async () => {
      const file = path.join(tmp, `${what.replace(/\W+/g, '-')}.yaml`);
      writeFileSync(file, stringify(values));
      const result = await helm.run('install', 'legate', chartDir, '-n', namespace, '--create-namespace', '-f', file);
      assert.notEqual(result.code, 0, `helm install accepted ${what}`);
      assert.match(result.stderr, /values don't meet the specifications of the schema\(s\)/);
      assert.match(result.stderr, new RegExp(`at '${key}'`));
      assert.match(result.stderr, message);
    });
  }

  it('created nothing: no release, no Deployment', async () => {
    const releases = JSON.parse(await helm.ok('list', '-n', namespace, '-a', '-o', 'json')) as unknown[];
    assert.deepEqual(releases, []);
    const deployments = await cluster
      .kubeConfig()
      .makeApiClient(AppsV1Api)
      .listNamespacedDeployment({ namespace })
      .then(
        (l) => l.items,
        () => [],
      );
    assert.deepEqual(deployments, []);
  });
});
