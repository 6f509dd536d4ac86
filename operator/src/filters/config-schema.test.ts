import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkConfig, schemaProblem } from './config-schema.ts';
import { wasmFilterStatus } from './wasm-filter-status.ts';

const builtinSchema = (name: string): Record<string, unknown> =>
  JSON.parse(
    readFileSync(
      join(import.meta.dirname, '..', '..', '..', 'filters', 'builtins', name, 'config.schema.json'),
      'utf8',
    ),
  );

const passes = (schema: Record<string, unknown>, config: unknown) => {
  const r = checkConfig(schema, config);
  assert.ok(r.ok, r.ok ? '' : r.message);
  return r.config as Record<string, unknown>;
};
const fails = (schema: Record<string, unknown>, config: unknown): string => {
  const r = checkConfig(schema, config);
  assert.ok(!r.ok, `expected ${JSON.stringify(config)} to be refused`);
  return r.message;
};

describe('configSchema dialects', () => {
  it('compiles the built-in filters’ schemas (draft-07) and checks a sample config with them', () => {
    const auth = builtinSchema('auth');
    const ratelimit = builtinSchema('ratelimit');
    assert.equal(schemaProblem(auth), undefined);
    assert.equal(schemaProblem(ratelimit), undefined);
    passes(auth, { apiKeys: { keys: [{ sha256: 'a'.repeat(64), consumer: 'c' }] } });
    fails(auth, {});
    const filled = passes(ratelimit, { rules: [{ name: 'all', requests: 10 }] });
    assert.equal(filled.domain, 'default', 'the schema default is applied');
    assert.match(fails(ratelimit, { rules: [{ name: 'a', requests: 1, burts: 2 }] }), /unknown field 'burts'/);
    // What the WasmFilter's status says about it.
    const status = wasmFilterStatus(
      {
        metadata: { namespace: 'legate-system', name: 'legate-auth' },
        spec: { source: { type: 'ConfigMap', configMap: { name: 'm', key: 'filter.wasm' } }, configSchema: auth },
      },
      undefined,
    );
    const accepted = status.conditions?.find((c) => c.type === 'Accepted');
    assert.equal(accepted?.status, 'True', accepted?.message);
  });

  it('reads each schema in the dialect its $schema names', () => {
    // `items` as an array is a tuple in draft-07 and 2019-09, and not a schema at all in 2020-12.
    const tuple = (dialect?: string) => ({
      ...(dialect ? { $schema: dialect } : {}),
      type: 'array',
      items: [{ type: 'string' }],
    });
    for (const dialect of [
      'http://json-schema.org/draft-07/schema#',
      'http://json-schema.org/draft-07/schema',
      'https://json-schema.org/draft/2019-09/schema',
    ]) {
      assert.equal(schemaProblem(tuple(dialect)), undefined, dialect);
      fails(tuple(dialect), [1]);
      passes(tuple(dialect), ['a', 1]);
    }
    for (const dialect of [undefined, 'https://json-schema.org/draft/2020-12/schema']) {
      assert.match(schemaProblem(tuple(dialect)) ?? '', /items/, String(dialect));
      const prefix = { ...(dialect ? { $schema: dialect } : {}), prefixItems: [{ type: 'string' }] };
      fails(prefix, [1]);
    }
  });

  it('refuses a dialect it does not support with a message that names the supported ones', () => {
    const problem = schemaProblem({ $schema: 'http://json-schema.org/draft-04/schema#', type: 'object' });
    assert.match(problem ?? '', /"http:\/\/json-schema.org\/draft-04\/schema#" is not a supported/);
    assert.match(problem ?? '', /draft-07.*2019-09.*2020-12/);
    assert.match(checkConfig({ $schema: 42 }, {}).ok ? '' : 'refused', /refused/);
  });

  it('takes a changed schema that keeps its $id, without a restart', () => {
    for (const dialect of ['http://json-schema.org/draft-07/schema#', undefined]) {
      const v1 = { $schema: dialect, $id: `https://example.test/${dialect ?? 'none'}.json`, type: 'object' };
      passes(v1, { a: 1 });
      const v2 = { ...v1, required: ['b'] };
      assert.equal(schemaProblem(v2), undefined);
      fails(v2, { a: 1 });
      passes(v2, { b: 1 });
      // And back: the first version still compiles too.
      assert.equal(schemaProblem({ ...v1, title: 'v3' }), undefined);
    }
  });

  it('never resolves one schema’s $ref to another schema’s $id', () => {
    const other = { $id: 'https://example.test/team-a.json', type: 'object', properties: { x: { type: 'string' } } };
    assert.equal(schemaProblem(other), undefined);
    const problem = schemaProblem({
      $id: 'https://example.test/team-b.json',
      $ref: 'https://example.test/team-a.json',
    });
    assert.match(problem ?? '', /can't resolve reference/);
  });
});
