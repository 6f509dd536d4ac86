// A real Kubernetes control plane for tests: etcd and kube-apiserver built from their Go modules
// (test/harness/go-tools.ts), started on free loopback ports with generated credentials, with the
// Gateway API CRDs and everything in crds/ installed. No controllers run: nothing schedules pods and
// there is no garbage collector, so tests see exactly what the operator itself does.
import type { ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { installCrds, legateCrdFiles } from './crds.ts';
import { gatewayApiCrdFiles } from './gateway-api.ts';
import { goTool } from './go-tools.ts';
import { freePort, spawnGuarded, stopProcess } from './processes.ts';

export interface TestCluster {
  /** A kubeconfig file with cluster-admin rights (static bearer token, system:masters). */
  readonly kubeconfigPath: string;
  /** The API server URL, https://127.0.0.1:<port>. */
  readonly server: string;
  /** A fresh client-node KubeConfig for this cluster. */
  kubeConfig(): KubeConfig;
  /** Stops the processes and removes the temporary files; a no-op for a cluster this process did not start. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Install the Gateway API CRDs and crds/ (default true). */
  crds?: boolean;
  /** Print the API server's and etcd's output (default: only when LEGATE_TEST_VERBOSE is set). */
  verbose?: boolean;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, logFile: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  const tail = readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n');
  throw new Error(`${what} was not ready after ${timeoutMs / 1000}s; last log lines:\n${tail}`);
}

function kubeconfigYaml(server: string, caPem: string, token: string): string {
  const ca = Buffer.from(caPem).toString('base64');
  return `apiVersion: v1
kind: Config
clusters:
- name: legate-test
  cluster:
    server: ${server}
    certificate-authority-data: ${ca}
users:
- name: admin
  user:
    token: ${token}
contexts:
- name: legate-test
  context: {cluster: legate-test, user: admin}
current-context: legate-test
`;
}

function handle(kubeconfigPath: string, server: string, stop: () => Promise<void>): TestCluster {
  return {
    kubeconfigPath,
    server,
    kubeConfig() {
      const kc = new KubeConfig();
      kc.loadFromFile(kubeconfigPath);
      return kc;
    },
    stop,
  };
}

/** Starts etcd and kube-apiserver, waits for /readyz, writes a kubeconfig and installs the CRDs. */
export async function startCluster(options: StartOptions = {}): Promise<TestCluster> {
  const verbose = options.verbose ?? Boolean(process.env.LEGATE_TEST_VERBOSE);
  const [etcdBin, apiserverBin] = await Promise.all([goTool('etcd'), goTool('kube-apiserver')]);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'legate-cluster-'));
  const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const started = Date.now();
  const processes: ChildProcess[] = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // The API server first, so it does not log a storm of etcd errors on its way down.
    for (const child of processes.reverse()) await stopProcess(child);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const etcdLog = path.join(dir, 'etcd.log');
    processes.push(
      spawnGuarded(
        'etcd',
        etcdBin,
        [
          '--name=legate-test',
          `--data-dir=${path.join(dir, 'etcd')}`,
          `--listen-client-urls=${etcdUrl}`,
          `--advertise-client-urls=${etcdUrl}`,
          `--listen-peer-urls=${peerUrl}`,
          `--initial-advertise-peer-urls=${peerUrl}`,
          `--initial-cluster=legate-test=${peerUrl}`,
          // A throw-away test store: durability buys nothing and costs seconds on a busy disk.
          '--unsafe-no-fsync',
          '--log-level=warn',
        ],
        { logFile: etcdLog, verbose, leftovers: dir },
      ),
    );
    await waitFor('etcd', async () => (await fetch(`${etcdUrl}/health`)).ok, 30_000, etcdLog);

    const token = randomBytes(24).toString('hex');
    const tokenFile = path.join(dir, 'tokens.csv');
    writeFileSync(tokenFile, `${token},legate-admin,legate-admin,"system:masters"\n`, { mode: 0o600 });
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const saPub = path.join(dir, 'sa.pub');
    const saKey = path.join(dir, 'sa.key');
    writeFileSync(saPub, publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(saKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const certDir = path.join(dir, 'certs');
    const apiLog = path.join(dir, 'kube-apiserver.log');
    processes.push(
      spawnGuarded(
        'kube-apiserver',
        apiserverBin,
        [
          `--etcd-servers=${etcdUrl}`,
          '--bind-address=127.0.0.1',
          '--advertise-address=127.0.0.1',
          // The API server may not publish a loopback address in the `kubernetes` Endpoints, and would
          // log that refusal every 10 s for the life of the cluster.
          '--endpoint-reconciler-type=none',
          `--secure-port=${apiPort}`,
          `--cert-dir=${certDir}`,
          `--token-auth-file=${tokenFile}`,
          '--authorization-mode=RBAC',
          `--service-account-key-file=${saPub}`,
          `--service-account-signing-key-file=${saKey}`,
          '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
          '--api-audiences=https://kubernetes.default.svc.cluster.local',
          '--service-cluster-ip-range=10.96.0.0/16',
          '--allow-privileged=true',
          '--enable-priority-and-fairness=false',
          '--profiling=false',
          '--v=0',
        ],
        { logFile: apiLog, verbose },
      ),
    );
    const server = `https://127.0.0.1:${apiPort}`;
    const caFile = path.join(certDir, 'apiserver.crt');
    // The serving certificate is self-signed and generated at start-up: once it exists, trust only it.
    await waitFor(
      'kube-apiserver',
      async () => existsSync(caFile) && (await readyz(server, token, caFile)),
      90_000,
      apiLog,
    );
    const kubeconfigPath = path.join(dir, 'kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfigYaml(server, readFileSync(caFile, 'utf8'), token), { mode: 0o600 });
    const cluster = handle(kubeconfigPath, server, stop);
    if (options.crds ?? true)
      await installCrds(cluster.kubeConfig(), [...(await gatewayApiCrdFiles()), ...legateCrdFiles()]);
    if (verbose) process.stderr.write(`[cluster] ready in ${Date.now() - started} ms at ${server}\n`);
    return cluster;
  } catch (err) {
    await stop();
    throw err;
  }
}

function readyz(server: string, token: string, caFile: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get(
      `${server}/readyz`,
      { ca: readFileSync(caFile), headers: { authorization: `Bearer ${token}` }, timeout: 2000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

/**
 * The cluster for a test file: the run's shared one when test/run.ts started it (LEGATE_TEST_KUBECONFIG;
 * its stop() does nothing), otherwise a private one that stop() tears down. Call `after(() => c.stop())`.
 */
export async function testCluster(): Promise<TestCluster> {
  const shared = process.env.LEGATE_TEST_KUBECONFIG;
  if (shared) {
    const kc = new KubeConfig();
    kc.loadFromFile(shared);
    return handle(shared, kc.getCurrentCluster()?.server ?? '', async () => {});
  }
  return startCluster();
}
