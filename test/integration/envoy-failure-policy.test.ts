// What a real Envoy does when a filter cannot run, and when it has no configuration at all:
// - a FailClosed filter whose policy config the operator refuses closes the routes it is on (503
//   with Legate's deny body), never lets a request through without the filter, and never stalls a
//   listener: a fresh Envoy becomes ready, and a running one takes a newly added broken policy;
// - fixing the config puts the filter itself in place; a FailOpen filter runs with failure_policy
//   FAIL_OPEN, and nothing Legate gives Envoy is a deprecated feature;
// - readiness means "has received its configuration": an Envoy that cannot reach the operator stays
//   not ready past Envoy's default initial fetch timeouts (15 s), and becomes ready once it can.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { builtinWasm } from '../../filters/builtins/build.ts';
import { DENY_STATUS, denyBody } from '../../operator/src/filters/render.ts';
import { managedName, xdsSecretName } from '../../operator/src/infra/names.ts';
import { startGatewayEnvoy } from '../harness/envoy.ts';
import { request } from '../harness/http-client.ts';
import { assertNoDeprecatedFeatures, wasmFilterManifests } from './envoy-traffic.ts';
import { type EnvoyPod, type GatewayEnv, type Manifest, startGatewayEnv } from './gateway-env.ts';
import { eventually } from './operator-helpers.ts';

const schema = (name: string) =>
  JSON.parse(
    readFileSync(path.join(import.meta.dirname, '..', '..', 'filters', 'builtins', name, 'config.schema.json'), 'utf8'),
  );
const apiKey = 'let-me-in';
const goodAuth = {
  apiKeys: { keys: [{ sha256: createHash('sha256').update(apiKey).digest('hex'), consumer: 'tester' }] },
};
// Refused by the schema: an empty key list.
const badAuth = { apiKeys: { keys: [] } };

describe('real Envoy: FailClosed means closed, ready means configured', () => {
  let env: GatewayEnv;
  let envoy: EnvoyPod;
  const legate = 'legate.dev/v1alpha1';

  const route = (name: string, prefix: string): Manifest => ({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { namespace: env.namespace, name },
    spec: {
      parentRefs: [{ name: 'web' }],
      rules: [
        { matches: [{ path: { type: 'PathPrefix', value: prefix } }], backendRefs: [{ name: 'shop', port: 80 }] },
      ],
    },
  });
  const wasmFilter = async (
    name: 'auth' | 'ratelimit',
    failurePolicy: 'FailClosed' | 'FailOpen',
    configSchema: Record<string, unknown> = schema(name),
  ) => {
    const manifests = wasmFilterManifests(env.namespace, name, await builtinWasm(name), {
      failurePolicy,
      // The chart's schemas as shipped (draft-07).
      configSchema,
    });
    for (const m of manifests) await env.apply(m);
  };
  const policy = (name: string, routeName: string, filter: string, config: unknown) =>
    env.apply({
      apiVersion: legate,
      kind: 'FilterPolicy',
      metadata: { namespace: env.namespace, name },
      spec: {
        targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: routeName }],
        filters: [{ name: filter, filterRef: { name: filter }, config }],
      },
    } as Manifest);
  const accepted = async (name: string) => {
    const p = await env.kube.get<Manifest>(legate, 'FilterPolicy', env.namespace, name);
    return p?.status?.ancestors?.[0]?.conditions?.find(
      (c: { type: string; observedGeneration?: number }) =>
        c.type === 'Accepted' && c.observedGeneration === p.metadata?.generation,
    ) as { status: string; reason: string; message: string } | undefined;
  };
  const get = (pathAndQuery: string, headers: Record<string, string> = {}) =>
    request(envoy.url(80, pathAndQuery), { headers: { host: 'shop.example', ...headers }, timeoutMs: 5000 });
  const statusOf = async (pathAndQuery: string, headers?: Record<string, string>) =>
    (await get(pathAndQuery, headers)).status;

  before(async () => {
    env = await startGatewayEnv();
    await env.gateway('web', [{ name: 'http', port: 80, protocol: 'HTTP' }]);
    await env.echoService('shop');
    for (const [name, prefix] of [
      ['open', '/open'],
      ['guarded', '/guarded'],
      ['late', '/late'],
    ] as const)
      await env.apply(route(name, prefix));
    await wasmFilter('auth', 'FailClosed');
    await wasmFilter('ratelimit', 'FailOpen');
    await policy('limit', 'open', 'ratelimit', { rules: [{ name: 'all', requests: 1000 }] });
    await policy('guard', 'guarded', 'auth', badAuth);
    const refused = await eventually('the refused policy status', () => accepted('guard'), 30_000);
    assert.equal(refused.status, 'False');
    assert.equal(refused.reason, 'Invalid');
  });

  after(async () => {
    await envoy?.stop();
    await env?.stop();
  });

  /** The fleet the operator applied for `web` is there (the pod is made from it). */
  const fleet = () =>
    eventually('the fleet', async () => {
      const found = await Promise.all([
        env.kube.get('apps/v1', 'Deployment', env.namespace, managedName('web')),
        env.kube.get('v1', 'ConfigMap', env.namespace, managedName('web')),
        env.kube.get('v1', 'Secret', env.namespace, xdsSecretName('web')),
      ]);
      return found.every(Boolean) || undefined;
    });
  /** Waits for readiness with room for a loaded machine; on a timeout, says what Envoy waits for. */
  const waitReady = async (pod: EnvoyPod, timeoutMs: number) => {
    try {
      await pod.waitReady(timeoutMs);
    } catch (err) {
      const stats = await pod.stats().catch(() => new Map<string, number>());
      const waiting = [...stats].filter(
        ([k, v]) => /warming|init_fetch_timeout|server\.state|update_success|update_rejected/.test(k) && v !== 0,
      );
      throw new Error(
        `${(err as Error).message.split('\n')[0]}\nstats: ${waiting.map(([k, v]) => `${k}=${v}`).join(' ')}`,
      );
    }
  };

  it('starts a fresh Envoy to ready while a FailClosed policy on one of its routes has a refused config', async () => {
    await fleet();
    envoy = await startGatewayEnvoy({ kubeConfig: env.cluster.kubeConfig(), namespace: env.namespace, gateway: 'web' });
    // Without the deny configuration it never is (its listener waits for the ECDS resource forever);
    // the budget is for a loaded machine, it is ready in about 2 s.
    await waitReady(envoy, 90_000);
    const stats = await envoy.stats();
    assert.equal(stats.get('listener_manager.total_listeners_warming'), 0, 'no listener waits for anything');
  });

  it('answers the closed route with 503 and the deny body, never from the backend; other routes pass', async () => {
    const res = await get('/guarded/x');
    assert.equal(res.status, DENY_STATUS, res.body);
    assert.equal(res.body, denyBody);
    assert.equal(res.json(), undefined, 'not the echo backend');
    const open = await get('/open/x');
    assert.equal(open.status, 200, open.body);
    assert.equal(open.json<{ name: string }>()?.name, 'shop-0');
  });

  it('closes a route of a running Envoy as soon as a FailClosed policy with a refused config is added', async () => {
    assert.equal(await statusOf('/late/x'), 200, 'open before the policy');
    await policy('late-guard', 'late', 'auth', badAuth);
    await eventually('the late route closed', async () =>
      (await statusOf('/late/x')) === DENY_STATUS ? true : undefined,
    );
    const stats = await envoy.stats();
    assert.equal(stats.get('listener_manager.total_listeners_warming'), 0);
    // Closed for good: never the backend again while the config is refused.
    for (let i = 0; i < 20; i++) assert.equal(await statusOf('/late/x'), DENY_STATUS);
  });

  it('puts the filter itself in place once the config is fixed', async () => {
    await policy('guard', 'guarded', 'auth', goodAuth);
    await eventually('the auth filter running', async () =>
      (await statusOf('/guarded/x')) === 401 ? true : undefined,
    );
    const res = await get('/guarded/x', { 'x-api-key': apiKey });
    assert.equal(res.status, 200, res.body);
    assert.equal(res.json<{ name: string }>()?.name, 'shop-0');
    const dump = JSON.stringify(await envoy.configDump());
    assert.match(dump, /"failure_policy":\s*"FAIL_CLOSED"/);
    assert.match(dump, /"failure_policy":\s*"FAIL_OPEN"/, 'the FailOpen rate limit runs with FAIL_OPEN');
    assert.doesNotMatch(dump, /fail_open/);
  });

  it('takes an edited configSchema that keeps its $id at once, without an operator restart', async () => {
    const edited = { ...schema('auth'), required: ['jwt'] };
    assert.equal(edited.$id, schema('auth').$id);
    await wasmFilter('auth', 'FailClosed', edited);
    const refused = await eventually('the policy judged by the edited schema', async () => {
      const c = await accepted('guard');
      return c?.status === 'False' ? c : undefined;
    });
    assert.match(refused.message, /missing required field 'jwt'/);
    const filter = await env.kube.get<Manifest>(legate, 'WasmFilter', env.namespace, 'auth');
    const schemaAccepted = filter?.status?.conditions?.find((c: { type: string }) => c.type === 'Accepted');
    assert.equal(schemaAccepted?.status, 'True', schemaAccepted?.message);
    await eventually('the route closed', async () =>
      (await statusOf('/guarded/x')) === DENY_STATUS ? true : undefined,
    );
    // And back.
    await wasmFilter('auth', 'FailClosed');
    await eventually('the auth filter again', async () => ((await statusOf('/guarded/x')) === 401 ? true : undefined));
  });

  it('keeps a deleted FailClosed filter as it was on the connections of the draining filter chain', async () => {
    // A Gateway-wide auth policy, then one keep-alive connection across its deletion. Envoy drains
    // the old filter chain, which still runs the filter until the connection closes. A removal of
    // the filter's ECDS resource would put its default configuration (deny, 503) there; the operator
    // leaves the name to Envoy, which lets go of it once no filter chain runs the filter.
    await env.apply({
      apiVersion: legate,
      kind: 'FilterPolicy',
      metadata: { namespace: env.namespace, name: 'gate' },
      spec: {
        targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'web' }],
        filters: [{ name: 'auth', filterRef: { name: 'auth' }, config: goodAuth }],
      },
    } as Manifest);
    await eventually('the Gateway-wide auth', async () => ((await statusOf('/open/x')) === 401 ? true : undefined));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const onConnection = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const req = http.get(
          envoy.url(80, '/open/x'),
          { agent, headers: { host: 'shop.example', ...headers } },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.setTimeout(5000, () => req.destroy(new Error('timeout')));
        req.on('error', reject);
      });
    const inPlaceUpdates = async () => (await envoy.stats()).get('listener_manager.listener_in_place_updated') ?? 0;
    try {
      assert.equal(await onConnection({ 'x-api-key': apiKey }), 200);
      const before = await inPlaceUpdates();
      await env.delete(legate, 'FilterPolicy', 'gate');
      // Envoy has taken the new filter chain; the old one drains. The operator pushes ECDS before
      // LDS and Envoy applies them in order, so an ECDS removal would have come first.
      await eventually('the new filter chain', async () => ((await inPlaceUpdates()) > before ? true : undefined));
      assert.equal(await onConnection({}), 401, 'the draining chain keeps the auth filter it was built with');
      assert.equal(await statusOf('/open/x'), 200, 'new connections: no filter');
    } finally {
      agent.destroy();
    }
  });

  it('uses no deprecated Envoy feature', async () => {
    await assertNoDeprecatedFeatures(envoy);
  });

  it('keeps an Envoy that cannot reach the operator not ready past the initial fetch timeouts', async () => {
    // The fleet the pod is made from is there; then the operator goes away.
    await fleet();
    await env.operator.stop();
    const pod = await startGatewayEnvoy({
      kubeConfig: env.cluster.kubeConfig(),
      namespace: env.namespace,
      gateway: 'web',
    });
    try {
      // Envoy's default initial_fetch_timeout is 15 s per subscription, CDS then LDS: past both, an
      // Envoy without configuration used to report ready with no listener at all.
      const until = Date.now() + 35_000;
      while (Date.now() < until) {
        assert.equal(await pod.ready(), false, 'ready without any configuration');
        await new Promise((r) => setTimeout(r, 500));
      }
      await env.restartOperator();
      // Envoy's reconnect backoff, on a loaded machine.
      await waitReady(pod, 120_000);
      const res = await request(pod.url(80, '/open/x'), { headers: { host: 'shop.example' }, timeoutMs: 5000 });
      assert.equal(res.status, 200, res.body);
    } finally {
      await pod.stop();
    }
  });
});
