// A small hash table from u32 ids (context ids, call tokens) to contexts. It replaces std Map to keep
// modules small (the no-op filter stays under 10 KB): open addressing, linear probing, and
// backward-shift deletion, so no tombstones build up as streams come and go. Slots store id + 1, so
// that 0 marks a free slot and id 0 (an httpCall token on some hosts) still fits.

/** Maps u32 ids to values of T. */
export class IdTable<T> {
  private keys: StaticArray<u32> = new StaticArray<u32>(16);
  private values: StaticArray<T | null> = new StaticArray<T | null>(16);
  private count: i32 = 0;

  get size(): i32 {
    return this.count;
  }

  /** Slot keys are id + 1, so that every u32 id but 0xFFFFFFFF fits and 0 means free. */
  private static key(id: u32): u32 {
    return id + 1;
  }

  private slot(key: u32): i32 {
    const mask = this.keys.length - 1;
    let i = <i32>((key * 0x9e3779b1) >>> 16) & mask;
    while (true) {
      const k = unchecked(this.keys[i]);
      if (k == key || k == 0) return i;
      i = (i + 1) & mask;
    }
  }

  get(id: u32): T | null {
    const i = this.slot(IdTable.key(id));
    return unchecked(this.keys[i]) != 0 ? unchecked(this.values[i]) : null;
  }

  has(id: u32): bool {
    return unchecked(this.keys[this.slot(IdTable.key(id))]) != 0;
  }

  set(id: u32, value: T): void {
    if ((this.count + 1) * 4 > this.keys.length * 3) this.grow();
    const key = IdTable.key(id);
    const i = this.slot(key);
    if (unchecked(this.keys[i]) == 0) this.count++;
    unchecked((this.keys[i] = key));
    unchecked((this.values[i] = value));
  }

  delete(id: u32): void {
    const mask = this.keys.length - 1;
    let i = this.slot(IdTable.key(id));
    if (unchecked(this.keys[i]) == 0) return;
    this.count--;
    // Backward-shift: pull later entries of the probe run into the hole.
    let j = i;
    while (true) {
      j = (j + 1) & mask;
      const k = unchecked(this.keys[j]);
      if (k == 0) break;
      const home = <i32>((k * 0x9e3779b1) >>> 16) & mask;
      const between = i <= j ? i < home && home <= j : i < home || home <= j;
      if (between) continue;
      unchecked((this.keys[i] = k));
      unchecked((this.values[i] = this.values[j]));
      i = j;
    }
    unchecked((this.keys[i] = 0));
    unchecked((this.values[i] = null));
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldValues = this.values;
    this.keys = new StaticArray<u32>(oldKeys.length * 2);
    this.values = new StaticArray<T | null>(oldKeys.length * 2);
    this.count = 0;
    for (let i = 0; i < oldKeys.length; i++) {
      const k = unchecked(oldKeys[i]);
      if (k != 0) this.set(k - 1, changetype<T>(unchecked(oldValues[i])));
    }
  }
}
