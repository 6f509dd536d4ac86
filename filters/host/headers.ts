// Header maps with Envoy's semantics (Http::HeaderMap as the Wasm filter sees it): names are
// lower-cased, a name may repeat, get returns the first value, add appends an entry, replace sets
// the first entry and drops the others, remove drops all entries of the name. Plus the proxy-wasm
// wire format for header pairs.
import type { Utf8Cache } from './utf8.ts';
import { bufferOf, utf8Length } from './utf8.ts';

export type HeaderPairs = Array<[string, string]>;
/** What tests pass in: pairs, or an object (one value per name). */
export type HeadersInit = HeaderPairs | Record<string, string>;

export class HeaderList {
  // Built lazily from the init object: most filters read few headers, and the host's per-request
  // cost matters (bench/filters.ts).
  private list: HeaderPairs | null;
  private init: Record<string, string> | null;

  constructor(init: HeadersInit = []) {
    if (Array.isArray(init)) {
      this.list = init.map(([k, v]) => [k.toLowerCase(), v]);
      this.init = null;
    } else {
      this.list = null;
      this.init = init;
    }
  }

  /** The entries in order, names lower-cased. */
  get pairs(): HeaderPairs {
    if (this.list === null) {
      const list: HeaderPairs = [];
      for (const k in this.init) list.push([k.toLowerCase(), this.init[k]!]);
      this.list = list;
      this.init = null;
    }
    return this.list;
  }

  set pairs(pairs: HeaderPairs) {
    this.list = pairs;
    this.init = null;
  }

  get(name: string): string | undefined {
    const key = name.toLowerCase();
    const pairs = this.pairs;
    for (let i = 0; i < pairs.length; i++) if (pairs[i]![0] === key) return pairs[i]![1];
    return undefined;
  }

  getAll(name: string): string[] {
    const key = name.toLowerCase();
    return this.pairs.filter(([k]) => k === key).map(([, v]) => v);
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  add(name: string, value: string): void {
    this.pairs.push([name.toLowerCase(), value]);
  }

  replace(name: string, value: string): void {
    const key = name.toLowerCase();
    const pairs = this.pairs;
    let first = -1;
    let more = false;
    for (let i = 0; i < pairs.length; i++) {
      if (pairs[i]![0] !== key) continue;
      if (first < 0) first = i;
      else more = true;
    }
    if (first < 0) {
      pairs.push([key, value]);
      return;
    }
    // A new pair rather than a write into the old one: callers may hold the old pairs.
    pairs[first] = [key, value];
    if (more) this.pairs = pairs.filter(([k], j) => k !== key || j === first);
  }

  remove(name: string): void {
    const key = name.toLowerCase();
    const pairs = this.pairs;
    let i = 0;
    while (i < pairs.length && pairs[i]![0] !== key) i++;
    if (i < pairs.length) this.pairs = pairs.filter(([k]) => k !== key);
  }

  get size(): number {
    if (this.list !== null) return this.list.length;
    let n = 0;
    for (const _ in this.init) n++;
    return n;
  }

  /** One value per name (the first), for assertions. */
  toObject(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of this.pairs) if (!(k in out)) out[k] = v;
    return out;
  }
}

/**
 * The proxy-wasm header-pairs encoding: u32 count, a (u32 key size, u32 value size) per pair, then
 * each key and value as UTF-8 followed by a NUL byte. All integers little-endian.
 */
export function encodePairs(pairs: HeaderPairs): Uint8Array {
  const n = pairs.length;
  let size = 4 + n * 8;
  for (let i = 0; i < n; i++) size += utf8Length(pairs[i]![0]) + utf8Length(pairs[i]![1]) + 2;
  const out = Buffer.alloc(size);
  out.writeUInt32LE(n, 0);
  let data = 4 + n * 8;
  for (let i = 0; i < n; i++) {
    const k = out.write(pairs[i]![0], data, 'utf8');
    data += k + 1;
    const v = out.write(pairs[i]![1], data, 'utf8');
    data += v + 1;
    out.writeUInt32LE(k, 4 + i * 8);
    out.writeUInt32LE(v, 8 + i * 8);
  }
  return out;
}

/**
 * Decodes encodePairs' format; throws on a malformed buffer (the host answers BadArgument). The host
 * passes its cache of recent strings: the same header names come by on every request.
 */
export function decodePairs(bytes: Uint8Array, strings?: Utf8Cache): HeaderPairs {
  if (bytes.length === 0) return [];
  if (bytes.length < 4) throw new Error('header pairs: buffer shorter than its count');
  const buf = bufferOf(bytes);
  const n = buf.readUInt32LE(0);
  let data = 4 + n * 8;
  if (data > bytes.length) throw new Error('header pairs: sizes run past the buffer');
  const out: HeaderPairs = [];
  for (let i = 0; i < n; i++) {
    const k = buf.readUInt32LE(4 + i * 8);
    const v = buf.readUInt32LE(8 + i * 8);
    if (data + k + v + 2 > bytes.length) throw new Error('header pairs: data runs past the buffer');
    const key = strings ? strings.decode(bytes, buf, data, data + k) : buf.toString('utf8', data, data + k);
    data += k + 1;
    const value = strings ? strings.decode(bytes, buf, data, data + v) : buf.toString('utf8', data, data + v);
    data += v + 1;
    out.push([key, value]);
  }
  return out;
}
