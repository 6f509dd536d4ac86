// Entry point of the crypto test module: the primitives over the shared byte ABI (test-abi.ts), so
// node:test files can call them with known-answer vectors.
import './abort';
import { hmac } from '../../../sdk/assembly/hmac';
import { hash } from '../../../sdk/assembly/sha2';
import { base64urlDecode, base64urlEncode } from './base64url';
import { limbsFromBytes, limbsToBytes, Modulus } from './montgomery';
import { P256PublicKey, p256KeyError } from './p256';
import { RsaPublicKey, rsaKeyError } from './rsa';
import { inputs, inputText, setOutput, setOutputText } from './test-abi';

export { input, outputLen, outputPtr } from './test-abi';

export function sha2(kind: i32): void {
  setOutput(hash(kind, inputs[0]));
}

export function hmacSha2(kind: i32): void {
  setOutput(hmac(kind, inputs[0], inputs[1]));
}

/** Decodes input 0 (ASCII); 1 with the bytes as output, 0 when rejected. */
export function b64urlDecode(): i32 {
  const r = base64urlDecode(inputText(0));
  if (r == null) return 0;
  setOutput(r);
  return 1;
}

export function b64urlEncode(): void {
  setOutputText(base64urlEncode(inputs[0]));
}

/** inputs: 0 = n, 1 = e, 2 = message, 3 = signature. 1 valid, 0 invalid, -1 key refused (reason in output). */
export function rsaVerify(kind: i32): i32 {
  const key = RsaPublicKey.create(inputs[0], inputs[1]);
  if (key == null) {
    setOutputText(rsaKeyError);
    return -1;
  }
  return key.verify(kind, inputs[2], inputs[3]) ? 1 : 0;
}

let cachedRsa: RsaPublicKey | null = null;

/** Loads a key once for `rsaVerifyCached` (benchmarks: excludes key setup). */
export function rsaLoad(): i32 {
  cachedRsa = RsaPublicKey.create(inputs[0], inputs[1]);
  return cachedRsa != null ? 1 : 0;
}

export function rsaVerifyCached(kind: i32): i32 {
  return cachedRsa!.verify(kind, inputs[2], inputs[3]) ? 1 : 0;
}

/** inputs: 0 = x, 1 = y, 2 = message, 3 = signature (r||s). 1 valid, 0 invalid, -1 key refused. */
export function p256Verify(): i32 {
  const key = P256PublicKey.create(inputs[0], inputs[1]);
  if (key == null) {
    setOutputText(p256KeyError);
    return -1;
  }
  return key.verify(inputs[2], inputs[3]) ? 1 : 0;
}

/** inputs: 0 = odd modulus n, 1 = base (< n), 2 = exponent; output = base^exp mod n, as many bytes as n. */
export function modPow(): i32 {
  const nb = inputs[0];
  const k = (nb.length + 3) >> 2;
  const n = limbsFromBytes(nb, k);
  const base = limbsFromBytes(inputs[1], k);
  const exp = limbsFromBytes(inputs[2], (inputs[2].length + 3) >> 2);
  if (n == null || base == null || exp == null) return 0;
  const mod = Modulus.create(n);
  if (mod == null) return 0;
  const x = new StaticArray<u32>(k);
  mod.toMont(x, base);
  mod.pow(x, x, exp);
  mod.fromMont(x, x);
  setOutput(limbsToBytes(x, nb.length));
  return 1;
}
