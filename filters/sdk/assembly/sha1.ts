// SHA-1 (FIPS 180-4 §6.1). Broken for collision resistance: use it only where a protocol requires it
// (WebSocket accept keys, legacy HMAC-SHA1 signatures, Git object ids), never for new integrity checks.

/** The 20-byte SHA-1 digest of `len` bytes at `ptr`. */
export function sha1Raw(ptr: usize, len: i32): Uint8Array {
  // Padded message: data, 0x80, zeros, 64-bit big-endian bit length; a multiple of 64 bytes.
  const padded = ((len + 8) >> 6) + 1;
  const total = padded << 6;
  const msg = new Uint8Array(total);
  const m = msg.dataStart;
  memory.copy(m, ptr, <usize>len);
  store<u8>(m + <usize>len, 0x80);
  store<u64>(m + <usize>(total - 8), bswap<u64>((<u64>len) << 3));
  const w = new StaticArray<u32>(80);
  const wp = changetype<usize>(w);
  let h0: u32 = 0x67452301;
  let h1: u32 = 0xefcdab89;
  let h2: u32 = 0x98badcfe;
  let h3: u32 = 0x10325476;
  let h4: u32 = 0xc3d2e1f0;
  for (let blk = 0; blk < padded; blk++) {
    const p = m + ((<usize>blk) << 6);
    for (let i: usize = 0; i < 16; i++) store<u32>(wp + (i << 2), bswap<u32>(load<u32>(p + (i << 2))));
    for (let i: usize = 16; i < 80; i++) {
      const v =
        load<u32>(wp + ((i - 3) << 2)) ^
        load<u32>(wp + ((i - 8) << 2)) ^
        load<u32>(wp + ((i - 14) << 2)) ^
        load<u32>(wp + ((i - 16) << 2));
      store<u32>(wp + (i << 2), rotl<u32>(v, 1));
    }
    let a = h0;
    let b = h1;
    let c = h2;
    let d = h3;
    let e = h4;
    for (let i: usize = 0; i < 80; i++) {
      let f: u32;
      let k: u32;
      if (i < 20) {
        f = (b & c) | (~b & d);
        k = 0x5a827999;
      } else if (i < 40) {
        f = b ^ c ^ d;
        k = 0x6ed9eba1;
      } else if (i < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8f1bbcdc;
      } else {
        f = b ^ c ^ d;
        k = 0xca62c1d6;
      }
      const t = rotl<u32>(a, 5) + f + e + k + load<u32>(wp + (i << 2));
      e = d;
      d = c;
      c = rotl<u32>(b, 30);
      b = a;
      a = t;
    }
    h0 += a;
    h1 += b;
    h2 += c;
    h3 += d;
    h4 += e;
  }
  const out = new Uint8Array(20);
  const o = out.dataStart;
  store<u32>(o, bswap<u32>(h0), 0);
  store<u32>(o, bswap<u32>(h1), 4);
  store<u32>(o, bswap<u32>(h2), 8);
  store<u32>(o, bswap<u32>(h3), 12);
  store<u32>(o, bswap<u32>(h4), 16);
  return out;
}
