// `legate filter push` against a real kube-apiserver, with the operator's module pipeline and status
// writer standing in for the (not yet wired) controller: push creates the ConfigMap and the pinned
// WasmFilter, waits for Ready on exactly its module, and prints the operator's message, including
// why a bad module was refused.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { push } from '../../filters/cli/push.ts';
import { ModuleCache } from '../../operator/src/filters/module-cache.ts';
import { sha256Hex } from '../../operator/src/filters/module-check.ts';
import { filterKey, ModulePipeline } from '../../operator/src/filters/module-pipeline.ts';
import { writeWasmFilterStatus } from '../../operator/src/filters/status-writer.ts';
import { proxyWasmModule } from '../../operator/src/filters/testing/wasm-builder.ts';
import type { WasmFilter } from '../../operator/src/filters/types.ts';
import { wasmFilterStatus } from '../../operator/src/filters/wasm-filter-status.ts';
import { type TestCluster, testCluster } from '../harness/cluster.ts';

const namespace = `push-${Date.now().toString(36)}`;

describe('legate filter push (real kube-apiserver)', () => {
  let cluster: TestCluster;
  let objects: CustomObjectsApi;
  let pipeline: ModulePipeline;
  let stopLoop = false;
  let loop: Promise<void>;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'legate-push-'));

  before(async () => {
    cluster = await testCluster();
    const kc = cluster.kubeConfig();
    const core = kc.makeApiClient(CoreV1Api);
    objects = kc.makeApiClient(CustomObjectsApi);
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    pipeline = new ModulePipeline({
      cache: new ModuleCache({ maxMemoryBytes: 1 << 22, maxDiskBytes: 0, maxModuleBytes: 1 << 20 }),
      source: {
        maxBytes: 1 << 20,
        readConfigMap: (ns, name) => core.readNamespacedConfigMap({ namespace: ns, name }).catch(() => undefined),
      },
      backoff: { initialMs: 200, maxMs: 1000 },
      onChange: () => {},
    });
    // The operator's part, by polling: fetch every WasmFilter of the namespace and write its status.
    loop = (async () => {
      while (!stopLoop) {
        const list = (await objects
          .listNamespacedCustomObject({ group: 'legate.dev', version: 'v1alpha1', namespace, plural: 'wasmfilters' })
          .catch(() => ({ items: [] }))) as { items: WasmFilter[] };
        for (const f of list.items) {
          pipeline.upsert(f);
          await pipeline.idle();
          const status = wasmFilterStatus(f, pipeline.state(filterKey(f)));
          if (
            JSON.stringify(status.conditions?.map((c) => c.message)) !==
            JSON.stringify(f.status?.conditions?.map((c) => c.message))
          ) {
            await writeWasmFilterStatus(objects, f, status).catch(() => {});
          }
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
  });
  after(async () => {
    stopLoop = true;
    await loop;
    pipeline.close();
    rmSync(dir, { recursive: true, force: true });
    await cluster.stop();
  });

  function capture() {
    const out: string[] = [];
    const err: string[] = [];
    return { io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s) }, out, err };
  }

  it('pushes a module, waits for Ready and prints the operator message', async () => {
    const file = path.join(dir, 'good.wasm');
    const bytes = proxyWasmModule({ functions: ['proxy_on_request_headers'] });
    writeFileSync(file, bytes);
    const c = capture();
    const code = await push(
      [
        '.',
        '--name',
        'hello',
        '-n',
        namespace,
        '--wasm',
        file,
        '--root-id',
        'hello',
        '--timeout',
        '30',
        '--kubeconfig',
        cluster.kubeconfigPath,
      ],
      c.io,
    );
    assert.equal(code, 0, c.err.join(''));
    assert.match(
      c.out[0] ?? '',
      new RegExp(`^pushed ${namespace}/hello: ${bytes.length} bytes, sha256:${sha256Hex(bytes)}`),
    );
    assert.match(c.out[1] ?? '', new RegExp(`^Ready=True \\(Ready\\): module sha256:${sha256Hex(bytes)}`));
    const wf = (await objects.getNamespacedCustomObject({
      group: 'legate.dev',
      version: 'v1alpha1',
      namespace,
      plural: 'wasmfilters',
      name: 'hello',
    })) as WasmFilter;
    assert.equal(wf.spec.rootId, 'hello');
    assert.equal(wf.spec.source.type === 'ConfigMap' && wf.spec.source.configMap.sha256, sha256Hex(bytes));
  });

  it('pushes a module importing env.abort and prints why it was refused, with the last good version still serving', async () => {
    const file = path.join(dir, 'abort.wasm');
    writeFileSync(file, proxyWasmModule({ imports: ['env.proxy_log', 'env.abort'] }));
    const c = capture();
    const code = await push(
      ['--name', 'hello', '-n', namespace, '--wasm', file, '--timeout', '30', '--kubeconfig', cluster.kubeconfigPath],
      c.io,
    );
    assert.equal(code, 1);
    assert.match(
      c.out[1] ?? '',
      /^Ready=False \(UnsupportedImport\): imports a function Envoy does not provide: env\.abort .*; still serving the last good version sha256:/,
    );
  });

  it('refuses bad arguments before touching the cluster', async () => {
    const c = capture();
    assert.equal(await push(['--name', 'Bad_Name'], c.io), 2);
    assert.match(c.err[0] ?? '', /--name Bad_Name is not a valid name/);
  });
});
