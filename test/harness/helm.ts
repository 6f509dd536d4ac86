// Runs the real helm binary (built from helm.sh/helm/v3 by test/harness/go-tools.ts) against a test
// cluster, with its own config, cache and data directories so tests never read or write ~/.config/helm.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { goTool, repoRoot } from './go-tools.ts';

/**
 * For commands without a cluster (lint, template): helm built from its Go module lacks the release
 * build's linker flags and would assume Kubernetes v1.20, older than the chart's kubeVersion.
 */
export const kubeVersion = ['--kube-version', '1.34.0'] as const;

/** The chart in this repository. */
export const chartDir = path.join(repoRoot, 'helm');

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Helm {
  /** Runs `helm <args>`; never throws on a non-zero exit (tests assert on failures too). */
  run(...args: string[]): Promise<HelmResult>;
  /** Runs `helm <args>` and throws with helm's stderr unless it exits 0; returns stdout. */
  ok(...args: string[]): Promise<string>;
  /** Removes the private helm home. */
  cleanup(): void;
}

/** A helm CLI bound to `kubeconfigPath` (optional for lint/template/package). */
export async function helmCli(kubeconfigPath?: string): Promise<Helm> {
  const binary = await goTool('helm');
  const home = mkdtempSync(path.join(os.tmpdir(), 'legate-helm-'));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    HELM_CONFIG_HOME: path.join(home, 'config'),
    HELM_CACHE_HOME: path.join(home, 'cache'),
    HELM_DATA_HOME: path.join(home, 'data'),
    // An unreachable default, so a test that forgets --kubeconfig can never touch a real cluster.
    KUBECONFIG: kubeconfigPath ?? path.join(home, 'no-kubeconfig'),
  };
  const run = (...args: string[]) =>
    new Promise<HelmResult>((resolve) => {
      execFile(binary, args, { env, maxBuffer: 64 * 1024 * 1024, timeout: 180_000 }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  return {
    run,
    async ok(...args) {
      const result = await run(...args);
      if (result.code !== 0) throw new Error(`helm ${args.join(' ')} failed (exit ${result.code}):\n${result.stderr}`);
      return result.stdout;
    },
    cleanup: () => rmSync(home, { recursive: true, force: true }),
  };
}

/** The objects of a multi-document YAML stream (such as `helm template` output), empty documents dropped. */
export function parseObjects(yamlText: string): KubernetesObject[] {
  return parseAllDocuments(yamlText)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`invalid YAML from helm: ${doc.errors[0]?.message}`);
      return doc.toJS() as KubernetesObject | null;
    })
    .filter((o): o is KubernetesObject => Boolean(o?.kind));
}

/** `kind/name` (with `namespace/` in front when namespaced), for readable assertions. */
export function objectId(o: KubernetesObject): string {
  const ns = o.metadata?.namespace ? `${o.metadata.namespace}/` : '';
  return `${o.kind}/${ns}${o.metadata?.name}`;
}
