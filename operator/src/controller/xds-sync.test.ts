// XdsSync without an API server: which store changes re-translate a Gateway. The xDS server is a
// recorder of snapshots here; the operator process against a real API server and a real ADS client
// is test/integration/xds-operator-e2e.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { XdsServer } from '../xds/server.ts';
import { Kinds } from './gateway-controller.ts';
import { jsonLogger } from './log.ts';
import { cacheable, ObjectStore } from './store.ts';
import { XdsSync } from './xds-sync.ts';

const controllerName = 'legate.dev/test';
const obj = (o: unknown) => o as KubernetesObject;

const route = (resourceVersion: string, path: string, status?: unknown) =>
  obj({
    metadata: { namespace: 'team-a', name: 'r', resourceVersion, generation: path === '/' ? 1 : 2 },
    spec: { parentRefs: [{ name: 'web' }], rules: [{ matches: [{ path: { type: 'PathPrefix', value: path } }] }] },
    status,
  });

function setup() {
  const store = new ObjectStore();
  store.upsert(
    Kinds.gatewayClass,
    obj({ metadata: { name: 'legate', resourceVersion: '1' }, spec: { controllerName } }),
  );
  store.upsert(
    Kinds.gateway,
    obj({
      metadata: { namespace: 'team-a', name: 'web', resourceVersion: '2' },
      spec: { gatewayClassName: 'legate', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] },
    }),
  );
  store.upsert('HTTPRoute', route('3', '/'));
  const snapshots: string[] = [];
  const xds = {
    setSnapshot: (key: string) => snapshots.push(key),
    removeSnapshot: () => undefined,
    markSynced: () => undefined,
    cache: { get: () => undefined },
    onNack: () => () => undefined,
    onAck: () => () => undefined,
  } as unknown as XdsServer;
  const sync = new XdsSync({ store, xds, controllerName, log: jsonLogger('error') });
  sync.start();
  return { store, snapshots };
}

describe('XdsSync re-translates only for changes translation can see', () => {
  it('a status write or a replayed object does not re-translate; a spec change does', async () => {
    const { store, snapshots } = setup();
    assert.deepEqual(snapshots, ['team-a/web'], 'the first pass translates the Gateway');

    // Our own status write comes back as a MODIFIED event with a new resourceVersion.
    store.upsert('HTTPRoute', route('4', '/', { parents: [{ controllerName, parentRef: { name: 'web' } }] }));
    // A restarted watch (or the periodic re-list) replays the object unchanged.
    store.upsert('HTTPRoute', route('4', '/', { parents: [{ controllerName, parentRef: { name: 'web' } }] }));
    await tick();
    assert.equal(snapshots.length, 1, 'status-only and replayed events cost no translation');

    store.upsert('HTTPRoute', route('5', '/api'));
    await tick();
    assert.deepEqual(snapshots, ['team-a/web', 'team-a/web'], 'a spec change re-translates its Gateway');
  });

  it('a label or annotation change re-translates (proxyless opt-in, namespace selectors read them)', async () => {
    const { store, snapshots } = setup();
    const gateway = store.get(Kinds.gateway, 'team-a/web') as KubernetesObject;
    store.upsert(
      Kinds.gateway,
      obj({
        ...gateway,
        metadata: { ...gateway.metadata, resourceVersion: '9', annotations: { 'legate.dev/proxyless-xds': 'true' } },
      }),
    );
    await tick();
    assert.equal(snapshots.length, 2);
  });
});

describe('the store keeps what the operator reads', () => {
  it('drops managedFields and the last-applied copy, keeps other annotations', () => {
    const store = new ObjectStore();
    store.upsert(
      'Service',
      obj({
        metadata: {
          namespace: 'team-a',
          name: 's',
          annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"big":true}', keep: 'me' },
          managedFields: [{ manager: 'kubectl', operation: 'Apply', fieldsV1: { 'f:spec': {} } }],
        },
        spec: { ports: [{ port: 80 }] },
      }),
    );
    const stored = store.get('Service', 'team-a/s') as KubernetesObject & { spec: unknown };
    assert.equal(stored.metadata?.managedFields, undefined);
    assert.deepEqual(stored.metadata?.annotations, { keep: 'me' });
    assert.deepEqual(stored.spec, { ports: [{ port: 80 }] });
  });

  it('returns an object with nothing to drop as it is', () => {
    const plain = obj({ metadata: { name: 'n' } });
    assert.equal(cacheable(plain), plain);
  });
});
