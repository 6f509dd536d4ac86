// HMAC (RFC 2104) over SHA-256/384/512.
import { blockLength, HashKind, hash, hasher } from './sha2';

/** A key ready for HMAC: the inner and outer padded keys are computed once, not per message. */
export class HmacKey {
  readonly kind: HashKind;
  private ipad: Uint8Array;
  private opad: Uint8Array;

  constructor(kind: HashKind, key: Uint8Array) {
    this.kind = kind;
    const block = blockLength(kind);
    const k = key.length > block ? hash(kind, key) : key;
    this.ipad = new Uint8Array(block);
    this.opad = new Uint8Array(block);
    for (let i = 0; i < block; i++) {
      const b: u8 = i < k.length ? k[i] : 0;
      this.ipad[i] = b ^ 0x36;
      this.opad[i] = b ^ 0x5c;
    }
  }

  mac(message: Uint8Array): Uint8Array {
    return this.macRaw(message.dataStart, message.length);
  }

  macRaw(ptr: usize, len: i32): Uint8Array {
    const h = hasher(this.kind);
    h.reset();
    h.update(this.ipad);
    h.updateRaw(ptr, len);
    const inner = h.digest();
    h.update(this.opad);
    h.update(inner);
    return h.digest();
  }
}

export function hmac(kind: HashKind, key: Uint8Array, message: Uint8Array): Uint8Array {
  return new HmacKey(kind, key).mac(message);
}
