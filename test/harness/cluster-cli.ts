// `npm run cluster`: starts the local test control plane for a person, prints how to reach it, and
// stops it (removing everything) on Ctrl-C.
import { startCluster } from './cluster.ts';
import { gatewayApiVersion } from './gateway-api.ts';

const started = Date.now();
const cluster = await startCluster();
process.stdout.write(
  [
    `Kubernetes API server ready in ${((Date.now() - started) / 1000).toFixed(1)}s at ${cluster.server}`,
    `Gateway API ${gatewayApiVersion()} CRDs and Legate's crds/ are installed.`,
    '',
    `  export KUBECONFIG=${cluster.kubeconfigPath}`,
    '',
    'Press Ctrl-C to stop it.',
    '',
  ].join('\n'),
);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nStopping the cluster...\n');
    await cluster.stop();
    process.exit(0);
  });
}
// Keep the process (and so the cluster) alive until a signal arrives.
setInterval(() => {}, 1 << 30);
