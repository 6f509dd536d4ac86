// Token buckets (pure arithmetic): a bucket holds up to `burst` tokens, refills at `ratePerMs`, and
// each request takes one. State is (tokens, time of last update), so it fits in shared data.

export class Limit {
  constructor(
    /** Bucket size: how many requests may arrive at once. */
    public burst: f64,
    /** `amount` tokens are added every `periodMs` (kept apart: elapsed·amount/period is exact where a
     * precomputed per-millisecond rate would round 3,600,000 ms at 1/hour to 0.999… tokens). */
    public amount: f64,
    public periodMs: f64,
  ) {}

  /** Tokens added over `ms` milliseconds. */
  refill(ms: f64): f64 {
    return (ms * this.amount) / this.periodMs;
  }

  /** Milliseconds needed to add `tokens`. */
  msFor(tokens: f64): f64 {
    return (tokens * this.periodMs) / this.amount;
  }
}

export class Bucket {
  constructor(
    public tokens: f64,
    public updatedMs: i64,
  ) {}

  static full(limit: Limit, nowMs: i64): Bucket {
    return new Bucket(limit.burst, nowMs);
  }

  /** Tokens at `nowMs` (a clock that went backwards adds nothing). */
  tokensAt(limit: Limit, nowMs: i64): f64 {
    const elapsed = nowMs > this.updatedMs ? <f64>(nowMs - this.updatedMs) : 0;
    return min(limit.burst, this.tokens + limit.refill(elapsed));
  }

  /** Whether the bucket would be full by `nowMs`: then it carries no information and can be reused. */
  isIdle(limit: Limit, nowMs: i64): bool {
    return this.tokensAt(limit, nowMs) >= limit.burst;
  }
}

/** The outcome of taking one token. */
export class Take {
  constructor(
    public allowed: bool,
    /** The bucket after the request (store it back). */
    public bucket: Bucket,
    /** Whole tokens left. */
    public remaining: i64,
    /** Milliseconds until the next token (0 when one is available now). */
    public retryAfterMs: i64,
    /** Milliseconds until the bucket is full again. */
    public resetMs: i64,
  ) {}
}

export function take(bucket: Bucket, limit: Limit, nowMs: i64): Take {
  let tokens = bucket.tokensAt(limit, nowMs);
  const updated = nowMs > bucket.updatedMs ? nowMs : bucket.updatedMs;
  const allowed = tokens >= 1;
  if (allowed) tokens -= 1;
  const next = new Bucket(tokens, updated);
  const retry = tokens >= 1 ? 0 : <i64>Math.ceil(limit.msFor(1 - tokens));
  const reset = <i64>Math.ceil(limit.msFor(limit.burst - tokens));
  return new Take(allowed, next, <i64>Math.floor(tokens), allowed ? 0 : retry, reset);
}
