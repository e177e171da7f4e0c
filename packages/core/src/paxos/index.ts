/**
 * Paxos: the single-decree Synod roles (with Fast Paxos rounds), the pure
 * {@link MultiPaxosCore} and the {@link MultiPaxosNode} driver with the same
 * node API as RaftNode, plus the ballot and quorum helpers and the message
 * types a transport or codec needs.
 *
 * @module
 */
export * from './ballot.js';
export * from './quorums.js';
export * from './synod.js';
export * from './types.js';
export { encodeVoters, decodeVoters } from './membership.js';
export { encodeSlotEntry, decodeSlotEntry } from './slot-entry.js';
export { MultiPaxosCore, type MultiPaxosConfig, type MultiPaxosStatus, type PaxosMutations } from './multi-paxos-core.js';
export * from './multi-paxos-node.js';
