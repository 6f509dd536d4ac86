// A deduplicating work queue with one worker: a key enqueued while waiting is processed once, a key
// enqueued while being processed runs again afterwards, and a failed key is retried with backoff.
// One worker keeps reconciles of the same Gateway from racing; the work is I/O-bound anyway.

export interface WorkQueueOptions {
  /** First retry delay in ms, doubling up to maxBackoffMs. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  onError?: (key: string, err: unknown, attempt: number) => void;
}

export class WorkQueue {
  readonly #pending = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #handler: (key: string) => Promise<void>;
  readonly #options: WorkQueueOptions;
  #running = false;
  #paused = true;
  #idleWaiters: (() => void)[] = [];

  constructor(handler: (key: string) => Promise<void>, options: WorkQueueOptions = {}) {
    this.#handler = handler;
    this.#options = options;
  }

  add(key: string): void {
    this.#pending.add(key);
    this.#kick();
  }

  /** Starts processing (the queue collects keys while paused, e.g. until this replica leads). */
  resume(): void {
    this.#paused = false;
    this.#kick();
  }

  stop(): void {
    this.#paused = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }

  get size(): number {
    return this.#pending.size;
  }

  /** Resolves when nothing is pending or running. */
  idle(): Promise<void> {
    if (!this.#running && this.#pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #kick(): void {
    if (this.#running || this.#paused) return;
    this.#running = true;
    void this.#drain();
  }

  async #drain(): Promise<void> {
    while (!this.#paused && this.#pending.size > 0) {
      const key = this.#pending.values().next().value as string;
      this.#pending.delete(key);
      try {
        await this.#handler(key);
        this.#failures.delete(key);
      } catch (err) {
        const attempt = (this.#failures.get(key) ?? 0) + 1;
        this.#failures.set(key, attempt);
        this.#options.onError?.(key, err, attempt);
        const base = this.#options.baseBackoffMs ?? 500;
        const delay = Math.min(base * 2 ** (attempt - 1), this.#options.maxBackoffMs ?? 60_000);
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          this.add(key);
        }, delay);
        this.#timers.add(timer);
      }
    }
    this.#running = false;
    if (this.#pending.size === 0) for (const w of this.#idleWaiters.splice(0)) w();
  }
}
