import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { generateKvHistory, parseJepsenHistory, type HistoryEvent, type KvInput, type KvOutput } from '../../src/history/index.js';
import { checkLinearizability, kvModel, registerModel } from '../../src/linearizability/index.js';

// Every configuration with the same state gets the same hash, so the memo
// cache must tell configurations apart by their keys alone: a key that left
// out part of the linearized set would prune paths never explored, and turn
// linearizable histories into "not linearizable".
vi.mock('../../src/linearizability/configuration-store.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../src/linearizability/configuration-store.js')>()),
  configurationHash: (_setHash: number, stateId: number) => stateId,
}));

const jepsen = (file: string): string =>
  readFileSync(fileURLToPath(new URL(`../fixtures/porcupine/jepsen/${file}`, import.meta.url)), 'utf8');

describe('verdicts when every configuration hash collides', () => {
  it.each([
    ['etcd_048.log', 'linearizable'],
    ['etcd_005.log', 'linearizable'],
    ['etcd_022.log', 'not-linearizable'],
    ['etcd_039.log', 'not-linearizable'],
  ])('%s is still %s', (file, expected) => {
    expect(checkLinearizability(registerModel, parseJepsenHistory(jepsen(file))).verdict).toBe(expected);
  });

  it('generated linearizable KV histories stay linearizable', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), (seed) => {
        const history: HistoryEvent<KvInput, KvOutput>[] = generateKvHistory({ seed, ops: 120, clients: 8, keys: 2, infoRate: 0.1 });
        expect(checkLinearizability(kvModel, history).verdict).toBe('linearizable');
      }),
      { numRuns: 40 },
    );
  });
});
