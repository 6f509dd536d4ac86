// Token buckets (pure arithmetic): a bucket holds up to `burst` tokens, refills at `ratePerMs`, and
// each request takes one. State is (tokens, time of last update), so it fits in shared data. Plain
// numbers in and a caller-owned Take out: a request allocates nothing here.

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

  /** Tokens at `nowMs` of a bucket that held `tokens` at `updatedMs` (a clock that went backwards adds nothing). */
  tokensAt(tokens: f64, updatedMs: i64, nowMs: i64): f64 {
    const elapsed = nowMs > updatedMs ? <f64>(nowMs - updatedMs) : 0;
    return min(this.burst, tokens + this.refill(elapsed));
  }

  /** Whether the bucket would be full by `nowMs`: then it carries no information and can be reused. */
  isIdle(tokens: f64, updatedMs: i64, nowMs: i64): bool {
    return this.tokensAt(tokens, updatedMs, nowMs) >= this.burst;
  }
}

/** The outcome of taking one token. */
export class Take {
  allowed: bool = false;
  /** The bucket after the request (store it back): tokens at updatedMs. */
  tokens: f64 = 0;
  updatedMs: i64 = 0;
  /** Whole tokens left. */
  remaining: i64 = 0;
  /** Milliseconds until the next token (0 when one is available now). */
  retryAfterMs: i64 = 0;
  /** Milliseconds until the bucket is full again. */
  resetMs: i64 = 0;

  /** Let through without counting (see takeToken's fail-open). */
  failOpen(limit: Limit, nowMs: i64): Take {
    this.allowed = true;
    this.tokens = limit.burst;
    this.updatedMs = nowMs;
    this.remaining = 0;
    this.retryAfterMs = 0;
    this.resetMs = 0;
    return this;
  }
}

/** Takes one token from the bucket (tokens at updatedMs) into `out`. */
export function take(limit: Limit, tokensThen: f64, updatedMs: i64, nowMs: i64, out: Take): Take {
  let tokens = limit.tokensAt(tokensThen, updatedMs, nowMs);
  const allowed = tokens >= 1;
  if (allowed) tokens -= 1;
  const retry = tokens >= 1 ? 0 : <i64>Math.ceil(limit.msFor(1 - tokens));
  out.allowed = allowed;
  out.tokens = tokens;
  out.updatedMs = nowMs > updatedMs ? nowMs : updatedMs;
  out.remaining = <i64>Math.floor(tokens);
  out.retryAfterMs = allowed ? 0 : retry;
  out.resetMs = <i64>Math.ceil(limit.msFor(limit.burst - tokens));
  return out;
}
