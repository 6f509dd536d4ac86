// Filter distribution end to end: the real API server, the real operator process (watches → module
// pipeline → policy resolution → translation → xDS server) and a raw mTLS Delta ADS client holding a
// Gateway certificate from the operator's CA, reading exactly what an Envoy of that Gateway would get.
// Everything is changed through the API server, as a team would change it.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AppsV1Api, type KubernetesObject, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { init } from '../../filters/cli/main.ts';
import { push } from '../../filters/cli/push.ts';
import { envoyType, TypeUrls } from '../../operator/src/envoy/protos.ts';
import { sha256Hex } from '../../operator/src/filters/module-check.ts';
import { FAULT_FILTER_TYPE } from '../../operator/src/filters/render.ts';
import { proxyWasmModule } from '../../operator/src/filters/testing/wasm-builder.ts';
import type { FilterPolicy, WasmFilter } from '../../operator/src/filters/types.ts';
import type { DeltaDiscoveryResponseMessage } from '../../operator/src/xds/ads-service.ts';
import {
  type GatewayKey,
  type XdsCertificateAuthority,
  xdsClientCredentials,
} from '../../operator/src/xds/identity.ts';
import { type TestCluster, testCluster } from '../harness/cluster.ts';
import { goTool } from '../harness/go-tools.ts';
import {
  eventually,
  Kube,
  type OperatorProcess,
  startOperator,
  uniqueSuffix,
  type XdsCaFolder,
  xdsCaFolder,
} from './operator-helpers.ts';
import { rawAdsClient } from './xds-fixtures.ts';

type Any = { type_url: string; value: Uint8Array };
const decode = <T>(type: string, bytes: Uint8Array) => envoyType(type).decode(bytes) as unknown as T;
const subscribed = [
  TypeUrls.extensionConfig,
  TypeUrls.cluster,
  TypeUrls.endpoint,
  TypeUrls.listener,
  TypeUrls.route,
  TypeUrls.secret,
];

/** One Gateway's view over a Delta ADS stream: every resource it holds, ACKing each response. */
class EnvoyView {
  readonly held = new Map<string, Map<string, { version: string; bytes: Uint8Array }>>();
  readonly #stream: ReturnType<ReturnType<typeof rawAdsClient>['delta']>;

  constructor(client: ReturnType<typeof rawAdsClient>, gateway: GatewayKey) {
    this.#stream = client.delta();
    for (const [i, typeUrl] of subscribed.entries()) {
      this.#stream.send({
        ...(i === 0 ? { node: { id: `envoy-${gateway}`, cluster: gateway } } : {}),
        typeUrl,
        resourceNamesSubscribe: ['*'],
      });
    }
  }

  #apply(r: DeltaDiscoveryResponseMessage): void {
    const typeUrl = r.typeUrl ?? '';
    const byName = this.held.get(typeUrl) ?? new Map();
    this.held.set(typeUrl, byName);
    for (const name of r.removedResources ?? []) byName.delete(name);
    for (const res of r.resources ?? []) {
      byName.set(res.name, { version: res.version, bytes: (res.resource as unknown as Any).value });
    }
    this.#stream.send({ typeUrl, responseNonce: r.nonce });
  }

  /** Reads responses until `probe` holds on what is held. */
  async until<T>(what: string, probe: () => T | undefined, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      const r = await this.#stream.responses.next(Math.max(100, deadline - Date.now())).catch(() => undefined);
      if (r) this.#apply(r);
    }
  }

  /** Reads until nothing arrives for `ms`. */
  async settle(ms = 1500): Promise<void> {
    for (;;) {
      const r = await this.#stream.responses.quiet(ms);
      if (!r) return;
      this.#apply(r);
    }
  }

  /** The next response (applied), or undefined after `ms` of silence. */
  async next(ms: number): Promise<DeltaDiscoveryResponseMessage | undefined> {
    const r = await this.#stream.responses.quiet(ms);
    if (r) this.#apply(r);
    return r;
  }

  /** Everything held, in xds-validate's binary input form. */
  binaryResources(): { typeUrl: string; binary: string }[] {
    return [...this.held].flatMap(([typeUrl, byName]) =>
      [...byName.values()].map((r) => ({ typeUrl, binary: Buffer.from(r.bytes).toString('base64') })),
    );
  }

  names(typeUrl: string): string[] {
    return [...(this.held.get(typeUrl)?.keys() ?? [])].sort();
  }

  bytes(typeUrl: string, name: string): Uint8Array | undefined {
    return this.held.get(typeUrl)?.get(name)?.bytes;
  }

  close(): void {
    this.#stream.close();
  }
}

interface HttpFilter {
  name: string;
  disabled?: boolean;
  configDiscovery?: unknown;
}

function hcmOf(listener: Uint8Array): { httpFilters: HttpFilter[]; rds: { routeConfigName: string } } {
  const l = decode<{ filterChains: { filters: { typedConfig: Any }[] }[] }>(
    'envoy.config.listener.v3.Listener',
    listener,
  );
  const any = l.filterChains[0]?.filters[0]?.typedConfig;
  assert.ok(any, 'the listener has an HCM');
  return decode('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', any.value);
}

function enabledRoutes(routeConfig: Uint8Array, filterName: string): { enabled: string[]; all: string[] } {
  const rc = decode<{ virtualHosts: { routes: { name: string; typedPerFilterConfig?: Record<string, Any> }[] }[] }>(
    'envoy.config.route.v3.RouteConfiguration',
    routeConfig,
  );
  const routes = rc.virtualHosts.flatMap((vh) => vh.routes);
  return {
    enabled: routes.filter((r) => r.typedPerFilterConfig?.[filterName]).map((r) => r.name),
    all: routes.map((r) => r.name),
  };
}

function wasmOf(ecds: Uint8Array): { sha256: string; configuration: string; rootId: string } {
  const tec = decode<{ typedConfig: Any }>('envoy.config.core.v3.TypedExtensionConfig', ecds);
  assert.equal(tec.typedConfig.type_url, 'type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm');
  const wasm = decode<{
    config: { rootId: string; vmConfig: { code: { local: { inlineBytes: Uint8Array } } }; configuration: Any };
  }>('envoy.extensions.filters.http.wasm.v3.Wasm', tec.typedConfig.value);
  const configuration = decode<{ value: string }>('google.protobuf.StringValue', wasm.config.configuration.value).value;
  return { sha256: sha256Hex(wasm.config.vmConfig.code.local.inlineBytes), configuration, rootId: wasm.config.rootId };
}

/** The HTTP status a deny configuration (Envoy's fault filter) answers with; undefined for a Wasm filter. */
function denyStatusOf(ecds: Uint8Array): number | undefined {
  const tec = decode<{ typedConfig: Any }>('envoy.config.core.v3.TypedExtensionConfig', ecds);
  if (tec.typedConfig.type_url !== FAULT_FILTER_TYPE) return undefined;
  const fault = decode<{ abort?: { httpStatus?: number; percentage?: { numerator?: number; denominator?: number } } }>(
    'envoy.extensions.filters.http.fault.v3.HTTPFault',
    tec.typedConfig.value,
  );
  assert.equal(fault.abort?.percentage?.numerator, 100, 'every request is aborted');
  assert.equal(fault.abort?.percentage?.denominator ?? 0, 0, 'out of HUNDRED');
  return fault.abort?.httpStatus;
}

describe('filter distribution through the operator process', () => {
  const suffix = uniqueSuffix();
  const teamA = `fa-${suffix}`;
  const teamB = `fb-${suffix}`;
  const operatorNs = `fo-${suffix}`;
  const className = `filters-${suffix}`;
  const controllerName = `legate.dev/filters-${suffix}`;
  const gwA = `${teamA}/web` as GatewayKey;
  const gwB = `${teamB}/web` as GatewayKey;
  const module = proxyWasmModule();
  const moduleSha = sha256Hex(module);
  const filterName = `${gwA}/filter/${teamA}/greet/hello`;
  let cluster: TestCluster;
  let kube: Kube;
  let operator: OperatorProcess;
  let caDir: string;
  let xdsCa: XdsCaFolder;
  let ca: XdsCertificateAuthority;
  const closers: { close(): void }[] = [];

  const apply = <T>(obj: T) => kube.apply(obj as unknown as KubernetesObject);
  const legate = 'legate.dev/v1alpha1';
  const gateway = (ns: string) => ({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { namespace: ns, name: 'web' },
    spec: { gatewayClassName: className, listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] },
  });
  const service = (ns: string) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace: ns, name: 'app' },
    spec: { ports: [{ name: 'http', port: 8080 }] },
  });
  const route = (ns: string, name: string, prefix: string, parents: { name: string; namespace?: string }[]) => ({
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { namespace: ns, name },
    spec: {
      parentRefs: parents,
      rules: [
        { matches: [{ path: { type: 'PathPrefix', value: prefix } }], backendRefs: [{ name: 'app', port: 8080 }] },
      ],
    },
  });
  const configMap = (ns: string, name: string, bytes: Uint8Array) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { namespace: ns, name },
    binaryData: { 'filter.wasm': Buffer.from(bytes).toString('base64') },
  });
  const wasmFilter = (ns: string, name: string, configMapName: string, sha256?: string): WasmFilter => ({
    apiVersion: legate,
    kind: 'WasmFilter',
    metadata: { namespace: ns, name },
    spec: {
      source: {
        type: 'ConfigMap',
        configMap: { name: configMapName, key: 'filter.wasm', ...(sha256 ? { sha256 } : {}) },
      },
      rootId: 'hello',
      configSchema: {
        type: 'object',
        properties: { greeting: { type: 'string' } },
        required: ['greeting'],
        additionalProperties: false,
      },
    },
  });
  const policy = (
    ns: string,
    name: string,
    routeName: string,
    config: Record<string, unknown>,
    filterRef: { name: string; namespace?: string } = { name: 'hello' },
  ): FilterPolicy => ({
    apiVersion: legate,
    kind: 'FilterPolicy',
    metadata: { namespace: ns, name },
    spec: {
      targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: routeName }],
      filters: [{ name: 'hello', filterRef, config }],
    },
  });
  const readyOf = async (ns: string, name: string) => {
    const f = await kube.get<WasmFilter>(legate, 'WasmFilter', ns, name);
    const ready = f?.status?.conditions?.find((c) => c.type === 'Ready');
    return ready && ready.status !== 'Unknown' ? { ready, status: f?.status } : undefined;
  };
  const acceptedOf = async (ns: string, name: string, gatewayName: string) => {
    const p = await kube.get<FilterPolicy>(legate, 'FilterPolicy', ns, name);
    const a = p?.status?.ancestors?.find(
      (x) => x.controllerName === controllerName && x.ancestorRef.name === gatewayName,
    );
    return a?.conditions.find((c) => c.type === 'Accepted' && c.observedGeneration === p?.metadata.generation);
  };
  const view = async (gw: GatewayKey) => {
    const listening = await eventually('the xDS server to listen', async () =>
      operator.logs.find((l) => l.msg === 'xds server listening'),
    );
    const client = rawAdsClient(listening.port as number, xdsClientCredentials(await ca.issueGatewayCertificate(gw)));
    closers.push(client);
    const v = new EnvoyView(client, gw);
    closers.push(v);
    return v;
  };

  before(async () => {
    cluster = await testCluster();
    kube = new Kube(cluster.kubeConfig());
    for (const ns of [teamA, teamB, operatorNs]) await kube.createNamespace(ns);
    xdsCa = await xdsCaFolder();
    ca = xdsCa.ca;
    caDir = xdsCa.dir;

    await apply({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'GatewayClass',
      metadata: { name: className },
      spec: { controllerName },
    });
    for (const ns of [teamA, teamB]) {
      await apply(gateway(ns));
      await apply(service(ns));
    }
    // team A's checkout route also names team B's Gateway, whose listener (allowedRoutes: Same) refuses it.
    await apply(route(teamA, 'checkout', '/checkout', [{ name: 'web' }, { name: 'web', namespace: teamB }]));
    await apply(route(teamA, 'other', '/other', [{ name: 'web' }]));
    await apply(route(teamB, 'shop', '/shop', [{ name: 'web' }]));
    await apply(configMap(teamA, 'hello-wasm', module));
    await apply(wasmFilter(teamA, 'hello', 'hello-wasm', moduleSha));
    await apply(policy(teamA, 'greet', 'checkout', { greeting: 'hi' }));
    // team B tries to use team A's filter without a ReferenceGrant.
    await apply(policy(teamB, 'borrow', 'shop', { greeting: 'stolen' }, { name: 'hello', namespace: teamA }));

    operator = startOperator({
      kubeconfigPath: cluster.kubeconfigPath,
      namespace: operatorNs,
      allNamespaces: true,
      controllerName,
      leaseName: `filters-${suffix}`,
      identity: 'filters',
      extraArgs: ['--leader-elect', 'false', '--xds-ca-dir', caDir],
    });
  });

  after(async () => {
    for (const c of closers) c.close();
    await operator?.stop();
    xdsCa?.remove();
    await cluster?.stop();
  });

  it('reports the module in WasmFilter status (Ready, sha256) and the policy as Accepted', async () => {
    const { ready, status } = await eventually('WasmFilter Ready', () => readyOf(teamA, 'hello'), 30_000);
    assert.equal(ready.status, 'True', ready.message);
    assert.equal(status?.sha256, moduleSha);
    assert.match(ready.message, new RegExp(moduleSha));
    const accepted = await eventually('FilterPolicy Accepted', () => acceptedOf(teamA, 'greet', 'web'), 30_000);
    assert.equal(accepted.status, 'True', accepted.message);
  });

  let a: EnvoyView;
  it('delivers the module over ECDS, on the chain before the router, enabled on that route only', async () => {
    a = await view(gwA);
    await a.until('the ECDS resource', () => a.bytes(TypeUrls.extensionConfig, filterName));
    assert.deepEqual(a.names(TypeUrls.extensionConfig), [filterName]);
    const wasm = wasmOf(a.bytes(TypeUrls.extensionConfig, filterName) as Uint8Array);
    assert.equal(wasm.sha256, moduleSha, 'the module bytes are the WasmFilter module');
    assert.equal(wasm.configuration, '{"greeting":"hi"}');
    assert.equal(wasm.rootId, 'hello');

    const listenerName = await a.until('the listener', () => a.names(TypeUrls.listener)[0]);
    const hcm = hcmOf(a.bytes(TypeUrls.listener, listenerName) as Uint8Array);
    assert.deepEqual(
      hcm.httpFilters.map((f) => [f.name, f.disabled ?? false, f.configDiscovery != null]),
      [
        [filterName, true, true],
        ['envoy.filters.http.router', false, false],
      ],
    );
    const rcName = hcm.rds.routeConfigName;
    await a.until('the route configuration', () => a.bytes(TypeUrls.route, rcName));
    const { enabled, all } = enabledRoutes(a.bytes(TypeUrls.route, rcName) as Uint8Array, filterName);
    assert.ok(enabled.length > 0, `enabled on the checkout route: ${all}`);
    assert.ok(
      enabled.every((n) => n.startsWith(`HTTPRoute/${teamA}/checkout/`)),
      `only on checkout: ${enabled}`,
    );
    assert.ok(
      all.some((n) => n.startsWith(`HTTPRoute/${teamA}/other/`)),
      'the other route is there, without the filter',
    );
  });

  it("passes go-control-plane's validation and snapshot consistency, as received", async () => {
    await a.settle();
    const bin = await goTool('xds-validate');
    const resources = a.binaryResources();
    assert.ok(resources.some((r) => r.typeUrl === TypeUrls.extensionConfig));
    const res = spawnSync(bin, [], {
      input: JSON.stringify({ gateways: [{ gateway: gwA, resources }] }),
      encoding: 'utf8',
    });
    assert.deepEqual(JSON.parse(res.stdout), { ok: true, errors: [] }, res.stderr);
  });

  it('pushes a config change as one new ECDS version and nothing else', async () => {
    await a.settle();
    const before = a.held.get(TypeUrls.extensionConfig)?.get(filterName)?.version;
    await apply(policy(teamA, 'greet', 'checkout', { greeting: 'hello' }));
    const pushed = await a.next(20_000);
    assert.ok(pushed, 'a push after the config change');
    assert.equal(pushed.typeUrl, TypeUrls.extensionConfig);
    assert.deepEqual(
      pushed.resources?.map((r) => r.name),
      [filterName],
    );
    assert.notEqual(pushed.resources?.[0]?.version, before);
    assert.equal(
      wasmOf(a.bytes(TypeUrls.extensionConfig, filterName) as Uint8Array).configuration,
      '{"greeting":"hello"}',
    );
    const extra = await a.next(2000);
    assert.equal(
      extra,
      undefined,
      `nothing else is pushed, got ${extra?.typeUrl} ${extra?.resources?.map((r) => r.name)}`,
    );
  });

  it("never delivers team A's policy or module to team B's Gateway", async () => {
    const b = await view(gwB);
    const listenerName = await b.until('team B listener', () => b.names(TypeUrls.listener)[0]);
    await b.settle();
    for (const name of b.names(TypeUrls.extensionConfig)) {
      assert.ok(!name.includes(`/filter/${teamA}/`), `no team A filter: ${name}`);
      const bytes = b.bytes(TypeUrls.extensionConfig, name) as Uint8Array;
      // team B's refused attempt is on its chain as a deny configuration (FailClosed), never the module.
      if (denyStatusOf(bytes) === undefined) assert.notEqual(wasmOf(bytes).sha256, moduleSha);
    }
    const filters = hcmOf(b.bytes(TypeUrls.listener, listenerName) as Uint8Array).httpFilters.map((f) => f.name);
    assert.ok(!filters.some((n) => n.includes(`/filter/${teamA}/`)), `no team A filter on the chain: ${filters}`);
    // team B's own attempt to use team A's filter is refused in its status, with the reason.
    const refused = await eventually('team B policy status', () => acceptedOf(teamB, 'borrow', 'web'), 30_000);
    assert.equal(refused.status, 'False');
    assert.equal(refused.reason, 'Invalid');
    assert.match(refused.message, /ReferenceGrant/);
  });

  it('rejects a config that does not match the schema, in the policy status', async () => {
    await apply(policy(teamA, 'bad-config', 'other', { greeting: 5 }));
    const c = await eventually('bad config status', () => acceptedOf(teamA, 'bad-config', 'web'), 30_000);
    assert.equal(c.status, 'False');
    assert.equal(c.reason, 'Invalid');
    assert.match(c.message, /greeting/);
  });

  it('answers a FailClosed filter whose config is refused with a deny configuration, never a missing resource', async () => {
    // The filter stays on the chain, and Envoy gets an ECDS resource for it: Envoy's fault filter
    // aborting with 503. A name left unanswered would keep Envoy's listener warming forever.
    const name = `${gwA}/filter/${teamA}/bad-config/hello`;
    const status = await a.until('the deny configuration', () => {
      const bytes = a.bytes(TypeUrls.extensionConfig, name);
      return bytes && denyStatusOf(bytes);
    });
    assert.equal(status, 503);
    await a.until('the refused filter on the chain', () =>
      a
        .names(TypeUrls.listener)
        .some((l) => hcmOf(a.bytes(TypeUrls.listener, l) as Uint8Array).httpFilters.some((f) => f.name === name))
        ? true
        : undefined,
    );
    await a.settle();
    const res = spawnSync(await goTool('xds-validate'), [], {
      input: JSON.stringify({ gateways: [{ gateway: gwA, resources: a.binaryResources() }] }),
      encoding: 'utf8',
    });
    assert.deepEqual(JSON.parse(res.stdout), { ok: true, errors: [] }, res.stderr);
    // Fixed: the same name now holds the Wasm filter.
    await apply(policy(teamA, 'bad-config', 'other', { greeting: 'fixed' }));
    const fixed = await a.until('the Wasm filter after the fix', () => {
      const bytes = a.bytes(TypeUrls.extensionConfig, name);
      return bytes && denyStatusOf(bytes) === undefined ? wasmOf(bytes) : undefined;
    });
    assert.equal(fixed.configuration, '{"greeting":"fixed"}');
    assert.equal(fixed.sha256, moduleSha);
  });

  it('reports a checksum mismatch in the WasmFilter status', async () => {
    await apply(configMap(teamA, 'tampered-wasm', proxyWasmModule({ padding: 16 })));
    await apply(wasmFilter(teamA, 'tampered', 'tampered-wasm', moduleSha));
    const { ready } = await eventually('checksum status', () => readyOf(teamA, 'tampered'), 30_000);
    assert.equal(ready.status, 'False');
    assert.match(ready.message, new RegExp(`sha256 mismatch: expected ${moduleSha}`));
  });

  it('reports a module importing env.abort in the WasmFilter status', async () => {
    await apply(configMap(teamA, 'abort-wasm', proxyWasmModule({ imports: ['env.abort'] })));
    await apply(wasmFilter(teamA, 'aborts', 'abort-wasm'));
    const { ready } = await eventually('env.abort status', () => readyOf(teamA, 'aborts'), 30_000);
    assert.equal(ready.status, 'False');
    assert.equal(ready.reason, 'UnsupportedImport');
    assert.match(ready.message, /env\.abort/);
  });

  it('takes a module pushed with `legate filter push` to the Envoys of a policy using it', async () => {
    const pushed = proxyWasmModule({ padding: 24 });
    const file = path.join(caDir, 'pushed.wasm');
    writeFileSync(file, pushed);
    const printed: string[] = [];
    const io = { out: (t: string) => printed.push(t), err: (t: string) => printed.push(t) };
    const args = ['--wasm', file, '--name', 'pushed', '-n', teamA, '--kubeconfig', cluster.kubeconfigPath];
    const code = await push([...args, '--timeout', '30'], { out: (t) => void io.out(t), err: (t) => void io.err(t) });
    const out = printed.join('');
    assert.equal(code, 0, out);
    assert.match(out, new RegExp(`Ready=True .*sha256:${sha256Hex(pushed)}`));
    await apply(policy(teamA, 'pushed', 'other', {}, { name: 'pushed' }));
    const name = `${gwA}/filter/${teamA}/pushed/hello`;
    await a.until('the pushed filter over ECDS', () => a.bytes(TypeUrls.extensionConfig, name));
    assert.equal(wasmOf(a.bytes(TypeUrls.extensionConfig, name) as Uint8Array).sha256, sha256Hex(pushed));
  });

  it('builds and pushes a filter project scaffolded outside the repository (legate filter init + push)', async () => {
    const printed: string[] = [];
    const io = { out: (t: string) => void printed.push(t), err: (t: string) => void printed.push(t) };
    const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'legate-filter-project-')), 'greeter');
    try {
      assert.equal(init(dir, io), 0, printed.join(''));
      const args = [dir, '--name', 'greeter', '-n', teamA, '--kubeconfig', cluster.kubeconfigPath, '--timeout', '60'];
      const code = await push(args, io);
      const out = printed.join('');
      assert.equal(code, 0, out);
      const sha = /Ready=True .*sha256:([0-9a-f]{64})/.exec(out)?.[1];
      assert.ok(sha, out);
      await apply(policy(teamA, 'greeter', 'other', {}, { name: 'greeter' }));
      const name = `${gwA}/filter/${teamA}/greeter/hello`;
      await a.until('the built filter over ECDS', () => a.bytes(TypeUrls.extensionConfig, name));
      assert.equal(wasmOf(a.bytes(TypeUrls.extensionConfig, name) as Uint8Array).sha256, sha);
    } finally {
      rmSync(path.dirname(dir), { recursive: true, force: true });
    }
  });

  it("ships each Envoy pod its share of a Gateway-wide limit: x-legate-fill follows the Deployment's ready replicas", async () => {
    const filter = wasmFilter(teamA, 'hello', 'hello-wasm', moduleSha);
    const schema = filter.spec.configSchema as { properties: Record<string, unknown> };
    schema.properties.replicas = { type: 'integer', minimum: 1, 'x-legate-fill': 'gatewayReadyReplicas' };
    await apply(filter);
    const shipped = () => {
      const bytes = a.bytes(TypeUrls.extensionConfig, filterName);
      return bytes && (JSON.parse(wasmOf(bytes).configuration) as { replicas?: number }).replicas;
    };
    await a.until('replicas 1 while no Envoy pod is ready', () => (shipped() === 1 ? true : undefined));
    // The test cluster runs no pods: the Deployment's status is written here, as its controller would.
    await cluster
      .kubeConfig()
      .makeApiClient(AppsV1Api)
      .patchNamespacedDeploymentStatus(
        { namespace: teamA, name: 'legate-web', body: { status: { replicas: 3, readyReplicas: 3 } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    await a.until('replicas 3 once three pods are ready', () => (shipped() === 3 ? true : undefined));
  });
});
