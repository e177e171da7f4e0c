import {
  BusyError,
  InvalidArgumentError,
  NotLeaderError,
  ProposalDroppedError,
  StoppedError,
  TimeoutError,
} from '../errors/errors.js';
import type { Clock, TimerHandle } from '../time/clock.js';
import { systemClock } from '../time/clock.js';
import { encodeKvCommand } from './command-codec.js';

/** What session expiry needs of a node: a `RaftNode` has it. */
export interface SessionExpiryNode {
  status(): { readonly role: string; readonly term: number };
  propose(command: Uint8Array, options?: { readonly timeoutMs?: number }): Promise<unknown>;
}

/** What session expiry needs of the KV store on the same node. */
export interface SessionExpiryStore {
  /** The log time of the latest applied `expire-sessions` (`KvStateMachine.logTime`). */
  readonly logTime: number;
}

/** Failures that only mean "not now": the next round tries again. */
const ROUTINE_FAILURES = [NotLeaderError, TimeoutError, ProposalDroppedError, StoppedError, BusyError];

export interface SessionExpiryOptions {
  /** The node to propose through; only while it leads. */
  readonly node: SessionExpiryNode;
  /** The node's own `KvStateMachine`, to continue log time where the previous leader left it. */
  readonly store: SessionExpiryStore;
  /**
   * How often the leader proposes `expire-sessions`. Keep it well below the
   * store's `sessionTtl` (a session's idle time is measured in these steps).
   * @default 10000
   */
  readonly intervalMs?: number;
  /** @default systemClock */
  readonly clock?: Clock;
  /** Called when a proposal fails for a reason other than losing leadership or a timeout. */
  readonly onError?: (error: unknown) => void;
}

/**
 * Makes client sessions expire (Raft thesis §6.3): while `node` leads, it
 * proposes `expire-sessions` every `intervalMs`, carrying the leader's time.
 * Replicas never read their own clocks; they expire sessions by the time in
 * the log, so they all agree.
 *
 * The time proposed is log time, not wall time: a new leader continues from
 * the log time it has applied and adds the time its own monotonic clock has
 * measured since it took over. So no two nodes' clocks are ever compared, and
 * the time between leaders (an election) does not count against sessions.
 *
 * Returns a function that stops it.
 *
 * @example
 * ```ts
 * const store = new KvStateMachine({ sessionTtl: 60_000 });
 * const node = new RaftNode({ ...options, stateMachine: store });
 * const stopExpiry = startSessionExpiry({ node, store, intervalMs: 10_000 });
 * // ...
 * stopExpiry();
 * await node.stop();
 * ```
 */
export function startSessionExpiry(options: SessionExpiryOptions): () => void {
  const { node, store } = options;
  const clock = options.clock ?? systemClock;
  const intervalMs = options.intervalMs ?? 10_000;
  if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
    throw new InvalidArgumentError(`intervalMs must be a positive number, got ${intervalMs}`);
  }
  /** Where this node's leadership began, in log time and on its own clock. */
  let reign: { term: number; logTimeAtStart: number; clockAtStart: number } | undefined;
  let timer: TimerHandle | undefined;
  let stopped = false;

  const tick = (): void => {
    if (stopped) return;
    const { role, term } = node.status();
    if (role !== 'leader') {
      reign = undefined;
    } else {
      if (reign?.term !== term) reign = { term, logTimeAtStart: store.logTime, clockAtStart: clock.now() };
      const now = Math.floor(reign.logTimeAtStart + (clock.now() - reign.clockAtStart));
      node.propose(encodeKvCommand({ type: 'expire-sessions', now }), { timeoutMs: intervalMs }).catch((error: unknown) => {
        if (!ROUTINE_FAILURES.some((kind) => error instanceof kind)) options.onError?.(error);
      });
    }
    timer = clock.setTimeout(tick, intervalMs);
  };
  timer = clock.setTimeout(tick, intervalMs);
  return () => {
    stopped = true;
    if (timer !== undefined) clock.clearTimeout(timer);
  };
}
