// FilterSync without an API server: a store, a real module pipeline reading a ConfigMap from the
// store, and the batch diff that decides which Gateways are re-translated. (The operator process,
// the API server and a raw ADS client: test/integration/filter-distribution.test.ts.)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { TypeUrls } from '../envoy/protos.ts';
import { sha256Hex } from '../filters/module-check.ts';
import { proxyWasmModule } from '../filters/testing/wasm-builder.ts';
import type { FilterPolicy, WasmFilter } from '../filters/types.ts';
import { indexInput, translateGateway } from '../translate/index.ts';
import { FilterKinds, FilterSync } from './filter-sync.ts';
import { Kinds } from './gateway-controller.ts';
import { jsonLogger } from './log.ts';
import { ObjectStore } from './store.ts';

const controllerName = 'legate.dev/test';
const module = proxyWasmModule();
const obj = (o: unknown) => o as KubernetesObject;

/** A kubeconfig that is never dialled (not leading: no status writes; ConfigMaps come from the store). */
function offline(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

function setup(configSchema?: Record<string, unknown>) {
  const store = new ObjectStore();
  store.upsert(Kinds.gatewayClass, obj({ metadata: { name: 'legate' }, spec: { controllerName } }));
  for (const ns of ['team-a', 'team-b']) {
    store.upsert(
      Kinds.gateway,
      obj({
        metadata: { namespace: ns, name: 'web' },
        spec: { gatewayClassName: 'legate', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] },
      }),
    );
    store.upsert(
      'HTTPRoute',
      obj({ metadata: { namespace: ns, name: 'r' }, spec: { parentRefs: [{ name: 'web' }], rules: [{}] } }),
    );
  }
  store.upsert(
    FilterKinds.configMap,
    obj({
      metadata: { namespace: 'team-a', name: 'm' },
      binaryData: { 'filter.wasm': Buffer.from(module).toString('base64') },
    }),
  );
  const filter: WasmFilter = {
    metadata: { namespace: 'team-a', name: 'f' },
    spec: { source: { type: 'ConfigMap', configMap: { name: 'm', key: 'filter.wasm' } }, configSchema },
  };
  store.upsert(FilterKinds.wasmFilter, obj(filter));
  const policy = (config: Record<string, unknown>): FilterPolicy => ({
    metadata: { namespace: 'team-a', name: 'p' },
    spec: {
      targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'r' }],
      filters: [{ name: 'one', filterRef: { name: 'f' }, config }],
    },
  });
  store.upsert(FilterKinds.filterPolicy, obj(policy({ v: 1 })));
  let pokes = 0;
  const sync = new FilterSync({
    kubeConfig: offline(),
    store,
    operatorNamespace: 'legate-system',
    controllerName,
    leading: () => false,
    log: jsonLogger('error', {}),
    poke: () => pokes++,
  });
  const batch = () =>
    sync.batch(
      indexInput({
        controllerName,
        gatewayClasses: store.list(Kinds.gatewayClass),
        gateways: store.list(Kinds.gateway),
        httpRoutes: store.list('HTTPRoute'),
      }),
    );
  return { store, sync, batch, policy, pokes: () => pokes };
}

describe('FilterSync', () => {
  it('re-translates only the Gateways whose filters changed: module arrival, config change, nothing else', async () => {
    const { store, sync, batch, policy, pokes } = setup();
    sync.start();
    // First batch: the module is still being fetched, the filter is attached blocked (FailClosed).
    assert.deepEqual([...batch().changed], ['team-a/web']);
    await sync.pipeline.idle();
    assert.equal(pokes(), 1, 'the fetched module asks for a batch');
    assert.equal(sync.pipeline.serving('team-a/f')?.sha256, sha256Hex(module));
    const withModule = batch();
    assert.deepEqual([...withModule.changed], ['team-a/web']);
    assert.deepEqual([...batch().changed], [], 'nothing changed since');

    store.upsert(FilterKinds.filterPolicy, obj(policy({ v: 2 })));
    assert.deepEqual([...batch().changed], ['team-a/web'], "a config change: the policy's Gateway only");
    store.upsert(FilterKinds.filterPolicy, obj(policy({ v: 2 })));
    assert.deepEqual([...batch().changed], [], 'a status-only update changes nothing');

    store.delete(FilterKinds.filterPolicy, obj(policy({ v: 2 })));
    assert.deepEqual([...batch().changed], ['team-a/web'], 'a deleted policy: the Gateway it was on');
    sync.stop();
  });

  it("renders the batch's hooks through the translator: ECDS for the targeted Gateway only", async () => {
    const { store, sync, batch } = setup();
    sync.start();
    await sync.pipeline.idle();
    const { hooks } = batch();
    const index = indexInput({
      controllerName,
      gatewayClasses: store.list(Kinds.gatewayClass),
      gateways: store.list(Kinds.gateway),
      httpRoutes: store.list('HTTPRoute'),
    });
    const ecds = (key: string) =>
      (translateGateway(index, key, { hooks })?.resources[TypeUrls.extensionConfig] ?? []).map((r) => r.name);
    assert.deepEqual(ecds('team-a/web'), ['team-a/web/filter/team-a/p/one']);
    assert.deepEqual(ecds('team-b/web'), []);
    sync.stop();
  });

  it("fills a schema's x-legate-fill field with the Gateway's ready Envoy replicas, and follows scaling", async () => {
    const { store, sync, batch, pokes } = setup({
      type: 'object',
      properties: {
        v: { type: 'integer' },
        replicas: { type: 'integer', minimum: 1, maximum: 100, 'x-legate-fill': 'gatewayReadyReplicas' },
      },
    });
    store.upsert(
      FilterKinds.filterPolicy,
      obj({
        metadata: { namespace: 'team-a', name: 'p' },
        spec: {
          targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'r' }],
          filters: [{ name: 'one', filterRef: { name: 'f' }, config: { v: 1, replicas: 50 } }],
        },
      }),
    );
    sync.start();
    await sync.pipeline.idle();
    const replicasShipped = (hooks: ReturnType<typeof batch>['hooks']) => {
      const index = indexInput({
        controllerName,
        gatewayClasses: store.list(Kinds.gatewayClass),
        gateways: store.list(Kinds.gateway),
        httpRoutes: store.list('HTTPRoute'),
      });
      const [ecds] = translateGateway(index, 'team-a/web', { hooks })?.resources[TypeUrls.extensionConfig] ?? [];
      const wasm = (ecds as unknown as { resource?: { typedConfig: { config: { configuration: { value: string } } } } })
        ?.resource;
      return JSON.parse(wasm?.typedConfig.config.configuration.value ?? '{}').replicas;
    };
    assert.equal(replicasShipped(batch().hooks), 1, "no ready pod seen yet: 1, over the policy's own value");

    const deployment = (readyReplicas: number) =>
      obj({
        kind: 'Deployment',
        metadata: {
          namespace: 'team-a',
          name: 'legate-web',
          ownerReferences: [{ kind: 'Gateway', name: 'web', apiVersion: 'gateway.networking.k8s.io/v1', uid: 'u' }],
        },
        status: { readyReplicas },
      });
    const before = pokes();
    sync.fleetObjectChanged('MODIFIED', deployment(3));
    assert.equal(pokes(), before + 1, 'a scale event asks for a batch');
    const scaled = batch();
    assert.deepEqual([...scaled.changed], ['team-a/web'], "only the scaled Gateway's filters change");
    assert.equal(replicasShipped(scaled.hooks), 3);

    sync.fleetObjectChanged('MODIFIED', deployment(3));
    assert.equal(pokes(), before + 1, 'the same count again is not a change');
    sync.fleetObjectChanged('MODIFIED', deployment(500));
    assert.equal(replicasShipped(batch().hooks), 100, "capped at the schema's maximum");
    sync.fleetObjectChanged('DELETED', deployment(500));
    assert.equal(replicasShipped(batch().hooks), 1);
    sync.stop();
  });
});
