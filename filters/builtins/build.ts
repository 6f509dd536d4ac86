// Builds the built-in filter modules (and the crypto test module) with the AssemblyScript compiler.
// `node filters/builtins/build.ts` builds every shipped module into filters/builtins/build/;
// tests call `builtinWasm(name)`, which rebuilds only when a source is newer than the module.
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import asc from 'assemblyscript/asc';
import { compileFilter, formatDiagnostic } from '../cli/compile.ts';

const builtinsDir = import.meta.dirname;
const repoRoot = join(builtinsDir, '..', '..');
export const buildDir = join(builtinsDir, 'build');

/** Each module and its entry file; `shipped` modules are built by the workspace build. */
export const MODULES = {
  // The auth filter's live heap is its configuration and a flat token cache, the rate limit's its
  // configuration (it allocates nothing per request but the request's context), so the minimal
  // runtime collects them cheaply; without the incremental runtime's shadow stack modules are a
  // third smaller and faster.
  auth: { entry: 'auth/assembly/index.ts', shipped: true, runtime: 'minimal' },
  ratelimit: { entry: 'ratelimit/assembly/index.ts', shipped: true, runtime: 'minimal' },
  'crypto-test': { entry: 'crypto/assembly/test-exports.ts', shipped: false },
  'auth-test': { entry: 'auth/assembly/test-exports.ts', shipped: false },
  'ratelimit-test': { entry: 'ratelimit/assembly/test-exports.ts', shipped: false },
} as const;
export type ModuleName = keyof typeof MODULES;

// Shipped filters compile with the SDK's Envoy flags (filters/cli/compile.ts). The host-free test
// modules do not link the SDK's host imports, so their abort is a plain trap (crypto/assembly/abort.ts).
const TRAP_ABORT = 'filters/builtins/crypto/assembly/abort/trap';

export function wasmPath(name: ModuleName): string {
  return join(buildDir, `${name}.wasm`);
}

/**
 * Compiles one module; throws with the compiler's diagnostics on failure. Writes to a temporary file (unique per call)
 * renamed into place, so test files running in parallel never read a half-written module.
 */
export async function compile(name: ModuleName): Promise<string> {
  const tmp = await compileTo(name, `${wasmPath(name)}.${process.pid}.${randomUUID()}.tmp`);
  renameSync(tmp, wasmPath(name));
  return wasmPath(name);
}

async function compileTo(name: ModuleName, out: string): Promise<string> {
  mkdirSync(buildDir, { recursive: true });
  if (MODULES[name].shipped) {
    const r = await compileFilter(join(builtinsDir, MODULES[name].entry), out, MODULES[name].runtime);
    if (!r.ok) throw new Error(`asc ${name}:\n${r.diagnostics.map((d) => formatDiagnostic(d)).join('\n')}`);
    return out;
  }
  const entry = relative(repoRoot, join(builtinsDir, MODULES[name].entry));
  const stderr: string[] = [];
  const result = await asc.main(
    [
      entry,
      '--baseDir',
      repoRoot,
      '-o',
      relative(repoRoot, out),
      '--optimizeLevel',
      '3',
      '--shrinkLevel',
      '2',
      '--runtime',
      'incremental',
      '--use',
      `abort=${TRAP_ABORT}`,
      '--noAssert',
    ],
    {
      stdout: { write: () => true } as unknown as asc.OutputStream,
      stderr: { write: (s: string | Uint8Array) => stderr.push(String(s)) > 0 } as unknown as asc.OutputStream,
    },
  );
  if (result.error) throw new Error(`asc ${name}: ${result.error.message}\n${stderr.join('')}`);
  return out;
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'build' || entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** The module's bytes, rebuilt first if any built-in or SDK source changed since the last build. */
export async function builtinWasm(name: ModuleName): Promise<Uint8Array> {
  const out = wasmPath(name);
  let built = 0;
  try {
    built = statSync(out).mtimeMs;
  } catch {}
  const sdkDir = join(builtinsDir, '..', 'sdk');
  const sources = Math.max(newestSource(builtinsDir), safeNewest(sdkDir));
  if (built < sources) await compile(name);
  return readFileSync(out);
}

function safeNewest(dir: string): number {
  try {
    return newestSource(dir);
  } catch {
    return 0;
  }
}

if (import.meta.main) {
  for (const [name, mod] of Object.entries(MODULES)) {
    if (!mod.shipped) continue;
    const out = await compile(name as ModuleName);
    console.log(`${name}: ${statSync(out).size} bytes → ${relative(process.cwd(), out)}`);
  }
}
