// Strict encoding of Envoy resources written as proto3 JSON (camelCase field names, enums as names,
// Duration as "1.5s", wrapper types as bare values, Any as {"@type": ..., fields...}).
//
// protobufjs's fromObject/verify silently drop unknown field names and unknown enum strings, so a typo
// in a generated resource would vanish. This module walks the JSON against the loaded Envoy schema
// and throws a StrictEncodeError naming the exact path of any field, enum value or type the schema
// lacks, then encodes deterministically (fields by number, map keys sorted, proto3 defaults omitted).

import protobuf from 'protobufjs';
import { envoyRoot } from './protos.ts';

/** Where in the resource a value sits; rendered to a string only when there is an error. */
interface Path {
  parent: Path | undefined;
  key: string;
}

function at(parent: Path, key: string): Path {
  return { parent, key };
}

function pathText(p: Path): string {
  let out = '';
  for (let n: Path | undefined = p; n; n = n.parent) out = n.key + out;
  return out;
}

const ROOT: Path = { parent: undefined, key: '$' };

export class StrictEncodeError extends Error {
  readonly path: string;
  constructor(path: Path, message: string) {
    const text = pathText(path);
    super(`${text}: ${message}`);
    this.name = 'StrictEncodeError';
    this.path = text;
  }
}

/** A proto3 JSON value. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
type JsonObject = { [key: string]: JsonValue };

const TYPE_PREFIX = 'type.googleapis.com/';

const WRAPPERS: Record<string, string> = {
  'google.protobuf.DoubleValue': 'double',
  'google.protobuf.FloatValue': 'float',
  'google.protobuf.Int64Value': 'int64',
  'google.protobuf.UInt64Value': 'uint64',
  'google.protobuf.Int32Value': 'int32',
  'google.protobuf.UInt32Value': 'uint32',
  'google.protobuf.BoolValue': 'bool',
  'google.protobuf.StringValue': 'string',
  'google.protobuf.BytesValue': 'bytes',
};

function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fullName(t: protobuf.ReflectionObject): string {
  return t.fullName.replace(/^\./, '');
}

/** What convertMessage needs to know about a type, computed once (protobufjs's fullName walks parents). */
interface TypeInfo {
  name: string;
  /** JSON key (camelCase or snake_case) → field. */
  fields: Map<string, protobuf.Field>;
}

const typeInfos = new WeakMap<protobuf.Type, TypeInfo>();

function typeInfo(type: protobuf.Type): TypeInfo {
  let info = typeInfos.get(type);
  if (!info) {
    const fields = new Map<string, protobuf.Field>();
    for (const f of type.fieldsArray) {
      f.resolve();
      fields.set(f.name, f);
      fields.set(
        f.name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`),
        f,
      );
    }
    info = { name: fullName(type), fields };
    typeInfos.set(type, info);
  }
  return info;
}

/** Converts a proto3 JSON message into the plain object protobufjs's encoder expects, checking it. */
function convertMessage(type: protobuf.Type, json: JsonValue, path: Path): Record<string, unknown> {
  const info = typeInfo(type);
  const name = info.name;
  if (name.startsWith('google.protobuf.')) {
    if (name === 'google.protobuf.Any') return convertAny(json, path);
    if (name === 'google.protobuf.Duration') return convertDuration(json, path);
    if (name === 'google.protobuf.Struct') return convertStruct(json, path);
    if (name === 'google.protobuf.Value') return convertValue(json, path);
    if (name === 'google.protobuf.ListValue') {
      if (!Array.isArray(json)) throw new StrictEncodeError(path, 'expected a JSON array (ListValue)');
      return { values: json.map((v, i) => convertValue(v, at(path, `[${i}]`))) };
    }
    const wrapped = WRAPPERS[name];
    if (wrapped) return { value: convertScalar(wrapped, json, path) };
  }
  if (!isObject(json)) throw new StrictEncodeError(path, `expected an object for ${name}`);

  const out: Record<string, unknown> = {};
  let oneofsSet: Map<string, string> | undefined;
  for (const key in json) {
    const field = info.fields.get(key);
    if (!field) throw new StrictEncodeError(at(path, `.${key}`), `${name} has no field '${key}'`);
    const value = json[key];
    if (value === null || value === undefined) continue;
    if (field.partOf) {
      oneofsSet ??= new Map();
      const other = oneofsSet.get(field.partOf.name);
      if (other) {
        throw new StrictEncodeError(at(path, `.${key}`), `oneof '${field.partOf.name}' already set by '${other}'`);
      }
      oneofsSet.set(field.partOf.name, key);
    }
    const converted = convertField(field, value, at(path, `.${key}`));
    if (converted === undefined) continue;
    // proto3: a scalar holding its default value is not on the wire unless it is part of a oneof.
    if (!field.partOf && !field.repeated && !field.map && isDefaultScalar(converted)) continue;
    out[field.name] = converted;
  }
  return out;
}

function isDefaultScalar(v: unknown): boolean {
  return v === 0 || v === false || v === '' || (v instanceof Uint8Array && v.length === 0);
}

function convertField(field: protobuf.Field, value: JsonValue, path: Path): unknown {
  if (field.map) {
    if (!isObject(value)) throw new StrictEncodeError(path, 'expected an object (map)');
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      out[k] = convertSingle(field, value[k] as JsonValue, at(path, `["${k}"]`));
    }
    return out;
  }
  if (field.repeated) {
    if (!Array.isArray(value)) throw new StrictEncodeError(path, 'expected an array (repeated field)');
    const out: unknown[] = [];
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      if (v === null || v === undefined) throw new StrictEncodeError(at(path, `[${i}]`), 'null in a repeated field');
      out.push(convertSingle(field, v, at(path, `[${i}]`)));
    }
    return out;
  }
  return convertSingle(field, value, path);
}

function convertSingle(field: protobuf.Field, value: JsonValue, path: Path): unknown {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Type) return convertMessage(rt, value, path);
  if (rt instanceof protobuf.Enum) return convertEnum(rt, value, path);
  return convertScalar(field.type, value, path);
}

function convertEnum(e: protobuf.Enum, value: JsonValue, path: Path): number {
  if (typeof value === 'string') {
    const n = e.values[value];
    if (n === undefined) {
      throw new StrictEncodeError(
        path,
        `enum ${fullName(e)} has no value '${value}' (has ${Object.keys(e.values).join(', ')})`,
      );
    }
    return n;
  }
  if (typeof value === 'number' && e.valuesById[value] !== undefined) return value;
  throw new StrictEncodeError(path, `invalid value ${JSON.stringify(value)} for enum ${fullName(e)}`);
}

const INT_RANGES: Record<string, [number, number]> = {
  int32: [-2147483648, 2147483647],
  sint32: [-2147483648, 2147483647],
  sfixed32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
  fixed32: [0, 4294967295],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  sint64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  sfixed64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint64: [0, Number.MAX_SAFE_INTEGER],
  fixed64: [0, Number.MAX_SAFE_INTEGER],
};

function convertScalar(type: string, value: JsonValue, path: Path): unknown {
  const range = INT_RANGES[type];
  if (range) {
    const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < range[0] || n > range[1]) {
      throw new StrictEncodeError(path, `expected ${type}, got ${JSON.stringify(value)}`);
    }
    return n;
  }
  switch (type) {
    case 'double':
    case 'float':
      if (typeof value !== 'number')
        throw new StrictEncodeError(path, `expected a number, got ${JSON.stringify(value)}`);
      return value;
    case 'bool':
      if (typeof value !== 'boolean')
        throw new StrictEncodeError(path, `expected a boolean, got ${JSON.stringify(value)}`);
      return value;
    case 'string':
      if (typeof value !== 'string')
        throw new StrictEncodeError(path, `expected a string, got ${JSON.stringify(value)}`);
      return value;
    case 'bytes':
      if (typeof value !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(value)) {
        throw new StrictEncodeError(path, 'expected base64 bytes');
      }
      return new Uint8Array(Buffer.from(value, 'base64'));
    default:
      throw new StrictEncodeError(path, `unsupported scalar type ${type}`);
  }
}

function convertDuration(json: JsonValue, path: Path): Record<string, unknown> {
  const m = typeof json === 'string' ? /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(json) : null;
  if (!m) throw new StrictEncodeError(path, `expected a Duration such as "1.5s", got ${JSON.stringify(json)}`);
  const sign = m[1] ? -1 : 1;
  const seconds = Number(m[2]) * sign;
  const nanos = m[3] ? Number(m[3].padEnd(9, '0')) * sign : 0;
  const out: Record<string, unknown> = {};
  if (seconds) out.seconds = seconds;
  if (nanos) out.nanos = nanos;
  return out;
}

function convertStruct(json: JsonValue, path: Path): Record<string, unknown> {
  if (!isObject(json)) throw new StrictEncodeError(path, 'expected an object (Struct)');
  const fields: Record<string, unknown> = {};
  for (const k of Object.keys(json).sort()) fields[k] = convertValue(json[k] as JsonValue, at(path, `.${k}`));
  return { fields };
}

function convertValue(json: JsonValue, path: Path): Record<string, unknown> {
  if (json === null) return { nullValue: 0 };
  if (typeof json === 'number') return { numberValue: json };
  if (typeof json === 'string') return { stringValue: json };
  if (typeof json === 'boolean') return { boolValue: json };
  if (Array.isArray(json)) return { listValue: { values: json.map((v, i) => convertValue(v, at(path, `[${i}]`))) } };
  return { structValue: convertStruct(json, path) };
}

function convertAny(json: JsonValue, path: Path): Record<string, unknown> {
  // An empty Any (`{}`): present with no type URL, as in the FilterConfig that enables a
  // chain-disabled HTTP filter on one route (Envoy reads it as "enabled, no per-route config").
  if (isObject(json) && Object.keys(json).length === 0) return {};
  if (!isObject(json) || typeof json['@type'] !== 'string') {
    throw new StrictEncodeError(path, 'expected an Any with an "@type"');
  }
  const url = json['@type'];
  const { '@type': _, ...rest } = json;
  const inner = lookupMessage(url, at(path, '["@type"]'));
  const special = typeInfo(inner).name;
  // Well-known types inside Any keep their JSON form under "value".
  const body = special.startsWith('google.protobuf.') && special !== 'google.protobuf.Empty' ? rest.value : rest;
  const bytes = inner.encode(convertMessage(inner, body as JsonValue, at(path, `<${special}>`))).finish();
  return { type_url: url, value: bytes };
}

const typesByUrl = new Map<string, protobuf.Type>();

function lookupMessage(url: string, path: Path): protobuf.Type {
  const cached = typesByUrl.get(url);
  if (cached) return cached;
  if (!url.startsWith(TYPE_PREFIX)) throw new StrictEncodeError(path, `type URL must start with ${TYPE_PREFIX}`);
  const name = url.slice(TYPE_PREFIX.length);
  const found = envoyRoot().lookup(name);
  if (!(found instanceof protobuf.Type)) throw new StrictEncodeError(path, `unknown message type '${name}'`);
  typesByUrl.set(url, found);
  return found;
}

/**
 * Checks a proto3 JSON resource of the given type URL against the Envoy schema and encodes it.
 * Deterministic: the same JSON always gives the same bytes. Throws StrictEncodeError on anything the
 * schema lacks.
 */
export function strictEncode(typeUrlOrName: string, json: JsonValue): Uint8Array {
  const type = lookupMessage(
    typeUrlOrName.startsWith(TYPE_PREFIX) ? typeUrlOrName : `${TYPE_PREFIX}${typeUrlOrName}`,
    ROOT,
  );
  return type.encode(convertMessage(type, json, ROOT)).finish();
}

/** Checks a resource without keeping the bytes (throws StrictEncodeError like strictEncode). */
export function strictCheck(typeUrlOrName: string, json: JsonValue): void {
  strictEncode(typeUrlOrName, json);
}
