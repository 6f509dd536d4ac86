// `npm start`, the main job. With a cluster configured (a reachable $KUBECONFIG, ~/.kube/config or the
// in-cluster service account) it runs the operator against it; flags after `--` go to the operator
// (`npm start -- --namespace team-a`). With none, it starts the local test control plane, installs the
// CRDs, applies examples/, runs the operator, and prints what was created and each Gateway's status.
// `--keep-running` keeps the local demo up (operator and cluster) until Ctrl-C; LEGATE_START_LOCAL=1
// runs the local demo even when a cluster is configured.

import { spawn } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig, KubernetesObjectApi, VersionApi } from '@kubernetes/client-node';
import { startCluster } from '../test/harness/cluster.ts';
import { applyManifests, readManifests } from '../test/harness/crds.ts';

const repoRoot = path.resolve(import.meta.dirname, '..');
const mainTs = path.join(repoRoot, 'operator', 'src', 'main.ts');
const examplesDir = path.join(repoRoot, 'examples');
const args = process.argv.slice(2);
const keepRunning = args.includes('--keep-running');
const operatorArgs = args.filter((a) => a !== '--keep-running');

/** The configured cluster, if there is one and it answers. */
async function configuredCluster(): Promise<KubeConfig | undefined> {
  if (process.env.LEGATE_START_LOCAL === '1') return undefined;
  const candidates = [process.env.KUBECONFIG, path.join(os.homedir(), '.kube', 'config')];
  const hasFile = candidates.some((f) => f?.split(path.delimiter).some((p) => existsSync(p)));
  if (!hasFile && !process.env.KUBERNETES_SERVICE_HOST) return undefined;
  const kc = new KubeConfig();
  kc.loadFromDefault();
  try {
    await Promise.race([
      kc.makeApiClient(VersionApi).getCode(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 5 s')), 5000)),
    ]);
    return kc;
  } catch (err) {
    process.stderr.write(
      `The configured cluster (${kc.getCurrentCluster()?.server}) does not answer: ${(err as Error).message}\n` +
        'Starting the local control plane instead.\n\n',
    );
    return undefined;
  }
}

function runOperator(extra: string[], stdio: 'inherit' | number) {
  return spawn(process.execPath, [mainTs, ...extra], {
    stdio: ['ignore', stdio, stdio],
    env: process.env,
  });
}

async function localDemo(): Promise<void> {
  const started = Date.now();
  process.stdout.write('No cluster configured: starting the local control plane (kube-apiserver + etcd)...\n');
  const cluster = await startCluster();
  process.stdout.write(
    `API server ready at ${cluster.server} (${((Date.now() - started) / 1000).toFixed(1)}s); CRDs installed.\n`,
  );
  const kc = cluster.kubeConfig();
  const manifests = readManifests(examplesDir);
  await applyManifests(kc, manifests, 'legate-examples');
  process.stdout.write(`\nApplied examples/:\n`);
  for (const m of manifests) {
    process.stdout.write(
      `  ${(m.kind ?? '').padEnd(14)} ${m.metadata?.namespace ? `${m.metadata.namespace}/` : ''}${m.metadata?.name}\n`,
    );
  }

  const logFile = path.join(path.dirname(cluster.kubeconfigPath), 'operator.log');
  const operator = runOperator(
    [
      '--kubeconfig',
      cluster.kubeconfigPath,
      '--operator-namespace',
      'legate-system',
      '--health-port',
      '0',
      '--metrics-port',
      '0',
      ...operatorArgs,
    ],
    openSync(logFile, 'a'),
  );
  const stop = async (code: number) => {
    operator.kill('SIGTERM');
    await new Promise((r) => operator.once('close', r));
    await cluster.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  process.stdout.write(`\nOperator started (JSON logs in ${logFile}).\n`);

  const objects = KubernetesObjectApi.makeApiClient(kc);
  const gateways = manifests.filter((m) => m.kind === 'Gateway');
  const fleetKinds = [
    ['v1', 'ServiceAccount'],
    ['v1', 'ConfigMap'],
    ['apps/v1', 'Deployment'],
    ['v1', 'Service'],
    ['autoscaling/v2', 'HorizontalPodAutoscaler'],
    ['policy/v1', 'PodDisruptionBudget'],
  ] as const;
  const deadline = Date.now() + 60_000;
  for (const gw of gateways) {
    const ns = gw.metadata?.namespace as string;
    const name = gw.metadata?.name as string;
    // biome-ignore lint/suspicious/noExplicitAny: reading status fields for display
    let live: any;
    for (;;) {
      live = await objects.read({ apiVersion: gw.apiVersion, kind: 'Gateway', metadata: { name, namespace: ns } });
      const accepted = live.status?.conditions?.find((c: { type: string }) => c.type === 'Accepted');
      if ((accepted && accepted.status !== 'Unknown' && accepted.reason !== 'Pending') || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    process.stdout.write(`\nGateway ${ns}/${name}\n  created:\n`);
    const selector = `gateway.networking.k8s.io/gateway-name=${name}`;
    const found = await Promise.all(
      fleetKinds.map(async ([apiVersion, kind]) => ({
        kind,
        items: (await objects.list(apiVersion, kind, ns, undefined, undefined, undefined, undefined, selector)).items,
      })),
    );
    const autoscaled = found.some((f) => f.kind === 'HorizontalPodAutoscaler' && f.items.length > 0);
    for (const { kind, items } of found) {
      for (const o of items) {
        process.stdout.write(`    ${kind.padEnd(24)} ${ns}/${o.metadata?.name}${describe(kind, o, autoscaled)}\n`);
      }
    }
    process.stdout.write('  status:\n');
    for (const c of live.status?.conditions ?? []) {
      process.stdout.write(`    ${c.type}=${c.status} (${c.reason}): ${c.message}\n`);
    }
    for (const a of live.status?.addresses ?? []) process.stdout.write(`    address ${a.type} ${a.value}\n`);
    for (const l of live.status?.listeners ?? []) {
      const bad = l.conditions.filter(
        (c: { type: string; status: string }) => (c.type === 'Conflicted') === (c.status === 'True'),
      );
      process.stdout.write(
        `    listener ${l.name}: kinds ${l.supportedKinds.map((k: { kind: string }) => k.kind).join(', ')}; ${bad.length ? bad.map((c: { type: string; reason: string }) => `${c.type}:${c.reason}`).join(' ') : 'ok'}\n`,
      );
    }
  }
  process.stdout.write(
    '\nProgrammed stays False here: the local control plane runs no kubelet or controllers, so no Envoy pod starts.\n',
  );
  if (keepRunning) {
    process.stdout.write(
      `\nRunning. export KUBECONFIG=${cluster.kubeconfigPath} to look around; Ctrl-C stops everything.\n`,
    );
    return;
  }
  process.stdout.write(
    '\nDone (run `npm start -- --keep-running` to keep the demo up). Stopping the local control plane.\n',
  );
  await stop(0);
}

function describe(kind: string, o: unknown, autoscaled: boolean): string {
  // biome-ignore lint/suspicious/noExplicitAny: reading spec fields for display
  const s = (o as any).spec;
  switch (kind) {
    case 'Deployment':
      return `  image ${s.template.spec.containers[0].image}${autoscaled ? ', replicas set by the HPA' : `, replicas ${s.replicas}`}`;
    case 'Service':
      return `  ${s.type}, ports ${s.ports.map((p: { port: number; targetPort: number }) => `${p.port}->${p.targetPort}`).join(' ')}`;
    case 'HorizontalPodAutoscaler':
      return `  ${s.minReplicas}..${s.maxReplicas} replicas, ${s.metrics.map((m: { resource: { name: string; target: { averageUtilization: number } } }) => `${m.resource.name} ${m.resource.target.averageUtilization}%`).join(', ')}`;
    case 'PodDisruptionBudget':
      return s.minAvailable !== undefined ? `  minAvailable ${s.minAvailable}` : `  maxUnavailable ${s.maxUnavailable}`;
    default:
      return '';
  }
}

const kc = await configuredCluster();
if (kc) {
  process.stdout.write(
    `Running the operator against ${kc.getCurrentCluster()?.server} (context ${kc.getCurrentContext()}).\n`,
  );
  const child = runOperator(operatorArgs, 'inherit');
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  child.on('close', (code) => process.exit(code ?? 1));
} else {
  await localDemo();
}
