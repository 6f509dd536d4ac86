// Bad input is data: translation must never throw, whatever shape the objects have. Each golden
// scenario is mutated many times (a field removed, nulled, or given a value of the wrong type, at
// any depth) with a seeded generator, and translated; every mutation must translate without an
// exception and without a strict-encoding error.

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { readInput } from '../cli/translate.ts';
import type { TranslationInput } from './index.ts';
import { translate } from './index.ts';

const scenarios = path.join(import.meta.dirname, 'testdata', 'scenarios');

/** A small deterministic PRNG (mulberry32), so a failure is reproducible. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Node = Record<string, unknown> | unknown[];

function containers(value: unknown, out: Node[] = []): Node[] {
  if (value && typeof value === 'object') {
    out.push(value as Node);
    for (const v of Object.values(value)) containers(v, out);
  }
  return out;
}

const WRONG: unknown[] = [null, 42, -1, 'x', '', true, [], {}, [null], { name: 7 }];

function mutate(input: TranslationInput, random: () => number): string {
  const all = containers(input).filter((c) => Object.keys(c).length > 0 && c !== input);
  const target = all[Math.floor(random() * all.length)] as Record<string, unknown>;
  const keys = Object.keys(target);
  const key = keys[Math.floor(random() * keys.length)] as string;
  // YAML and JSON have no sparse arrays: delete object fields only, put wrong values anywhere.
  if (!Array.isArray(target) && random() < 0.3) {
    delete target[key];
    return `delete ${key}`;
  }
  const value = WRONG[Math.floor(random() * WRONG.length)];
  target[key] = value;
  return `${key} = ${JSON.stringify(value)}`;
}

describe('translation never throws on malformed objects', () => {
  for (const file of readdirSync(scenarios)
    .filter((f) => f.endsWith('.yaml'))
    .sort()) {
    it(file, () => {
      const random = rng(file.length * 7919);
      for (let i = 0; i < 60; i++) {
        const input = readInput([path.join(scenarios, file)], () => '');
        const what = [mutate(input, random), mutate(input, random)].join(', ');
        let result: ReturnType<typeof translate> | undefined;
        assert.doesNotThrow(() => {
          result = translate(input);
        }, `${file} mutation ${i}: ${what}`);
        for (const t of result?.gateways.values() ?? []) {
          assert.deepEqual(t.errors, [], `${file} mutation ${i}: ${what}`);
        }
      }
    });
  }
});
