// The chart's RBAC compared with what the operator really does. The chart is installed; the operator
// (operator/src/main.ts, with the Deployment's own flags) runs as the chart's ServiceAccount with a
// real token, through a recorder that sees every API call and the API server's answer. A Gateway
// lifecycle (fleet with and without an HPA, a Gateway with bad parameters, deletion, leader
// election) then must produce no forbidden call, and every permission the chart grants must be used
// by some call: a missing rule and an unneeded one both fail. Finally a rule is removed from the
// installed ClusterRole and the operator's call is seen to be refused.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
} from '@kubernetes/client-node';
import type { Gateway } from '../../operator/src/k8s/gateway-api.ts';
import { type ApiRecorder, type RecordedCall, startApiRecorder } from '../harness/api-recorder.ts';
import { type TestCluster, testCluster } from '../harness/cluster.ts';
import { repoRoot } from '../harness/go-tools.ts';
import { chartDir, type Helm, helmCli, objectId, parseObjects } from '../harness/helm.ts';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}
type Manifest = KubernetesObject & { rules?: Rule[]; spec?: Record<string, unknown> };

const gatewayGroup = 'gateway.networking.k8s.io';

let operatorExit: (() => string | undefined) | undefined;

async function waitFor(what: string, check: () => Promise<boolean>, log: () => string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const exited = operatorExit?.();
    if (exited) assert.fail(`the operator exited (${exited}) before ${what}; log tail:\n${log().slice(-4000)}`);
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.fail(`${what} did not happen within ${timeoutMs / 1000}s; operator log tail:\n${log().slice(-4000)}`);
}

/** `group|resource|verb` of a rule, a call, or a server-side apply that created its object (201: create). */
function permissionKeys(call: RecordedCall): string[] {
  if (!call.access || call.status === 403) return [];
  const { group, resource, verb } = call.access;
  const keys = [`${group}|${resource}|${verb}`];
  if (verb === 'patch' && call.status === 201) keys.push(`${group}|${resource}|create`);
  return keys;
}

/**
 * Every permission the chart's roles grant that no successful call needed: a Role's permission
 * counts only for calls in its namespace, a ClusterRole's only for calls no Role already covers.
 */
function unusedPermissions(roles: Manifest[], calls: RecordedCall[]): string[] {
  const byRole = new Map<string, Set<string>>(); // "<namespace>" or "*" → keys
  for (const role of roles) {
    const scope = role.kind === 'Role' ? (role.metadata?.namespace as string) : '*';
    const keys = byRole.get(scope) ?? new Set<string>();
    for (const r of role.rules ?? []) {
      for (const g of r.apiGroups) for (const res of r.resources) for (const v of r.verbs) keys.add(`${g}|${res}|${v}`);
    }
    byRole.set(scope, keys);
  }
  const usedBy = new Map<string, Set<string>>();
  for (const call of calls) {
    for (const key of permissionKeys(call)) {
      const ns = call.access?.namespace;
      const scope = ns && byRole.get(ns)?.has(key) ? ns : '*';
      usedBy.set(scope, (usedBy.get(scope) ?? new Set<string>()).add(key));
    }
  }
  return [...byRole].flatMap(([scope, keys]) =>
    [...keys]
      .filter((k) => !usedBy.get(scope)?.has(k))
      .map((k) => `${scope === '*' ? 'ClusterRole' : `Role in ${scope}`}: ${k}`),
  );
}

/**
 * One suite per RBAC shape of the chart: all namespaces (a ClusterRole) or watchNamespaces (a Role in
 * the watched namespace, GatewayClasses cluster-wide, Events for GatewayClasses in "default").
 */
function rbacSuite(scope: 'all-namespaces' | 'one-namespace') {
  const scoped = scope === 'one-namespace';
  describe(`helm chart RBAC = the API calls the operator makes (${scope})`, () => {
    let cluster: TestCluster;
    let helm: Helm;
    let admin: KubeConfig;
    let recorder: ApiRecorder;
    let saKubeconfig: string;
    let manifest: Manifest[];
    let operatorArgs: string[];
    const id = `${scoped ? 'ns' : 'all'}-${Date.now().toString(36)}`;
    const namespace = `legate-rbac-${id}`;
    const team = `${namespace}-team`;
    const release = scoped ? 'legate-rbac-ns' : 'legate-rbac';
    const className = `rbac-${id}`;
    const controllerName = `legate.dev/rbac-test-${id}`;
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'legate-helm-rbac-'));
    const caDir = path.join(tmp, 'xds-ca');
    let operatorLog = '';

    const custom = () => admin.makeApiClient(CustomObjectsApi);
    const objects = () => KubernetesObjectApi.makeApiClient(admin);
    const exists = (apiVersion: string, kind: string, name: string, ns = team) =>
      objects()
        .read({ apiVersion, kind, metadata: { name, namespace: ns } })
        .then(
          () => true,
          (err: { code?: number }) => (err.code === 404 ? false : Promise.reject(err)),
        );
    const createGateway = (name: string, extra: Record<string, unknown> = {}, gatewayClassName = className) =>
      custom().createNamespacedCustomObject({
        group: gatewayGroup,
        version: 'v1',
        namespace: team,
        plural: 'gateways',
        body: {
          apiVersion: `${gatewayGroup}/v1`,
          kind: 'Gateway',
          metadata: { name },
          spec: { gatewayClassName, listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }], ...extra },
        },
      }) as Promise<Gateway>;
    const deleteGateway = (name: string) =>
      custom().deleteNamespacedCustomObject({
        group: gatewayGroup,
        version: 'v1',
        namespace: team,
        plural: 'gateways',
        name,
      });

    /** Runs operator/src/main.ts as the chart's Deployment would, but against the recorder; resolves a stop(). */
    async function runOperator(): Promise<{ stop(): Promise<void>; child: ChildProcess }> {
      const args = [
        // The pod's flags from the chart, except ports (0: any free port), file paths and how to reach
        // the API server.
        ...operatorArgs.filter((a) => !/^--(health-port|metrics-port|xds-port|xds-ca-dir|module-cache-dir)=/.test(a)),
        '--health-port=0',
        '--metrics-port=0',
        '--xds-port=0',
        // The pod mounts the CA Secret there; here its files are written out from the release's Secret.
        `--xds-ca-dir=${caDir}`,
        `--module-cache-dir=${path.join(tmp, 'module-cache')}`,
        `--kubeconfig=${saKubeconfig}`,
      ];
      const child = spawn(process.execPath, [path.join(repoRoot, 'operator', 'src', 'main.ts'), ...args], {
        env: { PATH: process.env.PATH, POD_NAMESPACE: namespace, POD_NAME: `legate-rbac-${process.pid}` },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      operatorExit = () =>
        child.exitCode !== null || child.signalCode !== null ? String(child.exitCode ?? child.signalCode) : undefined;
      child.stdout?.on('data', (b: Buffer) => {
        operatorLog += b.toString();
      });
      child.stderr?.on('data', (b: Buffer) => {
        operatorLog += b.toString();
      });
      return {
        child,
        stop: () =>
          new Promise<void>((resolve) => {
            operatorExit = undefined;
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      };
    }

    before(async () => {
      cluster = await testCluster();
      admin = cluster.kubeConfig();
      helm = await helmCli(cluster.kubeconfigPath);
      const core = admin.makeApiClient(CoreV1Api);
      await core.createNamespace({ body: { metadata: { name: team } } });
      await helm.ok(
        'install',
        release,
        chartDir,
        '--namespace',
        namespace,
        '--create-namespace',
        '--set',
        `controllerName=${controllerName}`,
        '--set',
        `gatewayClass.name=${className}`,
        '--set',
        'logLevel=debug',
        ...(scoped ? ['--set', `watchNamespaces={${team}}`] : []),
      );
      manifest = parseObjects(await helm.ok('get', 'manifest', release, '--namespace', namespace)) as Manifest[];
      const deployment = manifest.find((o) => o.kind === 'Deployment') as Manifest;
      type PodTemplate = { spec: { serviceAccountName: string; containers: { args: string[] }[] } };
      const pod = (deployment.spec as { template: PodTemplate }).template.spec;
      operatorArgs = pod.containers[0]?.args ?? [];
      assert.ok(operatorArgs.includes('--xds-ca-dir=/etc/legate/xds-ca'));
      const caSecret = await core.readNamespacedSecret({ name: `${release}-xds-ca`, namespace });
      mkdirSync(caDir);
      for (const key of ['tls.crt', 'tls.key']) {
        writeFileSync(path.join(caDir, key), Buffer.from(caSecret.data?.[key] ?? '', 'base64'), { mode: 0o600 });
      }

      // A real token of the chart's ServiceAccount (TokenRequest), not impersonation.
      const token = await core.createNamespacedServiceAccountToken({
        name: pod.serviceAccountName,
        namespace,
        body: { spec: { expirationSeconds: 3600, audiences: [] } },
      });
      const caData = admin.getCurrentCluster()?.caData as string;
      recorder = await startApiRecorder(cluster.server, Buffer.from(caData, 'base64'));
      saKubeconfig = path.join(tmp, 'operator-kubeconfig');
      const saConfig = new KubeConfig();
      saConfig.loadFromOptions({
        // Plain HTTP to the loopback recorder (client-node wants skipTLSVerify for http://); the
        // recorder verifies the real API server's certificate.
        clusters: [{ name: 'recorder', server: recorder.url, skipTLSVerify: true }],
        users: [{ name: 'operator', token: token.status?.token as string }],
        contexts: [{ name: 'operator', cluster: 'recorder', user: 'operator' }],
        currentContext: 'operator',
      });
      writeFileSync(saKubeconfig, saConfig.exportConfig(), { mode: 0o600 });
    });

    after(async () => {
      await recorder?.close();
      await custom()
        .deleteClusterCustomObject({
          group: gatewayGroup,
          version: 'v1',
          plural: 'gatewayclasses',
          name: `${className}-bad`,
        })
        .catch(() => {});
      await helm?.run('uninstall', release, '--namespace', namespace);
      helm?.cleanup();
      rmSync(tmp, { recursive: true, force: true });
      await cluster?.stop();
    });

    it('runs a Gateway lifecycle as the ServiceAccount with no forbidden call and no unused permission', async () => {
      // A ProxyConfig with autoscaling (the fleet gets an HPA) and one Gateway without (the HPA is
      // looked up to be deleted), one Gateway with parameters that do not exist (an Event).
      await custom().createNamespacedCustomObject({
        group: 'legate.dev',
        version: 'v1alpha1',
        namespace: team,
        plural: 'proxyconfigs',
        body: {
          apiVersion: 'legate.dev/v1alpha1',
          kind: 'ProxyConfig',
          metadata: { name: 'scaled' },
          spec: { autoscaling: { minReplicas: 2, maxReplicas: 4, targetCPUUtilizationPercentage: 80 } },
        },
      });
      const paramsRef = (name: string) => ({
        infrastructure: { parametersRef: { group: 'legate.dev', kind: 'ProxyConfig', name } },
      });
      await createGateway('web', paramsRef('scaled'));
      await createGateway('api');
      await createGateway('bad', paramsRef('missing'));
      // A class of ours whose parameters do not exist: its Event goes to "default".
      await custom().createClusterCustomObject({
        group: gatewayGroup,
        version: 'v1',
        plural: 'gatewayclasses',
        body: {
          apiVersion: `${gatewayGroup}/v1`,
          kind: 'GatewayClass',
          metadata: { name: `${className}-bad` },
          spec: {
            controllerName,
            parametersRef: { group: 'legate.dev', kind: 'ProxyConfig', name: 'missing', namespace: team },
          },
        },
      });

      // Filter distribution: a WasmFilter whose ConfigMap does not exist (yet): the operator reads it
      // (get, 404) and writes the WasmFilter's status; a FilterPolicy on Gateway api gets its status.
      const legateObject = (plural: string, body: Record<string, unknown>) =>
        custom().createNamespacedCustomObject({
          group: 'legate.dev',
          version: 'v1alpha1',
          namespace: team,
          plural,
          body,
        });
      await legateObject('wasmfilters', {
        apiVersion: 'legate.dev/v1alpha1',
        kind: 'WasmFilter',
        metadata: { name: 'hello' },
        spec: { source: { type: 'ConfigMap', configMap: { name: 'hello-wasm', key: 'filter.wasm' } } },
      });
      await legateObject('filterpolicies', {
        apiVersion: 'legate.dev/v1alpha1',
        kind: 'FilterPolicy',
        metadata: { name: 'hello' },
        spec: {
          targetRefs: [{ group: gatewayGroup, kind: 'Gateway', name: 'api' }],
          filters: [{ name: 'hello', filterRef: { name: 'hello' } }],
        },
      });
      const legateStatus = async (plural: string) =>
        (
          (await custom().getNamespacedCustomObject({
            group: 'legate.dev',
            version: 'v1alpha1',
            namespace: team,
            plural,
            name: 'hello',
          })) as { status?: Record<string, unknown[] | undefined> }
        ).status;

      const operator = await runOperator();
      try {
        const log = () => operatorLog;
        await waitFor(
          'WasmFilter and FilterPolicy status',
          async () =>
            Boolean((await legateStatus('wasmfilters'))?.conditions?.length) &&
            Boolean((await legateStatus('filterpolicies'))?.ancestors?.length),
          log,
        );
        await waitFor(
          'the fleet of Gateway web (with HPA)',
          () => exists('autoscaling/v2', 'HorizontalPodAutoscaler', 'legate-web'),
          log,
        );
        await waitFor('the fleet of Gateway api', () => exists('apps/v1', 'Deployment', 'legate-api'), log);
        await waitFor(
          'an Event for Gateway bad',
          async () =>
            (await admin.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: team })).items.some(
              (e) => e.involvedObject.name === 'bad' && e.reason === 'InvalidParameters',
            ),
          log,
        );
        await waitFor(
          'an Event in "default" for the GatewayClass with bad parameters',
          async () =>
            (await admin.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: 'default' })).items.some(
              (e) => e.involvedObject.name === `${className}-bad`,
            ),
          log,
        );
        await waitFor(
          'status on Gateway api and on the GatewayClass',
          async () => {
            const gw = (await custom().getNamespacedCustomObject({
              group: gatewayGroup,
              version: 'v1',
              namespace: team,
              plural: 'gateways',
              name: 'api',
            })) as Gateway;
            const gc = (await custom().getClusterCustomObject({
              group: gatewayGroup,
              version: 'v1',
              plural: 'gatewayclasses',
              name: className,
            })) as { status?: { conditions?: { type: string; status: string }[] } };
            return (
              Boolean(gw.status?.conditions?.length) &&
              Boolean(gc.status?.conditions?.some((c) => c.type === 'Accepted' && c.status === 'True'))
            );
          },
          log,
        );
        // --xds-ca-dir with the chart's generated CA: the operator issues each Gateway its certificate.
        await waitFor(
          'the xDS client certificate Secret of Gateway api',
          () => exists('v1', 'Secret', 'legate-api-xds'),
          log,
        );
        await deleteGateway('web');
        await deleteGateway('api');
        await waitFor(
          'the fleets removed',
          async () =>
            !(await exists('apps/v1', 'Deployment', 'legate-web')) &&
            !(await exists('apps/v1', 'Deployment', 'legate-api')),
          log,
        );
      } finally {
        await operator.stop();
      }

      const forbidden = recorder.calls.filter((c) => c.status === 403).map((c) => `${c.method} ${c.path}`);
      assert.deepEqual(forbidden, [], 'calls the chart RBAC refused');
      const roles = manifest.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role');
      const unused = unusedPermissions(roles, recorder.calls).sort();
      assert.deepEqual(unused, [], 'permissions the chart grants but the operator never used (group|resource|verb)');
      const seen = [...new Set(recorder.calls.flatMap(permissionKeys))].sort();
      console.log(`operator API calls: ${recorder.calls.length}, permissions used: ${seen.length}: ${seen.join(', ')}`);
    });

    it('catches a removed permission: without create on Deployments the operator is refused', async () => {
      // The ClusterRole, or with watchNamespaces the Role in the watched namespace.
      const clusterRole = manifest.find(
        (o) =>
          (o.kind === 'ClusterRole' || o.kind === 'Role') && o.rules?.some((r) => r.resources.includes('deployments')),
      ) as Manifest;
      const trimmed = {
        ...clusterRole,
        rules: clusterRole.rules?.map((r) =>
          r.resources.includes('deployments') ? { ...r, verbs: r.verbs.filter((v) => v !== 'create') } : r,
        ),
      };
      await objects().patch(trimmed, undefined, undefined, 'helm', true, PatchStrategy.ServerSideApply);
      recorder.calls.length = 0;
      await createGateway('late');
      const operator = await runOperator();
      try {
        await waitFor(
          'a refused Deployment create',
          async () => recorder.calls.some((c) => c.status === 403 && c.access?.resource === 'deployments'),
          () => operatorLog,
        );
      } finally {
        await operator.stop();
      }
      assert.equal(await exists('apps/v1', 'Deployment', 'legate-late'), false);
      const refused = recorder.calls.find((c) => c.status === 403) as RecordedCall;
      assert.equal(
        refused.access?.verb,
        'patch',
        `${objectId(clusterRole)}: server-side apply of a new object needs create`,
      );
    });
  });
}

rbacSuite('all-namespaces');
rbacSuite('one-namespace');
