import { SeededRandom, systemClock, type Envelope } from '@synod/core';
import { describe, expect, it } from 'vitest';
import { MemoryNetwork } from '../src/index.js';

describe('real-time mode', () => {
  it('delivers on the system clock, after send has returned', async () => {
    const network = new MemoryNetwork({
      clock: systemClock,
      random: new SeededRandom(1),
      clusterId: 'rt',
      faults: { delay: { kind: 'fixed', ms: 1 } },
    });
    try {
      const a = network.endpoint('a');
      const b = network.endpoint('b');
      let sendReturned = false;
      const received = new Promise<{ envelope: Envelope; afterSend: boolean }>((resolve) =>
        b.setHandler((envelope) => resolve({ envelope, afterSend: sendReturned })),
      );
      a.send('b', { clusterId: 'rt', from: 'a', to: 'b', protocol: 'probe', payload: new Uint8Array([42]) });
      sendReturned = true;
      const { envelope, afterSend } = await received;
      expect(afterSend).toBe(true);
      expect(Array.from(envelope.payload as Uint8Array)).toEqual([42]);
    } finally {
      await network.close();
    }
  });
});
