// A FilterPolicy entry's config checked against its WasmFilter's configSchema, with ajv 8: the most
// used and maintained JSON Schema validator for JavaScript, compiled validators (fast on every
// re-translation), and error objects with the failing path and keyword, which become the status
// message. Schema defaults are applied, so a filter receives a complete config.
//
// The dialect follows the schema's `$schema`: draft-07, 2019-09 or 2020-12 (the default when there is
// none); any other is refused with a message naming the supported ones. Each schema is compiled by
// an ajv instance of its own, never shared: ajv registers every `$id` it compiles in its instance,
// so a shared instance refuses an edited schema that keeps its `$id` ("schema with key or id ...
// already exists") until a restart, and would let one team's schema `$ref` another team's by `$id`.

import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020, type ErrorObject, type Options, type ValidateFunction } from 'ajv/dist/2020.js';
import { Ajv } from 'ajv/dist/ajv.js';

export type ConfigCheck = { ok: true; config: unknown } | { ok: false; message: string };

const options: Options = { allErrors: true, strict: false, useDefaults: true };

/** The JSON Schema dialects a configSchema may declare in `$schema` (compared without a trailing `#`). */
const dialects = {
  'http://json-schema.org/draft-07/schema': () => new Ajv(options),
  'https://json-schema.org/draft/2019-09/schema': () => new Ajv2019(options),
  'https://json-schema.org/draft/2020-12/schema': () => new Ajv2020(options),
} as const;
type Dialect = keyof typeof dialects;

const supported = `supported: ${Object.keys(dialects)
  .map((d) => `"${d}"`)
  .join(', ')} (a trailing "#" is allowed), or no $schema for 2020-12`;

function compile(schema: Record<string, unknown>): ValidateFunction {
  const declared = schema.$schema;
  if (declared === undefined) return new Ajv2020(options).compile(schema);
  const dialect = typeof declared === 'string' ? declared.replace(/#$/, '') : undefined;
  if (dialect === undefined || !(dialect in dialects))
    throw new Error(`$schema ${JSON.stringify(declared)} is not a supported JSON Schema dialect; ${supported}`);
  return dialects[dialect as Dialect]().compile(schema);
}

// Compiled validators by schema text: the same schema across many policies compiles once.
const compiled = new Map<string, ValidateFunction | { error: string }>();
const MAX_COMPILED = 512;

function validatorFor(schema: Record<string, unknown>): ValidateFunction | { error: string } {
  const key = JSON.stringify(schema);
  let v = compiled.get(key);
  if (!v) {
    try {
      // A copy: ajv keeps the schema object it compiled, and the caller's may change later.
      v = compile(structuredClone(schema));
    } catch (e) {
      v = { error: (e as Error).message };
    }
    if (compiled.size >= MAX_COMPILED) compiled.clear();
    compiled.set(key, v);
  }
  return v;
}

function describeError(e: ErrorObject): string {
  const at = e.instancePath === '' ? 'config' : `config${e.instancePath.replaceAll('/', '.')}`;
  if (e.keyword === 'additionalProperties') return `${at} has unknown field '${String(e.params.additionalProperty)}'`;
  if (e.keyword === 'required') return `${at} is missing required field '${String(e.params.missingProperty)}'`;
  if (e.keyword === 'enum') return `${at} must be one of ${JSON.stringify(e.params.allowedValues)}`;
  return `${at} ${e.message ?? 'is invalid'}`;
}

/** Why a configSchema is not a usable JSON Schema, or undefined when it is (or there is none). */
export function schemaProblem(schema: Record<string, unknown> | undefined): string | undefined {
  if (!schema) return undefined;
  const validate = validatorFor(schema);
  return 'call' in validate ? undefined : validate.error;
}

/**
 * Validates (a copy of) `config` against `schema`; no schema accepts anything. The returned config
 * has the schema's defaults filled in.
 */
export function checkConfig(schema: Record<string, unknown> | undefined, config: unknown): ConfigCheck {
  const copy = structuredClone(config ?? {});
  if (!schema) return { ok: true, config: copy };
  const validate = validatorFor(schema);
  if (!('call' in validate))
    return { ok: false, message: `the WasmFilter's configSchema is not a valid JSON Schema: ${validate.error}` };
  if (validate(copy)) return { ok: true, config: copy };
  return { ok: false, message: (validate.errors ?? []).map(describeError).join('; ') };
}

/** JSON with object keys sorted, so equal configs give byte-identical Envoy resources. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}
