// `npm run build -w filters`: compiles the SDK's examples and test filters to filters/build/*.wasm.
import { renameSync } from 'node:fs';
import path from 'node:path';
import { compileFilter, formatDiagnostic, upToDate } from './compile.ts';

const filtersDir = path.resolve(import.meta.dirname, '..');
export const buildDir = path.join(filtersDir, 'build');

/** Every module the SDK ships or tests with, by output name. */
export const SDK_MODULES: Record<string, string> = {
  noop: 'examples/noop/assembly/index.ts',
  'header-rewrite': 'examples/header-rewrite/assembly/index.ts',
  'http-callout': 'examples/http-callout/assembly/index.ts',
  probe: 'sdk/testdata/probe/assembly/index.ts',
  stdlib: 'sdk/testdata/stdlib/assembly/index.ts',
};

export function modulePath(name: string): string {
  return path.join(buildDir, `${name}.wasm`);
}

/**
 * The path of a built SDK module, compiling it first when it is missing or older than its sources
 * or the SDK (so a single test file can run without `npm run build`).
 */
export async function builtModule(name: string): Promise<string> {
  const entry = SDK_MODULES[name];
  if (!entry) throw new Error(`unknown SDK module ${name}`);
  const out = modulePath(name);
  const sourceDir = path.dirname(path.join(filtersDir, entry));
  if (!upToDate(out, sourceDir)) {
    // Build beside and rename: parallel test processes never read half a module.
    const partial = `${out}.${process.pid}.partial.wasm`;
    const r = await compileFilter(path.join(filtersDir, entry), partial);
    if (!r.ok) throw new Error(`building ${name}:\n${r.diagnostics.map((d) => formatDiagnostic(d)).join('\n')}`);
    renameSync(partial, out);
  }
  return out;
}

async function main(): Promise<number> {
  let failed = 0;
  for (const [name, entry] of Object.entries(SDK_MODULES)) {
    if (upToDate(modulePath(name), path.dirname(path.join(filtersDir, entry)))) {
      process.stdout.write(`${name}.wasm is up to date\n`);
      continue;
    }
    const started = performance.now();
    const r = await compileFilter(path.join(filtersDir, entry), modulePath(name));
    if (r.ok) {
      const ms = Math.round(performance.now() - started);
      process.stdout.write(`built ${name}.wasm: ${r.bytes} bytes, ${r.abi}, ${ms} ms\n`);
    } else {
      failed++;
      for (const d of r.diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
    }
  }
  return failed === 0 ? 0 : 1;
}

if (import.meta.main) process.exitCode = await main();
