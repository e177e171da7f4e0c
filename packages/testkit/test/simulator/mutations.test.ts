import type { InternalTestMutation } from '@synod/core/internal/test-mutations';
import { afterAll, describe, expect, it } from 'vitest';
import { simulateRaft, type RaftSimulationOptions } from '../../src/simulator/raft-simulation.js';

/**
 * Mutation tests: each deliberate bug of `@synod/core/internal/test-mutations`
 * is switched on in turn, and the simulator must catch it (report a
 * violation) within the seed budget. A mutation that survives its budget
 * means the simulator has lost the teeth for that class of bug, and CI
 * fails. Seeds run in a fixed order, alternating cluster sizes, and stop at
 * the first catch; the seed count at which each mutation was caught is
 * printed at the end (and documented in the testkit README).
 */
const STEPS = 2500;
const SIZES = [5, 3];

interface MutationCase {
  readonly mutation: InternalTestMutation;
  readonly budget: number;
  /** What the simulator should see. */
  readonly why: string;
  /** Simulator options that set up the situation the bug needs. */
  readonly options?: Partial<RaftSimulationOptions>;
}

const CASES: readonly MutationCase[] = [
  // About one seed in a hundred lines the crash up with a counted acknowledgement: caught after 124 runs
  // before reads shared heartbeat rounds, after 218 since (the runs draw differently with fewer heartbeats).
  { mutation: 'ackBeforeSync', budget: 300, why: 'a vote or an acknowledgement forgotten in a crash right after it left' },
  {
    mutation: 'commitOlderTermByCount',
    budget: 200,
    why: 'entries of an older term committed by counting replicas',
    // One entry per append, so a new leader's catch-up reaches a quorum before its own no-op does.
    options: { maxMessageBytes: 64 },
  },
  { mutation: 'doubleVote', budget: 100, why: 'two leaders in one term' },
  { mutation: 'applyBeforeCommit', budget: 100, why: 'a follower applying entries that are later replaced' },
  {
    mutation: 'leaseAfterTransfer',
    budget: 10,
    why: 'a stale lease read on a leader whose abandoned transfer still won',
    // Random faults almost never line up the stale read (300 runs survived); the transfer race does.
    options: { transferRace: true },
  },
];

const caughtAt = new Map<InternalTestMutation, string>();

describe('mutation tests: the simulator catches each deliberate bug', () => {
  it.each(CASES)('$mutation: $why', async ({ mutation, budget, options }) => {
    let caught: string | undefined;
    for (let run = 0; run < budget && caught === undefined; run++) {
      const nodes = SIZES[run % SIZES.length]!;
      const seed = 1 + Math.floor(run / SIZES.length);
      const result = await simulateRaft({ seed, nodes, steps: STEPS, mutation, checkBudgetMs: 5000, ...options });
      // Only a safety violation counts: a run that merely stalls proves nothing about the bug.
      const violation = result.violations.find((v) => v.invariant !== 'liveness');
      if (violation !== undefined) caught = `${run + 1} seeds (seed ${seed}, ${nodes} nodes: ${violation.invariant})`;
    }
    caughtAt.set(mutation, caught ?? `survived ${budget} seeds`);
    expect(caught, `${mutation} survived ${budget} seeds`).toBeDefined();
  }, 300_000);

  it('transfer races: every stale-read window catches leaseAfterTransfer, and runs clean without it', async () => {
    // A catch must come from the bug, not from the fault pattern aimed at it: the same seeds, with
    // the mutation off, show no violation at all.
    let windows = 0;
    for (let run = 0; run < 6; run++) {
      const nodes = SIZES[run % SIZES.length]!;
      const seed = 1 + Math.floor(run / SIZES.length);
      const options = { seed, nodes, steps: STEPS, checkBudgetMs: 5000, transferRace: true };
      const clean = await simulateRaft(options);
      expect(clean.violations, `seed ${seed}, ${nodes} nodes, mutation off`).toEqual([]);
      const mutated = await simulateRaft({ ...options, mutation: 'leaseAfterTransfer' });
      windows += mutated.transferRaces.leaseReads;
      if (mutated.transferRaces.leaseReads > 0) {
        expect(mutated.violations.map((v) => v.invariant), `seed ${seed}, ${nodes} nodes, mutation on`).toContain('linearizability');
      }
    }
    expect(windows).toBeGreaterThan(0);
  }, 300_000);

  afterAll(() => {
    console.info(`mutations caught after: ${JSON.stringify(Object.fromEntries(caughtAt), undefined, 2)}`);
  });
});
