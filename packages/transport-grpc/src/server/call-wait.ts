/** The part of a grpc-js server call that {@link callWait} needs. */
export interface WaitingCall {
  once(event: 'cancelled', listener: () => void): unknown;
  removeListener(event: 'cancelled', listener: () => void): unknown;
  getDeadline(): Date | number;
}

/** How long a handler may wait for consensus, and the signal that ends the wait early. */
export interface CallWait {
  /** Aborted when the client cancels the call before it is answered. */
  readonly signal: AbortSignal;
  /** Time left before the call's deadline, capped by the server's default, at least 1 ms. */
  readonly timeoutMs: number;
  /**
   * The call is answered: a later 'cancelled' no longer aborts the signal.
   * grpc-js emits 'cancelled' when the stream of every call closes, answered
   * or not; without this each call would abort its signal after the answer,
   * building a DOMException with a stack trace for nothing.
   */
  release(): void;
}

/**
 * The wait of one unary call: an abort signal tied to the client's
 * cancellation until {@link CallWait.release}, and the time left before its
 * deadline (`defaultTimeoutMs` when it has none or a later one).
 */
export function callWait(call: WaitingCall, defaultTimeoutMs: number): CallWait {
  const controller = new AbortController();
  const onCancelled = (): void => controller.abort();
  call.once('cancelled', onCancelled);
  return {
    signal: controller.signal,
    timeoutMs: callTimeoutMs(call, defaultTimeoutMs),
    release: () => call.removeListener('cancelled', onCancelled),
  };
}

/**
 * The time left before the call's deadline, capped by `defaultTimeoutMs`
 * (its value when the call has no deadline), at least 1 ms: the wait of a
 * call that nothing but its deadline ends (see {@link callWait}).
 *
 * @example
 * ```ts
 * const result = await node.read(query, { timeoutMs: callTimeoutMs(call, 5_000) });
 * ```
 */
export function callTimeoutMs(call: Pick<WaitingCall, 'getDeadline'>, defaultTimeoutMs: number): number {
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  const left = Number.isFinite(at) ? at - Date.now() : defaultTimeoutMs;
  return Math.max(1, Math.min(defaultTimeoutMs, left));
}
