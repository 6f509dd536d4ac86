// Helpers for the operator suites: run the real operator process (operator/src/main.ts) against the
// test cluster, read its JSON logs, and wait for conditions on the API server.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CoreV1Api, type KubeConfig, type KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';
import { XdsCertificateAuthority } from '../../operator/src/xds/identity.ts';
import { repoRoot } from '../harness/go-tools.ts';
import type { MemoryLimit } from '../harness/memory-limit.ts';

export interface OperatorProcess {
  child: ChildProcess;
  logs: Record<string, unknown>[];
  healthPort: () => number;
  metricsPort: () => number;
  /** Resolves once the process has exited. */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface OperatorArgs {
  kubeconfigPath: string;
  namespace: string;
  controllerName: string;
  leaseName: string;
  identity: string;
  /** Watch every namespace (no --namespace); `namespace` is then only the operator's own. */
  allNamespaces?: boolean;
  extraArgs?: string[];
  /** Run it inside this memory limit, as its Deployment's container limit would (bench/xds-apiserver.ts). */
  memoryLimit?: MemoryLimit;
}

export function startOperator(a: OperatorArgs): OperatorProcess {
  const node = path.join(repoRoot, 'node_modules', '.bin', 'node');
  const main = path.join(repoRoot, 'operator', 'src', 'main.ts');
  // The wrapper's shell execs node, so the child's pid stays the operator's.
  const launch = a.memoryLimit?.wrap(node, [main]) ?? { command: node, args: [main] };
  const child = spawn(
    launch.command,
    [
      ...launch.args,
      '--kubeconfig',
      a.kubeconfigPath,
      ...(a.allNamespaces ? [] : ['--namespace', a.namespace]),
      '--operator-namespace',
      a.namespace,
      '--controller-name',
      a.controllerName,
      '--lease-name',
      a.leaseName,
      '--identity',
      a.identity,
      '--health-port',
      '0',
      '--metrics-port',
      '0',
      '--log-level',
      'debug',
      ...(a.extraArgs ?? []),
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Any free port for the xDS server (started when a CA is given), so suites never collide.
      env: { ...process.env, KUBECONFIG: a.kubeconfigPath, LEGATE_XDS_PORT: '0' },
    },
  );
  const logs: Record<string, unknown>[] = [];
  let buffer = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line));
      } catch {
        logs.push({ msg: line, unparsed: true });
      }
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    if (process.env.LEGATE_TEST_VERBOSE) process.stderr.write(`[operator ${a.identity}] ${chunk}`);
    logs.push({ stderr: chunk.toString() });
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const started = () => logs.find((l) => l.msg === 'operator starting') as Record<string, number> | undefined;
  return {
    child,
    logs,
    exited,
    healthPort: () => started()?.healthPort ?? 0,
    metricsPort: () => started()?.metricsPort ?? 0,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** Polls `probe` until it returns a value other than undefined, or fails with the last value seen. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 20_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${lastError}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export class Kube {
  readonly objects: KubernetesObjectApi;
  readonly core: CoreV1Api;

  constructor(kc: KubeConfig) {
    this.objects = KubernetesObjectApi.makeApiClient(kc);
    this.core = kc.makeApiClient(CoreV1Api);
  }

  async get<T = KubernetesObject & Record<string, unknown>>(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
  ): Promise<T | undefined> {
    try {
      return (await this.objects.read({ apiVersion, kind, metadata: { name, namespace } })) as T;
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw err;
    }
  }

  apply<T extends KubernetesObject>(obj: T): Promise<T> {
    return this.objects.patch(obj, undefined, undefined, 'legate-test', true, 'application/apply-patch+yaml');
  }

  async createNamespace(name: string): Promise<void> {
    await this.core.createNamespace({ body: { metadata: { name } } });
  }
}

export function uniqueSuffix(): string {
  return `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;
}

export interface XdsCaFolder {
  /** The folder to pass as --xds-ca-dir: tls.crt and tls.key, as the chart mounts its CA Secret. */
  dir: string;
  ca: XdsCertificateAuthority;
  remove(): void;
}

/** A new operator xDS CA written where the operator process can load it. */
export async function xdsCaFolder(): Promise<XdsCaFolder> {
  const ca = await XdsCertificateAuthority.create();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'legate-xds-ca-'));
  writeFileSync(path.join(dir, 'tls.crt'), ca.certPem);
  writeFileSync(path.join(dir, 'tls.key'), ca.export().keyPem, { mode: 0o600 });
  return { dir, ca, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
