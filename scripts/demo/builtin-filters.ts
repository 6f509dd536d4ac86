// The built-in WasmFilters exactly as the Helm chart ships them: the shipped modules
// (filters/builtins, built when missing or stale) copied into a copy of the chart as
// `scripts/helm-chart.ts sync-filters` does before `helm package`, then rendered by the real helm
// (`templates/builtin-filters.yaml`: a ConfigMap with the module and a WasmFilter pinned by its
// sha256, in the release namespace).
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { builtinWasm, MODULES, type ModuleName } from '../../filters/builtins/build.ts';
import { chartDir, helmCli, kubeVersion, parseObjects } from '../../test/harness/helm.ts';
import { syncFilters } from '../helm-chart.ts';

export async function chartBuiltinFilters(releaseNamespace: string): Promise<KubernetesObject[]> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'legate-demo-chart-'));
  try {
    const chart = path.join(tmp, 'legate');
    cpSync(chartDir, chart, { recursive: true });
    for (const name of Object.keys(MODULES) as ModuleName[]) if (MODULES[name].shipped) await builtinWasm(name);
    await syncFilters(chart);
    const helm = await helmCli();
    try {
      const rendered = await helm.ok(
        'template',
        'legate',
        chart,
        '--namespace',
        releaseNamespace,
        ...kubeVersion,
        '--show-only',
        'templates/builtin-filters.yaml',
      );
      return parseObjects(rendered);
    } finally {
      helm.cleanup();
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
