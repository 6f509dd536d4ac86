// The Gateway API CRDs, taken from the Go module sigs.k8s.io/gateway-api at the version pinned (with its
// checksum) in test/tools/gateway-api/go.mod: the same YAML the project publishes for each release.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { goEnv, requiredVersion, toolsDir } from './go-tools.ts';

const moduleDir = path.join(toolsDir, 'gateway-api');

/** The pinned Gateway API version, for example `v1.6.3`. */
export function gatewayApiVersion(): string {
  return requiredVersion('gateway-api', 'sigs.k8s.io/gateway-api');
}

let cached: string[] | undefined;

/** Paths of the standard-channel CRD files (downloaded into the Go module cache on first use). */
export async function gatewayApiCrdFiles(): Promise<string[]> {
  if (cached) return cached;
  const out = execFileSync('go', ['mod', 'download', '-json', 'sigs.k8s.io/gateway-api'], {
    cwd: moduleDir,
    env: goEnv(),
    encoding: 'utf8',
  });
  const info = JSON.parse(out) as { Dir?: string; Error?: string };
  if (!info.Dir) throw new Error(`downloading the Gateway API module failed: ${info.Error ?? out}`);
  const standard = path.join(info.Dir, 'config', 'crd', 'standard');
  cached = readdirSync(standard)
    .filter((f) => f.startsWith('gateway.networking.k8s.io_') && f.endsWith('.yaml'))
    .sort()
    .map((f) => path.join(standard, f));
  return cached;
}
