#!/usr/bin/env node
// The `legate` command: dispatches a subcommand to its module, loaded on demand so that one
// subcommand's dependencies (or absence) never break another.

import path from 'node:path';
import { pathToFileURL } from 'node:url';

const USAGE = `usage: legate <command> [options]

commands:
  translate   translate Gateway API YAML into Envoy resources and status (legate translate --help)
  filter      build, test and publish proxy-wasm filters (legate filter --help)
`;

type Runner = (argv: string[]) => Promise<number>;

/** Loads `run` from a module, with a clear error if the module or its export is missing. */
async function load(file: string, command: string): Promise<Runner> {
  let mod: { run?: unknown };
  try {
    mod = (await import(pathToFileURL(file).href)) as { run?: unknown };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes(path.basename(file))) {
      throw new Error(`'legate ${command}' is not available in this installation (${file} is missing)`);
    }
    throw e;
  }
  if (typeof mod.run !== 'function') throw new Error(`${file} does not export run(argv)`);
  return mod.run as Runner;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const here = import.meta.dirname;
  switch (command) {
    case 'translate':
      return (await load(path.join(here, 'translate.ts'), command))(rest);
    case 'filter':
      return (await load(path.resolve(here, '..', '..', '..', 'filters', 'cli', 'main.ts'), command))(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`legate: unknown command '${command}'\n${USAGE}`);
      return 2;
  }
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`legate: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
