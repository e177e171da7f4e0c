/**
 * The Synod benchmark harness (private). Run it with `pnpm bench [suite…]`.
 *
 * @packageDocumentation
 */
export { machineFacts, quantile, writeReport, type BenchResult, type MachineFacts, type SuiteReport } from './results.js';
export { raftInmemSuite, type RaftInmemOptions } from './suites/raft-inmem.js';
export { paxosInmemSuite, type PaxosInmemOptions } from './suites/paxos-inmem.js';
