// `legate translate`: reads Kubernetes YAML (Gateway API objects, Services, EndpointSlices, Secrets,
// Namespaces) and prints, per Gateway, the Envoy resources (each with its `@type`) or the IR, and
// the status Legate would write. Objects with errors still translate and carry their conditions.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';
import type { JsonValue } from '../envoy/strict.ts';
import type { GatewayTranslation, TranslationInput, TypeUrl } from '../translate/index.ts';
import { DEFAULT_CONTROLLER_NAME, translate } from '../translate/index.ts';

const HELP = `usage: legate translate -f <file-or-dir>... [--gateway <namespace>/<name>] [--output json|yaml] [--ir]
                        [--controller-name <name>]

Reads Kubernetes YAML (multi-document files, kind: List, or directories of .yaml/.yml/.json files;
'-' reads stdin) and prints, for every Gateway, its Envoy xDS resources (proto3 JSON with "@type")
or, with --ir, its intermediate representation, plus the Gateway and route status.

  -f, --filename          input file or directory (repeatable)
  -g, --gateway           translate only this Gateway
  -o, --output            json (default) or yaml
      --ir                print the IR instead of the Envoy resources
      --controller-name   only translate Gateways whose GatewayClass names this controller
                          (default: skip only Gateways whose GatewayClass is in the input and
                          names another controller than legate.dev/gateway-controller)
`;

/** Reads the input files into a TranslationInput. Throws with a readable message on bad input. */
export function readInput(files: readonly string[], readStdin: () => string): TranslationInput {
  const input: Required<Omit<TranslationInput, 'controllerName'>> = {
    gatewayClasses: [],
    gateways: [],
    httpRoutes: [],
    grpcRoutes: [],
    referenceGrants: [],
    services: [],
    endpointSlices: [],
    secrets: [],
    namespaces: [],
  };
  const lists: Record<string, unknown[]> = {
    GatewayClass: input.gatewayClasses as unknown[],
    Gateway: input.gateways as unknown[],
    HTTPRoute: input.httpRoutes as unknown[],
    GRPCRoute: input.grpcRoutes as unknown[],
    ReferenceGrant: input.referenceGrants as unknown[],
    Service: input.services as unknown[],
    EndpointSlice: input.endpointSlices as unknown[],
    Secret: input.secrets as unknown[],
    Namespace: input.namespaces as unknown[],
  };
  const add = (obj: unknown, source: string) => {
    if (obj === null || obj === undefined) return;
    if (typeof obj !== 'object' || Array.isArray(obj)) throw new Error(`${source}: a document is not an object`);
    const o = obj as { kind?: unknown; items?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
    if (typeof o.kind === 'string' && o.kind.endsWith('List') && Array.isArray(o.items)) {
      for (const item of o.items) add(item, source);
      return;
    }
    if (typeof o.kind !== 'string') throw new Error(`${source}: an object has no kind`);
    const list = lists[o.kind];
    if (!list) return; // Kinds translation does not read (Deployments...) are ignored.
    if (!o.metadata || typeof o.metadata.name !== 'string') {
      throw new Error(`${source}: a ${o.kind} has no metadata.name`);
    }
    // kubectl semantics: a namespaced object without a namespace lives in "default".
    if (o.kind !== 'GatewayClass' && o.kind !== 'Namespace' && o.metadata.namespace === undefined) {
      o.metadata.namespace = 'default';
    }
    list.push(o);
  };
  for (const f of expandFiles(files)) {
    const text = f === '-' ? readStdin() : readFileSync(f, 'utf8');
    const docs = parseAllDocuments(text);
    for (const doc of Array.isArray(docs) ? docs : [docs]) {
      if (doc.errors.length > 0) throw new Error(`${f}: invalid YAML: ${doc.errors[0]?.message}`);
      add(doc.toJS(), f);
    }
  }
  return input;
}

function expandFiles(files: readonly string[]): string[] {
  const out: string[] = [];
  for (const f of files) {
    if (f === '-') {
      out.push(f);
      continue;
    }
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(f);
    } catch {
      throw new Error(`cannot read ${f}: no such file or directory`);
    }
    if (st.isDirectory()) {
      const entries = readdirSync(f)
        .filter((e) => /\.(ya?ml|json)$/.test(e))
        .sort();
      out.push(...expandFiles(entries.map((e) => path.join(f, e))));
    } else out.push(f);
  }
  return out;
}

const TYPE_ORDER: readonly TypeUrl[] = [
  'type.googleapis.com/envoy.config.listener.v3.Listener',
  'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
];

/** The printable form of one Gateway's translation. */
export function gatewayOutput(t: GatewayTranslation, ir: boolean): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = { gateway: t.key };
  if (ir) out.ir = JSON.parse(JSON.stringify(t.ir)) as JsonValue;
  else {
    out.resources = TYPE_ORDER.flatMap((url) => (t.resources[url] ?? []).map((r) => ({ '@type': url, ...r.resource })));
    out.proxylessListeners = t.proxylessListeners.map((r) => ({ '@type': TYPE_ORDER[0] as string, ...r.resource }));
  }
  out.status = JSON.parse(JSON.stringify(t.status)) as JsonValue;
  if (t.errors.length > 0) out.errors = t.errors;
  return out;
}

/** Gateways Legate would ignore: their GatewayClass is in the input and names another controller. */
function withoutForeignGateways(input: TranslationInput): TranslationInput['gateways'] {
  const foreign = new Set(
    (input.gatewayClasses ?? [])
      .filter((c) => c.spec?.controllerName !== DEFAULT_CONTROLLER_NAME)
      .map((c) => c.metadata.name),
  );
  return (input.gateways ?? []).filter((g) => !foreign.has(g.spec?.gatewayClassName));
}

export async function run(argv: string[]): Promise<number> {
  let args: ReturnType<typeof parse>;
  const parse = (a: string[]) =>
    parseArgs({
      args: a,
      options: {
        filename: { type: 'string', short: 'f', multiple: true },
        gateway: { type: 'string', short: 'g' },
        output: { type: 'string', short: 'o', default: 'json' },
        ir: { type: 'boolean', default: false },
        'controller-name': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
    });
  try {
    args = parse(argv);
  } catch (e) {
    process.stderr.write(`legate translate: ${(e as Error).message}\n${HELP}`);
    return 2;
  }
  const v = args.values;
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!v.filename || v.filename.length === 0) {
    process.stderr.write(`legate translate: -f <file-or-dir> is required\n${HELP}`);
    return 2;
  }
  if (v.output !== 'json' && v.output !== 'yaml') {
    process.stderr.write(`legate translate: --output must be json or yaml, not ${v.output}\n`);
    return 2;
  }
  let input: TranslationInput;
  try {
    input = readInput(v.filename, () => readFileSync(0, 'utf8'));
  } catch (e) {
    process.stderr.write(`legate translate: ${(e as Error).message}\n`);
    return 1;
  }
  if (v['controller-name']) input.controllerName = v['controller-name'];
  else input.gateways = withoutForeignGateways(input);
  const result = translate(input);
  if (v.gateway && !result.gateways.has(v.gateway)) {
    process.stderr.write(`legate translate: Gateway ${v.gateway} not found in the input\n`);
    return 1;
  }
  const gateways = [...result.gateways.values()]
    .filter((t) => !v.gateway || t.key === v.gateway)
    .map((t) => gatewayOutput(t, v.ir ?? false));
  const doc = { gateways };
  process.stdout.write(
    v.output === 'yaml' ? stringify(doc, { aliasDuplicateObjects: false }) : `${JSON.stringify(doc, null, 2)}\n`,
  );
  return gateways.some((g) => g.errors) ? 3 : 0;
}
