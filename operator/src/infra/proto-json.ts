// Reads proto3 JSON (what Envoy reads from its -c file) into a protobufjs message, strictly: an
// unknown field, a bad enum name or a value of the wrong shape is an error with its path, where
// protobufjs's own fromObject would drop it without a word. Used to hold the bootstrap to Envoy's
// schema. (Once operator/src/envoy/ has the translator's strict encoder, this should defer to it.)

import protobuf from 'protobufjs';
import { envoyRoot } from '../envoy/protos.ts';

type Obj = Record<string, unknown>;

const wrapperTypes = new Set(
  ['Double', 'Float', 'Int64', 'UInt64', 'Int32', 'UInt32', 'Bool', 'String', 'Bytes'].map(
    (t) => `google.protobuf.${t}Value`,
  ),
);

function fullName(type: protobuf.Type): string {
  return type.fullName.replace(/^\./, '');
}

function parseDuration(value: unknown, path: string): Obj {
  const match = typeof value === 'string' ? /^(-?\d+)(?:\.(\d{1,9}))?s$/.exec(value) : null;
  if (!match) throw new Error(`${path}: '${String(value)}' is not a proto3 JSON Duration such as "5s"`);
  return { seconds: Number(match[1]), nanos: Number((match[2] ?? '').padEnd(9, '0')) };
}

function convertValue(field: protobuf.Field, value: unknown, path: string): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Enum) {
    if (typeof value === 'number' && Object.values(resolved.values).includes(value)) return value;
    if (typeof value === 'string' && value in resolved.values) return resolved.values[value];
    throw new Error(`${path}: '${String(value)}' is not a value of ${resolved.fullName}`);
  }
  if (resolved instanceof protobuf.Type) return convertMessage(resolved, value, path);
  const scalarOk: Record<string, (v: unknown) => boolean> = {
    string: (v) => typeof v === 'string',
    bool: (v) => typeof v === 'boolean',
    bytes: (v) => typeof v === 'string',
  };
  const check = scalarOk[field.type] ?? ((v: unknown) => typeof v === 'number' || /^-?\d+$/.test(String(v)));
  if (!check(value)) throw new Error(`${path}: ${JSON.stringify(value)} is not a ${field.type}`);
  return value;
}

/** proto3 JSON → a plain object protobufjs's fromObject accepts, failing on anything it would drop. */
export function fromProtoJson(type: protobuf.Type, json: unknown, path = '$'): Obj {
  return convertMessage(type, json, path) as Obj;
}

function convertMessage(type: protobuf.Type, json: unknown, path: string): unknown {
  const name = fullName(type);
  if (name === 'google.protobuf.Duration') return parseDuration(json, path);
  if (name === 'google.protobuf.Struct' || name === 'google.protobuf.Value') return json;
  if (wrapperTypes.has(name)) return { value: convertValue(type.fields.value as protobuf.Field, json, path) };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new Error(`${path}: expected an object for ${name}`);
  }
  const input = json as Obj;
  if (name === 'google.protobuf.Any') {
    const url = input['@type'];
    if (typeof url !== 'string') throw new Error(`${path}: Any without @type`);
    const inner = envoyRoot().lookupType(url.replace(/^type\.googleapis\.com\//, ''));
    const { '@type': _, ...rest } = input;
    return { typeUrl: url, value: inner.encode(inner.fromObject(fromProtoJson(inner, rest, path))).finish() };
  }
  const out: Obj = {};
  for (const [key, value] of Object.entries(input)) {
    const field = type.fields[key] ?? Object.values(type.fields).find((f) => f.name === key || snake(f.name) === key);
    if (!field) throw new Error(`${path}.${key}: no such field in ${name}`);
    field.resolve();
    const at = `${path}.${key}`;
    if (field.map) {
      out[field.name] = Object.fromEntries(
        Object.entries(value as Obj).map(([k, v]) => [k, convertValue(field, v, `${at}.${k}`)]),
      );
    } else if (field.repeated) {
      if (!Array.isArray(value)) throw new Error(`${at}: expected a list`);
      out[field.name] = value.map((v, i) => convertValue(field, v, `${at}[${i}]`));
    } else {
      out[field.name] = convertValue(field, value, at);
    }
  }
  return out;
}

function snake(camel: string): string {
  return camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Encodes proto3 JSON as the named Envoy message, strictly; returns the wire bytes. */
export function encodeProtoJson(typeName: string, json: unknown): Uint8Array {
  const type = envoyRoot().lookupType(typeName);
  const plain = fromProtoJson(type, json);
  const problem = type.verify(plain);
  if (problem) throw new Error(`${typeName}: ${problem}`);
  return type.encode(type.fromObject(plain)).finish();
}
