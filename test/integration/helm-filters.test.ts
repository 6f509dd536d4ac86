// The built-in filters in the chart: the modules filters/builtins builds, copied into a chart package
// by `scripts/helm-chart.ts sync-filters`, become ConfigMaps and WasmFilters whose sha256 pins the
// exact bytes, and the API server (WasmFilter CRD rules, ConfigMap size limit) accepts them.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CoreV1Api,
  type KubernetesObject,
  KubernetesObjectApi,
  loadYaml,
  PatchStrategy,
} from '@kubernetes/client-node';
import { builtinWasm, MODULES, type ModuleName } from '../../filters/builtins/build.ts';
import { checkConfig } from '../../operator/src/filters/config-schema.ts';
import type { WasmFilter } from '../../operator/src/filters/types.ts';
import { wasmFilterStatus } from '../../operator/src/filters/wasm-filter-status.ts';
import { repoRoot, syncFilters } from '../../scripts/helm-chart.ts';
import { type TestCluster, testCluster } from '../harness/cluster.ts';
import { chartDir, type Helm, helmCli, kubeVersion, objectId, parseObjects } from '../harness/helm.ts';

type Obj = KubernetesObject & {
  binaryData?: Record<string, string>;
  spec?: {
    source: { configMap: { name: string; key: string; sha256: string } };
    failurePolicy: string;
    configSchema?: unknown;
  };
};

describe('helm chart: built-in filters', () => {
  let cluster: TestCluster;
  let helm: Helm;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'legate-helm-filters-'));
  const packaged = path.join(tmp, 'legate');
  const namespace = `helm-filters-${Date.now().toString(36)}`;
  const shipped = (Object.keys(MODULES) as ModuleName[]).filter((n) => MODULES[n].shipped);
  const modules = new Map<string, Uint8Array>();

  before(async () => {
    cluster = await testCluster();
    helm = await helmCli(cluster.kubeconfigPath);
    await cluster
      .kubeConfig()
      .makeApiClient(CoreV1Api)
      .createNamespace({ body: { metadata: { name: namespace } } });
    // Built by `npm run build` before the tests; built here (and cached) when run on their own.
    for (const name of shipped) modules.set(name, await builtinWasm(name));
    cpSync(chartDir, packaged, { recursive: true });
    assert.deepEqual((await syncFilters(packaged)).sort(), [...shipped].sort());
  });
  after(async () => {
    helm?.cleanup();
    rmSync(tmp, { recursive: true, force: true });
    await cluster?.stop();
  });

  const render = async (chart: string, ...args: string[]) =>
    parseObjects(
      await helm.ok('template', 'legate', chart, '--namespace', namespace, ...kubeVersion, ...args),
    ) as Obj[];

  it('renders one WasmFilter per built-in module, pinned by the sha256 of the ConfigMap bytes', async () => {
    const objects = await render(packaged);
    for (const [name, bytes] of modules) {
      const filter = objects.find((o) => o.kind === 'WasmFilter' && o.metadata?.name === `legate-${name}`);
      assert.ok(filter?.spec, `WasmFilter legate-${name}`);
      const { configMap } = filter.spec.source;
      const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata?.name === configMap.name);
      const shipped = Buffer.from(cm?.binaryData?.[configMap.key] ?? '', 'base64');
      assert.ok(shipped.equals(Buffer.from(bytes)), `${name}: the ConfigMap holds the built module`);
      assert.equal(configMap.sha256, createHash('sha256').update(bytes).digest('hex'));
      const schema = JSON.parse(
        readFileSync(path.join(repoRoot, 'filters', 'builtins', name, 'config.schema.json'), 'utf8'),
      );
      assert.deepEqual(filter.spec.configSchema, schema, `${name}: the WasmFilter carries the filter's config schema`);
    }
    const policy = (name: string) =>
      objects.find((o) => o.kind === 'WasmFilter' && o.metadata?.name === `legate-${name}`)?.spec?.failurePolicy;
    assert.equal(policy('auth'), 'FailClosed', 'an auth filter that cannot run must not let requests through');
    assert.equal(policy('ratelimit'), 'FailOpen');
  });

  it("is accepted by the operator: each shipped configSchema compiles on the operator's path and takes a sample config", async () => {
    const samples: Record<string, { good: unknown; bad: unknown }> = {
      auth: {
        good: { apiKeys: { keys: [{ sha256: createHash('sha256').update('k').digest('hex'), consumer: 'c' }] } },
        bad: { apiKeys: { keys: [{ sha256: 'not-a-hash', consumer: 'c' }] } },
      },
      ratelimit: { good: { rules: [{ name: 'all', requests: 100 }] }, bad: { rules: [] } },
    };
    const filters = (await render(packaged)).filter((o) => o.kind === 'WasmFilter') as unknown as WasmFilter[];
    assert.deepEqual(filters.map((f) => f.metadata.name).sort(), shipped.map((n) => `legate-${n}`).sort());
    for (const filter of filters) {
      const name = filter.metadata.name.replace(/^legate-/, '');
      const accepted = wasmFilterStatus(filter, undefined).conditions?.find((c) => c.type === 'Accepted');
      assert.equal(accepted?.status, 'True', `${filter.metadata.name}: ${accepted?.message}`);
      const sample = samples[name];
      assert.ok(sample, `a sample config for ${name}`);
      const good = checkConfig(filter.spec.configSchema, sample.good);
      assert.ok(good.ok, `${name}: ${good.ok ? '' : good.message}`);
      assert.equal(checkConfig(filter.spec.configSchema, sample.bad).ok, false, `${name}: a bad config is refused`);
    }
  });

  it('is accepted by the API server (WasmFilter CRD rules, ConfigMap size) in a server-side dry run', async () => {
    const client = KubernetesObjectApi.makeApiClient(cluster.kubeConfig());
    const filters = (await render(packaged)).filter((o) => o.metadata?.labels?.['legate.dev/builtin-filter']);
    assert.equal(filters.length, 2 * shipped.length);
    for (const obj of filters) {
      await client
        .patch(
          loadYaml<KubernetesObject>(JSON.stringify(obj)),
          undefined,
          'All',
          'helm-dry-run',
          true,
          PatchStrategy.ServerSideApply,
        )
        .catch((err: { body?: string }) => assert.fail(`${objectId(obj)} rejected: ${err.body ?? err}`));
    }
  });

  it('leaves out a filter that is switched off, and renders none from a chart without modules', async () => {
    const withoutAuth = await render(packaged, '--set', 'builtinFilters.filters.auth.enabled=false');
    const names = withoutAuth.filter((o) => o.kind === 'WasmFilter').map((o) => o.metadata?.name);
    assert.deepEqual(names, ['legate-ratelimit']);
    const none = await render(packaged, '--set', 'builtinFilters.enabled=false');
    assert.ok(!none.some((o) => o.kind === 'WasmFilter'));
    // The chart as committed carries no built output: no WasmFilter, and nothing broken.
    assert.ok(!(await render(chartDir)).some((o) => o.kind === 'WasmFilter'));
  });
});
