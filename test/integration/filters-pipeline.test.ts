// The filter distribution pieces against a real kube-apiserver: modules read from real ConfigMaps,
// checked, and reported in WasmFilter status; FilterPolicies read back from the API server resolved
// per Gateway, with their status written through the subresource; rendered ECDS resources carry
// exactly the pushed module. (The controller wiring that runs this on watch events is not here yet:
// see docs/filters/distribution.md.)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { ModuleCache } from '../../operator/src/filters/module-cache.ts';
import { sha256Hex } from '../../operator/src/filters/module-check.ts';
import { filterKey, ModulePipeline } from '../../operator/src/filters/module-pipeline.ts';
import { resolvePolicies } from '../../operator/src/filters/policy-resolve.ts';
import { FAULT_FILTER_TYPE, renderExtensionConfigs, WASM_FILTER_TYPE } from '../../operator/src/filters/render.ts';
import { writeFilterPolicyStatus, writeWasmFilterStatus } from '../../operator/src/filters/status-writer.ts';
import { proxyWasmModule } from '../../operator/src/filters/testing/wasm-builder.ts';
import type { FilterPolicy, WasmFilter } from '../../operator/src/filters/types.ts';
import { wasmFilterStatus } from '../../operator/src/filters/wasm-filter-status.ts';
import type { Gateway, HTTPRoute } from '../../operator/src/k8s/gateway-api.ts';
import { type TestCluster, testCluster } from '../harness/cluster.ts';

const group = 'legate.dev';
const version = 'v1alpha1';
const gwGroup = 'gateway.networking.k8s.io';
const suffix = Date.now().toString(36);
const teamA = `fp-a-${suffix}`;
const teamB = `fp-b-${suffix}`;
const system = `fp-sys-${suffix}`;
const controllerName = 'legate.dev/gateway-controller';

const good = proxyWasmModule({ functions: ['proxy_on_request_headers'] });
const withAbort = proxyWasmModule({ imports: ['env.proxy_log', 'env.abort'] });

describe('filter distribution against a real kube-apiserver', () => {
  let cluster: TestCluster;
  let kc: KubeConfig;
  let core: CoreV1Api;
  let objects: CustomObjectsApi;
  let pipeline: ModulePipeline;

  const configMap = (ns: string, name: string, bytes: Uint8Array) =>
    core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name }, binaryData: { 'filter.wasm': Buffer.from(bytes).toString('base64') } },
    });
  const createWasmFilter = async (ns: string, name: string, spec: WasmFilter['spec']) =>
    (await objects.createNamespacedCustomObject({
      group,
      version,
      namespace: ns,
      plural: 'wasmfilters',
      body: { apiVersion: `${group}/${version}`, kind: 'WasmFilter', metadata: { name }, spec },
    })) as WasmFilter;
  const readWasmFilter = async (ns: string, name: string) =>
    (await objects.getNamespacedCustomObject({
      group,
      version,
      namespace: ns,
      plural: 'wasmfilters',
      name,
    })) as WasmFilter;
  /** What the controller will do on a WasmFilter event: fetch, then write status. */
  const reconcileWasmFilter = async (filter: WasmFilter) => {
    pipeline.upsert(filter);
    await pipeline.idle();
    await writeWasmFilterStatus(objects, filter, wasmFilterStatus(filter, pipeline.state(filterKey(filter))));
    return readWasmFilter(filter.metadata.namespace ?? '', filter.metadata.name);
  };
  const list = async <T>(plural: string, g = group, v = version) =>
    ((await objects.listClusterCustomObject({ group: g, version: v, plural })) as { items: T[] }).items;

  before(async () => {
    cluster = await testCluster();
    kc = cluster.kubeConfig();
    core = kc.makeApiClient(CoreV1Api);
    objects = kc.makeApiClient(CustomObjectsApi);
    for (const name of [teamA, teamB, system]) await core.createNamespace({ body: { metadata: { name } } });
    pipeline = new ModulePipeline({
      cache: new ModuleCache({ maxMemoryBytes: 1 << 22, maxDiskBytes: 0, maxModuleBytes: 1 << 20 }),
      source: {
        maxBytes: 1 << 20,
        readConfigMap: async (namespace, name) => {
          try {
            return await core.readNamespacedConfigMap({ namespace, name });
          } catch (e) {
            if ((e as { code?: number }).code === 404) return undefined;
            throw e;
          }
        },
      },
      backoff: { initialMs: 60_000, maxMs: 60_000 },
      onChange: () => {},
    });
  });
  after(async () => {
    pipeline?.close();
    await cluster?.stop();
  });

  it('reports a good module as Ready with its sha256, size and ABI in WasmFilter status', async () => {
    await configMap(teamA, 'rewrite-wasm', good);
    const filter = await createWasmFilter(teamA, 'rewrite', {
      source: { type: 'ConfigMap', configMap: { name: 'rewrite-wasm', key: 'filter.wasm' } },
      configSchema: { type: 'object', required: ['header'], properties: { header: { type: 'string' } } },
    });
    const read = await reconcileWasmFilter(filter);
    assert.equal(read.status?.sha256, sha256Hex(good));
    assert.equal(read.status?.size, good.length);
    assert.equal(read.status?.abiVersion, '0.2.1');
    const ready = read.status?.conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.status, 'True');
    assert.equal(ready?.observedGeneration, 1);
    assert.match(ready?.lastTransitionTime ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('names env.abort in the status of a module that imports it', async () => {
    await configMap(teamA, 'abort-wasm', withAbort);
    const filter = await createWasmFilter(teamA, 'aborts', {
      source: { type: 'ConfigMap', configMap: { name: 'abort-wasm', key: 'filter.wasm' } },
    });
    const read = await reconcileWasmFilter(filter);
    const ready = read.status?.conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.status, 'False');
    assert.equal(ready?.reason, 'UnsupportedImport');
    assert.match(
      ready?.message ?? '',
      /^imports a function Envoy does not provide: env\.abort \(function\): AssemblyScript: build with --use abort=/,
    );
    assert.match(
      ready?.message ?? '',
      /no good version yet: FailClosed, so requests that would run this filter are rejected$/,
    );
    assert.equal(read.status?.sha256, undefined);
  });

  it('reports a checksum mismatch with both digests', async () => {
    await configMap(teamA, 'pinned-wasm', good);
    const wrong = '0'.repeat(64);
    const filter = await createWasmFilter(teamA, 'pinned', {
      source: { type: 'ConfigMap', configMap: { name: 'pinned-wasm', key: 'filter.wasm', sha256: wrong } },
    });
    const ready = (await reconcileWasmFilter(filter)).status?.conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.reason, 'ChecksumMismatch');
    assert.match(
      ready?.message ?? '',
      new RegExp(
        `^sha256 mismatch: expected ${wrong} \\(spec\\.source\\.configMap\\.sha256\\), got ${sha256Hex(good)}`,
      ),
    );
  });

  it('says which ConfigMap is missing', async () => {
    const filter = await createWasmFilter(teamA, 'nocm', {
      source: { type: 'ConfigMap', configMap: { name: 'absent', key: 'filter.wasm' } },
    });
    const ready = (await reconcileWasmFilter(filter)).status?.conditions?.find((c) => c.type === 'Ready');
    assert.equal(
      ready?.message,
      `source unreachable: ConfigMap ${teamA}/absent not found (attempt 1, retrying with backoff); no good version yet: FailClosed, so requests that would run this filter are rejected`,
    );
  });

  it('resolves policies read from the API server: right module on the right Gateway, bad config Invalid, other teams untouched', async () => {
    const gateway = (ns: string, name: string) =>
      objects.createNamespacedCustomObject({
        group: gwGroup,
        version: 'v1',
        namespace: ns,
        plural: 'gateways',
        body: {
          apiVersion: `${gwGroup}/v1`,
          kind: 'Gateway',
          metadata: { name },
          spec: { gatewayClassName: 'legate', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] },
        },
      });
    await gateway(teamA, 'web');
    await gateway(teamB, 'shop');
    await objects.createNamespacedCustomObject({
      group: gwGroup,
      version: 'v1',
      namespace: teamA,
      plural: 'httproutes',
      body: {
        apiVersion: `${gwGroup}/v1`,
        kind: 'HTTPRoute',
        metadata: { name: 'checkout' },
        spec: {
          parentRefs: [{ name: 'web' }],
          rules: [{ name: 'api', matches: [{ path: { type: 'PathPrefix', value: '/api' } }] }],
        },
      },
    });
    const policy = (ns: string, name: string, spec: FilterPolicy['spec']) =>
      objects.createNamespacedCustomObject({
        group,
        version,
        namespace: ns,
        plural: 'filterpolicies',
        body: { apiVersion: `${group}/${version}`, kind: 'FilterPolicy', metadata: { name }, spec },
      });
    await policy(teamA, 'checkout', {
      targetRefs: [{ group: gwGroup, kind: 'HTTPRoute', name: 'checkout', sectionName: 'api' }],
      filters: [{ name: 'rw', filterRef: { name: 'rewrite' }, config: { header: 'x-team' } }],
    });
    await policy(teamA, 'bad-config', {
      targetRefs: [{ group: gwGroup, kind: 'Gateway', name: 'web' }],
      filters: [{ name: 'rw', filterRef: { name: 'rewrite' }, config: { header: 42 } }],
    });
    // team-b tries to use team-a's filter on its own Gateway without a ReferenceGrant.
    await policy(teamB, 'borrow', {
      targetRefs: [{ group: gwGroup, kind: 'Gateway', name: 'shop' }],
      filters: [{ name: 'rw', filterRef: { name: 'rewrite', namespace: teamA }, config: { header: 'x' } }],
    });

    const ours = (items: { metadata: { namespace?: string } }[]) =>
      items.filter((i) => [teamA, teamB, system].includes(i.metadata.namespace ?? ''));
    const policies = ours(await list<FilterPolicy>('filterpolicies')) as FilterPolicy[];
    const resolution = resolvePolicies({
      operatorNamespace: system,
      controllerName,
      gateways: ours(await list<Gateway>('gateways', gwGroup, 'v1')) as Gateway[],
      httpRoutes: ours(await list<HTTPRoute>('httproutes', gwGroup, 'v1')) as HTTPRoute[],
      grpcRoutes: [],
      referenceGrants: [],
      wasmFilters: ours(await list<WasmFilter>('wasmfilters')) as WasmFilter[],
      policies,
      module: (key) => pipeline.serving(key),
    });
    for (const p of policies) {
      await writeFilterPolicyStatus(
        objects,
        p,
        controllerName,
        resolution.status.get(`${p.metadata.namespace}/${p.metadata.name}`) ?? [],
      );
    }

    const web = resolution.byGateway.get(`${teamA}/web`) ?? [];
    const ecds = renderExtensionConfigs(web);
    assert.deepEqual(
      ecds.map((e) => [e.name, (e.json.typedConfig as { '@type': string })['@type']]),
      [
        [`${teamA}/web/filter/${teamA}/bad-config/rw`, FAULT_FILTER_TYPE],
        [`${teamA}/web/filter/${teamA}/checkout/rw`, WASM_FILTER_TYPE],
      ],
      'the bad-config policy (FailClosed) delivers the deny configuration, never its module',
    );
    const first = ecds[1];
    assert.ok(first);
    const inline = (first.json.typedConfig as { config: { vmConfig: { code: { local: { inlineBytes: string } } } } })
      .config.vmConfig.code.local.inlineBytes;
    assert.equal(
      sha256Hex(Buffer.from(inline, 'base64')),
      sha256Hex(good),
      'the ECDS resource carries the module the WasmFilter reports',
    );
    assert.deepEqual(
      renderExtensionConfigs(resolution.byGateway.get(`${teamB}/shop`) ?? []).map(
        (e) => (e.json.typedConfig as { '@type': string })['@type'],
      ),
      [FAULT_FILTER_TYPE],
      "team-a's module never reaches team-b's Gateway: the borrowing policy (FailClosed) denies instead",
    );

    const status = async (ns: string, name: string) =>
      (
        (await objects.getNamespacedCustomObject({
          group,
          version,
          namespace: ns,
          plural: 'filterpolicies',
          name,
        })) as FilterPolicy
      ).status?.ancestors?.[0];
    const accepted = await status(teamA, 'checkout');
    assert.equal(accepted?.conditions[0]?.status, 'True');
    assert.deepEqual(accepted?.ancestorRef, { group: gwGroup, kind: 'Gateway', namespace: teamA, name: 'web' });
    const invalid = (await status(teamA, 'bad-config'))?.conditions[0];
    assert.equal(invalid?.reason, 'Invalid');
    assert.match(invalid?.message ?? '', /^filters\[rw\]: config\.header must be string/);
    const borrowed = (await status(teamB, 'borrow'))?.conditions[0];
    assert.match(
      borrowed?.message ?? '',
      new RegExp(`WasmFilter ${teamA}/rewrite is in another namespace and no ReferenceGrant`),
    );
  });
});
