// `legate filter …`: scaffold, build and test proxy-wasm filters written with the Legate SDK.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { compileFilter, formatDiagnostic, sdkAssemblyDir, upToDate } from './compile.ts';
import type { FilterProject } from './scaffold.ts';
import { PROJECT_FILE, scaffold } from './scaffold.ts';

const filtersDir = path.resolve(import.meta.dirname, '..');
const hostEntry = path.join(filtersDir, 'host', 'index.ts');
const ascStdConfig = path.join(filtersDir, '..', 'node_modules', 'assemblyscript', 'std', 'assembly.json');

const USAGE = `usage: legate filter <command> [dir]

commands:
  init <dir>    scaffold a filter project (source, configuration class, a passing test)
  build [dir]   compile to build/<name>.wasm; prints the module size and the ABI check
  test [dir]    build, then run the project's tests on Legate's proxy-wasm test host
  push <dir> --name <n> [--namespace <ns>]
                build, then create or update ConfigMap <n>-wasm and WasmFilter <n> through the
                current kubeconfig; waits for Ready and prints its message
`;

type Io = { out: (s: string) => void; err: (s: string) => void };
const stdio: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

function readProject(dir: string): FilterProject {
  const file = path.join(dir, PROJECT_FILE);
  if (!existsSync(file)) throw new Error(`${file} not found: run 'legate filter init ${dir}' first`);
  return JSON.parse(readFileSync(file, 'utf8')) as FilterProject;
}

export function init(dir: string | undefined, io: Io = stdio): number {
  if (!dir) {
    io.err(`legate filter init: which directory?\n${USAGE}`);
    return 2;
  }
  const projectDir = path.resolve(dir);
  if (existsSync(projectDir) && readdirSync(projectDir).length > 0) {
    io.err(`legate filter init: ${projectDir} is not empty\n`);
    return 1;
  }
  const { project, files } = scaffold(projectDir, sdkAssemblyDir, hostEntry, ascStdConfig);
  for (const [rel, content] of Object.entries(files)) {
    const file = path.join(projectDir, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
  io.out(
    `created filter '${project.name}' in ${projectDir}\n  ${Object.keys(files).join('\n  ')}\n` +
      `next: legate filter build ${dir} && legate filter test ${dir}\n`,
  );
  return 0;
}

export async function build(dir = '.', io: Io = stdio): Promise<number> {
  const projectDir = path.resolve(dir);
  const project = readProject(projectDir);
  const out = path.join(projectDir, project.output);
  const started = performance.now();
  let r: Awaited<ReturnType<typeof compileFilter>>;
  try {
    r = await compileFilter(path.join(projectDir, project.entry), out);
  } catch (e) {
    io.err(`legate filter build: ${(e as Error).message}\n`);
    return 1;
  }
  if (!r.ok) {
    for (const d of r.diagnostics) io.err(`${formatDiagnostic(d)}\n`);
    if (r.diagnostics.length === 0) io.err(r.output);
    io.err(`legate filter build: ${project.name} failed to compile\n`);
    return 1;
  }
  const ms = Math.round(performance.now() - started);
  io.out(
    `built ${path.relative(process.cwd(), out) || out}: ${r.bytes} bytes (${(r.bytes / 1024).toFixed(1)} KiB) in ${ms} ms\n` +
      `ABI check: ${r.abi}; imports only what Envoy provides; exports proxy_on_memory_allocate\n`,
  );
  return 0;
}

export async function test(dir = '.', io: Io = stdio): Promise<number> {
  const projectDir = path.resolve(dir);
  const project = readProject(projectDir);
  const out = path.join(projectDir, project.output);
  if (upToDate(out, path.dirname(path.join(projectDir, project.entry)))) {
    io.out(`${project.output} is up to date\n`);
  } else {
    const built = await build(dir, io);
    if (built !== 0) return built;
  }
  const env = { ...process.env, LEGATE_FILTER_WASM: path.join(projectDir, project.output) };
  return new Promise((resolve, reject) => {
    // process.execPath is the Node 24 running the CLI, which runs the .ts tests directly.
    const child = spawn(process.execPath, ['--test', ...project.tests], { cwd: projectDir, env, stdio: 'inherit' });
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
}

export async function run(argv: string[]): Promise<number> {
  const [command, dir] = argv;
  switch (command) {
    case 'init':
      return init(dir);
    case 'build':
      return build(dir);
    case 'test':
      return test(dir);
    case 'push':
      return (await import('./push.ts')).push(argv.slice(1));
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`legate filter: unknown command '${command}'\n${USAGE}`);
      return 2;
  }
}

if (import.meta.main) process.exitCode = await run(process.argv.slice(2));
