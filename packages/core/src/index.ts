/**
 * `@synod/core`: consensus and failure detection as pure, deterministic state
 * machines, plus the contracts (Transport, Storage, StateMachine, Clock,
 * Random) that drivers and transports plug into.
 *
 * @packageDocumentation
 */
export * from './errors/index.js';
export * from './time/index.js';
export * from './transport/index.js';
export * from './storage/index.js';
export * from './raft/index.js';
export * from './paxos/index.js';
export * from './state-machine/index.js';
export * from './kv/index.js';
export * from './detection/index.js';
export * from './logging/index.js';
