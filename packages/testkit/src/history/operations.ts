import { InvalidHistoryError } from './errors.js';
import type { ClientId, History, HistoryEvent, Operation, OperationStatus } from './types.js';

interface OperationDraft<I, O> {
  id: number;
  client: ClientId;
  input: I;
  status: OperationStatus;
  output?: O;
  error?: string;
  invokeTime: number;
  completeTime?: number;
  invokeIndex: number;
  completeIndex?: number;
}

/**
 * Pairs each invoke with its completion. Operations come back in invoke
 * order. An invoke without a completion becomes an `open` operation: it is
 * kept, because its effect may still show up.
 *
 * @throws {@link InvalidHistoryError} for a completion without an invoke, a
 *   second completion, a reused id, a completion from another client, or a
 *   timestamp lower than the one before it.
 *
 * @example
 * ```ts
 * const ops = operationsFromHistory(recorder.history());
 * const open = ops.filter((op) => op.status === 'open');
 * ```
 */
export function operationsFromHistory<I, O>(history: History<I, O>): Operation<I, O>[] {
  const byId = new Map<number, OperationDraft<I, O>>();
  const ops: OperationDraft<I, O>[] = [];
  let lastTime = Number.NEGATIVE_INFINITY;
  // A plain loop, not forEach: pairing is part of a single `synod check`,
  // which runs it once, in V8's interpreter, where a callback per event costs.
  for (let index = 0; index < history.length; index++) {
    const event = history[index] as HistoryEvent<I, O> | undefined;
    if (event === undefined) throw new InvalidHistoryError(`event ${index}: missing (the history has a hole)`);
    if (!Number.isFinite(event.time)) {
      throw new InvalidHistoryError(`event ${index}: time ${event.time} is not a finite number`);
    }
    // The list order is the real-time order; timestamps that disagree with it
    // mean the history was assembled wrongly, and any verdict would be noise.
    if (event.time < lastTime) {
      throw new InvalidHistoryError(`event ${index}: time ${event.time} is lower than the previous event's ${lastTime}`);
    }
    lastTime = event.time;
    if (event.type === 'invoke') {
      if (byId.has(event.id)) {
        throw new InvalidHistoryError(`event ${index}: operation id ${event.id} is invoked twice`);
      }
      const draft: OperationDraft<I, O> = {
        id: event.id,
        client: event.client,
        input: event.input,
        status: 'open',
        invokeTime: event.time,
        invokeIndex: index,
      };
      byId.set(event.id, draft);
      ops.push(draft);
      continue;
    }
    const draft = byId.get(event.id);
    if (draft === undefined) {
      throw new InvalidHistoryError(`event ${index}: ${event.type} for operation ${event.id}, which was never invoked`);
    }
    if (draft.status !== 'open') {
      throw new InvalidHistoryError(`event ${index}: operation ${event.id} completes a second time`);
    }
    if (draft.client !== event.client) {
      throw new InvalidHistoryError(
        `event ${index}: operation ${event.id} was invoked by client ${String(draft.client)} but completed by ${String(event.client)}`,
      );
    }
    draft.status = event.type;
    draft.completeTime = event.time;
    draft.completeIndex = index;
    if (event.type === 'ok') draft.output = event.output;
    else if (event.error !== undefined) draft.error = event.error;
  }
  return ops;
}
