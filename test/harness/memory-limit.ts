// Runs a process under a memory limit, as a Kubernetes container limit does: a memory cgroup (v2
// `memory.max`, or v1 `memory.limit_in_bytes`) the process joins before it execs. Node sizes its heap
// from that limit (process.constrainedMemory()), so a benchmark run this way sees the heap settings
// the operator gets in its Deployment, and the kernel enforces the limit. Needs a writable cgroup
// mount (root); returns undefined where there is none, and callers say so in what they print.

import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from './go-tools.ts';

export interface MemoryLimit {
  limitBytes: number;
  /** The cgroup folder. */
  cgroup: string;
  /** Wraps a command so the process joins the cgroup first: spawn(command, args). */
  wrap(command: string, args: readonly string[]): { command: string; args: string[] };
  /** Removes the cgroup (after the process has exited). */
  remove(): void;
}

const hierarchies = [
  { root: '/sys/fs/cgroup', limitFile: 'memory.max' }, // cgroup v2 mounted at the usual place
  { root: '/sys/fs/cgroup/unified', limitFile: 'memory.max' },
  { root: '/sys/fs/cgroup/memory', limitFile: 'memory.limit_in_bytes' }, // cgroup v1
];

export function memoryLimit(limitBytes: number, name: string): MemoryLimit | undefined {
  for (const { root, limitFile } of hierarchies) {
    const cgroup = path.join(root, name);
    try {
      mkdirSync(cgroup, { recursive: true });
      // A real cgroup folder comes with its control files; a plain folder (tmpfs) does not.
      if (!existsSync(path.join(cgroup, limitFile)) || !existsSync(path.join(cgroup, 'cgroup.procs'))) {
        throw new Error('not a memory cgroup');
      }
      writeFileSync(path.join(cgroup, limitFile), String(limitBytes));
    } catch {
      try {
        rmdirSync(cgroup);
      } catch {}
      continue;
    }
    return {
      limitBytes,
      cgroup,
      wrap: (command, args) => ({
        command: '/bin/sh',
        args: ['-c', `echo $$ > '${path.join(cgroup, 'cgroup.procs')}' && exec "$@"`, 'sh', command, ...args],
      }),
      remove: () => {
        try {
          rmdirSync(cgroup);
        } catch {}
      },
    };
  }
  return undefined;
}

/** Bytes of a Kubernetes memory quantity ("512Mi", "1G", "134217728"). */
export function quantityBytes(quantity: string): number {
  const units: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, K: 1e3, M: 1e6, G: 1e9, '': 1 };
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|K|M|G|)$/.exec(quantity);
  if (!match) throw new Error(`unsupported memory quantity ${JSON.stringify(quantity)}`);
  return Math.round(Number(match[1]) * (units[match[2] as string] as number));
}

/** The operator container's memory limit in the chart's default values (helm/values.yaml). */
export function chartOperatorMemoryLimit(): string {
  const values = parse(readFileSync(path.join(repoRoot, 'helm', 'values.yaml'), 'utf8'));
  return values.resources.limits.memory;
}
