// Test hosts: Linux network namespaces joined to this one by a veth pair, each with its own address
// in 198.18.0.0/15 (reserved for network tests, never routed). They give the tests real, non-loopback
// endpoints on this machine, which EndpointSlices can name (the API server rejects 127.0.0.0/8).
// Needs root and iproute2; every namespace is removed on stop() or when the process exits.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './go-tools.ts';

export interface TestHost {
  /** The host's address, reachable from the test process. */
  readonly address: string;
  /** Starts a program inside the host's network namespace. */
  spawn(command: string, args: string[]): ChildProcess;
  /** Starts a gRPC backend (test/harness/grpc-backend.ts) in the host and returns its port. */
  startGrpcBackend(name: string): Promise<{ name: string; port: number }>;
  stop(): void;
}

const live = new Set<string>();
process.on('exit', () => {
  for (const ns of live) removeNamespace(ns);
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

let hosts = 0;

export function startTestHost(): TestHost {
  const n = hosts++;
  if (n >= 60) throw new Error('too many test hosts in one process');
  const id = `${(process.pid % 46_000).toString(36)}${n.toString(36)}`;
  const ns = `legate-${id}`;
  // One /30 per host: pid picks the third octet (and the 198.18/198.19 half), n the fourth.
  const block = process.pid % 512;
  const prefix = `198.${18 + (block >> 8)}.${block & 255}`;
  const [outside, inside] = [`${prefix}.${n * 4 + 1}`, `${prefix}.${n * 4 + 2}`];
  const [hostEnd, nsEnd] = [`lg${id}h`, `lg${id}n`];
  try {
    ip('netns', 'add', ns);
    live.add(ns);
    ip('link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', nsEnd);
    ip('link', 'set', nsEnd, 'netns', ns);
    ip('addr', 'add', `${outside}/30`, 'dev', hostEnd);
    ip('link', 'set', hostEnd, 'up');
    ip('netns', 'exec', ns, 'ip', 'addr', 'add', `${inside}/30`, 'dev', nsEnd);
    ip('netns', 'exec', ns, 'ip', 'link', 'set', nsEnd, 'up');
    ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
  } catch (err) {
    removeNamespace(ns);
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`could not create test host ${ns} (needs root and iproute2): ${stderr || err}`);
  }
  const children = new Set<ChildProcess>();
  const host: TestHost = {
    address: inside,
    spawn(command, args) {
      const child = spawn('ip', ['netns', 'exec', ns, command, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.add(child);
      child.on('exit', () => children.delete(child));
      return child;
    },
    startGrpcBackend(name) {
      const node = path.join(repoRoot, 'node_modules', '.bin', 'node');
      const child = host.spawn(node, [path.join(repoRoot, 'test', 'harness', 'grpc-backend.ts'), name, inside]);
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
    },
    stop() {
      for (const child of children) child.kill('SIGKILL');
      removeNamespace(ns);
    },
  };
  return host;
}
