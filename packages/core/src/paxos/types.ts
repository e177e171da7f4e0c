import type { ConfState, EntryType, HardState, Snapshot, Entry } from '../raft/types.js';
import type { NodeId } from '../transport/transport.js';
import type { Ballot } from './ballot.js';

/**
 * Data types of the Multi-Paxos core. Slots are JavaScript numbers starting
 * at 1 (uint64 on the wire). A slot's value is opaque bytes plus a type:
 * `normal` (an application command; empty data is a no-op that fills a gap)
 * or `conf-change` (a membership change, see {@link encodeVoters}).
 */

/** A value proposed for (or chosen in) a slot. */
export interface SlotValue {
  readonly slot: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** A value an acceptor accepted, with the ballot it accepted it in. */
export interface AcceptedSlot extends SlotValue {
  readonly ballot: Ballot;
}

interface PaxosMessageBase {
  readonly from: NodeId;
  readonly to: NodeId;
  /** The ballot the message is about (for `reject`: the receiver's promise to beat). */
  readonly ballot: Ballot;
}

/** Phase 1a for every slot from `fromSlot` on (Paxos Made Simple §3: one prepare for infinitely many instances). */
export interface PaxosPrepare extends PaxosMessageBase {
  readonly type: 'prepare';
  readonly fromSlot: number;
}

/**
 * Phase 1b: the acceptor's accepted values from `fromSlot` on. Those at or
 * below `commit` are known chosen by the acceptor. When `compactedTo` is
 * at or above `fromSlot`, the acceptor has discarded chosen slots the
 * proposer still needs, and the proposer must first catch up.
 */
export interface PaxosPromise extends PaxosMessageBase {
  readonly type: 'promise';
  readonly fromSlot: number;
  readonly accepted: readonly AcceptedSlot[];
  readonly commit: number;
  readonly compactedTo: number;
}

/** Phase 2a for a batch of slots; with no entries it is the leader's heartbeat. `commit` is the leader's chosen prefix. */
export interface PaxosAccept extends PaxosMessageBase {
  readonly type: 'accept';
  readonly entries: readonly SlotValue[];
  readonly commit: number;
}

/** Phase 2b: the slots accepted in `ballot`; `commit` is the acceptor's own chosen prefix. */
export interface PaxosAccepted extends PaxosMessageBase {
  readonly type: 'accepted';
  readonly slots: readonly number[];
  readonly commit: number;
}

/** The receiver refused a prepare or accept: `ballot` is its promise, which the sender must exceed. */
export interface PaxosReject extends PaxosMessageBase {
  readonly type: 'reject';
}

/** A lagging replica asks for the chosen values from `fromSlot` on. */
export interface PaxosCatchUp extends PaxosMessageBase {
  readonly type: 'catch-up';
  readonly fromSlot: number;
}

/** Chosen values (with the ballots they were accepted in), for a replica that lags. */
export interface PaxosLearn extends PaxosMessageBase {
  readonly type: 'learn';
  readonly entries: readonly AcceptedSlot[];
  readonly commit: number;
}

/** A checkpoint, for a replica that needs slots the sender has discarded. */
export interface PaxosSnapshot extends PaxosMessageBase {
  readonly type: 'snapshot';
  readonly snapshot: Snapshot;
}

export type PaxosMessage =
  | PaxosPrepare
  | PaxosPromise
  | PaxosAccept
  | PaxosAccepted
  | PaxosReject
  | PaxosCatchUp
  | PaxosLearn
  | PaxosSnapshot;

export type PaxosMessageType = PaxosMessage['type'];

export type PaxosRole = 'follower' | 'candidate' | 'leader';

/** Role and leader, reported in a Ready when either changed. */
export interface PaxosSoftState {
  readonly role: PaxosRole;
  readonly leader: NodeId | undefined;
  readonly ballot: Ballot;
}

/**
 * Everything the core asks its driver to do, in this order:
 * 1. persist `snapshot` (if any), `entries` and `hardState` (if any) and sync;
 * 2. send `messages` (those addressed to this node go back into `step`);
 * 3. apply `committedEntries`;
 * 4. call `advance(ready)`.
 *
 * The acceptor's state maps onto the Storage contract: the promised ballot
 * is the hard state's (`term` = round, `vote` = node), its chosen prefix is
 * `commit`, and each slot's accepted (ballot, value) is the log entry at
 * that index (see {@link encodeSlotEntry}).
 */
export interface PaxosReady {
  readonly softState: PaxosSoftState | undefined;
  readonly hardState: HardState | undefined;
  readonly entries: readonly Entry[];
  readonly snapshot: Snapshot | undefined;
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly PaxosMessage[];
  /** Slots this node accepted in this Ready, with `reportAcceptances` (after persistence they are promises to the proposer). */
  readonly accepted: readonly AcceptedSlot[];
}

/** Membership: the voters listed in a conf-change value. */
export type PaxosConfState = ConfState;
