import { describe, expect, it } from 'vitest';
import { RaftInvariantError } from '../../src/errors/errors.js';
import { Network } from './network.js';

/*
 * Issue 11, item 7: a leader telling a follower to commit past its log is a
 * broken invariant (the log was corrupted, truncated or lost). Before the
 * fix the follower clamped the commit index and carried on.
 */
describe('broken Raft invariants are fatal', () => {
  it('a heartbeat that commits past the follower log throws RaftInvariantError from step()', () => {
    const net = new Network(['a', 'b', 'c']);
    net.elect('a');
    const b = net.core('b');
    const { term, lastIndex, commit } = b.status();
    expect(() => b.step({ type: 'heartbeat', from: 'a', to: 'b', term, commit: lastIndex + 5, context: '' })).toThrow(
      RaftInvariantError,
    );
    expect(b.status().commit).toBe(commit);
  });
});
