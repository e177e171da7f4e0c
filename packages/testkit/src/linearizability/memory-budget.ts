import { totalmem } from 'node:os';
import { getHeapStatistics } from 'node:v8';

/** Share of the machine's memory the checker takes by default. */
const SHARE_OF_RAM = 0.25;
/**
 * Share of V8's heap limit the checker takes by default. The memo cache lives
 * in typed arrays outside the V8 heap, but model states, the search stack and
 * the caller's history live on it, and Node's default old-space limit can be
 * far below the machine's memory: a budget above it would end in a crash
 * ("JavaScript heap out of memory") instead of an `unknown`.
 */
const SHARE_OF_HEAP_LIMIT = 0.5;

/**
 * The memory budget the checker uses when none is given: a quarter of the
 * machine's memory, and at most half of V8's heap limit
 * (`v8.getHeapStatistics().heap_size_limit`, which `--max-old-space-size`
 * raises).
 *
 * @example
 * ```ts
 * formatBytes(defaultMemoryBudgetBytes()); // e.g. '2.0 GiB'
 * ```
 */
export function defaultMemoryBudgetBytes(): number {
  return Math.floor(Math.min(totalmem() * SHARE_OF_RAM, getHeapStatistics().heap_size_limit * SHARE_OF_HEAP_LIMIT));
}

/**
 * Bytes the checker may hold at once, shared by the searches of all
 * partitions: every growth of a cache, state table or search structure is
 * reserved here first, and a search that cannot reserve what it needs stops
 * with `unknown (memory budget)` instead of allocating.
 *
 * @example
 * ```ts
 * const budget = new MemoryBudget(2 * 2 ** 30);
 * if (!budget.reserve(1 << 20)) throw new Error('no room');
 * budget.release(1 << 20);
 * ```
 */
export class MemoryBudget {
  /** The most bytes that may be reserved at once. */
  readonly limitBytes: number;
  #usedBytes = 0;
  #peakBytes = 0;

  constructor(limitBytes: number) {
    this.limitBytes = limitBytes;
  }

  /** Bytes reserved now. */
  get usedBytes(): number {
    return this.#usedBytes;
  }

  /** The most bytes reserved at any one time. */
  get peakBytes(): number {
    return this.#peakBytes;
  }

  /** Reserves `bytes` if they fit under the limit; false (and nothing reserved) otherwise. */
  reserve(bytes: number): boolean {
    if (this.#usedBytes + bytes > this.limitBytes) return false;
    this.#usedBytes += bytes;
    if (this.#usedBytes > this.#peakBytes) this.#peakBytes = this.#usedBytes;
    return true;
  }

  /** Gives back bytes reserved earlier. */
  release(bytes: number): void {
    this.#usedBytes -= bytes;
  }
}

const UNITS: Readonly<Record<string, number>> = {
  b: 1,
  k: 2 ** 10,
  kb: 1e3,
  kib: 2 ** 10,
  m: 2 ** 20,
  mb: 1e6,
  mib: 2 ** 20,
  g: 2 ** 30,
  gb: 1e9,
  gib: 2 ** 30,
  t: 2 ** 40,
  tb: 1e12,
  tib: 2 ** 40,
};

/**
 * Reads a size such as `2GiB`, `512 MiB`, `1.5GB` or `1000000` (bytes).
 * Binary units (KiB, MiB, GiB, TiB, and the bare K, M, G, T) are powers of
 * 1024, decimal ones (kB, MB, GB, TB) powers of 1000; case does not matter.
 *
 * @returns the number of bytes, or undefined when `text` is not a positive size.
 *
 * @example
 * ```ts
 * parseByteSize('2GiB'); // 2147483648
 * parseByteSize('lots'); // undefined
 * ```
 */
export function parseByteSize(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)\s*$/i.exec(text);
  if (match === null) return undefined;
  const unit = UNITS[(match[2] ?? '').toLowerCase() || 'b'];
  if (unit === undefined) return undefined;
  const bytes = Math.floor(Number(match[1]) * unit);
  return Number.isFinite(bytes) && bytes > 0 ? bytes : undefined;
}

/**
 * A byte count for people: `512 B`, `3.4 MiB`, `2.0 GiB`.
 *
 * @example
 * ```ts
 * formatBytes(2 ** 31); // '2.0 GiB'
 * ```
 */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit] as string}`;
}
