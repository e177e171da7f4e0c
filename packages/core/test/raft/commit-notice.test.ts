import { describe, expect, it } from 'vitest';
import { resolveRaftConfig } from '../../src/raft/raft-config.js';
import type { AppendRequest, RaftMessage } from '../../src/raft/types.js';
import { Network } from './network.js';

const appends = (messages: readonly RaftMessage[]): AppendRequest[] => messages.filter((m): m is AppendRequest => m.type === 'append');

/** Three nodes with `a` elected and everything delivered; the record of delivered messages starts empty. */
function cluster(commitNotice: 'broadcast' | 'piggyback'): Network {
  const net = new Network(['a', 'b', 'c'], { config: { commitNotice } });
  net.elect('a');
  net.stabilize();
  net.delivered.length = 0;
  return net;
}

describe('commitNotice (how the leader tells followers about commits)', () => {
  it('broadcast (the default): a commit sends every follower an append without entries at once', () => {
    const net = cluster('broadcast');
    net.propose('a', 'x');
    const sent = appends(net.delivered);
    // The entry to each follower, then the commit to each: four appends and four acknowledgements.
    expect(sent.map((m) => m.entries.length)).toEqual([1, 1, 0, 0]);
    expect(net.delivered.filter((m) => m.type === 'append-response')).toHaveLength(4);
    expect(net.appliedText('b')).toEqual(['x']);
    expect(net.appliedText('c')).toEqual(['x']);
  });

  it('piggyback: a commit alone sends nothing; followers learn it from the next heartbeat', () => {
    const net = cluster('piggyback');
    net.propose('a', 'x');
    expect(appends(net.delivered).map((m) => m.entries.length)).toEqual([1, 1]);
    expect(net.delivered.filter((m) => m.type === 'append-response')).toHaveLength(2);
    // The leader committed and applied it (a majority acknowledged); the followers hold it but wait for the news.
    expect(net.appliedText('a')).toEqual(['x']);
    expect(net.appliedText('b')).toEqual([]);
    expect(net.appliedText('c')).toEqual([]);
    net.tick('a', 1);
    net.stabilize();
    expect(net.appliedText('b')).toEqual(['x']);
    expect(net.appliedText('c')).toEqual(['x']);
  });

  it('piggyback: the next append carries the commit of the previous write', () => {
    const net = cluster('piggyback');
    net.propose('a', 'x');
    const committed = net.core('a').status().commit;
    net.delivered.length = 0;
    net.propose('a', 'y');
    const [first] = appends(net.delivered);
    expect(first?.entries).toHaveLength(1);
    expect(first?.commit).toBe(committed);
    expect(net.appliedText('b')).toEqual(['x']);
    expect(net.appliedText('c')).toEqual(['x']);
  });

  it('piggyback commits exactly what broadcast commits, in the same order', () => {
    const run = (commitNotice: 'broadcast' | 'piggyback'): string[][] => {
      const net = cluster(commitNotice);
      for (const text of ['p', 'q', 'r']) net.propose('a', text);
      net.tickAll(1);
      net.stabilize();
      return ['a', 'b', 'c'].map((id) => net.appliedText(id));
    };
    expect(run('piggyback')).toEqual(run('broadcast'));
    expect(run('piggyback')[1]).toEqual(['p', 'q', 'r']);
  });

  it('refuses an unknown setting', () => {
    expect(() => resolveRaftConfig({ id: 'a', commitNotice: 'later' as never })).toThrow(/commitNotice/);
    expect(resolveRaftConfig({ id: 'a' }).commitNotice).toBe('broadcast');
  });
});
