// Verified modules by SHA-256, in memory and (optionally) on disk, each with a size bound. The disk
// copy lets a restarted operator serve a pinned HTTPS module again without downloading it (principle
// "never go backwards": the same bytes as before the restart, even while the source is down).
// Entries are content-addressed, so a stale entry cannot exist; a corrupt file is re-checked and dropped.

import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { checkModule, type VerifiedModule } from './module-check.ts';

export interface ModuleCacheOptions {
  /** Folder for the disk cache; no disk cache when undefined. */
  dir?: string;
  maxMemoryBytes: number;
  maxDiskBytes: number;
  /** The largest module accepted (re-checked when a module is read back from disk). */
  maxModuleBytes: number;
}

const SHA256 = /^[a-f0-9]{64}$/;

export class ModuleCache {
  readonly #options: ModuleCacheOptions;
  /** Insertion order is recency order: a hit is moved to the end, eviction takes the front. */
  readonly #memory = new Map<string, VerifiedModule>();
  #memoryBytes = 0;

  constructor(options: ModuleCacheOptions) {
    this.#options = options;
  }

  get memoryBytes(): number {
    return this.#memoryBytes;
  }

  async get(sha256: string): Promise<VerifiedModule | undefined> {
    const hit = this.#memory.get(sha256);
    if (hit) {
      this.#memory.delete(sha256);
      this.#memory.set(sha256, hit);
      return hit;
    }
    const file = this.#file(sha256);
    if (!file) return undefined;
    const bytes = await readFile(file).catch(() => undefined);
    if (!bytes) return undefined;
    const checked = await checkModule(new Uint8Array(bytes), { sha256, maxBytes: this.#options.maxModuleBytes });
    if (!checked.ok) {
      await unlink(file).catch(() => {});
      return undefined;
    }
    this.#remember(checked.module);
    return checked.module;
  }

  async put(module: VerifiedModule): Promise<void> {
    this.#remember(module);
    const file = this.#file(module.sha256);
    if (!file || module.size > this.#options.maxDiskBytes) return;
    const dir = path.dirname(file);
    await mkdir(dir, { recursive: true });
    // Write then rename: a crash never leaves a half-written module under its digest.
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, module.bytes);
    await rename(tmp, file);
    await this.#trimDisk(dir);
  }

  #file(sha256: string): string | undefined {
    if (!this.#options.dir || !SHA256.test(sha256)) return undefined;
    return path.join(this.#options.dir, `${sha256}.wasm`);
  }

  #remember(module: VerifiedModule): void {
    if (this.#memory.has(module.sha256)) this.#memory.delete(module.sha256);
    else this.#memoryBytes += module.size;
    this.#memory.set(module.sha256, module);
    for (const [key, old] of this.#memory) {
      if (this.#memoryBytes <= this.#options.maxMemoryBytes || key === module.sha256) break;
      this.#memory.delete(key);
      this.#memoryBytes -= old.size;
    }
  }

  /** Drops the least recently written files until the folder fits its bound. */
  async #trimDisk(dir: string): Promise<void> {
    const names = (await readdir(dir)).filter((n) => n.endsWith('.wasm'));
    const files = await Promise.all(
      names.map(async (n) => {
        const s = await stat(path.join(dir, n)).catch(() => undefined);
        return { file: path.join(dir, n), size: s?.size ?? 0, mtime: s?.mtimeMs ?? 0 };
      }),
    );
    files.sort((a, b) => a.mtime - b.mtime);
    let total = files.reduce((sum, f) => sum + f.size, 0);
    for (const f of files) {
      if (total <= this.#options.maxDiskBytes) break;
      await unlink(f.file).catch(() => {});
      total -= f.size;
    }
  }
}
