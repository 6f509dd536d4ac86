// `npm run build -w filters`: compiles the SDK's examples and test filters to filters/build/*.wasm.
import path from 'node:path';
import { compileFilter, formatDiagnostic } from './compile.ts';

const filtersDir = path.resolve(import.meta.dirname, '..');
export const buildDir = path.join(filtersDir, 'build');

/** Every module the SDK ships or tests with, by output name. */
export const SDK_MODULES: Record<string, string> = {
  noop: 'examples/noop/assembly/index.ts',
  'header-rewrite': 'examples/header-rewrite/assembly/index.ts',
  'http-callout': 'examples/http-callout/assembly/index.ts',
  probe: 'sdk/testdata/probe/assembly/index.ts',
};

export function modulePath(name: string): string {
  return path.join(buildDir, `${name}.wasm`);
}

async function main(): Promise<number> {
  let failed = 0;
  for (const [name, entry] of Object.entries(SDK_MODULES)) {
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
