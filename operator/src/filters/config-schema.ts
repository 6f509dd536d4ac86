// A FilterPolicy entry's config checked against its WasmFilter's configSchema, with ajv 8 (JSON
// Schema draft 2020-12): the most used and maintained JSON Schema validator for JavaScript, compiled
// validators (fast on every re-translation), and error objects with the failing path and keyword,
// which become the status message. Schema defaults are applied, so a filter receives a complete config.

import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';

export type ConfigCheck = { ok: true; config: unknown } | { ok: false; message: string };

const ajv = new Ajv2020({ allErrors: true, strict: false, useDefaults: true });
// Compiled validators by schema text: the same schema across many policies compiles once.
const compiled = new Map<string, ValidateFunction | { error: string }>();
const MAX_COMPILED = 512;

function validatorFor(schema: Record<string, unknown>): ValidateFunction | { error: string } {
  const key = JSON.stringify(schema);
  let v = compiled.get(key);
  if (!v) {
    try {
      v = ajv.compile(schema);
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
