import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileStorage } from '../../../src/storage/file/file-storage.js';
import { buildCoreForChild, childScript, workloadPayload } from './child-build.js';
import { removeDir, tempDir } from './helpers.js';

/**
 * Real crashes: a child process appends through FileStorage and prints each
 * index once its sync resolved; the parent SIGKILLs it at random moments
 * (including during start-up recovery) and then checks that every
 * acknowledged entry is there, in order, with its data, and that recovery
 * succeeded. 50 kills by default; SYNOD_CRASH_RUNS=1000 for a long run,
 * SYNOD_CRASH_SEED to replay one.
 *
 * A killed process loses nothing the kernel already accepted, and a write(2)
 * is never half-applied by SIGKILL, so this checks the acknowledgement and
 * recovery logic under real timing; torn tails as power loss leaves them
 * are built byte by byte in recovery.test.ts.
 */

const runs = Number(process.env['SYNOD_CRASH_RUNS'] ?? 50);
const seed = Number(process.env['SYNOD_CRASH_SEED'] ?? Date.now() % 1_000_000);

interface Kill {
  readonly stdout: string;
}

function runAndKill(modulePath: string, dir: string, childSeed: number, killAfterMs: number, afterReady: boolean): Promise<Kill> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [childScript, modulePath, dir, 'workload', String(childSeed)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      timer ??= setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    };
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (afterReady && stdout.startsWith('ready')) arm();
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    if (!afterReady) arm();
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (timer !== undefined) clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`child exited with ${code}/${signal} before the kill: ${stderr}`));
      else resolve({ stdout });
    });
  });
}

describe('FileStorage under SIGKILL', () => {
  let buildDir: string;
  let modulePath: string;
  let dataDir: string;

  beforeAll(() => {
    buildDir = tempDir('synod-fs-build-');
    modulePath = buildCoreForChild(buildDir);
    dataDir = tempDir('synod-fs-crash-');
    // Transpiling the package takes seconds on a loaded machine.
  }, 60_000);
  afterAll(() => {
    removeDir(buildDir);
    removeDir(dataDir);
  });

  it(
    `keeps every acknowledged entry across ${runs} kills (seed ${seed})`,
    async () => {
      let state = seed || 1;
      const rand = (): number => {
        state = (state * 1103515245 + 12345) % 2147483648;
        return state / 2147483648;
      };
      const acked = new Map<number, number>();
      let hsCommit = 0;
      let totalAcks = 0;
      let truncatedTails = 0;
      for (let run = 0; run < runs; run++) {
        const context = `seed ${seed}, run ${run}`;
        // One kill in five lands during start-up (recovery); the rest mid-workload.
        const afterReady = rand() >= 0.2;
        const killAfter = afterReady ? 5 + Math.floor(rand() * 150) : 30 + Math.floor(rand() * 80);
        const { stdout } = await runAndKill(modulePath, dataDir, run + seed, killAfter, afterReady);
        // Only complete lines count: a line cut by the kill was never fully acknowledged.
        for (const line of stdout.split('\n').slice(0, -1)) {
          const [kind, a, b] = line.split(' ');
          if (kind === 'ack') {
            acked.set(Number(a), Number(b));
            totalAcks++;
          } else if (kind === 'hs') {
            hsCommit = Math.max(hsCommit, Number(a));
          }
        }

        const storage = await FileStorage.open(dataDir, { segmentBytes: 16 * 1024 });
        try {
          if (storage.recovery().truncatedTail !== undefined) truncatedTails++;
          const first = storage.firstIndex();
          const last = storage.lastIndex();
          for (const [index, term] of acked) {
            if (index < first) {
              acked.delete(index);
              continue;
            }
            expect(index, context).toBeLessThanOrEqual(last);
            expect(storage.term(index), `${context}: term of ${index}`).toBe(term);
          }
          const entries = last >= first ? storage.entries(first, last + 1) : [];
          entries.forEach((e, k) => {
            expect(e.index, context).toBe(first + k);
            if (k > 0) expect(e.term, context).toBeGreaterThanOrEqual(entries[k - 1]!.term);
            const term = acked.get(e.index);
            if (term !== undefined) expect(Array.from(e.data), `${context}: data of ${e.index}`).toEqual(Array.from(workloadPayload(e.index, term)));
          });
          expect(storage.initialState().hardState.commit, context).toBeGreaterThanOrEqual(hsCommit);
        } finally {
          await storage.close();
        }
      }
      // The workload must actually have acknowledged something to make the test meaningful.
      expect(totalAcks).toBeGreaterThan(runs);
      console.info(`crash test: ${runs} kills, ${totalAcks} acknowledged entries, ${truncatedTails} torn tails repaired (seed ${seed})`);
    },
    runs * 3_000 + 30_000,
  );
});
