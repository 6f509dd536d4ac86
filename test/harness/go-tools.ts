// Builds the Go test tools under test/tools/<name> (each its own Go module) with the machine's Go,
// and caches each binary outside the repository, keyed by a hash of the module's files and the Go
// version, so a warm run never rebuilds and an edited tool always does.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const repoRoot = path.resolve(import.meta.dirname, '..', '..');
export const toolsDir = path.join(repoRoot, 'test', 'tools');

/** Where built binaries and downloaded test assets live: $LEGATE_CACHE or ~/.cache/legate. */
export function cacheDir(...sub: string[]): string {
  const dir = path.join(process.env.LEGATE_CACHE ?? path.join(os.homedir(), '.cache', 'legate'), ...sub);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The environment every Go command runs with: the machine's toolchain, never a downloaded one. */
export function goEnv(): NodeJS.ProcessEnv {
  return { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0', GOFLAGS: '-mod=readonly' };
}

function goVersion(): string {
  const out = spawnSync('go', ['env', 'GOVERSION'], { env: goEnv(), encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`Go is needed to build the test tools, and 'go env' failed: ${out.stderr}`);
  return out.stdout.trim();
}

function moduleFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...moduleFiles(full));
    else if (/\.(go|mod|sum)$/.test(entry.name)) files.push(full);
  }
  return files.sort();
}

function toolHash(moduleDir: string, pkg: string): string {
  const hash = createHash('sha256').update(goVersion()).update(pkg);
  for (const file of moduleFiles(moduleDir)) {
    hash.update(path.relative(moduleDir, file)).update(readFileSync(file));
  }
  return hash.digest('hex').slice(0, 16);
}

function run(cmd: string, args: string[], cwd: string, label: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(cmd, args, { cwd, env: goEnv(), stdio: ['ignore', 'inherit', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    // A cold build of kube-apiserver takes many minutes: say that it is alive.
    const ticker = setInterval(() => {
      process.stderr.write(`[go-tools] still building ${label} (${Math.round((Date.now() - started) / 1000)}s)\n`);
    }, 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(ticker);
      if (code === 0) resolve();
      else reject(new Error(`building ${label} failed (exit ${code}):\n${stderr}`));
    });
  });
}

const inFlight = new Map<string, Promise<string>>();

/**
 * The path of the built binary for the tool in test/tools/<name>, building it first if the cache has
 * no binary for the current sources. `pkg` is the Go package to build inside that module ('.' by
 * default; for example 'helm.sh/helm/v3/cmd/helm' for a module that only pins an upstream command).
 */
export function goTool(name: string, pkg = '.'): Promise<string> {
  const key = `${name}:${pkg}`;
  let pending = inFlight.get(key);
  if (!pending) {
    pending = buildTool(name, pkg);
    inFlight.set(key, pending);
  }
  return pending;
}

async function buildTool(name: string, pkg: string): Promise<string> {
  const moduleDir = path.join(toolsDir, name);
  if (!existsSync(path.join(moduleDir, 'go.mod'))) throw new Error(`no Go tool module at ${moduleDir}`);
  const binary = path.join(cacheDir('bin'), `${name}-${toolHash(moduleDir, pkg)}`);
  if (existsSync(binary) && statSync(binary).size > 0) return binary;
  // Build to a unique name and rename, so concurrent test processes never see half a binary.
  const partial = `${binary}.${process.pid}.partial`;
  process.stderr.write(`[go-tools] building ${name} (cold build; cached afterwards in ${path.dirname(binary)})\n`);
  const started = Date.now();
  try {
    await run('go', ['build', '-trimpath', '-ldflags=-s -w', '-o', partial, pkg], moduleDir, name);
    renameSync(partial, binary);
  } finally {
    rmSync(partial, { force: true });
  }
  process.stderr.write(`[go-tools] built ${name} in ${Math.round((Date.now() - started) / 1000)}s\n`);
  return binary;
}
