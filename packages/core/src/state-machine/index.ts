/**
 * The contract between consensus drivers and the replicated application.
 *
 * @example
 * ```ts
 * import type { StateMachine } from '@synod/core';
 *
 * function replay(machine: StateMachine, entries: readonly { index: number; term: number; data: Uint8Array }[]): void {
 *   for (const entry of entries) machine.apply(entry.data, entry);
 * }
 * ```
 *
 * @module
 */
export type { ApplyContext, CommandCodec, StateMachine } from './state-machine.js';
