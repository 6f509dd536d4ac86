// UTF-8 for the many short strings (header names and values) that cross the ABI on every request.
// TextEncoder/TextDecoder cost more than the work itself for such strings, so ASCII takes a plain
// loop and everything else the standard codecs.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

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

export function decodeUtf8(bytes: Uint8Array, start = 0, end = bytes.length): string {
  const n = end - start;
  if (n > 64) return decoder.decode(bytes.subarray(start, end));
  let s = '';
  for (let i = start; i < end; i++) {
    const c = bytes[i]!;
    if (c > 0x7f) return decoder.decode(bytes.subarray(start, end));
    s += String.fromCharCode(c);
  }
  return s;
}
