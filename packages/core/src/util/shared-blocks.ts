import { InvalidArgumentError } from '../errors/errors.js';

/**
 * Small byte arrays carved out of shared 64 KiB blocks, as Node does for
 * small Buffers: a typed array with a buffer of its own costs a separate
 * allocation plus garbage collector bookkeeping, which at hundreds of
 * thousands of proposals a second showed up as the largest single cost. A
 * block lives as long as any slice cut from it; requests larger than an
 * eighth of a block get a buffer of their own. Proposal frames and
 * Multi-Paxos log entries both come from here.
 */
const BLOCK_BYTES = 64 * 1024;
let block = new Uint8Array(0);
let blockUsed = 0;

/**
 * A zeroed slice of `size` bytes. The size is checked before the shared
 * block's fill level is touched: a NaN there would make every later slice
 * of every caller in the process come out empty.
 *
 * @throws InvalidArgumentError when `size` is not a non-negative safe integer.
 */
export function sliceOfSharedBlock(size: number): Uint8Array {
  if (!Number.isSafeInteger(size) || size < 0) throw new InvalidArgumentError(`bad slice size ${size}`);
  if (size > BLOCK_BYTES / 8) return new Uint8Array(size);
  if (blockUsed + size > block.length) {
    block = new Uint8Array(BLOCK_BYTES);
    blockUsed = 0;
  }
  const slice = block.subarray(blockUsed, blockUsed + size);
  blockUsed += size;
  return slice;
}
