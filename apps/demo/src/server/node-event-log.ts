import type { Logger, RaftRole } from '@synod/core';
import type { FinishedCall } from './node-calls.js';

/** The node events `serve` logs here (leader, membership, snapshot and error records come from the server itself). */
export interface RoleEvents {
  on(event: 'role', listener: (event: { readonly role: RaftRole; readonly term: number }) => void): unknown;
}

/**
 * Logs this node's elections: a pre-vote or an election it starts, and the
 * term it wins. The server already logs leader changes, configurations,
 * snapshots and storage errors, so together they tell the story of a node
 * in one JSON line per event.
 *
 * @example
 * ```ts
 * logElections(server.node, logger);
 * // {"level":30,…,"node":"n1","term":4,"msg":"election started"}
 * ```
 */
export function logElections(node: RoleEvents, logger: Logger): void {
  node.on('role', ({ role, term }) => {
    if (role === 'pre-candidate') logger.debug({ term }, 'pre-vote started');
    else if (role === 'candidate') logger.info({ term }, 'election started');
    else if (role === 'leader') logger.info({ term }, 'became leader');
    else logger.debug({ term }, 'became follower');
  });
}

/**
 * Logs client calls that failed, at debug: a client that hit a follower
 * without a leader, a timeout during an election, a cancelled call. They
 * are expected around faults and the client retries them, so they are
 * detail, not warnings; the server logs unexpected failures as errors.
 */
export function logFailedCall(logger: Logger, call: FinishedCall): void {
  if (call.error === undefined) return;
  const error = call.error;
  logger.debug(
    {
      call: call.kind,
      ...(call.consistency === undefined ? {} : { consistency: call.consistency }),
      ms: Math.round(call.seconds * 1000),
      error: error instanceof Error ? error.name : 'unknown',
      reason: error instanceof Error ? error.message : String(error),
    },
    `client ${call.kind} failed`,
  );
}
