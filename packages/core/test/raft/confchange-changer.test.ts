import { describe, expect, it } from 'vitest';
import { checkLearnersCaughtUp, planConfChange } from '../../src/raft/confchange/changer.js';
import { InvalidConfChangeError, LearnerNotCaughtUpError } from '../../src/raft/confchange/conf-change-errors.js';
import type { ConfChangeRequest } from '../../src/raft/confchange/conf-change.js';
import type { ConfState } from '../../src/raft/types.js';

const conf = (voters: string[], learners: string[] = [], votersOutgoing: string[] = [], autoLeave = false): ConfState => ({
  voters,
  learners,
  votersOutgoing,
  autoLeave,
});

function reason(current: ConfState, request: ConfChangeRequest): string {
  try {
    planConfChange(current, request);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidConfChangeError);
    return (error as InvalidConfChangeError).reason;
  }
  throw new Error('the change was accepted');
}

describe('planConfChange: simple changes (thesis §4.1)', () => {
  it('adds one voter at once', () => {
    expect(planConfChange(conf(['a']), { changes: [{ type: 'add-voter', node: 'b' }] })).toEqual(conf(['a', 'b']));
  });

  it('removes one voter at once', () => {
    expect(planConfChange(conf(['a', 'b', 'c']), { changes: [{ type: 'remove', node: 'c' }] })).toEqual(conf(['a', 'b']));
  });

  it('adds a learner and promotes it, which changes one voter', () => {
    const withLearner = planConfChange(conf(['a']), { changes: [{ type: 'add-learner', node: 'b' }] });
    expect(withLearner).toEqual(conf(['a'], ['b']));
    expect(planConfChange(withLearner, { changes: [{ type: 'promote', node: 'b' }] })).toEqual(conf(['a', 'b']));
  });

  it('allows any number of learner changes in one simple step (learners do not vote)', () => {
    const next = planConfChange(conf(['a'], ['x']), {
      changes: [
        { type: 'add-learner', node: 'y' },
        { type: 'remove', node: 'x' },
        { type: 'add-voter', node: 'b' },
      ],
      transition: 'simple',
    });
    expect(next).toEqual(conf(['a', 'b'], ['y']));
  });

  it('refuses a simple change of two voters', () => {
    expect(
      reason(conf(['a']), {
        changes: [
          { type: 'add-voter', node: 'b' },
          { type: 'add-voter', node: 'c' },
        ],
        transition: 'simple',
      }),
    ).toBe('too-many-voter-changes');
  });

  it('demotes a voter with a simple change when only that voter changes', () => {
    expect(planConfChange(conf(['a', 'b']), { changes: [{ type: 'add-learner', node: 'b' }] })).toEqual(conf(['a'], ['b']));
  });
});

describe('planConfChange: joint consensus (thesis §4.3)', () => {
  it('auto enters a joint configuration that leaves itself when two voters change', () => {
    expect(
      planConfChange(conf(['a']), {
        changes: [
          { type: 'add-voter', node: 'b' },
          { type: 'add-voter', node: 'c' },
        ],
      }),
    ).toEqual(conf(['a', 'b', 'c'], [], ['a'], true));
  });

  it('explicit-joint stays joint until an empty change leaves it', () => {
    const joint = planConfChange(conf(['a', 'b', 'c']), {
      changes: [
        { type: 'remove', node: 'a' },
        { type: 'add-voter', node: 'd' },
      ],
      transition: 'explicit-joint',
    });
    expect(joint).toEqual(conf(['b', 'c', 'd'], [], ['a', 'b', 'c'], false));
    expect(planConfChange(joint, { changes: [] })).toEqual(conf(['b', 'c', 'd']));
  });

  it('implicit uses joint consensus even for a single voter', () => {
    expect(planConfChange(conf(['a']), { changes: [{ type: 'add-voter', node: 'b' }], transition: 'implicit' })).toEqual(
      conf(['a', 'b'], [], ['a'], true),
    );
  });

  it('keeps a demoted voter as learner and outgoing voter while joint, and as learner afterwards', () => {
    const joint = planConfChange(conf(['a', 'b', 'c']), {
      changes: [
        { type: 'add-learner', node: 'c' },
        { type: 'add-voter', node: 'd' },
      ],
    });
    expect(joint).toEqual(conf(['a', 'b', 'd'], ['c'], ['a', 'b', 'c'], true));
    expect(planConfChange(joint, { changes: [] })).toEqual(conf(['a', 'b', 'd'], ['c']));
  });

  it('refuses a new change while joint, and leaving when not joint', () => {
    const joint = conf(['a', 'b'], [], ['a'], false);
    expect(reason(joint, { changes: [{ type: 'add-voter', node: 'c' }] })).toBe('in-joint');
    expect(reason(conf(['a']), { changes: [] })).toBe('not-joint');
  });
});

describe('planConfChange: validation', () => {
  it('refuses to remove every voter', () => {
    expect(reason(conf(['a']), { changes: [{ type: 'remove', node: 'a' }] })).toBe('no-voters');
    expect(reason(conf(['a'], ['b']), { changes: [{ type: 'add-learner', node: 'a' }] })).toBe('no-voters');
  });

  it('refuses nonsense steps with a reason', () => {
    expect(reason(conf(['a']), { changes: [{ type: 'add-voter', node: 'a' }] })).toBe('already-voter');
    expect(reason(conf(['a'], ['b']), { changes: [{ type: 'add-learner', node: 'b' }] })).toBe('already-learner');
    expect(reason(conf(['a']), { changes: [{ type: 'promote', node: 'b' }] })).toBe('not-a-learner');
    expect(reason(conf(['a']), { changes: [{ type: 'remove', node: 'z' }] })).toBe('not-a-member');
    expect(reason(conf(['a']), { changes: [{ type: 'add-voter', node: '' }] })).toBe('invalid-node');
    expect(
      reason(conf(['a']), {
        changes: [
          { type: 'add-voter', node: 'b' },
          { type: 'add-learner', node: 'b' },
        ],
      }),
    ).toBe('duplicate-node');
  });

  it('never lets the result list a node as both voter and learner', () => {
    for (const request of [
      { changes: [{ type: 'add-voter' as const, node: 'b' }] },
      { changes: [{ type: 'add-learner' as const, node: 'a' }, { type: 'add-voter' as const, node: 'c' }] },
    ]) {
      const next = planConfChange(conf(['a'], ['b']), request);
      expect(next.voters.filter((id) => next.learners.includes(id))).toEqual([]);
    }
  });
});

describe('checkLearnersCaughtUp', () => {
  const current = conf(['a'], ['b']);
  const promote: ConfChangeRequest = { changes: [{ type: 'promote', node: 'b' }] };

  it('accepts a learner within the allowed lag', () => {
    expect(() => checkLearnersCaughtUp(current, promote, () => 95, 100, 5)).not.toThrow();
  });

  it('refuses a learner that lags too far, or that the leader knows nothing about', () => {
    expect(() => checkLearnersCaughtUp(current, promote, () => 90, 100, 5)).toThrow(LearnerNotCaughtUpError);
    expect(() => checkLearnersCaughtUp(current, promote, () => undefined, 100, 5)).toThrow(LearnerNotCaughtUpError);
  });
});
