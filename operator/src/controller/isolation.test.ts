// NACK isolation through XdsSync, with a real snapshot cache and a stand-in for Envoy that refuses any
// RouteConfiguration containing the path /bad (as Envoy refuses something the operator's checks let
// through). The real ADS server and a raw client: test/integration/xds-isolation.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import type { KubernetesObject } from '@kubernetes/client-node';
import { TypeUrls } from '../envoy/protos.ts';
import type { GatewayTranslation } from '../translate/index.ts';
import type { ResourcesByTypeUrl } from '../xds/resources.ts';
import type { AckEvent, NackEvent, XdsServer } from '../xds/server.ts';
import { SnapshotCache } from '../xds/snapshot-cache.ts';
import { Kinds } from './gateway-controller.ts';
import { jsonLogger } from './log.ts';
import { ObjectStore } from './store.ts';
import { XdsSync } from './xds-sync.ts';

const controllerName = 'legate.dev/test';
const gw = 'team-a/web' as const;
const obj = (o: unknown) => o as KubernetesObject;

const route = (name: string, generation: number, path: string) =>
  obj({
    metadata: { namespace: 'team-a', name, generation, resourceVersion: `${name}-${generation}` },
    spec: {
      parentRefs: [{ name: 'web' }],
      rules: [{ matches: [{ path: { type: 'PathPrefix', value: path } }], backendRefs: [{ name: 'svc', port: 80 }] }],
    },
  });

/** An xDS server stand-in: a real snapshot cache, and ACK/NACK listeners the test calls as Envoy would. */
class FakeXds {
  readonly cache = new SnapshotCache();
  readonly nacks = new Set<(e: NackEvent) => void>();
  readonly acks = new Set<(e: AckEvent) => void>();
  setSnapshot(key: string, resources: ResourcesByTypeUrl) {
    return this.cache.set(key as typeof gw, resources);
  }
  removeSnapshot(key: string) {
    return this.cache.remove(key as typeof gw);
  }
  markSynced() {
    this.cache.markSynced();
  }
  onNack(l: (e: NackEvent) => void) {
    this.nacks.add(l);
    return () => this.nacks.delete(l);
  }
  onAck(l: (e: AckEvent) => void) {
    this.acks.add(l);
    return () => this.acks.delete(l);
  }
}

function setup(options: { resumed?: boolean } = {}) {
  const store = new ObjectStore();
  store.upsert(Kinds.gatewayClass, obj({ metadata: { name: 'legate' }, spec: { controllerName } }));
  store.upsert(
    Kinds.gateway,
    obj({
      metadata: { namespace: 'team-a', name: 'web', generation: 1 },
      spec: { gatewayClassName: 'legate', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] },
    }),
  );
  store.upsert('Service', obj({ metadata: { namespace: 'team-a', name: 'svc' }, spec: { ports: [{ port: 80 }] } }));
  const xds = new FakeXds();
  /** What "Envoy" runs: the paths of the last RouteConfiguration it accepted. */
  const envoy = { live: '', lastSent: '', nacked: 0, accepted: [] as string[] };
  const statuses: GatewayTranslation['status'][] = [];
  const answer = (t: GatewayTranslation) => {
    const version = xds.cache.get(gw)?.get(TypeUrls.route)?.version ?? '';
    // A stream sends a version only when it differs from what it sent last.
    if (envoy.lastSent === version) return;
    envoy.lastSent = version;
    const rc = JSON.stringify(t.resources[TypeUrls.route]?.[0]?.resource ?? {});
    if (options.resumed && envoy.accepted.length === 0) {
      // Envoy resumed with this very config (Delta initial_resource_versions): nothing sent, no ACK.
      envoy.live = rc;
      envoy.accepted.push(rc);
      return;
    }
    const base = { gateway: gw, typeUrl: TypeUrls.route, protocol: 'sotw' as const, version, nodeId: 'envoy-1' };
    if (rc.includes('"/bad"')) {
      envoy.nacked += 1;
      for (const l of xds.nacks) l({ ...base, code: 3, message: "regex '/bad' is not allowed here" });
    } else {
      envoy.live = rc;
      envoy.accepted.push(rc);
      for (const l of xds.acks) l(base);
    }
  };
  const sync = new XdsSync({
    store,
    xds: xds as unknown as XdsServer,
    controllerName,
    log: jsonLogger('error'),
    onTranslated: (t) => {
      statuses.push(t.status);
      answer(t);
    },
  });
  const settle = async () => {
    for (let i = 0; i < 10; i += 1) await tick();
  };
  const routeStatus = (name: string) =>
    statuses
      .at(-1)
      ?.routes.find((r) => r.route === `team-a/${name}`)
      ?.conditions.map((c) => `${c.type}=${c.status}/${c.reason}: ${c.message}`)[0];
  const statusOf = (name: string) => statuses.at(-1)?.routes.find((r) => r.route === `team-a/${name}`);
  return { store, sync, envoy, settle, routeStatus, statusOf };
}

describe('NACK isolation in XdsSync', () => {
  it('one rejected route is held in its accepted form; other routes keep shipping; a fix releases it', async () => {
    const { store, sync, envoy, settle, routeStatus } = setup();
    store.upsert('HTTPRoute', route('r1', 1, '/r1'));
    store.upsert('HTTPRoute', route('r2', 1, '/r2'));
    sync.start();
    await settle();
    assert.match(envoy.live, /"\/r1".*"\/r2"|"\/r2".*"\/r1"/s);

    store.upsert('HTTPRoute', route('r2', 2, '/bad'));
    await settle();
    assert.equal(envoy.nacked, 1, 'Envoy rejected the version with /bad once');
    assert.ok(envoy.live.includes('"/r2"'), 'r2 is served in the form Envoy accepted');
    assert.ok(!envoy.live.includes('/bad'));
    assert.match(
      routeStatus('r2') ?? '',
      /^Accepted=False\/UnsupportedValue: Envoy rejected this HTTPRoute \(envoy-1\): regex '\/bad' is not allowed here\. Its last accepted version is still served until it changes\./,
    );
    assert.match(routeStatus('r1') ?? '', /^Accepted=True/);

    // Another route's change still reaches Envoy.
    store.upsert('HTTPRoute', route('r1', 2, '/r1-v2'));
    await settle();
    assert.ok(envoy.live.includes('"/r1-v2"'), 'a later change to another route is live');
    assert.equal(envoy.nacked, 1);

    // Changing the held route gives its new form a chance.
    store.upsert('HTTPRoute', route('r2', 3, '/r2-fixed'));
    await settle();
    assert.ok(envoy.live.includes('"/r2-fixed"'));
    assert.match(routeStatus('r2') ?? '', /^Accepted=True/);
    sync.stop();
  });

  it('a new route Envoy rejects is left out, and the cycle repeats while it stays bad', async () => {
    const { store, sync, envoy, settle, routeStatus } = setup();
    store.upsert('HTTPRoute', route('r1', 1, '/r1'));
    sync.start();
    await settle();
    store.upsert('HTTPRoute', route('r3', 1, '/bad'));
    await settle();
    assert.equal(envoy.nacked, 1);
    assert.ok(envoy.live.includes('"/r1"') && !envoy.live.includes('/bad'));
    assert.match(routeStatus('r3') ?? '', /It is not served \(Envoy never accepted a version of it\)/);
    store.upsert('HTTPRoute', route('r3', 2, '/bad'));
    await settle();
    assert.equal(envoy.nacked, 2, 'still bad: rejected again, held again');
    assert.match(routeStatus('r3') ?? '', /^Accepted=False/);
    store.upsert('HTTPRoute', route('r1', 2, '/r1-v2'));
    await settle();
    assert.ok(envoy.live.includes('"/r1-v2"'));
    sync.stop();
  });

  it('several changed at once (nothing accepted yet): bisection finds the culprit, the rest ships', async () => {
    const { store, sync, envoy, settle, routeStatus } = setup();
    for (const [i, p] of ['/a', '/b', '/bad', '/d', '/e'].entries()) store.upsert('HTTPRoute', route(`r${i}`, 1, p));
    sync.start();
    await settle();
    for (const p of ['/a', '/b', '/d', '/e']) assert.ok(envoy.live.includes(`"${p}"`), p);
    assert.ok(!envoy.live.includes('/bad'));
    assert.match(routeStatus('r2') ?? '', /^Accepted=False\/UnsupportedValue: Envoy rejected this HTTPRoute/);
    assert.match(routeStatus('r0') ?? '', /^Accepted=True/);
    assert.ok(envoy.nacked <= 4, `${envoy.nacked} NACKs`);
    sync.stop();
  });
});

describe('NACK isolation after an operator restart', () => {
  it('Envoy resumed with the config (nothing ACKed yet): a bad change holds only the changed route', async () => {
    const { store, sync, envoy, settle, routeStatus } = setup({ resumed: true });
    store.upsert('HTTPRoute', route('r1', 1, '/r1'));
    store.upsert('HTTPRoute', route('r2', 1, '/r2'));
    sync.start();
    await settle();
    store.upsert('HTTPRoute', route('r2', 2, '/bad'));
    await settle();
    assert.equal(envoy.nacked, 1);
    assert.ok(
      envoy.accepted.every((rc) => rc.includes('"/r1"') && rc.includes('"/r2"')),
      'no accepted version ever lacked r1 or r2 (no bisection outage)',
    );
    assert.match(routeStatus('r2') ?? '', /Its last accepted version is still served/);
    sync.stop();
  });

  it('a route the previous process held (its status says so) is held again, with the same message', async () => {
    const first = setup();
    first.store.upsert('HTTPRoute', route('r1', 1, '/r1'));
    first.store.upsert('HTTPRoute', route('r2', 1, '/bad'));
    first.sync.start();
    await first.settle();
    const written = first.statusOf('r2');
    assert.match(first.routeStatus('r2') ?? '', /Envoy rejected this HTTPRoute/);
    first.sync.stop();

    // A new process: the stored route carries the status the first one wrote.
    const second = setup();
    second.store.upsert('HTTPRoute', route('r1', 1, '/r1'));
    second.store.upsert(
      'HTTPRoute',
      obj({
        ...route('r2', 1, '/bad'),
        status: { parents: [{ parentRef: written?.parentRef, controllerName, conditions: written?.conditions }] },
      }),
    );
    second.sync.start();
    await second.settle();
    assert.equal(second.envoy.nacked, 0, 'Envoy never got the held route again');
    assert.ok(second.envoy.live.includes('"/r1"'));
    assert.equal(second.statusOf('r2')?.conditions[0]?.message, written?.conditions[0]?.message);
    second.sync.stop();
  });
});

describe('a rejected filter configuration shows on its FilterPolicy', () => {
  it('heldPolicies names the policy of an ExtensionConfig; withRejections sets its ancestor Accepted=False', async () => {
    const { heldPolicies } = await import('./isolation.ts');
    const { withRejections } = await import('./filter-sync.ts');
    const held = {
      key: 'ExtensionConfig/team-a/web/filter/team-a/auth/jwt',
      fingerprint: 'h1',
      pinned: undefined,
      guilty: true,
      typeUrl: TypeUrls.extensionConfig,
      version: 'v2',
      nodeId: 'envoy-1',
      message: 'Wasm VM failed to initialize: RSA key of 1024 bits is too small',
      suspects: 1,
      group: 1,
    };
    const byPolicy = heldPolicies([held]);
    assert.deepEqual([...byPolicy.keys()], ['team-a/auth']);
    assert.match(
      byPolicy.get('team-a/auth') ?? '',
      /Envoy rejected this filter configuration \(entry jwt\) \(envoy-1\): Wasm VM failed/,
    );
    const ancestors = [
      {
        ancestorRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: 'team-a', name: 'web' },
        controllerName,
        conditions: [{ type: 'Accepted', status: 'True' as const, reason: 'Accepted', message: '1 filter(s)' }],
      },
      {
        ancestorRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: 'team-a', name: 'other' },
        controllerName,
        conditions: [{ type: 'Accepted', status: 'True' as const, reason: 'Accepted', message: '1 filter(s)' }],
      },
    ];
    const out = withRejections(ancestors, 'team-a/auth', new Map([['team-a/web', byPolicy]]), 4);
    assert.deepEqual(
      out.map((a) => a.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`)),
      [['Accepted=False/Invalid'], ['Accepted=True/Accepted']],
      'only the Gateway whose Envoy rejected it',
    );
  });
});
