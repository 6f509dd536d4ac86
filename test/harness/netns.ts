// Test hosts: Linux network namespaces on one bridge, like pods on a node. Each host has its own
// address in 198.18.0.0/15 (reserved for network tests, never routed); the bridge itself has the
// `.1` of the same /24, which is how hosts reach this (the "node's") namespace, for example an
// operator's xDS server bound there. Hosts reach each other over the bridge, so an Envoy in one host
// can proxy to backends in others. They give the tests real, non-loopback endpoints, which
// EndpointSlices can name (the API server rejects 127.0.0.0/8).
// Needs root and iproute2; every namespace and the bridge are removed on stop() or when the process exits.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './go-tools.ts';

export interface Backend {
  name: string;
  port: number;
}

export interface TestHost {
  /** The network namespace's name (for `ip netns exec`). */
  readonly netns: string;
  /** The host's address, reachable from the test process and from every other host. */
  readonly address: string;
  /** Starts a program inside the host's network namespace. */
  spawn(command: string, args: string[]): ChildProcess;
  /** Starts a gRPC backend (test/harness/grpc-backend.ts) in the host, on `port` or any free port. */
  startGrpcBackend(name: string, port?: number): Promise<Backend>;
  /** Starts an HTTP echo backend (test/harness/echo-backend.ts) in the host, on `port` or any free port. */
  startEchoBackend(name: string, port?: number): Promise<Backend>;
  stop(): void;
}

const live = new Set<string>();
let bridge: { name: string; prefix: string } | undefined;
process.on('exit', () => {
  for (const ns of live) removeNamespace(ns);
  if (bridge) removeLink(bridge.name);
});

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function removeNamespace(ns: string): void {
  try {
    ip('netns', 'del', ns);
  } catch {
    // Already gone.
  }
  live.delete(ns);
}

function removeLink(name: string): void {
  try {
    ip('link', 'del', name);
  } catch {
    // Already gone.
  }
}

/** Test bridges (lgb…) that hold `address`. */
function bridgesHolding(address: string): string[] {
  const out = execFileSync('ip', ['-o', '-4', 'addr', 'show', 'to', address], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((line) => line.split(/\s+/)[1] ?? '')
    .filter((name) => name.startsWith('lgb'));
}

const processId = (process.pid % 46_000).toString(36);

function failure(what: string, err: unknown): Error {
  const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
  return new Error(`could not create ${what} (needs root and iproute2): ${stderr || err}`);
}

/** This process's bridge (the "node"), created on first use: one /24 chosen by pid. */
export function testNetwork(): { bridge: string; nodeAddress: string; prefix: string } {
  if (!bridge) {
    const block = process.pid % 512;
    const candidate = { name: `lgb${processId}`, prefix: `198.${18 + (block >> 8)}.${block & 255}` };
    try {
      removeLink(candidate.name);
      // A bridge with the same /24 left by a killed run (a pid with the same block) would take this
      // one's traffic: it has to go.
      for (const stale of bridgesHolding(`${candidate.prefix}.1`)) removeLink(stale);
      ip('link', 'add', candidate.name, 'type', 'bridge');
      bridge = candidate;
      ip('addr', 'add', `${candidate.prefix}.1/24`, 'dev', candidate.name);
      ip('link', 'set', candidate.name, 'up');
    } catch (err) {
      throw failure(`test network ${candidate.name}`, err);
    }
  }
  return { bridge: bridge.name, nodeAddress: `${bridge.prefix}.1`, prefix: bridge.prefix };
}

let hosts = 0;

export function startTestHost(): TestHost {
  const n = hosts++;
  if (n >= 250) throw new Error('too many test hosts in one process');
  const network = testNetwork();
  const id = `${processId}${n.toString(36)}`;
  const ns = `legate-${id}`;
  const address = `${network.prefix}.${n + 2}`;
  const [hostEnd, nsEnd] = [`lg${id}h`, `lg${id}n`];
  try {
    ip('netns', 'add', ns);
    live.add(ns);
    ip('link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', nsEnd);
    ip('link', 'set', nsEnd, 'netns', ns);
    ip('link', 'set', hostEnd, 'master', network.bridge);
    ip('link', 'set', hostEnd, 'up');
    ip('netns', 'exec', ns, 'ip', 'addr', 'add', `${address}/24`, 'dev', nsEnd);
    ip('netns', 'exec', ns, 'ip', 'link', 'set', nsEnd, 'up');
    ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
    ip('netns', 'exec', ns, 'ip', 'route', 'add', 'default', 'via', network.nodeAddress);
  } catch (err) {
    removeNamespace(ns);
    throw failure(`test host ${ns}`, err);
  }
  const children = new Set<ChildProcess>();
  const node = path.join(repoRoot, 'node_modules', '.bin', 'node');
  // Both backends print `listening <port>` once they serve.
  const startBackend = (program: string, name: string, extra: string[]): Promise<Backend> => {
    const child = host.spawn(node, [path.join(repoRoot, 'test', 'harness', program), name, address, ...extra]);
    return new Promise((resolve, reject) => {
      let out = '';
      let err = '';
      child.stderr?.on('data', (c: Buffer) => {
        err += c.toString();
      });
      child.stdout?.on('data', (c: Buffer) => {
        out += c.toString();
        const port = /listening (\d+)/.exec(out)?.[1];
        if (port) resolve({ name, port: Number(port) });
      });
      child.on('exit', (code) => reject(new Error(`backend ${name} exited (${code}): ${err}`)));
    });
  };
  const host: TestHost = {
    netns: ns,
    address,
    spawn(command, args) {
      const child = spawn('ip', ['netns', 'exec', ns, command, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.add(child);
      child.on('exit', () => children.delete(child));
      return child;
    },
    startGrpcBackend: (name, port) => startBackend('grpc-backend.ts', name, port ? [String(port)] : []),
    startEchoBackend: (name, port) => startBackend('echo-backend.ts', name, port ? [String(port)] : []),
    stop() {
      for (const child of children) child.kill('SIGKILL');
      removeNamespace(ns);
    },
  };
  return host;
}
