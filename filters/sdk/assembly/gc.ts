// Garbage collection for modules built with `--runtime minimal` (the built-in auth filter). That
// collector (TCMS) needs no shadow stack, which makes modules a third smaller and calls faster, but
// it never runs by itself and may only run when no Wasm frame holds a reference in a local: on entry
// to a callback the host made directly, not one nested in a host call made from Wasm. So every
// export that runs filter code brackets itself with enter()/leave(). Collecting on entry rather than
// on exit also leaves what the previous callback handed the host untouched until the host calls
// again (a host that keeps pointers into module memory, like the Go SDK's proxytest, still reads
// it). With the incremental runtime (the default) both are empty and optimized away.

/** Callbacks between collections per 64 KiB page of heap: marking costs in proportion to the live
 * heap, so a bigger heap collects less often; garbage between collections stays a fraction of it. */
const CALLBACKS_PER_PAGE: i32 = 16;
const MIN_INTERVAL: i32 = 256;
const MAX_INTERVAL: i32 = 65536;

let depth: i32 = 0;
let callbacks: i32 = 0;
let interval: i32 = MIN_INTERVAL;
let pagesAtCollect: i32 = 0;

export function enter(): void {
  if (ASC_RUNTIME == 1) {
    if (depth++ == 0) maybeCollect();
  }
}

export function leave(): void {
  if (ASC_RUNTIME == 1) depth--;
}

function maybeCollect(): void {
  // A grown heap (the allocator doubles it) is collected at once, before garbage grows it again.
  if (++callbacks < interval && memory.size() == pagesAtCollect) return;
  __collect();
  callbacks = 0;
  pagesAtCollect = memory.size();
  interval = min(max(pagesAtCollect * CALLBACKS_PER_PAGE, MIN_INTERVAL), MAX_INTERVAL);
}
