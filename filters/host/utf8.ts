// UTF-8 for the many short strings (header names and values) that cross the ABI on every request.
// Encoding: ASCII takes a plain loop (TextEncoder costs more than the work for such strings).
// Decoding: Buffer's native codec (see bufferOf), the cheapest for short strings; it yields flat
// strings, which hash fast as Map keys (a string built char by char is a rope to flatten first).

const encoder = new TextEncoder();

export function encodeUtf8(s: string): Uint8Array {
  const n = s.length;
  if (n > 64) return encoder.encode(s);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return encoder.encode(s);
    out[i] = c;
  }
  return out;
}

/** The UTF-8 size of s (lone surrogates count as the 3-byte replacement character they become). */
export function utf8Length(s: string): number {
  const n = s.length;
  if (n > 32) return Buffer.byteLength(s, 'utf8');
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.byteLength(s, 'utf8');
  return n;
}

/** A Buffer over the same bytes (no copy), for its codec. */
export function bufferOf(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const CACHE_SLOTS = 512;
const CACHE_MAX_BYTES = 48;

/**
 * Decodes UTF-8 out of module memory, remembering recent short strings: the same header names,
 * values, property paths and shared-data keys cross the ABI request after request, and hashing and
 * comparing a few bytes costs less than decoding a new string (which a Map then hashes again).
 * Direct-mapped: a new string takes its slot from whatever was there. The bytes of every slot
 * live in one array, so remembering a string allocates nothing but the string.
 */
export class Utf8Cache {
  private readonly bytes = new Uint8Array(CACHE_SLOTS * CACHE_MAX_BYTES);
  /** Each slot's size in bytes; 0 for an empty slot (the empty string is never cached). */
  private readonly sizes = new Uint8Array(CACHE_SLOTS);
  private readonly texts: string[] = new Array<string>(CACHE_SLOTS).fill('');

  /** The text of mem[start, end); buf is a Buffer over the same memory. */
  decode(mem: Uint8Array, buf: Buffer, start: number, end: number): string {
    const size = end - start;
    if (size === 0) return '';
    if (size > CACHE_MAX_BYTES || end > mem.length) return buf.toString('utf8', start, end);
    // The slot hashes the size and up to the last 12 bytes: where the names and keys that cross the
    // ABI differ (shared-data keys end in a slot number). Hits still compare every byte.
    let h = 0x811c9dc5 ^ size;
    for (let i = Math.max(start, end - 12); i < end; i++) h = Math.imul(h ^ mem[i]!, 0x01000193);
    const slot = (h ^ (h >>> 15)) & (CACHE_SLOTS - 1);
    const at = slot * CACHE_MAX_BYTES;
    const bytes = this.bytes;
    if (this.sizes[slot] === size) {
      let i = 0;
      while (i < size && bytes[at + i] === mem[start + i]) i++;
      if (i === size) return this.texts[slot]!;
    }
    const text = buf.toString('utf8', start, end);
    for (let i = 0; i < size; i++) bytes[at + i] = mem[start + i]!;
    this.sizes[slot] = size;
    this.texts[slot] = text;
    return text;
  }
}
