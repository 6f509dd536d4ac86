// Base64 (RFC 4648) in both alphabets: tokens use base64url without padding, headers often the
// standard one. Decoding accepts either, with or without padding.

function alphabet(): string {
  return 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
}
function urlAlphabet(): string {
  return 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
}

function sextet(c: i32): i32 {
  if (c >= 65 && c <= 90) return c - 65;
  if (c >= 97 && c <= 122) return c - 71;
  if (c >= 48 && c <= 57) return c + 4;
  if (c == 43 || c == 45) return 62;
  if (c == 47 || c == 95) return 63;
  return -1;
}

/** The bytes of a base64 or base64url text, or null when it is not valid base64. */
export function base64Decode(text: string): ArrayBuffer | null {
  let len = text.length;
  while (len > 0 && text.charCodeAt(len - 1) == 61) len--;
  if (len % 4 == 1) return null;
  const out = new ArrayBuffer((len * 3) >> 2);
  const base = changetype<usize>(out);
  let acc: u32 = 0;
  let bits = 0;
  let o: usize = 0;
  for (let i = 0; i < len; i++) {
    const v = sextet(text.charCodeAt(i));
    if (v < 0) return null;
    acc = (acc << 6) | <u32>v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      store<u8>(base + o, <u8>(acc >> bits));
      o++;
    }
  }
  return out;
}

/** base64Decode, then UTF-8 text (null when invalid). */
export function base64DecodeText(text: string): string | null {
  const bytes = base64Decode(text);
  return bytes != null ? String.UTF8.decode(bytes, false) : null;
}

/** Base64 text of bytes: standard alphabet with padding, or base64url without (url = true). */
export function base64Encode(bytes: ArrayBuffer, url: bool = false): string {
  const table = url ? urlAlphabet() : alphabet();
  const n = bytes.byteLength;
  const base = changetype<usize>(bytes);
  let out = '';
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const v = ((<u32>load<u8>(base + i)) << 16) | ((<u32>load<u8>(base + i + 1)) << 8) | load<u8>(base + i + 2);
    out +=
      table.charAt((v >> 18) & 63) + table.charAt((v >> 12) & 63) + table.charAt((v >> 6) & 63) + table.charAt(v & 63);
  }
  if (n - i == 1) {
    const v = (<u32>load<u8>(base + i)) << 16;
    out += table.charAt((v >> 18) & 63) + table.charAt((v >> 12) & 63);
    if (!url) out += '==';
  } else if (n - i == 2) {
    const v = ((<u32>load<u8>(base + i)) << 16) | ((<u32>load<u8>(base + i + 1)) << 8);
    out += table.charAt((v >> 18) & 63) + table.charAt((v >> 12) & 63) + table.charAt((v >> 6) & 63);
    if (!url) out += '=';
  }
  return out;
}
