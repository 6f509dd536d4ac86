// Compiles an AssemblyScript filter to a proxy-wasm module with the flags Envoy needs: a collecting
// runtime (the stub one leaks under load; see Runtime), abort routed to the SDK's legateAbort
// (Envoy has no env.abort), optimized for size and speed. Then checks the module as Envoy would.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { checkModule } from '../host/index.ts';
import { WebAssemblyApi } from '../host/wasm-types.ts';

/** filters/sdk/assembly: what filters import ("…/sdk/assembly/index" and "…/sdk/assembly/abi"). */
export const sdkAssemblyDir = path.resolve(import.meta.dirname, '..', 'sdk', 'assembly');

export const ASC_FLAGS = [
  '--use',
  'abort=legateAbort',
  '--optimizeLevel',
  '3',
  '--shrinkLevel',
  '2',
  // Release builds: assert() compiles to nothing (bounds checks stay). Use abort() for checks that
  // must trap in production.
  '--noAssert',
] as const;

export type Diagnostic = { file: string; line: number; column: number; message: string };

export type CompileResult =
  | { ok: true; outFile: string; bytes: number; abi: string }
  | { ok: false; diagnostics: Diagnostic[]; output: string };

/**
 * The compiler's errors as file:line:column + message. asc prints "ERROR TS2304: text" and, a few
 * lines later, "└─ in path(line,col)".
 */
export function parseDiagnostics(output: string, baseDir: string): Diagnostic[] {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: strips terminal colours
  const lines = output.replace(/\x1b\[[0-9;]*m/g, '').split('\n');
  const out: Diagnostic[] = [];
  let pending: string | undefined;
  for (const line of lines) {
    const err = /^ERROR( [A-Z]+\d+)?: (.*)$/.exec(line.trim());
    if (err) {
      if (pending) out.push({ file: '', line: 0, column: 0, message: pending });
      pending = err[2]!;
      continue;
    }
    const at = /in (.+)\((\d+),(\d+)\)\s*$/.exec(line);
    if (at && pending) {
      out.push({ file: path.resolve(baseDir, at[1]!), line: Number(at[2]), column: Number(at[3]), message: pending });
      pending = undefined;
    }
  }
  if (pending) out.push({ file: '', line: 0, column: 0, message: pending });
  return out;
}

export function formatDiagnostic(d: Diagnostic, cwd = process.cwd()): string {
  return d.file ? `${path.relative(cwd, d.file)}:${d.line}:${d.column}: error: ${d.message}` : `error: ${d.message}`;
}

/**
 * The garbage collector. `incremental` (the default) runs by itself through a shadow stack;
 * `minimal` has none (modules about a third smaller, calls faster) and is collected by the SDK at
 * the end of top-level callbacks (sdk/assembly/gc.ts), which suits filters whose live heap is small.
 */
export type Runtime = 'incremental' | 'minimal';

/** Compiles entry to outFile; never throws for compile errors (they come back as diagnostics). */
export async function compileFilter(
  entry: string,
  outFile: string,
  runtime: Runtime = 'incremental',
): Promise<CompileResult> {
  const baseDir = path.dirname(path.resolve(entry));
  mkdirSync(path.dirname(path.resolve(outFile)), { recursive: true });
  let output = '';
  const sink = {
    write(chunk: string | Uint8Array) {
      output += typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk);
      return true;
    },
  };
  // Loaded here, not at the top: asc reads process.argv when it is imported and, if it finds
  // `--wasm <file>`, removes both and imports <file> as its compiler. `legate filter push --wasm
  // build/x.wasm` (which never compiles) would otherwise die importing the filter module itself.
  const { default: asc } = await import('assemblyscript/asc');
  const result = await asc.main(
    [
      path.basename(entry),
      '--baseDir',
      baseDir,
      '-o',
      path.resolve(outFile),
      ...ASC_FLAGS,
      '--runtime',
      runtime,
      '--noColors',
    ],
    { stdout: sink, stderr: sink },
  );
  if (result.error) {
    const diagnostics = parseDiagnostics(output, baseDir);
    return { ok: false, diagnostics, output };
  }
  const bytes = new Uint8Array(readFileSync(outFile));
  const module = new WebAssemblyApi.Module(bytes);
  checkModule(module);
  const abi = WebAssemblyApi.Module.exports(module).find((e) => e.name.startsWith('proxy_abi_version_'))!.name;
  return { ok: true, outFile, bytes: statSync(outFile).size, abi };
}

/** The newest modification time of the .ts files under dir (0 when none). */
export function newestSource(dir: string): number {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts')) {
      newest = Math.max(newest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
    }
  }
  return newest;
}

/** Whether outFile exists and is newer than the sources in sourceDir and the SDK. */
export function upToDate(outFile: string, sourceDir: string): boolean {
  if (!existsSync(outFile)) return false;
  return statSync(outFile).mtimeMs >= Math.max(newestSource(sourceDir), newestSource(sdkAssemblyDir));
}
