import type { Envelope, NodeId } from '@synod/core';
import type { DropReason } from './stats.js';

/**
 * What happened on a {@link MemoryNetwork}, for traces, dashboards and
 * simulation logs. `at` is the network clock's time. With a codec, the
 * envelope of a `send` is the one the sender passed and that of a `deliver`
 * is the decoded copy the receiver got.
 */
export type NetworkEvent =
  | { readonly type: 'send'; readonly at: number; readonly envelope: Envelope; readonly bytes: number }
  | { readonly type: 'deliver'; readonly at: number; readonly envelope: Envelope }
  | { readonly type: 'drop'; readonly at: number; readonly envelope: Envelope; readonly reason: DropReason }
  | { readonly type: 'duplicate'; readonly at: number; readonly envelope: Envelope }
  | { readonly type: 'unreachable'; readonly at: number; readonly from: NodeId; readonly to: NodeId }
  | { readonly type: 'crash'; readonly at: number; readonly node: NodeId }
  | { readonly type: 'restart'; readonly at: number; readonly node: NodeId };

/** Receives {@link NetworkEvent}s; see {@link MemoryNetwork.observe}. */
export type NetworkObserver = (event: NetworkEvent) => void;
