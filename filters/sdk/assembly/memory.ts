// Moving bytes across the ABI. Strings cross as UTF-8 (never AssemblyScript's UTF-16); the host hands
// data back by calling proxy_on_memory_allocate and writing the pointer and size into two return
// slots, which are copied into managed objects here and freed at once.

/** Two scratch words the host writes a returned pointer and size into. */
export const RETURN_DATA: usize = memory.data(8);
export const RETURN_SIZE: usize = memory.data(8);
/** A third slot, for the CAS token of proxy_get_shared_data. */
export const RETURN_EXTRA: usize = memory.data(8);

/** One name and value of a header map, already decoded from UTF-8. */
export class HeaderPair {
  constructor(
    public key: string,
    public value: string,
  ) {}
}

/** Memory for the host (proxy_on_memory_allocate): raw, outside the GC, freed by takeReturned*. */
export function allocateForHost(size: usize): usize {
  return heap.alloc(size > 0 ? size : 1);
}

/** Clears the return slots; call before every host call that returns data. */
export function resetReturn(): void {
  store<usize>(RETURN_DATA, 0);
  store<usize>(RETURN_SIZE, 0);
}

/** The bytes the host returned, copied into a managed buffer (the host's allocation is freed). */
export function takeReturnedBytes(): ArrayBuffer {
  const ptr = load<usize>(RETURN_DATA);
  const size = load<usize>(RETURN_SIZE);
  const out = new ArrayBuffer(<i32>size);
  if (ptr != 0) {
    if (size > 0) memory.copy(changetype<usize>(out), ptr, size);
    heap.free(ptr);
  }
  return out;
}

/** The UTF-8 string the host returned. */
export function takeReturnedString(): string {
  const ptr = load<usize>(RETURN_DATA);
  const size = load<usize>(RETURN_SIZE);
  if (ptr == 0) return '';
  const s = String.UTF8.decodeUnsafe(ptr, size, false);
  heap.free(ptr);
  return s;
}

/** The header pairs the host returned (see serializeHeaders for the format). */
export function takeReturnedHeaders(): HeaderPair[] {
  const ptr = load<usize>(RETURN_DATA);
  const size = load<usize>(RETURN_SIZE);
  if (ptr == 0) return [];
  const pairs = deserializeHeaders(ptr, size);
  heap.free(ptr);
  return pairs;
}

export function utf8(s: string): ArrayBuffer {
  return String.UTF8.encode(s, false);
}

/**
 * The proxy-wasm header map encoding: u32 count, then a u32 key size and u32 value size per pair,
 * then every key and value as UTF-8, each followed by a NUL byte (not counted in the sizes).
 */
export function serializeHeaders(pairs: HeaderPair[]): ArrayBuffer {
  const n = pairs.length;
  let size: i32 = 4 + n * 8;
  for (let i = 0; i < n; i++) {
    const pair = unchecked(pairs[i]);
    size += String.UTF8.byteLength(pair.key, false) + String.UTF8.byteLength(pair.value, false) + 2;
  }
  const buf = new ArrayBuffer(size);
  const base = changetype<usize>(buf);
  store<u32>(base, <u32>n);
  let sizes = base + 4;
  let data = base + 4 + <usize>n * 8;
  for (let i = 0; i < n; i++) {
    const pair = unchecked(pairs[i]);
    const k = String.UTF8.encodeUnsafe(changetype<usize>(pair.key), pair.key.length, data, false);
    store<u8>(data + k, 0);
    data += k + 1;
    const v = String.UTF8.encodeUnsafe(changetype<usize>(pair.value), pair.value.length, data, false);
    store<u8>(data + v, 0);
    data += v + 1;
    store<u32>(sizes, <u32>k);
    store<u32>(sizes + 4, <u32>v);
    sizes += 8;
  }
  return buf;
}

export function deserializeHeaders(ptr: usize, size: usize): HeaderPair[] {
  if (size < 4) return [];
  const n = load<u32>(ptr);
  const out = new Array<HeaderPair>(<i32>n);
  let sizes = ptr + 4;
  let data = ptr + 4 + <usize>n * 8;
  for (let i: u32 = 0; i < n; i++) {
    const k = <usize>load<u32>(sizes);
    const v = <usize>load<u32>(sizes + 4);
    sizes += 8;
    const key = String.UTF8.decodeUnsafe(data, k, false);
    data += k + 1;
    const value = String.UTF8.decodeUnsafe(data, v, false);
    data += v + 1;
    out[i] = new HeaderPair(key, value);
  }
  return out;
}
