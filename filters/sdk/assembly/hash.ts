// Hashing for filters: SHA-256 / SHA-384 / SHA-512 (the built-in auth filter's implementation), SHA-1,
// HMAC, FNV-1a (fast, not cryptographic: buckets, shard keys, cache keys), and a constant-time compare.
// Byte inputs are Uint8Array; the `…Text` forms hash the UTF-8 bytes of a string.
import { constantTimeEqual as ctEqual, utf8 } from './bytes';
import { HmacKey, hmac } from './hmac';
import { sha1Raw } from './sha1';
import { hash, SHA256, SHA384, SHA512 } from './sha2';

/** The UTF-8 bytes of `text`. */
export function textBytes(text: string): Uint8Array {
  return utf8(text);
}

export function sha256(data: Uint8Array): Uint8Array {
  return hash(SHA256, data);
}
export function sha256Text(text: string): Uint8Array {
  return hash(SHA256, utf8(text));
}
export function sha384(data: Uint8Array): Uint8Array {
  return hash(SHA384, data);
}
export function sha512(data: Uint8Array): Uint8Array {
  return hash(SHA512, data);
}
export function sha1(data: Uint8Array): Uint8Array {
  return sha1Raw(data.dataStart, data.length);
}
export function sha1Text(text: string): Uint8Array {
  return sha1(utf8(text));
}

/** HMAC-SHA256 (RFC 2104). For many messages under one key, keep a `new HmacKey(SHA256, key)`. */
export function hmacSha256(key: Uint8Array, message: Uint8Array): Uint8Array {
  return hmac(SHA256, key, message);
}
export function hmacSha256Text(key: string, message: string): Uint8Array {
  return hmac(SHA256, utf8(key), utf8(message));
}
export function hmacSha512(key: Uint8Array, message: Uint8Array): Uint8Array {
  return hmac(SHA512, key, message);
}

/** Equal length and content, in time independent of where they differ (compare MACs with this). */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): bool {
  return ctEqual(a, b);
}

/** HMAC-SHA256 of `message` checked against `mac` in constant time. */
export function hmacSha256Verify(key: Uint8Array, message: Uint8Array, mac: Uint8Array): bool {
  return ctEqual(new HmacKey(SHA256, key).mac(message), mac);
}

/** 32-bit FNV-1a of bytes. Not cryptographic: anyone can make collisions. */
export function fnv1a32(data: Uint8Array): u32 {
  let h: u32 = 0x811c9dc5;
  const p = data.dataStart;
  for (let i = 0; i < data.length; i++) h = (h ^ <u32>load<u8>(p + <usize>i)) * 0x01000193;
  return h;
}

/** 32-bit FNV-1a of the UTF-8 bytes of `text` (what other languages' FNV-1a of the string gives). */
export function fnv1a32Text(text: string): u32 {
  return fnv1a32(utf8(text));
}

/** 64-bit FNV-1a of bytes. */
export function fnv1a64(data: Uint8Array): u64 {
  let h: u64 = 0xcbf29ce484222325;
  const p = data.dataStart;
  for (let i = 0; i < data.length; i++) h = (h ^ <u64>load<u8>(p + <usize>i)) * 0x100000001b3;
  return h;
}

export function fnv1a64Text(text: string): u64 {
  return fnv1a64(utf8(text));
}
