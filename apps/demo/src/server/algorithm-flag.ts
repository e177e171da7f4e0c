import type { ConsensusAlgorithm } from '@synod/protocol';
import { UsageError } from './flags.js';

/**
 * `--algorithm raft|paxos` of `serve` and `cluster up`: the consensus
 * algorithm every node of the cluster runs (they must agree; a node of the
 * other algorithm ignores its peers' messages, and the data directories
 * are not interchangeable).
 *
 * @example
 * algorithmFlag(undefined); // 'raft'
 * algorithmFlag('paxos');   // 'paxos'
 * algorithmFlag('zab');     // throws UsageError: --algorithm must be raft or paxos, got 'zab'
 */
export function algorithmFlag(value: string | undefined): ConsensusAlgorithm {
  const algorithm = value ?? 'raft';
  if (algorithm !== 'raft' && algorithm !== 'paxos') throw new UsageError(`--algorithm must be raft or paxos, got '${algorithm}'`);
  return algorithm;
}

/** Raft-only flags that have no Multi-Paxos counterpart: refused with `--algorithm paxos`. */
export function refuseRaftOnlyFlags(algorithm: ConsensusAlgorithm, given: Readonly<Record<string, boolean>>): void {
  if (algorithm !== 'paxos') return;
  for (const [flag, isGiven] of Object.entries(given)) {
    if (isGiven) throw new UsageError(`${flag} is a Raft option; Multi-Paxos (--algorithm paxos) has no such setting`);
  }
}
