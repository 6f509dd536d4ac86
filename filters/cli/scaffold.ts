// The files `legate filter init` writes: a filter with a typed configuration, a passing test on the
// TypeScript host, and the project file `build` and `test` read. Pure: paths in, file contents out.
import path from 'node:path';

export type FilterProject = {
  /** Module name: build/<name>.wasm. */
  name: string;
  /** AssemblyScript entry, relative to the project. */
  entry: string;
  /** Output module, relative to the project. */
  output: string;
  /** Test files or directories, relative to the project, run with node --test. */
  tests: string[];
};

export const PROJECT_FILE = 'filter.json';

/** A path usable in an import, from `fromDir` to `target` (always starting with ./ or ../). */
export function importPath(fromDir: string, target: string): string {
  const rel = path.relative(fromDir, target).split(path.sep).join('/');
  return rel.startsWith('.') ? rel : `./${rel}`;
}

/** A filter name from a directory name: lower-case letters, digits and dashes. */
export function filterName(dir: string): string {
  const name = path
    .basename(path.resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return name || 'filter';
}

export function scaffold(projectDir: string, sdkAssemblyDir: string, hostEntry: string, ascStdConfig: string) {
  const name = filterName(projectDir);
  const project: FilterProject = {
    name,
    entry: 'assembly/index.ts',
    output: `build/${name}.wasm`,
    tests: ['test/**/*.test.ts'],
  };
  const assemblyDir = path.join(projectDir, 'assembly');
  const sdk = importPath(assemblyDir, sdkAssemblyDir);
  const host = importPath(path.join(projectDir, 'test'), hostEntry);
  const files: Record<string, string> = {
    [PROJECT_FILE]: `${JSON.stringify(project, null, 2)}\n`,
    '.gitignore': 'build/\n',
    'assembly/tsconfig.json': `${JSON.stringify(
      { extends: importPath(assemblyDir, ascStdConfig), include: ['./**/*.ts', `${sdk}/**/*.ts`] },
      null,
      2,
    )}\n`,
    'assembly/index.ts': `// ${name}: sets a request header to the value its configuration names.
//
//   { "header": "x-team", "value": "payments" }
export * from "${sdk}/abi";
import {
  ConfigReader,
  FilterHeadersStatus,
  HttpContext,
  RootContext,
  logError,
  pluginConfiguration,
  registerRootContext,
  requestHeaders,
} from "${sdk}/index";

/** The configuration, read once per onConfigure. */
class Config {
  header: string = "x-hello";
  value: string = "";

  static read(text: string, errors: string[]): Config {
    const cfg = ConfigReader.fromText(text);
    cfg.allowOnly(["header", "value"]);
    const c = new Config();
    c.header = cfg.string("header", c.header);
    c.value = cfg.requiredString("value");
    for (let i = 0; i < cfg.errors.length; i++) errors.push(cfg.errors[i]);
    return c;
  }
}

class Root extends RootContext {
  config: Config = new Config();

  onConfigure(size: u32): bool {
    const errors: string[] = [];
    const config = Config.read(pluginConfiguration.getText(), errors);
    if (errors.length > 0) {
      logError("${name}: " + errors.join("; "));
      return false;
    }
    this.config = config;
    return true;
  }

  newHttpContext(id: u32): HttpContext {
    return new Stream(id, this);
  }
}

class Stream extends HttpContext {
  constructor(
    id: u32,
    private readonly owner: Root,
  ) {
    super(id, owner);
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    requestHeaders.replace(this.owner.config.header, this.owner.config.value);
    return FilterHeadersStatus.Continue;
  }
}

registerRootContext((id: u32): RootContext => new Root(id));
`,
    [`test/${name}.test.ts`]: `// Runs the built module on Legate's proxy-wasm test host (\`legate filter test\` builds it first).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FilterHost } from '${host}';

const wasm = process.env.LEGATE_FILTER_WASM ?? fileURLToPath(new URL('../${project.output}', import.meta.url));
const request = { ':method': 'GET', ':path': '/', ':authority': 'example.com' };

test('sets the configured header on every request', async () => {
  const host = await FilterHost.load(wasm, { configuration: { header: 'x-team', value: 'payments' } });
  assert.equal(host.configured, true);
  const stream = host.newStream();
  assert.equal(stream.sendRequestHeaders({ ...request, 'x-team': 'spoofed' }), 'Continue');
  assert.equal(stream.request.headers.get('x-team'), 'payments');
});

test('refuses a configuration without a value, naming the field', async () => {
  const host = await FilterHost.load(wasm, { configuration: { header: 'x-team' } });
  assert.equal(host.configured, false);
  assert.match(host.logMessages('error').join('\\n'), /config\\.value: required/);
});
`,
  };
  return { project, files };
}
