import { describe, expect, it } from 'vitest';
import { ConfChangePendingError, InvalidConfChangeError, LearnerNotCaughtUpError } from '../../src/raft/confchange/conf-change-errors.js';
import type { ConfState } from '../../src/raft/types.js';
import { encodeConfChange } from '../../src/raft/confchange/conf-change-codec.js';
import { Network, storageWithTerms } from './network.js';

/** Sorted, so assertions do not depend on insertion order. */
function view(conf: ConfState): { voters: string[]; learners: string[]; outgoing: string[]; autoLeave: boolean } {
  return {
    voters: [...conf.voters].sort(),
    learners: [...conf.learners].sort(),
    outgoing: [...conf.votersOutgoing].sort(),
    autoLeave: conf.autoLeave,
  };
}

/** A network where `members` form the cluster and every other id starts with no configuration at all. */
function cluster(ids: string[], members: string[], config = {}): Network {
  return new Network(ids, { config, configFor: (id) => ({ voters: members.includes(id) ? members : [] }) });
}

describe('membership changes in the core', () => {
  it('a simple change adds a voter, which then counts toward commit (thesis §4.1)', () => {
    const net = cluster(['a', 'b'], ['a']);
    net.elect('a');
    net.core('a').proposeConfChange({ changes: [{ type: 'add-voter', node: 'b' }] });
    net.stabilize();
    for (const id of ['a', 'b']) expect(view(net.core(id).confState()).voters).toEqual(['a', 'b']);
    // b now belongs to the majority: without it nothing commits.
    net.isolate('b');
    const commit = net.core('a').status().commit;
    net.propose('a', 'x');
    expect(net.core('a').status().commit).toBe(commit);
    net.heal();
    net.tick('a', 2);
    expect(net.core('a').status().commit).toBeGreaterThan(commit);
  });

  it('a node that starts with no configuration adopts the one carried by the conf-change entry', () => {
    const net = cluster(['a', 'b', 'c', 'd'], ['a', 'b', 'c']);
    net.elect('a');
    net.propose('a', 'before');
    net.core('a').proposeConfChange({ changes: [{ type: 'add-voter', node: 'd' }] });
    net.stabilize();
    net.tick('a', 2);
    expect(view(net.core('d').confState()).voters).toEqual(['a', 'b', 'c', 'd']);
    expect(net.appliedText('d')).toContain('before');
  });

  it('learners get the log but never vote, campaign or count toward commit', () => {
    const net = cluster(['a', 'b', 'c'], ['a', 'b']);
    net.elect('a');
    net.core('a').proposeConfChange({ changes: [{ type: 'add-learner', node: 'c' }] });
    net.stabilize();
    net.propose('a', 'x');
    expect(net.appliedText('c')).toContain('x');
    expect(view(net.core('c').confState())).toEqual({ voters: ['a', 'b'], learners: ['c'], outgoing: [], autoLeave: false });
    // With b gone, a and the learner c are not a majority of {a, b}.
    net.isolate('b');
    const commit = net.core('a').status().commit;
    net.propose('a', 'y');
    expect(net.core('a').status().commit).toBe(commit);
    // The learner never campaigns, however long it waits.
    net.isolate('a');
    net.tick('c', 100);
    expect(net.core('c').status().role).toBe('follower');
    expect(net.core('c').status().term).toBe(net.core('a').status().term);
  });

  it('auto uses joint consensus for two voters and the leader leaves the joint configuration by itself (thesis §4.3)', () => {
    const net = cluster(['a', 'b', 'c'], ['a']);
    net.elect('a');
    net.core('a').proposeConfChange({
      changes: [
        { type: 'add-voter', node: 'b' },
        { type: 'add-voter', node: 'c' },
      ],
    });
    net.stabilize();
    net.tick('a', 2);
    for (const id of ['a', 'b', 'c']) {
      expect(view(net.core(id).confState())).toEqual({ voters: ['a', 'b', 'c'], learners: [], outgoing: [], autoLeave: false });
    }
    const kinds = net.node('a').applied.filter((e) => e.type === 'conf-change');
    expect(kinds).toHaveLength(2); // enter joint, leave joint
  });

  it('refuses a second change while one is pending, and accepts it once applied', () => {
    const net = cluster(['a', 'b', 'c'], ['a', 'b']);
    net.elect('a');
    net.isolate('b'); // the first change cannot commit
    net.core('a').proposeConfChange({ changes: [{ type: 'add-learner', node: 'c' }] });
    net.stabilize();
    expect(() => net.core('a').proposeConfChange({ changes: [{ type: 'promote', node: 'c' }] })).toThrow(ConfChangePendingError);
    net.heal();
    net.tick('a', 2);
    expect(() => net.core('a').proposeConfChange({ changes: [{ type: 'promote', node: 'c' }] })).not.toThrow();
  });

  it('a new leader accepts no change while a conf-change in its log is unapplied', () => {
    // a's log holds a normal entry and a conf-change of term 1, neither known to be committed.
    const storage = storageWithTerms([1], { term: 1 });
    const data = encodeConfChange({
      changes: [{ type: 'add-learner', node: 'b' }],
      transition: 'simple',
      result: { voters: ['a'], learners: ['b'], votersOutgoing: [], autoLeave: false },
    });
    storage.append([{ index: 2, term: 1, type: 'conf-change', data }]);
    const net = new Network(['a', 'b'], {
      configFor: (id) => ({ voters: id === 'a' ? ['a'] : [] }),
      storageFor: (id) => (id === 'a' ? storage : undefined),
    });
    const a = net.core('a');
    a.campaign(); // a single voter wins at once; nothing is applied yet
    expect(a.status().role).toBe('leader');
    const promote = { changes: [{ type: 'promote' as const, node: 'b' }] };
    expect(() => a.proposeConfChange(promote)).toThrow(ConfChangePendingError);
    net.stabilize();
    expect(a.confState().learners).toEqual(['b']);
    expect(() => a.proposeConfChange(promote)).not.toThrow();
  });

  it('rejects unsafe changes with a typed reason', () => {
    const net = cluster(['a'], ['a']);
    net.elect('a');
    expect(() => net.core('a').proposeConfChange({ changes: [{ type: 'remove', node: 'a' }] })).toThrow(InvalidConfChangeError);
    expect(() => net.core('a').proposeConfChange({ changes: [] })).toThrow(InvalidConfChangeError);
  });

  it('removing the leader with a simple change: it leads until the change applies, then hands over and steps down', () => {
    const net = cluster(['a', 'b', 'c'], ['a', 'b', 'c']);
    net.elect('a');
    net.core('a').proposeConfChange({ changes: [{ type: 'remove', node: 'a' }] });
    net.stabilize();
    expect(net.core('a').status().role).toBe('follower');
    // TimeoutNow made an up-to-date voter campaign at once.
    const leaders = net.leaders();
    expect(leaders).toHaveLength(1);
    expect(['b', 'c']).toContain(leaders[0]);
    // The removed node never campaigns again.
    net.tick('a', 100);
    expect(net.core('a').status().role).toBe('follower');
    expect(view(net.core(leaders[0]!).confState()).voters).toEqual(['b', 'c']);
  });

  it('in a joint configuration the outgoing leader keeps leading until it leaves it', () => {
    const net = cluster(['a', 'b', 'c', 'd'], ['a', 'b', 'c']);
    net.elect('a');
    net.core('a').proposeConfChange({
      changes: [
        { type: 'remove', node: 'a' },
        { type: 'add-voter', node: 'd' },
      ],
      transition: 'explicit-joint',
    });
    net.stabilize();
    net.tick('a', 2);
    expect(view(net.core('a').confState())).toEqual({
      voters: ['b', 'c', 'd'],
      learners: [],
      outgoing: ['a', 'b', 'c'],
      autoLeave: false,
    });
    expect(net.core('a').status().role).toBe('leader');
    net.propose('a', 'joint');
    expect(net.appliedText('d')).toContain('joint');
    net.core('a').proposeConfChange({ changes: [] });
    net.stabilize();
    expect(net.core('a').status().role).toBe('follower');
    expect(net.leaders()).toHaveLength(1);
    expect(['b', 'c', 'd']).toContain(net.leaders()[0]);
  });

  it('refuses to promote a lagging learner when a maximum lag is given', () => {
    const net = cluster(['a', 'b', 'c'], ['a', 'b']);
    net.elect('a');
    net.core('a').proposeConfChange({ changes: [{ type: 'add-learner', node: 'c' }] });
    net.stabilize();
    net.isolate('c');
    for (let i = 0; i < 10; i++) net.propose('a', `e${i}`);
    const promote = { changes: [{ type: 'promote' as const, node: 'c' }] };
    expect(() => net.core('a').proposeConfChange(promote, { maxLearnerLag: 3 })).toThrow(LearnerNotCaughtUpError);
    net.heal();
    net.tick('a', 3);
    expect(() => net.core('a').proposeConfChange(promote, { maxLearnerLag: 3 })).not.toThrow();
  });

  it('a restarted node that already applied a change comes back with that configuration', () => {
    const net = cluster(['a', 'b', 'c'], ['a', 'b']);
    net.elect('a');
    net.core('a').proposeConfChange({ changes: [{ type: 'add-voter', node: 'c' }] });
    net.stabilize();
    net.tick('a', 2);
    net.restart('b'); // passes the applied index: entries up to it are not handed out again
    expect(view(net.core('b').confState()).voters).toEqual(['a', 'b', 'c']);
  });

  it('a node does not campaign while a committed conf-change is unapplied', () => {
    const net = cluster(['a', 'b', 'c'], ['a', 'b', 'c']);
    net.elect('a');
    net.core('a').proposeConfChange({ changes: [{ type: 'remove', node: 'c' }] });
    net.stabilize();
    net.tick('a', 2);
    // b restarts having applied nothing: it knows the change is committed but has not applied it.
    const node = net.node('b');
    node.applied.length = 0;
    net.restart('b');
    net.isolate('b');
    net.core('b').campaign();
    expect(net.core('b').status().role).toBe('follower');
  });
});
