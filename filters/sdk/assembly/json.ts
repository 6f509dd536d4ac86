// A small JSON parser and writer (RFC 8259) for plugin configurations and token payloads.
// AssemblyScript has no catchable exceptions, so parsing returns a result that carries either the
// value or an error naming the line and column.

export enum JsonKind {
  Null = 0,
  Bool = 1,
  Number = 2,
  String = 3,
  Array = 4,
  Object = 5,
}

export class JsonValue {
  constructor(public readonly kind: JsonKind) {}

  isNull(): bool {
    return this.kind == JsonKind.Null;
  }
  isBool(): bool {
    return this.kind == JsonKind.Bool;
  }
  isNumber(): bool {
    return this.kind == JsonKind.Number;
  }
  isString(): bool {
    return this.kind == JsonKind.String;
  }
  isArray(): bool {
    return this.kind == JsonKind.Array;
  }
  isObject(): bool {
    return this.kind == JsonKind.Object;
  }

  /** The value as its subclass; check the kind first (a wrong cast traps). */
  asBool(): JsonBool {
    return changetype<JsonBool>(this);
  }
  asNumber(): JsonNumber {
    return changetype<JsonNumber>(this);
  }
  asString(): JsonString {
    return changetype<JsonString>(this);
  }
  asArray(): JsonArray {
    return changetype<JsonArray>(this);
  }
  asObject(): JsonObject {
    return changetype<JsonObject>(this);
  }

  /** "null", "boolean", "number", "string", "array" or "object": for error messages. */
  kindName(): string {
    switch (this.kind) {
      case JsonKind.Null:
        return 'null';
      case JsonKind.Bool:
        return 'boolean';
      case JsonKind.Number:
        return 'number';
      case JsonKind.String:
        return 'string';
      case JsonKind.Array:
        return 'array';
      default:
        return 'object';
    }
  }

  /** Compact JSON text. */
  stringify(): string {
    return 'null';
  }

  // Typed access without null checks or casts: each accessor answers its fallback when the value is
  // absent or of another type, and field/item/pointer answer a "missing" value (isMissing()) that
  // reads as absent all the way down, so a chain such as
  //   parsed.root().field('claims').field('tenant').text()
  // needs no `!` and cannot trap.

  /** The string, or `fallback` when this is not a string. */
  text(fallback: string = ''): string {
    return this.kind == JsonKind.String ? changetype<JsonString>(this).value : fallback;
  }
  /** The number, or `fallback` when this is not a number. */
  number(fallback: f64 = 0): f64 {
    return this.kind == JsonKind.Number ? changetype<JsonNumber>(this).value : fallback;
  }
  /** The number when it is an integer in the i64 range, else `fallback`. */
  integer(fallback: i64 = 0): i64 {
    if (this.kind != JsonKind.Number) return fallback;
    const v = changetype<JsonNumber>(this).value;
    return Math.trunc(v) == v && v >= -9.223372036854776e18 && v < 9.223372036854776e18 ? <i64>v : fallback;
  }
  /** The boolean, or `fallback` when this is not a boolean. */
  boolean(fallback: bool = false): bool {
    return this.kind == JsonKind.Bool ? changetype<JsonBool>(this).value : fallback;
  }
  /** The member `key` of an object; missing when absent or when this is not an object. */
  field(key: string): JsonValue {
    if (this.kind == JsonKind.Object) {
      const v = changetype<JsonObject>(this).get(key);
      if (v != null) return v;
    }
    return new JsonMissing();
  }
  /** Element `index` of an array; missing when out of range or when this is not an array. */
  item(index: i32): JsonValue {
    if (this.kind == JsonKind.Array) {
      const items = changetype<JsonArray>(this).items;
      if (index >= 0 && index < items.length) return items[index];
    }
    return new JsonMissing();
  }
  /** Elements of an array, members of an object, 0 otherwise. */
  size(): i32 {
    if (this.kind == JsonKind.Array) return changetype<JsonArray>(this).items.length;
    if (this.kind == JsonKind.Object) return changetype<JsonObject>(this).keys.length;
    return 0;
  }
  /** An array's elements (empty for anything else). */
  elements(): JsonValue[] {
    return this.kind == JsonKind.Array ? changetype<JsonArray>(this).items : [];
  }
  /** An object's keys in document order (empty for anything else). */
  memberNames(): string[] {
    return this.kind == JsonKind.Object ? changetype<JsonObject>(this).keys : [];
  }
  /** The array of strings in this array, skipping non-strings (empty for anything else). */
  texts(): string[] {
    const out: string[] = [];
    if (this.kind != JsonKind.Array) return out;
    const items = changetype<JsonArray>(this).items;
    for (let i = 0; i < items.length; i++) if (items[i].kind == JsonKind.String) out.push(items[i].text());
    return out;
  }
  /**
   * The value at an RFC 6901 JSON Pointer ("/claims/groups/0"; "~1" is "/", "~0" is "~"; "" is this
   * value); missing when any step is absent.
   */
  pointer(path: string): JsonValue {
    if (path == '') return this;
    if (path.charCodeAt(0) != 47) return new JsonMissing();
    let v: JsonValue = this;
    let start = 1;
    while (true) {
      let end = path.indexOf('/', start);
      if (end < 0) end = path.length;
      const token = path.substring(start, end).replaceAll('~1', '/').replaceAll('~0', '~');
      if (v.kind == JsonKind.Array) {
        let index = -1;
        if (token.length > 0 && token.length < 10 && (token == '0' || token.charCodeAt(0) != 48)) {
          index = 0;
          for (let i = 0; i < token.length; i++) {
            const c = token.charCodeAt(i);
            if (c < 48 || c > 57) {
              index = -1;
              break;
            }
            index = index * 10 + (c - 48);
          }
        }
        v = v.item(index);
      } else {
        v = v.field(token);
      }
      if (end >= path.length) return v;
      start = end + 1;
    }
  }
  /** True for the value field/item/pointer answer when there is nothing there. */
  isMissing(): bool {
    return this instanceof JsonMissing;
  }
  /** Present and not null. */
  exists(): bool {
    return this.kind != JsonKind.Null;
  }
}

/** What field/item/pointer answer when there is no value: reads as null, isMissing() is true. */
export class JsonMissing extends JsonValue {
  constructor() {
    super(JsonKind.Null);
  }
}

export class JsonNull extends JsonValue {
  constructor() {
    super(JsonKind.Null);
  }
}

export class JsonBool extends JsonValue {
  constructor(public readonly value: bool) {
    super(JsonKind.Bool);
  }
  stringify(): string {
    return this.value ? 'true' : 'false';
  }
}

export class JsonNumber extends JsonValue {
  constructor(public readonly value: f64) {
    super(JsonKind.Number);
  }
  /** True for integral values that fit an i64 exactly enough for counts, limits and timestamps. */
  isInteger(): bool {
    return Math.floor(this.value) == this.value && Math.abs(this.value) <= 9007199254740991.0;
  }
  stringify(): string {
    if (this.isInteger()) return (<i64>this.value).toString();
    return this.value.toString();
  }
}

export class JsonString extends JsonValue {
  constructor(public readonly value: string) {
    super(JsonKind.String);
  }
  stringify(): string {
    return jsonQuote(this.value);
  }
}

export class JsonArray extends JsonValue {
  constructor(public readonly items: JsonValue[] = []) {
    super(JsonKind.Array);
  }
  get length(): i32 {
    return this.items.length;
  }
  at(index: i32): JsonValue {
    return this.items[index];
  }
  push(value: JsonValue): JsonArray {
    this.items.push(value);
    return this;
  }
  pushString(value: string): JsonArray {
    return this.push(new JsonString(value));
  }
  pushNumber(value: f64): JsonArray {
    return this.push(new JsonNumber(value));
  }
  pushBool(value: bool): JsonArray {
    return this.push(new JsonBool(value));
  }
  stringify(): string {
    const parts = new Array<string>(this.items.length);
    for (let i = 0; i < this.items.length; i++) parts[i] = this.items[i].stringify();
    return '[' + parts.join(',') + ']';
  }
}

export class JsonObject extends JsonValue {
  /** Keys in document order (a repeated key keeps its first position and its last value). */
  readonly keys: string[] = [];
  private readonly map: Map<string, JsonValue> = new Map<string, JsonValue>();

  constructor() {
    super(JsonKind.Object);
  }
  has(key: string): bool {
    return this.map.has(key);
  }
  /** The member, or null when absent. */
  get(key: string): JsonValue | null {
    return this.map.has(key) ? this.map.get(key) : null;
  }
  set(key: string, value: JsonValue): JsonObject {
    if (!this.map.has(key)) this.keys.push(key);
    this.map.set(key, value);
    return this;
  }
  /** Typed setters, chained to build a body: new JsonObject().setString("error", "no tenant").setNumber("status", 400).stringify(). */
  setString(key: string, value: string): JsonObject {
    return this.set(key, new JsonString(value));
  }
  setNumber(key: string, value: f64): JsonObject {
    return this.set(key, new JsonNumber(value));
  }
  setBool(key: string, value: bool): JsonObject {
    return this.set(key, new JsonBool(value));
  }
  setNull(key: string): JsonObject {
    return this.set(key, new JsonNull());
  }
  setStrings(key: string, values: string[]): JsonObject {
    const a = new JsonArray();
    for (let i = 0; i < values.length; i++) a.pushString(values[i]);
    return this.set(key, a);
  }
  /** Shorthands for the common member types; null when absent or of another type. */
  getString(key: string): string | null {
    const v = this.get(key);
    return v != null && v.isString() ? v.asString().value : null;
  }
  getNumber(key: string, fallback: f64 = NaN): f64 {
    const v = this.get(key);
    return v != null && v.isNumber() ? v.asNumber().value : fallback;
  }
  getBool(key: string, fallback: bool = false): bool {
    const v = this.get(key);
    return v != null && v.isBool() ? v.asBool().value : fallback;
  }
  stringify(): string {
    const parts = new Array<string>(this.keys.length);
    for (let i = 0; i < this.keys.length; i++) {
      const k = this.keys[i];
      parts[i] = jsonQuote(k) + ':' + this.map.get(k).stringify();
    }
    return '{' + parts.join(',') + '}';
  }
}

/** The outcome of parseJson: `value` when `ok`, else `error` ("line 2, column 7: expected ','"). */
export class JsonResult {
  constructor(
    public readonly value: JsonValue | null,
    public readonly error: string,
  ) {}
  get ok(): bool {
    return this.value != null;
  }
  /** The parsed value, or a missing value when parsing failed (its accessors give their fallbacks). */
  root(): JsonValue {
    const v = this.value;
    return v != null ? v : new JsonMissing();
  }
}

/** Nesting deeper than this is refused rather than risking the VM's stack. */
const MAX_DEPTH = 64;

class Parser {
  pos: i32 = 0;
  error: string = '';
  constructor(public readonly text: string) {}

  fail(message: string): JsonValue | null {
    if (this.error.length == 0) {
      let line = 1;
      let col = 1;
      for (let i = 0; i < this.pos && i < this.text.length; i++) {
        if (this.text.charCodeAt(i) == 10) {
          line++;
          col = 1;
        } else col++;
      }
      this.error = 'line ' + line.toString() + ', column ' + col.toString() + ': ' + message;
    }
    return null;
  }

  skipSpace(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c == 32 || c == 9 || c == 10 || c == 13) this.pos++;
      else break;
    }
  }

  peek(): i32 {
    return this.pos < this.text.length ? this.text.charCodeAt(this.pos) : -1;
  }

  literal(word: string, value: JsonValue): JsonValue | null {
    if (this.text.substr(this.pos, word.length) == word) {
      this.pos += word.length;
      return value;
    }
    return this.fail('unexpected token');
  }

  value(depth: i32): JsonValue | null {
    if (depth > MAX_DEPTH) return this.fail('nesting deeper than ' + MAX_DEPTH.toString());
    this.skipSpace();
    const c = this.peek();
    if (c == 123) return this.object(depth);
    if (c == 91) return this.array(depth);
    if (c == 34) {
      const s = this.string();
      return s != null ? new JsonString(s) : null;
    }
    if (c == 116) return this.literal('true', new JsonBool(true));
    if (c == 102) return this.literal('false', new JsonBool(false));
    if (c == 110) return this.literal('null', new JsonNull());
    if (c == 45 || (c >= 48 && c <= 57)) return this.number();
    if (c < 0) return this.fail('unexpected end of input');
    return this.fail("unexpected character '" + String.fromCharCode(c) + "'");
  }

  digits(): i32 {
    const start = this.pos;
    while (this.pos < this.text.length) {
      const d = this.text.charCodeAt(this.pos);
      if (d < 48 || d > 57) break;
      this.pos++;
    }
    return this.pos - start;
  }

  number(): JsonValue | null {
    const start = this.pos;
    if (this.peek() == 45) this.pos++;
    const first = this.peek();
    const intDigits = this.digits();
    if (intDigits == 0) return this.fail('expected a digit');
    if (first == 48 && intDigits > 1) {
      this.pos = start;
      return this.fail('leading zeros are not allowed');
    }
    if (this.peek() == 46) {
      this.pos++;
      if (this.digits() == 0) return this.fail("expected a digit after '.'");
    }
    const e = this.peek();
    if (e == 101 || e == 69) {
      this.pos++;
      const sign = this.peek();
      if (sign == 43 || sign == 45) this.pos++;
      if (this.digits() == 0) return this.fail('expected a digit in the exponent');
    }
    return new JsonNumber(parseFloat(this.text.substring(start, this.pos)));
  }

  hex4(): i32 {
    if (this.pos + 4 > this.text.length) return -1;
    let v = 0;
    for (let i = 0; i < 4; i++) {
      const c = this.text.charCodeAt(this.pos + i);
      let d = -1;
      if (c >= 48 && c <= 57) d = c - 48;
      else if (c >= 97 && c <= 102) d = c - 87;
      else if (c >= 65 && c <= 70) d = c - 55;
      if (d < 0) return -1;
      v = (v << 4) | d;
    }
    this.pos += 4;
    return v;
  }

  string(): string | null {
    this.pos++; // opening quote
    const t = this.text;
    let out = '';
    let runStart = this.pos;
    while (true) {
      if (this.pos >= t.length) {
        this.fail('unterminated string');
        return null;
      }
      const c = t.charCodeAt(this.pos);
      if (c == 34) {
        out += t.substring(runStart, this.pos);
        this.pos++;
        return out;
      }
      if (c < 32) {
        this.fail('control character in string');
        return null;
      }
      if (c != 92) {
        this.pos++;
        continue;
      }
      out += t.substring(runStart, this.pos);
      this.pos++;
      const esc = this.peek();
      this.pos++;
      if (esc == 34) out += '"';
      else if (esc == 92) out += '\\';
      else if (esc == 47) out += '/';
      else if (esc == 98) out += '\b';
      else if (esc == 102) out += '\f';
      else if (esc == 110) out += '\n';
      else if (esc == 114) out += '\r';
      else if (esc == 116) out += '\t';
      else if (esc == 117) {
        const code = this.hex4();
        if (code < 0) {
          this.fail('bad \\u escape');
          return null;
        }
        out += String.fromCharCode(code);
      } else {
        this.pos--;
        this.fail('bad escape');
        return null;
      }
      runStart = this.pos;
    }
  }

  array(depth: i32): JsonValue | null {
    this.pos++;
    const arr = new JsonArray();
    this.skipSpace();
    if (this.peek() == 93) {
      this.pos++;
      return arr;
    }
    while (true) {
      const v = this.value(depth + 1);
      if (v == null) return null;
      arr.items.push(v);
      this.skipSpace();
      const c = this.peek();
      if (c == 44) {
        this.pos++;
        continue;
      }
      if (c == 93) {
        this.pos++;
        return arr;
      }
      return this.fail("expected ',' or ']'");
    }
  }

  object(depth: i32): JsonValue | null {
    this.pos++;
    const obj = new JsonObject();
    this.skipSpace();
    if (this.peek() == 125) {
      this.pos++;
      return obj;
    }
    while (true) {
      this.skipSpace();
      if (this.peek() != 34) return this.fail('expected a string key');
      const key = this.string();
      if (key == null) return null;
      this.skipSpace();
      if (this.peek() != 58) return this.fail("expected ':'");
      this.pos++;
      const v = this.value(depth + 1);
      if (v == null) return null;
      obj.set(key, v);
      this.skipSpace();
      const c = this.peek();
      if (c == 44) {
        this.pos++;
        continue;
      }
      if (c == 125) {
        this.pos++;
        return obj;
      }
      return this.fail("expected ',' or '}'");
    }
  }
}

/** Parses one JSON document (surrounding whitespace allowed, trailing content is an error). */
export function parseJson(text: string): JsonResult {
  const p = new Parser(text);
  const v = p.value(0);
  if (v == null) return new JsonResult(null, p.error);
  p.skipSpace();
  if (p.pos < text.length) {
    p.fail('unexpected content after the JSON value');
    return new JsonResult(null, p.error);
  }
  return new JsonResult(v, '');
}

/** Parses UTF-8 bytes (a configuration buffer, a decoded token payload). */
export function parseJsonBytes(bytes: ArrayBuffer): JsonResult {
  return parseJson(String.UTF8.decode(bytes, false));
}

const HEX = '0123456789abcdef';

/** A JSON string literal for s, quotes included. */
export function jsonQuote(s: string): string {
  let out = '"';
  let runStart = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 32 && c != 34 && c != 92) continue;
    out += s.substring(runStart, i);
    runStart = i + 1;
    if (c == 34) out += '\\"';
    else if (c == 92) out += '\\\\';
    else if (c == 10) out += '\\n';
    else if (c == 13) out += '\\r';
    else if (c == 9) out += '\\t';
    else out += '\\u00' + HEX.charAt((c >> 4) & 15) + HEX.charAt(c & 15);
  }
  return out + s.substring(runStart) + '"';
}
