// Node-side wrapper around the crypto test module (crypto/assembly/test-exports.ts): copies byte
// inputs into the module's memory and reads results back. Used by the crypto tests and the bench.
import { TestModule } from '../test-module.ts';

export const HASH = { SHA256: 0, SHA384: 1, SHA512: 2 } as const;
export type HashKind = (typeof HASH)[keyof typeof HASH];

type Exports = {
  sha2(kind: number): void;
  hmacSha2(kind: number): void;
  b64urlDecode(): number;
  b64urlEncode(): void;
  rsaVerify(kind: number): number;
  rsaLoad(): number;
  rsaVerifyCached(kind: number): number;
  p256Verify(): number;
  modPow(): number;
};

/** A verdict from a verify call: the key was refused (with the module's reason), or the signature checked. */
export type Verdict = { keyError: string } | { valid: boolean };

export class CryptoModule {
  private readonly m: TestModule<Exports>;
  private readonly x: Exports;

  private constructor(m: TestModule<Exports>) {
    this.m = m;
    this.x = m.fns;
  }

  static async load(): Promise<CryptoModule> {
    return new CryptoModule(await TestModule.load<Exports>('crypto-test'));
  }

  setInputs(...inputs: Uint8Array[]): void {
    this.m.setInputs(...inputs);
  }

  private output(): Buffer {
    return this.m.output();
  }

  hash(kind: HashKind, data: Uint8Array): Buffer {
    this.setInputs(data);
    this.x.sha2(kind);
    return this.output();
  }

  hmac(kind: HashKind, key: Uint8Array, data: Uint8Array): Buffer {
    this.setInputs(key, data);
    this.x.hmacSha2(kind);
    return this.output();
  }

  base64urlDecode(text: string): Buffer | null {
    this.setInputs(Buffer.from(text, 'latin1'));
    return this.x.b64urlDecode() === 1 ? this.output() : null;
  }

  base64urlEncode(data: Uint8Array): string {
    this.setInputs(data);
    this.x.b64urlEncode();
    return this.output().toString('latin1');
  }

  private verdict(code: number): Verdict {
    return code < 0 ? { keyError: this.output().toString() } : { valid: code === 1 };
  }

  rsaVerify(kind: HashKind, n: Uint8Array, e: Uint8Array, message: Uint8Array, signature: Uint8Array): Verdict {
    this.setInputs(n, e, message, signature);
    return this.verdict(this.x.rsaVerify(kind));
  }

  /** Loads a key once, then returns a verifier that only does the signature work (for benchmarks). */
  rsaVerifier(n: Uint8Array, e: Uint8Array): (kind: HashKind, message: Uint8Array, signature: Uint8Array) => boolean {
    this.setInputs(n, e);
    if (this.x.rsaLoad() !== 1) throw new Error('RSA key refused');
    return (kind, message, signature) => {
      this.setInputs(n, e, message, signature);
      return this.x.rsaVerifyCached(kind) === 1;
    };
  }

  /** base^exp mod n (n odd, base < n), as many bytes as n; null if the module refuses the inputs. */
  modPow(n: Uint8Array, base: Uint8Array, exp: Uint8Array): Buffer | null {
    this.setInputs(n, base, exp);
    return this.x.modPow() === 1 ? this.output() : null;
  }

  p256Verify(x: Uint8Array, y: Uint8Array, message: Uint8Array, signature: Uint8Array): Verdict {
    this.setInputs(x, y, message, signature);
    return this.verdict(this.x.p256Verify());
  }
}
