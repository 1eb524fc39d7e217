/**
 * The server process's V8 heap, set as `noegleviser server` starts. Under load most of what a
 * request allocates dies young, but about 1 KB of each verification is promoted and dies in the
 * old generation, which V8 lets grow to up to 4× what survived the last full collection before it
 * collects again (its factor on a machine with much memory): at 64 connections that was 80 MB and
 * more of dead objects on top of a live heap of about 35 MB. A fixed factor of 2 collects them
 * sooner: the peak under the bench's load fell from 285–297 MB to 200–217 MB for 2–4% more CPU a
 * verification (1.5 gave 190 MB for about 5%; 2.5 gave 228 MB). See the README's Speed section.
 */
import v8 from 'node:v8';

export const HEAP_GROWING_PERCENT = 100;

/** Sets the old generation's growing factor for this process (read by V8 at each full collection), unless the operator set one. */
export function boundServerHeap(execArgv: readonly string[] = process.execArgv): void {
  // V8 takes it on node's command line only (NODE_OPTIONS refuses it).
  if (execArgv.some((option) => option.includes('heap-growing-percent'))) return;
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
