import { SynodError } from '../errors/errors.js';

/**
 * Errors specific to failure detection. Like the shared errors in
 * `errors/errors.ts`, code branches on the class or on `code`, never on the
 * message text.
 *
 * @example
 * ```ts
 * try {
 *   await swim.join(['seed-1', 'seed-2'], { timeoutMs: 2_000 });
 * } catch (err) {
 *   if (err instanceof JoinFailedError) console.error('no seed answered:', err.seeds);
 * }
 * ```
 */
export class JoinFailedError extends SynodError {
  readonly code = 'JOIN_FAILED';
  /** The seeds that were contacted, none of which answered in time. */
  readonly seeds: readonly string[];

  constructor(seeds: readonly string[], options?: { cause?: unknown }) {
    super(`no seed answered the join request (tried ${seeds.length === 0 ? 'none' : seeds.join(', ')})`, options);
    this.seeds = seeds;
  }
}
