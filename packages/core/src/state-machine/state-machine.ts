/**
 * The contract between a consensus driver (`RaftNode`, later `MultiPaxosNode`)
 * and the application it replicates.
 *
 * A driver applies every committed log entry, in log order and exactly once
 * per replica incarnation, by calling {@link StateMachine.apply}. Because every
 * replica applies the same sequence, replicas stay identical only if `apply`
 * is a pure function of (current state, command, context): it must not read
 * the local clock, randomness, the environment or anything else that can differ
 * between replicas. Time-based behaviour therefore has to be carried in the log
 * itself (see the KV state machine's `expire-sessions` command).
 *
 * @example
 * ```ts
 * class Counter implements StateMachine<Uint8Array, number, 'value', number> {
 *   #value = 0;
 *   apply(command: Uint8Array): number {
 *     this.#value += command[0] ?? 0;
 *     return this.#value;
 *   }
 *   query(): number {
 *     return this.#value;
 *   }
 *   snapshot(): Uint8Array {
 *     return new TextEncoder().encode(String(this.#value));
 *   }
 *   restore(snapshot: Uint8Array): void {
 *     this.#value = Number(new TextDecoder().decode(snapshot));
 *   }
 * }
 * ```
 */
export interface StateMachine<Command = Uint8Array, Result = unknown, Query = unknown, QueryResult = unknown> {
  /**
   * Applies one committed command. Must be deterministic: the same sequence of
   * commands and contexts yields the same results and the same state on every
   * replica. Invalid commands should produce a (deterministic) error result
   * rather than throw, because a throw would stop every replica at the same
   * entry.
   */
  apply(command: Command, context: ApplyContext): Result;
  /** Answers a read-only query against the current state (used for reads after ReadIndex). Never changes state. */
  query(query: Query): QueryResult;
  /** Serializes the whole state. */
  snapshot(): Uint8Array;
  /**
   * Replaces the whole state from a snapshot. Implementations validate the
   * snapshot and throw `CorruptionError` without changing state when it is
   * malformed.
   */
  restore(snapshot: Uint8Array): void;
}

/** Where in the log the command being applied sits. */
export interface ApplyContext {
  /** The log index (Raft) or slot (Multi-Paxos) of the command. */
  readonly index: number;
  /** The term (Raft) or ballot round (Multi-Paxos) in which the command was proposed. */
  readonly term: number;
}

/**
 * Turns typed commands into the bytes a consensus log carries, and back.
 * Drivers carry opaque bytes; an application pairs its state machine with a
 * codec so proposers can encode and the state machine can decode.
 *
 * `decode` must reject malformed input with a typed error (for example
 * `CorruptionError`), never crash the process.
 *
 * @example
 * ```ts
 * const bytes = kvCommandCodec.encode({ type: 'put', key: 'a', value: '1' });
 * await node.propose(bytes);
 * ```
 */
export interface CommandCodec<Command> {
  encode(command: Command): Uint8Array;
  decode(bytes: Uint8Array): Command;
}
