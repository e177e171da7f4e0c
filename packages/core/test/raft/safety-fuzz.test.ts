import { describe, expect, it } from 'vitest';
import { Network, encode } from './network.js';

/** Calls `fn`, ignoring the typed refusals (NotLeaderError, ProposalDroppedError, …) a random workload provokes. */
function attempt(fn: () => void): void {
  try {
    fn();
  } catch {
    // refused: expected under faults
  }
}

/** Random drops, partitions, restarts, transfers and reads over seeds [1, seeds]; checks the safety properties after every round. */
function fuzz(seeds: number, commitNotice: 'broadcast' | 'piggyback'): void {
    const ids = ['a', 'b', 'c', 'd', 'e'];
    for (let seed = 1; seed <= seeds; seed++) {
      const net = new Network(ids, {
        seed,
        config: {
          preVote: seed % 2 === 0,
          checkQuorum: seed % 3 !== 0,
          maxInflightMessages: 1 + (seed % 4),
          maxMessageBytes: 8,
          commitNotice,
        },
      });
      let state = seed * 7919;
      const rnd = (n: number): number => {
        state = (state * 1103515245 + 12345) % 2 ** 31;
        return state % n;
      };
      net.filter = () => rnd(100) >= 15;
      const leaderOf = new Map<number, string>();
      let k = 0;
      for (let round = 0; round < 300; round++) {
        net.tickAll();
        const r = rnd(100);
        const someone = ids[rnd(ids.length)]!;
        if (r < 30) for (const id of ids) attempt(() => net.core(id).propose(encode(`s${seed}-${k++}`)));
        else if (r < 33) net.isolate(someone);
        else if (r < 38) net.heal();
        else if (r < 40) net.restart(someone);
        else if (r < 42) for (const l of net.leaders()) attempt(() => net.core(l).transferLeadership(someone));
        else if (r < 45) for (const id of ids) attempt(() => net.core(id).readIndex(`r${k++}`));
        net.stabilize();
        // Election Safety: at most one leader per term.
        for (const id of net.leaders()) {
          const term = net.core(id).status().term;
          expect(leaderOf.get(term) ?? id, `seed ${seed} term ${term}`).toBe(id);
          leaderOf.set(term, id);
        }
        // State Machine Safety: every node applied a prefix of the same sequence.
        const applied = ids.map((id) => net.node(id).applied.map((e) => `${e.index}/${e.term}`));
        const longest = applied.reduce((x, y) => (y.length > x.length ? y : x));
        for (const a of applied) expect(a, `seed ${seed}`).toEqual(longest.slice(0, a.length));
      }
      // Liveness after healing, and Log Matching: every log ends up identical.
      net.filter = undefined;
      net.heal();
      net.tickAll(60);
      expect(net.leaders(), `seed ${seed}`).toHaveLength(1);
      const logs = ids.map((id) => net.logTerms(id));
      for (const log of logs) expect(log, `seed ${seed}`).toEqual(logs[0]);
    }
}

describe('safety under random faults (§5.4, Figure 3)', () => {
  it('Election Safety, Log Matching and State Machine Safety hold across 60 seeds of drops, partitions, restarts and transfers', () => {
    fuzz(60, 'broadcast');
  });

  it('they hold as well when the commit index rides on the next append or heartbeat (commitNotice piggyback), 20 seeds', () => {
    fuzz(20, 'piggyback');
  });
});
