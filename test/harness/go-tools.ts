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
  const hash = createHash('sha256')
    .update(goVersion())
    .update(pkg)
    .update(versionStamp(path.basename(moduleDir)).join());
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

/**
 * The package to build in a tool module when it is not the module itself: some modules only pin an
 * upstream command, and some (null) only pin data, such as the Gateway API CRDs.
 */
export const goToolPackages: Readonly<Record<string, string | null>> = {
  helm: 'helm.sh/helm/v3/cmd/helm',
  'gateway-api': null,
};

/** The version of `mod` that a tool module requires, read from its go.mod. */
export function requiredVersion(name: string, mod: string): string {
  const gomod = readFileSync(path.join(toolsDir, name, 'go.mod'), 'utf8');
  const version = new RegExp(`^\\s*(?:require\\s+)?${mod.replaceAll('.', '\\.')} (v\\S+)`, 'm').exec(gomod)?.[1];
  if (!version) throw new Error(`test/tools/${name}/go.mod does not require ${mod}`);
  return version;
}

/** Extra linker flags: upstream commands report the version they were stamped with at build time. */
function versionStamp(name: string): string[] {
  if (name !== 'kube-apiserver') return [];
  const version = requiredVersion(name, 'k8s.io/kubernetes');
  const [major, minor] = version.slice(1).split('.');
  const pkg = 'k8s.io/component-base/version';
  return [`-X ${pkg}.gitVersion=${version}`, `-X ${pkg}.gitMajor=${major}`, `-X ${pkg}.gitMinor=${minor}`];
}

const inFlight = new Map<string, Promise<string>>();

/**
 * The path of the built binary for the tool in test/tools/<name>, building it first if the cache has
 * no binary for the current sources. `pkg` is the Go package to build inside that module.
 */
export function goTool(name: string, pkg = goToolPackages[name] ?? '.'): Promise<string> {
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
    const ldflags = ['-s', '-w', ...versionStamp(name)].join(' ');
    await run('go', ['build', '-trimpath', `-ldflags=${ldflags}`, '-o', partial, pkg], moduleDir, name);
    renameSync(partial, binary);
  } finally {
    rmSync(partial, { force: true });
  }
  process.stderr.write(`[go-tools] built ${name} in ${Math.round((Date.now() - started) / 1000)}s\n`);
  return binary;
}

/** Builds (or finds in the cache) every tool module under test/tools/, one at a time: name → binary. */
export async function buildAllGoTools(): Promise<Map<string, string>> {
  const built = new Map<string, string>();
  for (const entry of readdirSync(toolsDir, { withFileTypes: true })) {
    if (!entry.isDirectory() || goToolPackages[entry.name] === null) continue;
    built.set(entry.name, await goTool(entry.name));
  }
  return built;
}
