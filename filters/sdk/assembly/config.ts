// Typed reading of a JSON configuration, with errors that name the field. A reader walks one object;
// every problem is collected (not just the first) so onConfigure can log them all and return false.
//
//   const cfg = ConfigReader.fromText(pluginConfiguration.getText());
//   const header = cfg.requiredString("header");
//   const limit = cfg.int("limit", 100, 1, 10000);
//   if (!cfg.ok) { logError(cfg.errorText()); return false; }
import { JsonArray, JsonObject, JsonValue, parseJson } from './json';

export class ConfigReader {
  private constructor(
    /** The object read ("null" reader when the field was absent: every getter returns its default). */
    public readonly json: JsonObject | null,
    /** Where this object sits in the document, e.g. "rules[2].match". */
    public readonly path: string,
    /** Shared with every child reader of the same document. */
    public readonly errors: string[],
  ) {}

  /** Reads a configuration text. Empty text is an empty object, so all-default configs need none. */
  static fromText(text: string, rootName: string = 'config'): ConfigReader {
    const errors: string[] = [];
    if (text.trim().length == 0) return new ConfigReader(new JsonObject(), rootName, errors);
    const parsed = parseJson(text);
    if (!parsed.ok) {
      errors.push(rootName + ': invalid JSON: ' + parsed.error);
      return new ConfigReader(null, rootName, errors);
    }
    const v = parsed.value!;
    if (!v.isObject()) {
      errors.push(rootName + ': expected an object, got ' + v.kindName());
      return new ConfigReader(null, rootName, errors);
    }
    return new ConfigReader(v.asObject(), rootName, errors);
  }

  static fromBytes(bytes: ArrayBuffer, rootName: string = 'config'): ConfigReader {
    return ConfigReader.fromText(String.UTF8.decode(bytes, false), rootName);
  }

  /** A reader over an object already parsed (an element of an array, say). */
  static fromValue(value: JsonValue, path: string, errors: string[]): ConfigReader {
    if (!value.isObject()) {
      errors.push(path + ': expected an object, got ' + value.kindName());
      return new ConfigReader(null, path, errors);
    }
    return new ConfigReader(value.asObject(), path, errors);
  }

  get ok(): bool {
    return this.errors.length == 0;
  }

  /** Every error, "; "-separated. */
  errorText(): string {
    return this.errors.join('; ');
  }

  /** Records an error of your own about a field (a cross-field rule, say). */
  fail(key: string, message: string): void {
    this.errors.push(this.field(key) + ': ' + message);
  }

  has(key: string): bool {
    return this.json != null && this.json!.has(key);
  }

  /** The member names, in document order (for maps such as {"routeA": {...}}). */
  keys(): string[] {
    return this.json != null ? this.json!.keys : [];
  }

  /** Refuses members not in `allowed`: a typo becomes an error instead of a silently ignored field. */
  allowOnly(allowed: string[]): void {
    if (this.json == null) return;
    const keys = this.json!.keys;
    for (let i = 0; i < keys.length; i++) {
      if (!allowed.includes(keys[i])) {
        this.errors.push(this.field(keys[i]) + ': unknown field (expected one of ' + allowed.join(', ') + ')');
      }
    }
  }

  private field(key: string): string {
    return this.path + '.' + key;
  }

  private member(key: string, required: bool): JsonValue | null {
    if (this.json == null) {
      if (required) this.errors.push(this.field(key) + ': required');
      return null;
    }
    const v = this.json!.get(key);
    if (v == null || v.isNull()) {
      if (required) this.errors.push(this.field(key) + ': required');
      return null;
    }
    return v;
  }

  private wrongType(key: string, expected: string, got: JsonValue): void {
    this.errors.push(this.field(key) + ': expected ' + expected + ', got ' + got.kindName());
  }

  private readString(key: string, fallback: string, required: bool): string {
    const v = this.member(key, required);
    if (v == null) return fallback;
    if (!v.isString()) {
      this.wrongType(key, 'a string', v);
      return fallback;
    }
    return v.asString().value;
  }

  string(key: string, fallback: string = ''): string {
    return this.readString(key, fallback, false);
  }

  requiredString(key: string): string {
    const s = this.readString(key, '', true);
    return s;
  }

  /** A string that must be one of `choices`. */
  oneOf(key: string, choices: string[], fallback: string): string {
    const s = this.readString(key, fallback, false);
    if (!choices.includes(s)) {
      this.errors.push(this.field(key) + ': must be one of ' + choices.join(', ') + ", got '" + s + "'");
      return fallback;
    }
    return s;
  }

  private readInt(key: string, fallback: i64, min: i64, max: i64, required: bool): i64 {
    const v = this.member(key, required);
    if (v == null) return fallback;
    if (!v.isNumber() || !v.asNumber().isInteger()) {
      if (v.isNumber()) this.errors.push(this.field(key) + ': expected an integer, got ' + v.asNumber().stringify());
      else this.wrongType(key, 'an integer', v);
      return fallback;
    }
    const n = <i64>v.asNumber().value;
    if (n < min || n > max) {
      this.errors.push(
        this.field(key) + ': must be between ' + min.toString() + ' and ' + max.toString() + ', got ' + n.toString(),
      );
      return fallback;
    }
    return n;
  }

  int(key: string, fallback: i64 = 0, min: i64 = i64.MIN_VALUE, max: i64 = i64.MAX_VALUE): i64 {
    return this.readInt(key, fallback, min, max, false);
  }

  requiredInt(key: string, min: i64 = i64.MIN_VALUE, max: i64 = i64.MAX_VALUE): i64 {
    return this.readInt(key, 0, min, max, true);
  }

  number(key: string, fallback: f64 = 0): f64 {
    const v = this.member(key, false);
    if (v == null) return fallback;
    if (!v.isNumber()) {
      this.wrongType(key, 'a number', v);
      return fallback;
    }
    return v.asNumber().value;
  }

  bool(key: string, fallback: bool = false): bool {
    const v = this.member(key, false);
    if (v == null) return fallback;
    if (!v.isBool()) {
      this.wrongType(key, 'a boolean', v);
      return fallback;
    }
    return v.asBool().value;
  }

  private readArray(key: string, required: bool): JsonArray | null {
    const v = this.member(key, required);
    if (v == null) return null;
    if (!v.isArray()) {
      this.wrongType(key, 'an array', v);
      return null;
    }
    return v.asArray();
  }

  /** An array of strings (empty when absent); a non-string element is an error naming its index. */
  stringArray(key: string, required: bool = false): string[] {
    const out: string[] = [];
    const arr = this.readArray(key, required);
    if (arr == null) return out;
    for (let i = 0; i < arr.items.length; i++) {
      const item = arr.items[i];
      if (!item.isString()) {
        this.errors.push(this.field(key) + '[' + i.toString() + ']: expected a string, got ' + item.kindName());
        continue;
      }
      out.push(item.asString().value);
    }
    return out;
  }

  /** A nested object; absent gives a reader whose getters return their defaults. */
  object(key: string): ConfigReader {
    return this.readObject(key, false);
  }

  requiredObject(key: string): ConfigReader {
    return this.readObject(key, true);
  }

  private readObject(key: string, required: bool): ConfigReader {
    const v = this.member(key, required);
    if (v == null) return new ConfigReader(null, this.field(key), this.errors);
    return ConfigReader.fromValue(v, this.field(key), this.errors);
  }

  /** An array of objects, one reader each (paths name the index: "rules[1]"). */
  objectArray(key: string, required: bool = false): ConfigReader[] {
    const out: ConfigReader[] = [];
    const arr = this.readArray(key, required);
    if (arr == null) return out;
    for (let i = 0; i < arr.items.length; i++) {
      out.push(ConfigReader.fromValue(arr.items[i], this.field(key) + '[' + i.toString() + ']', this.errors));
    }
    return out;
  }

  /** An object whose members are all strings, e.g. {"x-team": "payments"}. */
  stringMap(key: string): Map<string, string> {
    const out = new Map<string, string>();
    const v = this.member(key, false);
    if (v == null) return out;
    if (!v.isObject()) {
      this.wrongType(key, 'an object', v);
      return out;
    }
    const obj = v.asObject();
    for (let i = 0; i < obj.keys.length; i++) {
      const k = obj.keys[i];
      const item = obj.get(k)!;
      if (!item.isString()) {
        this.errors.push(this.field(key) + '.' + k + ': expected a string, got ' + item.kindName());
        continue;
      }
      out.set(k, item.asString().value);
    }
    return out;
  }

  /** The raw JSON value of a member (for shapes the helpers do not cover), or null. */
  raw(key: string): JsonValue | null {
    return this.json != null ? this.json!.get(key) : null;
  }
}
