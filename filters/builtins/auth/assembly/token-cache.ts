// A bounded cache of verified tokens: token text → verdict (claims, exp, nbf). Only successful
// verifications are cached; time checks still run on every hit, so an entry is useless past its exp
// and is dropped then. Eviction is first-in-first-out over a fixed ring: O(1), no timestamps.
import { JwtVerdict } from './jwt';

export class TokenCache {
  private map: Map<string, JwtVerdict> = new Map<string, JwtVerdict>();
  private ring: string[];
  private next: i32 = 0;

  constructor(public readonly capacity: i32) {
    this.ring = new Array<string>(capacity);
    for (let i = 0; i < capacity; i++) this.ring[i] = '';
  }

  get size(): i32 {
    return this.map.size;
  }

  get(token: string): JwtVerdict | null {
    if (this.capacity == 0 || !this.map.has(token)) return null;
    return this.map.get(token);
  }

  put(token: string, verdict: JwtVerdict): void {
    if (this.capacity == 0 || this.map.has(token)) return;
    const old = this.ring[this.next];
    if (old.length > 0) this.map.delete(old);
    this.ring[this.next] = token;
    this.next = (this.next + 1) % this.capacity;
    this.map.set(token, verdict);
  }

  /** Forgets a token (expired): its ring slot is reused in turn. */
  remove(token: string): void {
    if (this.map.has(token)) this.map.delete(token);
  }

  clear(): void {
    this.map.clear();
    for (let i = 0; i < this.capacity; i++) this.ring[i] = '';
    this.next = 0;
  }
}
