import { CorruptionError } from '@synod/core';

/**
 * Terms and indexes are uint64 on the wire but plain numbers in the cores
 * (exact up to 2^53 - 1, which no real log reaches). Decoding refuses values
 * that would lose precision instead of silently rounding them.
 */
export function toWire(value: number): bigint {
  return BigInt(value);
}

export function fromWire(value: bigint, field: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new CorruptionError(`${field} ${value} exceeds the largest exact integer`);
  }
  return Number(value);
}
