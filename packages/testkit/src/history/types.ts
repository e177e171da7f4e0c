/**
 * The vocabulary of a client history: what each client asked for (the
 * invoke), and what it learned about the outcome (the completion).
 *
 * A history is an ordered list of events. The order of the list is the
 * real-time order: if an operation's completion comes before another
 * operation's invoke in the list, the first really finished before the second
 * started, and a linearizable system must order them that way. Timestamps are
 * kept for humans and reports; they must agree with the list order
 * (non-decreasing), but equal timestamps do not make two events concurrent.
 *
 * @packageDocumentation
 */

/** Identifies a client (a Jepsen "process"). One client may run several operations over time. */
export type ClientId = string | number;

/**
 * How an operation ended.
 *
 * - `ok`: it took effect, and `output` is what the client saw.
 * - `fail`: it definitely did not take effect (for example, rejected before it
 *   was proposed). The checker removes it.
 * - `info`: the outcome is unknown (timeout, lost connection). It may take
 *   effect at any time after its invoke, even after the end of the history,
 *   so the checker keeps it open until the end. It is never dropped.
 */
export type CompletionType = 'ok' | 'fail' | 'info';

/** The start of an operation. */
export interface InvokeEvent<I> {
  readonly type: 'invoke';
  /** Unique within the history; pairs the invoke with its completion. */
  readonly id: number;
  readonly client: ClientId;
  /** From the recorder's injected clock; non-decreasing along the history. */
  readonly time: number;
  readonly input: I;
}

/** The operation took effect and the client saw `output`. */
export interface OkEvent<O> {
  readonly type: 'ok';
  readonly id: number;
  readonly client: ClientId;
  readonly time: number;
  readonly output: O;
}

/** The operation definitely did not take effect. */
export interface FailEvent {
  readonly type: 'fail';
  readonly id: number;
  readonly client: ClientId;
  readonly time: number;
  /** Why, for humans. */
  readonly error?: string;
}

/** The outcome is unknown: the operation may or may not take effect, at any time after its invoke. */
export interface InfoEvent {
  readonly type: 'info';
  readonly id: number;
  readonly client: ClientId;
  readonly time: number;
  /** Why the outcome is unknown, for humans. */
  readonly error?: string;
}

/** A completion event. */
export type CompletionEvent<O> = OkEvent<O> | FailEvent | InfoEvent;

/** One line of a history. */
export type HistoryEvent<I, O> = InvokeEvent<I> | CompletionEvent<O>;

/** A whole history: events in real-time order. */
export type History<I, O> = readonly HistoryEvent<I, O>[];

/**
 * Where an operation stands at the end of the history. `open` means no
 * completion was recorded at all; the checker treats it exactly like `info`.
 */
export type OperationStatus = CompletionType | 'open';

/**
 * One operation, its invoke and completion paired. Built from a history by
 * {@link operationsFromHistory}.
 */
export interface Operation<I, O> {
  readonly id: number;
  readonly client: ClientId;
  readonly input: I;
  readonly status: OperationStatus;
  /** Present only when `status` is `ok`. */
  readonly output?: O;
  /** The reason given with a `fail` or `info` completion. */
  readonly error?: string;
  readonly invokeTime: number;
  /** Absent when the operation is still open. */
  readonly completeTime?: number;
  /** Position of the invoke in the history; orders events in real time. */
  readonly invokeIndex: number;
  /** Position of the completion in the history; absent when the operation is still open. */
  readonly completeIndex?: number;
}

/**
 * True when the outcome is unknown (`info` or never completed): the operation
 * may take effect at any time after its invoke.
 *
 * @example
 * ```ts
 * const pending = operationsFromHistory(history).filter(isOutcomeUnknown);
 * ```
 */
export function isOutcomeUnknown(op: Operation<unknown, unknown>): boolean {
  return op.status === 'info' || op.status === 'open';
}
