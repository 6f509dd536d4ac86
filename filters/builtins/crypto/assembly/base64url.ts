// Base64url (RFC 4648 §5) without padding, as JWS uses it (RFC 7515 §2).
// Decoding is strict: no padding, no whitespace, no standard-base64 characters, and the unused low
// bits of the last character must be zero, so every byte string has exactly one accepted encoding
// (a flipped trailing bit cannot sneak an altered token past a cache or a comparison).

function sextet(c: i32): i32 {
  if (c >= 65 && c <= 90) return c - 65; // A-Z
  if (c >= 97 && c <= 122) return c - 71; // a-z
  if (c >= 48 && c <= 57) return c + 4; // 0-9
  if (c == 45) return 62; // -
  if (c == 95) return 63; // _
  return -1;
}

/** Decodes `s[start, end)`; null when it is not canonical unpadded base64url. */
export function base64urlDecode(s: string, start: i32 = 0, end: i32 = i32.MAX_VALUE): Uint8Array | null {
  if (end > s.length) end = s.length;
  const len = end - start;
  if (len < 0 || (len & 3) == 1) return null;
  const out = new Uint8Array((len * 3) >> 2);
  let acc: u32 = 0;
  let bits = 0;
  let o = 0;
  for (let i = start; i < end; i++) {
    const v = sextet(s.charCodeAt(i));
    if (v < 0) return null;
    acc = (acc << 6) | <u32>v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = <u8>(acc >> bits);
    }
  }
  if ((acc & ((1 << bits) - 1)) != 0) return null;
  return out;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

export function base64urlEncode(data: Uint8Array): string {
  let out = '';
  let acc: u32 = 0;
  let bits = 0;
  for (let i = 0; i < data.length; i++) {
    acc = (acc << 8) | <u32>data[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += ALPHABET.charAt((acc >> bits) & 63);
    }
  }
  if (bits > 0) out += ALPHABET.charAt((acc << (6 - bits)) & 63);
  return out;
}
