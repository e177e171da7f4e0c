import { AbortError, TimeoutError } from '../errors/errors.js';
import type { Deadlines, Expiring } from '../time/deadlines.js';

/** How a waiting call is answered. Only the first answer counts. */
export interface Pending<T> {
  resolve(value: T): void;
  reject(error: Error): void;
}

/*
 * The resolving functions of the promise being built. A module-level
 * executor that hands them over through these two variables costs no
 * closure per call; the executor runs synchronously inside `new Promise`,
 * so nothing can run in between.
 */
let capturedResolve: ((value: never) => void) | undefined;
let capturedReject: ((error: Error) => void) | undefined;

function capture(resolve: (value: never) => void, reject: (error: Error) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

/**
 * One call of a {@link RaftNode} that waits for an answer (a proposal, a
 * read, a membership or leadership call): its promise, its deadline and
 * abort wiring, and the clean-up on the first settlement. Every later
 * settlement is ignored, so each promise settles exactly once.
 *
 * A class rather than a set of closures: a node with a thousand proposals
 * in flight makes hundreds of thousands of these a second, and half a
 * dozen closures and records per call were the largest share of what its
 * garbage collector had to clear.
 *
 * @internal
 */
export class PendingCall<T> implements Pending<T>, Expiring {
  readonly promise: Promise<T>;
  /** The node's number for this call; proposals are framed with it. */
  readonly sequence: number;
  /** Runs once on the first settlement, to unregister the call. */
  forget: (() => void) | undefined = undefined;
  /** Where {@link Deadlines} filed the call's timeout. */
  deadlineAt = 0;
  deadlinePosition = 0;
  readonly #resolve: (value: T) => void;
  readonly #reject: (error: Error) => void;
  readonly #deadlines: Deadlines;
  readonly #timeoutMs: number;
  readonly #onDeadline: (() => Error | undefined) | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort: (() => void) | undefined;
  /** A map holding the call under its sequence, left on settlement (cheaper than a `forget` closure). */
  #registry: { delete(key: number): boolean } | undefined = undefined;
  #settled = false;

  /**
   * @param onDeadline - a more telling error than TimeoutError for the deadline, if any.
   */
  constructor(
    sequence: number,
    deadlines: Deadlines,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    onDeadline: (() => Error | undefined) | undefined,
  ) {
    this.promise = new Promise<T>(capture);
    this.#resolve = capturedResolve as (value: T) => void;
    this.#reject = capturedReject!;
    capturedResolve = capturedReject = undefined;
    this.sequence = sequence;
    this.#deadlines = deadlines;
    this.#timeoutMs = timeoutMs;
    this.#onDeadline = onDeadline;
    deadlines.schedule(timeoutMs, this);
    this.#signal = signal;
    if (signal !== undefined) {
      const onAbort = (): void => this.reject(new AbortError('operation aborted', { cause: signal.reason }));
      this.#onAbort = onAbort;
      signal.addEventListener('abort', onAbort, { once: true });
    }
  }

  /** Puts the call into `registry` under its sequence until it settles. */
  registerIn(registry: { set(key: number, call: PendingCall<T>): unknown; delete(key: number): boolean }): void {
    registry.set(this.sequence, this);
    this.#registry = registry;
  }

  resolve(value: T): void {
    if (this.#finish()) this.#resolve(value);
  }

  reject(error: Error): void {
    if (this.#finish()) this.#reject(error);
  }

  /** The deadline passed (called by {@link Deadlines}). */
  onExpire(): void {
    this.reject(this.#onDeadline?.() ?? new TimeoutError(`no answer within ${this.#timeoutMs} ms`));
  }

  /** Cleans up on the first settlement; false for any later one. */
  #finish(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    this.#deadlines.unschedule(this);
    if (this.#onAbort !== undefined) this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#registry?.delete(this.sequence);
    this.forget?.();
    return true;
  }
}
