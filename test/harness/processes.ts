// Child processes of the test harness that never outlive it: each runs under a bash watchdog that
// kills it once this Node process is gone, so even a test runner killed with SIGKILL leaves no
// etcd, kube-apiserver or Envoy behind, then removes `leftovers` (its temporary folder).
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function track(child: ChildProcess): ChildProcess {
  running.add(child);
  child.on('exit', () => running.delete(child));
  return child;
}

/** A TCP port that was free a moment ago, on `host` (127.0.0.1 by default). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export interface GuardedOptions {
  /** Output goes here (appended); also to stderr when `verbose`. */
  logFile: string;
  verbose?: boolean;
  /** A folder removed when this process is gone and the child has been stopped. */
  leftovers?: string;
  /** Called with each chunk of output, for callers that read it. */
  onOutput?: (chunk: Buffer) => void;
  /** Added to this process's environment. */
  env?: Record<string, string>;
}

/** Starts `command` under the watchdog. SIGTERM to the returned child stops the command too. */
export function spawnGuarded(name: string, command: string, args: string[], options: GuardedOptions): ChildProcess {
  const watchdog = `"$@" & child=$!
trap 'kill $child 2>/dev/null; wait $child; exit' TERM INT
while kill -0 ${process.pid} 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 1; done
kill $child 2>/dev/null; wait $child
if [ -n "$LEGATE_LEFTOVERS" ] && ! kill -0 ${process.pid} 2>/dev/null; then rm -rf "$LEGATE_LEFTOVERS"; fi`;
  const env = { ...process.env, ...options.env, LEGATE_LEFTOVERS: options.leftovers ?? '' };
  if (!options.verbose && !options.onOutput) {
    // Nobody reads the output: the log file is the child's stdout and stderr. Through a pipe, a
    // parent whose event loop is blocked (test/run.ts in spawnSync, a long synchronous test) would
    // stop draining it, and a chatty kube-apiserver then blocks on its next log line and answers
    // every request with 504 once its deadline passes.
    const log = openSync(options.logFile, 'a');
    const child = spawn('bash', ['-c', watchdog, name, command, ...args], { stdio: ['ignore', log, log], env });
    closeSync(log);
    return track(child);
  }
  const child = track(
    spawn('bash', ['-c', watchdog, name, command, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env }),
  );
  const sink = (chunk: Buffer) => {
    writeFileSync(options.logFile, chunk, { flag: 'a' });
    if (options.verbose) process.stderr.write(`[${name}] ${chunk}`);
    options.onOutput?.(chunk);
  };
  child.stdout?.on('data', sink);
  child.stderr?.on('data', sink);
  return child;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited. */
export function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
