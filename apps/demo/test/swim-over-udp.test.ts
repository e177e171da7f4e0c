import { SwimFailureDetector, type AvailabilityChange, type MemberEvent, type MemberInfo, type MemberState, type SwimNode } from '@synod/core';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createServeLogger } from '../src/server/serve-logger.js';
import { swimConfigFromFlags } from '../src/server/swim-beside-raft.js';
import { raftIdView, RAFT_ID_META, startSwimOverUdp } from '../src/server/swim-over-udp.js';

/** A SWIM membership on the datagram path (ids are addresses), changed by hand. */
function fakeSwim(): Pick<SwimNode, 'members' | 'member' | 'on'> & { set(id: string, state: MemberState, raftId?: string): void } {
  const members = new Map<string, MemberInfo>();
  const listeners = new Map<string, ((event: MemberEvent) => void)[]>();
  return {
    members: () => [...members.values()],
    member: (id) => members.get(id),
    on: ((type: string, listener: (event: MemberEvent) => void) => {
      listeners.set(type, [...(listeners.get(type) ?? []), listener]);
      return () => undefined;
    }) as SwimNode['on'],
    set(id, state, raftId) {
      const previous = members.get(id);
      const member: MemberInfo = { id, state, incarnation: (previous?.incarnation ?? 0) + 1, sinceMs: 0, meta: raftId === undefined ? {} : { [RAFT_ID_META]: raftId } };
      members.set(id, member);
      for (const listener of listeners.get(state) ?? []) listener({ type: state, member, previous: previous?.state, atMs: 0 });
    },
  };
}

describe('raftIdView: SWIM over UDP answers the Raft node by Raft id', () => {
  it('a detector over it reports suspicion and death of the member that gossips that Raft id', () => {
    const swim = fakeSwim();
    const detector = new SwimFailureDetector({ swim: raftIdView(swim) });
    const changes: AvailabilityChange[] = [];
    detector.onChange((change) => changes.push(change));
    swim.set('127.0.0.1:7001', 'alive', 'n2');
    swim.set('127.0.0.1:7002', 'alive', 'n3');
    expect(detector.isAvailable('n2')).toBe(true);
    swim.set('127.0.0.1:7001', 'suspect', 'n2');
    expect(detector.isAvailable('n2')).toBe(false);
    expect(detector.isAvailable('n3')).toBe(true);
    expect(detector.isAvailable('127.0.0.1:7001')).toBe(true); // addresses are not Raft ids
    swim.set('127.0.0.1:7001', 'alive', 'n2');
    swim.set('127.0.0.1:7002', 'dead', 'n3');
    expect(changes.map((c) => `${c.peer}:${c.available}`)).toEqual(['n2:false', 'n2:true', 'n3:false']);
    expect(detector.state('n3')).toBe('dead');
  });

  it('ignores members without a Raft id, and prefers the live entry when a Raft id moved to another address', () => {
    const swim = fakeSwim();
    const view = raftIdView(swim);
    swim.set('127.0.0.1:9000', 'alive');
    expect(swim.members()).toHaveLength(1);
    expect(view.member('127.0.0.1:9000')).toBeUndefined();
    swim.set('127.0.0.1:7001', 'dead', 'n2');
    swim.set('127.0.0.1:7005', 'alive', 'n2');
    expect(view.member('n2')).toMatchObject({ id: 'n2', state: 'alive' });
    expect(view.raftIdOf('127.0.0.1:7001')).toBe('n2');
    expect(view.raftIdOf('127.0.0.1:9000')).toBeUndefined();
  });
});

describe('startSwimOverUdp: the keyring file is read again on SIGHUP', () => {
  it('applies the edited file, and keeps the previous keys when the file is bad', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'synod-hup-'));
    const file = join(dir, 'swim.keys');
    const [k1, k2] = [randomBytes(32), randomBytes(32)];
    writeFileSync(file, `${k1.toString('base64')}\n`);
    const signals = new EventEmitter();
    const lines: string[] = [];
    const logger = createServeLogger({ write: (line) => lines.push(line), level: 'info', format: 'json', nodeId: 'n1', clusterId: 'c' });
    const swim = await startSwimOverUdp({
      raftId: 'n1',
      clusterId: 'c',
      settings: { listen: '127.0.0.1:0', seeds: [], keys: [k1], keyringFile: file, tcpFallback: true, udpLossRate: 0 },
      config: swimConfigFromFlags({ preset: 'lan' }),
      logger,
      memberCount: 1,
      signals,
    });
    try {
      writeFileSync(file, `${k2.toString('base64')}\n${k1.toString('base64')}\n`);
      signals.emit('SIGHUP');
      expect(swim.keyring?.keys()).toEqual([k2, k1]);
      writeFileSync(file, 'not a key\n');
      signals.emit('SIGHUP');
      expect(swim.keyring?.keys()).toEqual([k2, k1]);
      const records = lines.map((line) => JSON.parse(line) as { level: number; node: string; msg: string; keys?: number; error?: string });
      expect(records).toContainEqual(expect.objectContaining({ msg: `swim: keyring reloaded from ${file}`, keys: 2 }));
      // pino's level 50 is error.
      expect(records).toContainEqual(
        expect.objectContaining({ level: 50, node: 'n1', msg: 'swim: keyring not reloaded; the previous keys stay in use', error: expect.stringMatching(/--swim-keyring .*line 1/) }),
      );
    } finally {
      await swim.stop(10);
      rmSync(dir, { recursive: true, force: true });
    }
    expect(signals.listenerCount('SIGHUP')).toBe(0);
  });
});
