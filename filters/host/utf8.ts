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
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.byteLength(s, 'utf8');
  return n;
}

/** A Buffer over the same bytes (no copy), for its codec. */
export function bufferOf(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
