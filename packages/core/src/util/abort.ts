import { AbortError } from '../errors/errors.js';

/** Throws `AbortError` (with the signal's reason as cause) when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError('operation aborted', { cause: signal.reason });
}
