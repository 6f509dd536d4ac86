// `legate filter push <dir> --name <n> [--namespace <ns>]`: builds a filter project, stores the
// module in a ConfigMap (binaryData) and creates or updates the WasmFilter that points at it, pinned
// to the module's sha256, through the current kubeconfig; then waits for the operator to report the
// WasmFilter Ready for exactly this module and prints its status message.
//
// Objects are written with server-side apply (field manager `legate-filter-push`), so fields set by
// others (a configSchema edited with kubectl, labels) are left alone.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  CustomObjectsApi,
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  loadYaml,
  PatchStrategy,
} from '@kubernetes/client-node';
import { PROJECT_FILE } from './scaffold.ts';

const USAGE = `usage: legate filter push <dir> --name <name> [options]

Builds the filter project in <dir>, stores build output in ConfigMap <name>-wasm and creates or
updates WasmFilter <name> (pinned to the module's sha256), then waits until the operator reports it Ready.

options:
  --name <name>            WasmFilter name (required)
  -n, --namespace <ns>     namespace (default: the kubeconfig context's, else "default")
  --wasm <file>            push this .wasm instead of building <dir>
  --root-id <id>           root id passed to the module
  --failure-policy <p>     FailClosed (default) or FailOpen
  --schema <file.json>     JSON Schema for the filter's configuration
  --timeout <seconds>      how long to wait for Ready (default 60; 0 = do not wait)
  --kubeconfig <file>      kubeconfig (default: KUBECONFIG or ~/.kube/config)
`;

const FIELD_MANAGER = 'legate-filter-push';
const GROUP = 'legate.dev';
const VERSION = 'v1alpha1';
const KEY = 'filter.wasm';

type Io = { out: (s: string) => void; err: (s: string) => void };
const stdio: Io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

interface PushOptions {
  dir: string;
  name: string;
  namespace?: string;
  wasm?: string;
  rootId?: string;
  failurePolicy: 'FailClosed' | 'FailOpen';
  schema?: string;
  timeoutSeconds: number;
  kubeconfig?: string;
}

type Parsed = { ok: true; options: PushOptions } | { ok: false; message: string };

export function parsePushArgs(argv: string[]): Parsed {
  let values: Record<string, string | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        name: { type: 'string' },
        namespace: { type: 'string', short: 'n' },
        wasm: { type: 'string' },
        'root-id': { type: 'string' },
        'failure-policy': { type: 'string' },
        schema: { type: 'string' },
        timeout: { type: 'string' },
        kubeconfig: { type: 'string' },
      },
    }) as { values: Record<string, string | undefined>; positionals: string[] });
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
  const name = values.name;
  if (!name) return { ok: false, message: '--name is required' };
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > 58) {
    return { ok: false, message: `--name ${name} is not a valid name (lowercase letters, digits and '-', at most 58)` };
  }
  const policy = values['failure-policy'] ?? 'FailClosed';
  if (policy !== 'FailClosed' && policy !== 'FailOpen') {
    return { ok: false, message: `--failure-policy must be FailClosed or FailOpen, not ${policy}` };
  }
  const timeout = Number(values.timeout ?? '60');
  if (!Number.isFinite(timeout) || timeout < 0)
    return { ok: false, message: `--timeout ${values.timeout} is not a number of seconds` };
  const dir = positionals[0] ?? '.';
  if (positionals.length > 1) return { ok: false, message: `unexpected argument ${positionals[1]}` };
  return {
    ok: true,
    options: {
      dir,
      name,
      failurePolicy: policy,
      timeoutSeconds: timeout,
      ...(values.namespace ? { namespace: values.namespace } : {}),
      ...(values.wasm ? { wasm: values.wasm } : {}),
      ...(values['root-id'] !== undefined ? { rootId: values['root-id'] } : {}),
      ...(values.schema ? { schema: values.schema } : {}),
      ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}),
    },
  };
}

/** The ConfigMap and WasmFilter a push applies (pure). */
export function pushManifests(
  options: Pick<PushOptions, 'name' | 'rootId' | 'failurePolicy'> & { namespace: string },
  bytes: Uint8Array,
  configSchema?: Record<string, unknown>,
): { configMap: KubernetesObject; wasmFilter: KubernetesObject; sha256: string } {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const labels = { 'app.kubernetes.io/managed-by': FIELD_MANAGER, 'legate.dev/wasmfilter': options.name };
  const configMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `${options.name}-wasm`, namespace: options.namespace, labels },
    binaryData: { [KEY]: Buffer.from(bytes).toString('base64') },
  };
  const spec: Record<string, unknown> = {
    source: { type: 'ConfigMap', configMap: { name: `${options.name}-wasm`, key: KEY, sha256 } },
    failurePolicy: options.failurePolicy,
  };
  if (options.rootId !== undefined) spec.rootId = options.rootId;
  if (configSchema) spec.configSchema = configSchema;
  const wasmFilter = {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'WasmFilter',
    metadata: { name: options.name, namespace: options.namespace, labels },
    spec,
  };
  return { configMap, wasmFilter, sha256 };
}

interface Ready {
  status: string;
  reason: string;
  message: string;
}

/** The Ready condition once it speaks about this push (this generation and, when True, this digest). */
export function readyForPush(
  obj: {
    metadata?: { generation?: number };
    status?: { sha256?: string; conditions?: (Ready & { type: string; observedGeneration?: number })[] };
  },
  sha256: string,
): Ready | undefined {
  const ready = obj.status?.conditions?.find((c) => c.type === 'Ready');
  if (!ready || ready.status === 'Unknown') return undefined;
  if (ready.observedGeneration !== undefined && ready.observedGeneration !== obj.metadata?.generation) return undefined;
  if (ready.status === 'True' && obj.status?.sha256 !== sha256) return undefined;
  return ready;
}

async function buildProject(dir: string, io: Io): Promise<string | undefined> {
  // The SDK CLI's own build (filters/cli/main.ts): same compiler flags and ABI check as `legate filter build`.
  const { build } = await import('./main.ts');
  if ((await build(dir, io)) !== 0) return undefined;
  const project = JSON.parse(readFileSync(path.join(dir, PROJECT_FILE), 'utf8')) as { output: string };
  return path.join(dir, project.output);
}

export async function push(argv: string[], io: Io = stdio): Promise<number> {
  const parsed = parsePushArgs(argv);
  if (!parsed.ok) {
    io.err(`legate filter push: ${parsed.message}\n${USAGE}`);
    return 2;
  }
  const o = parsed.options;
  const kc = new KubeConfig();
  try {
    if (o.kubeconfig) kc.loadFromFile(o.kubeconfig);
    else kc.loadFromDefault();
  } catch (e) {
    io.err(`legate filter push: cannot load the kubeconfig: ${(e as Error).message}\n`);
    return 1;
  }
  const namespace = o.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';

  const wasmFile = o.wasm ?? (await buildProject(path.resolve(o.dir), io));
  if (!wasmFile) return 1;
  let bytes: Uint8Array;
  let schema: Record<string, unknown> | undefined;
  try {
    bytes = new Uint8Array(readFileSync(wasmFile));
    if (o.schema) schema = JSON.parse(readFileSync(o.schema, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    io.err(`legate filter push: ${(e as Error).message}\n`);
    return 1;
  }
  const { configMap, wasmFilter, sha256 } = pushManifests({ ...o, namespace }, bytes, schema);

  const objects = KubernetesObjectApi.makeApiClient(kc);
  try {
    for (const obj of [configMap, wasmFilter]) {
      // loadYaml maps raw field names onto client-node's typed models (binaryData, unknown CRD fields).
      const typed = loadYaml<KubernetesObject>(JSON.stringify(obj));
      await objects.patch(typed, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
    }
  } catch (e) {
    const body = (e as { body?: string }).body;
    io.err(`legate filter push: applying to ${namespace} failed: ${body ?? (e as Error).message}\n`);
    return 1;
  }
  io.out(
    `pushed ${namespace}/${o.name}: ${bytes.length} bytes, sha256:${sha256} (ConfigMap ${configMap.metadata?.name})\n`,
  );
  if (o.timeoutSeconds === 0) return 0;

  const api = kc.makeApiClient(CustomObjectsApi);
  const deadline = Date.now() + o.timeoutSeconds * 1000;
  let last: string | undefined;
  while (Date.now() < deadline) {
    const current = await api
      .getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: 'wasmfilters', name: o.name })
      .catch(() => undefined);
    const ready = current ? readyForPush(current, sha256) : undefined;
    if (ready) {
      io.out(`Ready=${ready.status} (${ready.reason}): ${ready.message}\n`);
      return ready.status === 'True' ? 0 : 1;
    }
    last = current?.status?.conditions?.find((c: { type: string }) => c.type === 'Ready')?.message;
    await new Promise((r) => setTimeout(r, 500));
  }
  io.err(
    `legate filter push: ${namespace}/${o.name} was not Ready for sha256:${sha256} after ${o.timeoutSeconds}s` +
      `${last ? ` (last status: ${last})` : ' (no status yet: is the Legate operator running?)'}\n`,
  );
  return 1;
}

if (import.meta.main) process.exitCode = await push(process.argv.slice(2));
