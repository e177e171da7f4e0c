import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileStorage } from '../../../src/storage/file/file-storage.js';
import { buildCoreForChild, childScript, workloadPayload } from './child-build.js';
import { removeDir, tempDir } from './helpers.js';

/**
 * A child process bumps its term and vote and appends entries round after
 * round, printing each round once its sync resolved; the parent SIGKILLs it
 * mid-stream a few times and checks after every kill that the reopened
 * storage has every acknowledged entry and never an older term, a different
 * vote in the acknowledged term, or a smaller commit index. (crash.test.ts
 * runs many more kills with concurrent proposers; this one is short and
 * about the hard state.)
 */

const kills = 5;

function runAndKill(modulePath: string, dir: string, killAfterMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [childScript, modulePath, dir, 'hardstate'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.startsWith('ready')) timer ??= setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (timer !== undefined) clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`child exited with ${code}/${signal} before the kill: ${stderr}`));
      else resolve(stdout);
    });
  });
}

describe('FileStorage hard state under SIGKILL', () => {
  let buildDir: string;
  let modulePath: string;
  let dataDir: string;

  beforeAll(() => {
    buildDir = tempDir('synod-fs-build-');
    modulePath = buildCoreForChild(buildDir);
    dataDir = tempDir('synod-fs-crash-hs-');
  }, 30_000);
  afterAll(() => {
    removeDir(buildDir);
    removeDir(dataDir);
  });

  it(`keeps every acknowledged entry, term, vote and commit across ${kills} kills`, async () => {
    const acked = new Map<number, number>();
    let ackedTerm = 0;
    let ackedVote: string | undefined;
    let ackedCommit = 0;
    let rounds = 0;
    for (let kill = 0; kill < kills; kill++) {
      const stdout = await runAndKill(modulePath, dataDir, 30 + kill * 40);
      // Only complete lines count: a line cut by the kill was never fully acknowledged.
      for (const line of stdout.split('\n').slice(0, -1)) {
        const [kind, term, vote, commit, first, last] = line.split(' ');
        if (kind !== 'hs') continue;
        rounds++;
        ackedTerm = Number(term);
        ackedVote = vote;
        ackedCommit = Number(commit);
        for (let i = Number(first); i <= Number(last); i++) acked.set(i, Number(term));
      }
      const storage = await FileStorage.open(dataDir);
      try {
        const context = `after kill ${kill}`;
        const hardState = storage.hardState();
        expect(hardState.term, context).toBeGreaterThanOrEqual(ackedTerm);
        if (hardState.term === ackedTerm) expect(hardState.vote, context).toBe(ackedVote);
        expect(hardState.commit, context).toBeGreaterThanOrEqual(ackedCommit);
        const first = storage.firstIndex();
        for (const [index, term] of acked) {
          if (index < first) continue;
          expect(storage.term(index), `${context}: term of ${index}`).toBe(term);
          const [read] = storage.entries(index, index + 1);
          expect(Array.from(read!.data), `${context}: data of ${index}`).toEqual(Array.from(workloadPayload(index, term)));
        }
      } finally {
        await storage.close();
      }
    }
    // The kills must have landed mid-stream, after acknowledgements.
    expect(rounds).toBeGreaterThan(kills);
  }, 20_000);
});
