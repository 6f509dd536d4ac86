// Verified modules by namespace and SHA-256, in memory and (optionally) on disk, each with a size
// bound. The disk copy lets a restarted operator serve a pinned HTTPS module again without downloading
// it (principle "never go backwards": the same bytes as before the restart, even while the source is
// down). Entries are content-addressed, so a stale entry cannot exist; a corrupt file is re-checked
// and dropped. Entries are per namespace: a digest another team's source delivered is not a way to
// get that team's module without being able to download it (tenant isolation).

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
/** A namespace name, so it is safe as a folder name. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

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

  /** The module a source in `namespace` delivered with this digest, if cached. */
  async get(namespace: string, sha256: string): Promise<VerifiedModule | undefined> {
    const key = `${namespace}/${sha256}`;
    const hit = this.#memory.get(key);
    if (hit) {
      this.#memory.delete(key);
      this.#memory.set(key, hit);
      return hit;
    }
    const file = this.#file(namespace, sha256);
    if (!file) return undefined;
    const bytes = await readFile(file).catch(() => undefined);
    if (!bytes) return undefined;
    const checked = await checkModule(new Uint8Array(bytes), { sha256, maxBytes: this.#options.maxModuleBytes });
    if (!checked.ok) {
      await unlink(file).catch(() => {});
      return undefined;
    }
    this.#remember(key, checked.module);
    return checked.module;
  }

  /** Keeps a module a source in `namespace` delivered. */
  async put(namespace: string, module: VerifiedModule): Promise<void> {
    this.#remember(`${namespace}/${module.sha256}`, module);
    const file = this.#file(namespace, module.sha256);
    if (!file || module.size > this.#options.maxDiskBytes) return;
    await mkdir(path.dirname(file), { recursive: true });
    // Write then rename: a crash never leaves a half-written module under its digest.
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, module.bytes);
    await rename(tmp, file);
    await this.#trimDisk();
  }

  #file(namespace: string, sha256: string): string | undefined {
    if (!this.#options.dir || !SHA256.test(sha256) || !DNS_LABEL.test(namespace)) return undefined;
    return path.join(this.#options.dir, namespace, `${sha256}.wasm`);
  }

  #remember(key: string, module: VerifiedModule): void {
    if (this.#memory.has(key)) this.#memory.delete(key);
    else this.#memoryBytes += module.size;
    this.#memory.set(key, module);
    for (const [old, value] of this.#memory) {
      if (this.#memoryBytes <= this.#options.maxMemoryBytes || old === key) break;
      this.#memory.delete(old);
      this.#memoryBytes -= value.size;
    }
  }

  /** Drops the least recently written files (of every namespace) until the folder fits its bound. */
  async #trimDisk(): Promise<void> {
    const root = this.#options.dir as string;
    const namespaces = (await readdir(root, { withFileTypes: true })).filter((d) => d.isDirectory());
    const names = (
      await Promise.all(
        namespaces.map(async (d) =>
          (
            await readdir(path.join(root, d.name))
          )
            .filter((n) => n.endsWith('.wasm'))
            .map((n) => path.join(root, d.name, n)),
        ),
      )
    ).flat();
    const files = await Promise.all(
      names.map(async (file) => {
        const s = await stat(file).catch(() => undefined);
        return { file, size: s?.size ?? 0, mtime: s?.mtimeMs ?? 0 };
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
