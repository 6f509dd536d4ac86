// Envoy riding out an operator restart, on real Envoy: while the operator is down, Envoy keeps
// serving its last configuration (listeners, routes, clusters, endpoints, the Wasm filter); after
// the restart it reconnects, and a route change made then reaches it. The restarted operator serves
// the same resource versions again, so Envoy re-applies nothing it already has: no listener is
// rebuilt or drained, no cluster rebuilt, no route table or filter reloaded but the one changed.
//
// Requests run all through the restart. They caught a restarted operator serving its first snapshot
// before the filter's module was loaded again: an Envoy that reconnected in that moment was sent
// "no module" for the FailClosed filter and answered 503 until the module followed (about one run
// in three here, depending on when Envoy's reconnect backoff fires); the operator now waits for
// each WasmFilter's first fetch before it serves (XdsServing.startSync). A raw xDS client with the
// Gateway's certificate, connected the moment the new operator listens, checks the same thing
// deterministically: the first snapshot's filter version must be the one Envoy runs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AppsV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { builtinWasm } from '../../filters/builtins/build.ts';
import { builtModule } from '../../filters/cli/build-examples.ts';
import { TypeUrls } from '../../operator/src/envoy/protos.ts';
import { type IssuedCertificate, xdsClientCredentials } from '../../operator/src/xds/identity.ts';
import type { EchoResponse } from '../harness/echo-backend.ts';
import { repoRoot } from '../harness/go-tools.ts';
import { request } from '../harness/http-client.ts';
import { assertNoDeprecatedFeatures, wasmFilterManifests } from './envoy-traffic.ts';
import { type EnvoyPod, type GatewayEnv, type Manifest, startGatewayEnv } from './gateway-env.ts';
import { eventually } from './operator-helpers.ts';
import { rawAdsClient } from './xds-fixtures.ts';

describe('real Envoy rides out an operator restart', () => {
  let env: GatewayEnv;
  let envoy: EnvoyPod;
  let beforeRestart: Map<string, number>;
  let versionsBefore: Map<string, string>;

  const shop = (extra: Record<string, unknown>[] = []): Manifest => ({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { namespace: env.namespace, name: 'shop' },
    spec: {
      parentRefs: [{ name: 'web' }],
      hostnames: ['shop.example'],
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: '/cart' } }],
          filters: extra,
          backendRefs: [{ name: 'cart', port: 80 }],
        },
        { matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ name: 'catalog', port: 80 }] },
      ],
    },
  });
  const get = async (path: string) => {
    const r = await request(envoy.url(80, path), { headers: { host: 'shop.example' }, timeoutMs: 5000 });
    return { status: r.status, echo: r.json<EchoResponse>() };
  };
  /** Every dynamic resource's name → the version Envoy applied it at, from /config_dump. */
  const versions = async () => {
    const dump = (await envoy.configDump()) as { configs: Record<string, unknown>[] };
    const out = new Map<string, string>();
    // biome-ignore lint/suspicious/noExplicitAny: Envoy's config dump
    for (const section of dump.configs as any[]) {
      for (const l of section.dynamic_listeners ?? []) out.set(`listener ${l.name}`, l.active_state?.version_info);
      for (const c of section.dynamic_active_clusters ?? []) out.set(`cluster ${c.cluster.name}`, c.version_info);
      for (const r of section.dynamic_route_configs ?? []) out.set(`route ${r.route_config.name}`, r.version_info);
      for (const f of section.ecds_filters ?? []) out.set(`filter ${f.ecds_filter.name}`, f.version_info);
    }
    return out;
  };

  /** The rate limit's configuration as Envoy runs it (the operator fills `replicas`). */
  const limitConfig = async () => {
    // biome-ignore lint/suspicious/noExplicitAny: Envoy's config dump
    const dump = (await envoy.configDump()) as { configs: any[] };
    const filters = dump.configs.flatMap((c) => c.ecds_filters ?? []);
    const limit = filters.find((f) => f.ecds_filter?.name?.endsWith('/stamp/limit'));
    const text = limit?.ecds_filter?.typed_config?.config?.configuration?.value;
    return text ? (JSON.parse(text) as { replicas: number }) : undefined;
  };

  const stampFilter = () => `${env.namespace}/web/filter/${env.namespace}/stamp/stamp`;
  /** The version of the stamp filter in the first ECDS answer a new xDS stream gets. */
  const firstFilterVersion = async () => {
    const secret = await env.kube.get<Manifest>('v1', 'Secret', env.namespace, 'legate-web-xds');
    const pem = (key: string) => Buffer.from(secret?.data?.[key] ?? '', 'base64').toString();
    const listening = env.operator.logs.find((l) => l.msg === 'xds server listening') as { port: number };
    const client = rawAdsClient(
      listening.port,
      xdsClientCredentials({
        certPem: pem('tls.crt'),
        keyPem: pem('tls.key'),
        caPem: pem('ca.crt'),
      } as IssuedCertificate),
    );
    const stream = client.delta();
    try {
      stream.send({
        node: { id: 'restart-probe', cluster: `${env.namespace}/web` },
        typeUrl: TypeUrls.extensionConfig,
        resourceNamesSubscribe: [stampFilter()],
      });
      const first = await stream.responses.next(30_000);
      return first.resources?.find((r) => r.name === stampFilter())?.version;
    } finally {
      stream.close();
      client.close();
    }
  };

  before(async () => {
    env = await startGatewayEnv();
    const wasm = readFileSync(await builtModule('header-rewrite'));
    await env.gateway('web', [{ name: 'http', port: 80, protocol: 'HTTP' }]);
    await env.echoService('cart');
    await env.echoService('catalog');
    await env.apply(shop());
    for (const o of wasmFilterManifests(env.namespace, 'stamp', wasm, { failurePolicy: 'FailClosed' }))
      await env.apply(o);
    // The built-in rate limit, whose `replicas` the operator fills from the Deployment's ready
    // replicas: a restarted operator must fill in the same number before it serves.
    const schema = JSON.parse(
      readFileSync(path.join(repoRoot, 'filters', 'builtins', 'ratelimit', 'config.schema.json'), 'utf8'),
    );
    const limit = Buffer.from(await builtinWasm('ratelimit'));
    for (const o of wasmFilterManifests(env.namespace, 'limit', limit, {
      failurePolicy: 'FailOpen',
      configSchema: schema,
    }))
      await env.apply(o);
    await env.apply({
      apiVersion: 'legate.dev/v1alpha1',
      kind: 'FilterPolicy',
      metadata: { namespace: env.namespace, name: 'stamp' },
      spec: {
        targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'web' }],
        filters: [
          { name: 'stamp', filterRef: { name: 'stamp' }, config: { request: { set: { 'x-stamp': 'v1' } } } },
          { name: 'limit', filterRef: { name: 'limit' }, config: { rules: [{ name: 'all', requests: 100000 }] } },
        ],
      },
    });
    envoy = await env.envoy('web');
    // The test cluster runs no pods: the Deployment's status is written here, as its controller would.
    await env.cluster
      .kubeConfig()
      .makeApiClient(AppsV1Api)
      .patchNamespacedDeploymentStatus(
        { namespace: env.namespace, name: 'legate-web', body: { status: { replicas: 2, readyReplicas: 2 } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    await eventually('replicas 2 in the rate limit', async () =>
      (await limitConfig())?.replicas === 2 ? true : undefined,
    );
    await eventually('the route and the filter', async () => {
      const r = await get('/cart/1');
      return r.echo?.name === 'cart-0' && r.echo.headers['x-stamp'] === 'v1' ? r : undefined;
    });
  });

  after(() => env?.stop());

  it('keeps serving its last configuration while the operator is down', async () => {
    beforeRestart = await envoy.stats();
    versionsBefore = await versions();
    await env.operator.stop();
    await eventually('Envoy to notice the operator is gone', async () =>
      (await envoy.stats()).get('control_plane.connected_state') === 0 ? true : undefined,
    );
    for (let i = 0; i < 20; i++) {
      const [cart, catalog] = await Promise.all([get(`/cart/${i}`), get(`/items/${i}`)]);
      assert.equal(cart.status, 200);
      assert.equal(cart.echo?.name, 'cart-0');
      assert.equal(cart.echo?.headers['x-stamp'], 'v1', 'the Wasm filter keeps running');
      assert.equal(catalog.echo?.name, 'catalog-0');
    }
    assert.equal(await envoy.ready(), true, 'a pod that lost its control plane stays in the Service');
  });

  it('reconnects to the restarted operator and takes a route change made after the restart', async () => {
    // Requests keep going through the restart: none may fail or miss the filter, not even while
    // the new operator is still loading the filter's module.
    let probing = true;
    const failures: string[] = [];
    let probes = 0;
    const probe = (async () => {
      for (; probing && probes < 3000; probes++) {
        const r = await get(`/cart/probe-${probes}`).catch((err: Error) => ({ status: 0, echo: undefined, err }));
        if (r.status !== 200 || r.echo?.headers['x-stamp'] !== 'v1') failures.push(`${r.status} ${JSON.stringify(r)}`);
        await new Promise((res) => setTimeout(res, 10));
      }
    })();
    try {
      await env.restartOperator();
      // Whether Envoy reconnects before the new operator has loaded the modules again depends on its
      // backoff. A client holding the Gateway's certificate that connects right as the operator
      // listens (before it has listed anything) always waits for the first snapshot: the filter
      // must be in it at the version Envoy runs.
      assert.equal(await firstFilterVersion(), versionsBefore.get(`filter ${stampFilter()}`));
      await eventually(
        'Envoy to reconnect',
        async () => ((await envoy.stats()).get('control_plane.connected_state') === 1 ? true : undefined),
        30_000,
      );
      await env.apply(
        shop([
          { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-after', value: 'restart' }] } },
        ]),
      );
      const res = await eventually('the route change', async () => {
        const r = await get('/cart/after');
        return r.echo?.headers['x-after'] === 'restart' ? r : undefined;
      });
      assert.equal(res.echo?.name, 'cart-0');
      assert.equal(res.echo?.headers['x-stamp'], 'v1');
    } finally {
      probing = false;
      await probe;
    }
    assert.ok(probes > 10, `${probes} requests during the restart`);

    assert.deepEqual(failures.slice(0, 5), [], `${failures.length} of ${probes} requests failed during the restart`);
  });

  it('re-applies nothing unchanged after the restart: same versions, no listener, cluster or filter churn', async () => {
    const after = await envoy.stats();
    const delta = (name: string) => (after.get(name) ?? 0) - (beforeRestart.get(name) ?? 0);
    const versionsAfter = await versions();
    const route = `route ${env.namespace}/web/80`;
    assert.deepEqual([...versionsAfter.keys()].sort(), [...versionsBefore.keys()].sort());
    for (const [name, version] of versionsBefore) {
      if (name === route) assert.notEqual(versionsAfter.get(name), version, 'the changed route has a new version');
      else assert.equal(versionsAfter.get(name), version, `${name} keeps its version across the restart`);
    }
    for (const counter of [
      'listener_manager.listener_added',
      'listener_manager.listener_modified',
      'listener_manager.listener_removed',
      'listener_manager.listener_in_place_updated',
      'cluster_manager.cluster_added',
      'cluster_manager.cluster_modified',
      'cluster_manager.cluster_removed',
      'cluster_manager.cds.config_reload',
      `extension_config_discovery.http_filter.${env.namespace}/web/filter/${env.namespace}/stamp/stamp.config_reload`,
      `extension_config_discovery.http_filter.${env.namespace}/web/filter/${env.namespace}/stamp/limit.config_reload`,
    ]) {
      assert.equal(delta(counter), 0, `${counter}: nothing re-applied after the restart`);
    }
    assert.equal(after.get('listener_manager.total_listeners_draining'), 0);
    assert.equal((await limitConfig())?.replicas, 2, "the rate limit still enforces half the Gateway's limit per pod");
    const rds = `http.${env.namespace}.web.80.rds.${env.namespace}/web/80.config_reload`;
    assert.equal(delta(rds), 1, 'the route table is reloaded once: for the change made after the restart');
    for (const c of ['cart', 'catalog']) {
      assert.equal(delta(`cluster.${env.namespace}/${c}/80.membership_change`), 0, `${c}: endpoints untouched`);
    }
  });

  it('uses no deprecated Envoy feature', async () => {
    await assertNoDeprecatedFeatures(envoy);
  });
});
