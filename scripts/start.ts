// `npm start`, the main job. With a cluster configured (a reachable $KUBECONFIG, ~/.kube/config or the
// in-cluster service account) it runs the operator against it; flags after `--` go to the operator
// (`npm start -- --namespace team-a`). With none, it runs the local demo (scripts/demo/local-demo.ts):
// the local control plane, examples/, the operator, a real Envoy per example Gateway and example
// backends, then each Gateway's status (Programmed=True) and curl commands that work against those
// Envoys. `--keep-running` keeps the demo up until Ctrl-C; LEGATE_START_LOCAL=1 runs the local demo
// even when a cluster is configured.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig, VersionApi } from '@kubernetes/client-node';

const repoRoot = path.resolve(import.meta.dirname, '..');
const mainTs = path.join(repoRoot, 'operator', 'src', 'main.ts');
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

function runOperator(extra: string[]) {
  return spawn(process.execPath, [mainTs, ...extra], {
    stdio: 'inherit',
    env: process.env,
  });
}

const kc = await configuredCluster();
if (kc) {
  process.stdout.write(
    `Running the operator against ${kc.getCurrentCluster()?.server} (context ${kc.getCurrentContext()}).\n`,
  );
  const child = runOperator(operatorArgs);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  child.on('close', (code) => process.exit(code ?? 1));
} else {
  // Imported only here: the demo loads the test harness and the AssemblyScript compiler.
  const { localDemo } = await import('./demo/local-demo.ts');
  await localDemo({ keepRunning, operatorArgs });
}
