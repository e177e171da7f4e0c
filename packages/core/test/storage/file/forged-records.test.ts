import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../src/errors/errors.js';
import { FileStorage } from '../../../src/storage/file/file-storage.js';
import { StorageCorruptionError } from '../../../src/storage/file/file-storage-errors.js';
import { entry, removeDir, tempDir } from './helpers.js';

/**
 * Records whose checksum is right but whose content is impossible (written
 * by a buggy or hostile tool, or by a bit flip that a CRC-32 cannot see) are
 * refused on open with the file and offset, rather than handed to the Raft
 * core, which trusts its storage.
 */

const seg = (dir: string, seq: number): string => join(dir, `${seq.toString(16).padStart(16, '0')}.wal`);

function u64(value: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(value);
  return b;
}

/** A framed record (length, ~length, CRC-32) around `body`, with a valid checksum. */
function frame(body: Buffer): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt32LE(body.length, 0);
  header.writeUInt32LE(~body.length >>> 0, 4);
  header.writeUInt32LE(crc32(body), 8);
  return Buffer.concat([header, body]);
}

const entryRecord = (index: bigint, term: bigint, type = 0, data = Buffer.alloc(4, 1)): Buffer =>
  frame(Buffer.concat([Buffer.from([1]), u64(index), u64(term), Buffer.from([type]), data]));
const hardStateRecord = (term: bigint, commit: bigint, voteFlag: number, vote: Buffer = Buffer.alloc(0)): Buffer =>
  frame(Buffer.concat([Buffer.from([2]), u64(term), u64(commit), Buffer.from([voteFlag]), vote]));
const markerRecord = (type: 3 | 4, index: bigint, term: bigint): Buffer =>
  frame(Buffer.concat([Buffer.from([type]), u64(index), u64(term)]));

async function forgedOpenError(dir: string, ...records: Buffer[]): Promise<StorageCorruptionError> {
  for (const record of records) appendFileSync(seg(dir, 1), record);
  const error: unknown = await FileStorage.open(dir).then(
    async (s) => {
      const state = `opened: last ${s.lastIndex()}, hard state ${JSON.stringify(s.hardState())}`;
      await s.close();
      return new Error(state);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StorageCorruptionError);
  expect((error as StorageCorruptionError).file).toBe(seg(dir, 1));
  return error as StorageCorruptionError;
}

describe('FileStorage validates every decoded field', () => {
  let dir: string;
  beforeEach(async () => {
    dir = tempDir();
    const s = await FileStorage.open(dir);
    for (let i = 1; i <= 10; i++) s.append([entry(i, 3, 4)]);
    s.setHardState({ term: 3, vote: 'n2', commit: 8 });
    await s.close();
  });
  afterEach(() => removeDir(dir));

  it('a hard state with term 2^60 (not an exact JavaScript number)', async () => {
    expect((await forgedOpenError(dir, hardStateRecord(2n ** 60n, 8n, 0))).reason).toMatch(/term/);
  });

  it('an entry with term 2^60', async () => {
    expect((await forgedOpenError(dir, entryRecord(11n, 2n ** 60n))).reason).toMatch(/term/);
  });

  it('an entry with index 2^60', async () => {
    await forgedOpenError(dir, entryRecord(2n ** 60n, 3n));
  });

  it('a commit index past the last entry', async () => {
    expect((await forgedOpenError(dir, hardStateRecord(3n, 500n, 1, Buffer.from('n2')))).reason).toMatch(/commit/);
  });

  it('a vote flag of 7', async () => {
    expect((await forgedOpenError(dir, hardStateRecord(4n, 8n, 7, Buffer.from('n2')))).reason).toMatch(/vote/);
  });

  it('a vote flag of 0 followed by a vote', async () => {
    await forgedOpenError(dir, hardStateRecord(4n, 8n, 0, Buffer.from('n2')));
  });

  it('an empty vote, or one that is not UTF-8', async () => {
    await forgedOpenError(dir, hardStateRecord(4n, 8n, 1));
  });

  it('a vote that is not UTF-8', async () => {
    await forgedOpenError(dir, hardStateRecord(4n, 8n, 1, Buffer.from([0xff, 0xfe])));
  });

  it('entry terms going down', async () => {
    expect((await forgedOpenError(dir, entryRecord(11n, 2n))).reason).toMatch(/term/);
  });

  it('an unknown entry type', async () => {
    expect((await forgedOpenError(dir, entryRecord(11n, 3n, 9))).reason).toMatch(/type/);
  });

  it('a hard state whose term goes down', async () => {
    expect((await forgedOpenError(dir, hardStateRecord(2n, 8n, 0))).reason).toMatch(/term/);
  });

  it('a vote changed within one term', async () => {
    expect((await forgedOpenError(dir, hardStateRecord(3n, 8n, 1, Buffer.from('n3')))).reason).toMatch(/vote/);
  });

  it('a vote withdrawn within one term', async () => {
    await forgedOpenError(dir, hardStateRecord(3n, 8n, 0));
  });

  it('a compaction marker whose term is not the term of its entry', async () => {
    await forgedOpenError(dir, markerRecord(3, 5n, 9n));
  });

  it('a snapshot reset to before the start of the log', async () => {
    await forgedOpenError(dir, markerRecord(4, 20n, 5n), markerRecord(4, 10n, 5n));
  });

  it('a snapshot reset whose term is below the term of the log start', async () => {
    expect((await forgedOpenError(dir, markerRecord(4, 5n, 3n), markerRecord(4, 8n, 2n))).reason).toMatch(/term/);
  });

  it('valid records appended the same way are accepted (the forging itself is sound)', async () => {
    appendFileSync(seg(dir, 1), Buffer.concat([entryRecord(11n, 4n), hardStateRecord(4n, 11n, 1, Buffer.from('n1'))]));
    const s = await FileStorage.open(dir);
    expect([s.lastIndex(), s.term(11)]).toEqual([11, 4]);
    expect(s.hardState()).toEqual({ term: 4, vote: 'n1', commit: 11 });
    await s.close();
  });
});

describe('FileStorage refuses writes that it would refuse to read back', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => removeDir(dir));

  it('entries whose terms go down, a term that goes down, a vote changed within a term, a commit past the log', async () => {
    const s = await FileStorage.open(dir);
    s.append([entry(1, 3), entry(2, 3)]);
    expect(() => s.append([entry(3, 2)])).toThrow(InvalidArgumentError);
    expect(() => s.append([entry(3, 4), entry(4, 3)])).toThrow(InvalidArgumentError);
    expect(() => s.append([entry(3, 2 ** 60)])).toThrow(InvalidArgumentError);
    s.setHardState({ term: 3, vote: 'n1', commit: 2 });
    expect(() => s.setHardState({ term: 2, vote: undefined, commit: 2 })).toThrow(InvalidArgumentError);
    expect(() => s.setHardState({ term: 3, vote: 'n2', commit: 2 })).toThrow(InvalidArgumentError);
    expect(() => s.setHardState({ term: 3, vote: 'n1', commit: 3 })).toThrow(InvalidArgumentError);
    expect(() => s.setHardState({ term: 3, vote: '', commit: 2 })).toThrow(InvalidArgumentError);
    s.setHardState({ term: 4, vote: undefined, commit: 2 });
    await s.close();
    const r = await FileStorage.open(dir);
    expect(r.hardState()).toEqual({ term: 4, vote: undefined, commit: 2 });
    expect(r.lastIndex()).toBe(2);
    await r.close();
  });
});

describe('FileStorage with raftRules: false (Multi-Paxos)', () => {
  it('accepts a ballot whose node changes within a round, a commit past the log and slots in lower ballots', async () => {
    const dir = tempDir();
    try {
      const s = await FileStorage.open(dir, { raftRules: false });
      s.append([entry(1, 3), entry(2, 1)]);
      s.setHardState({ term: 3, vote: 'n1', commit: 0 });
      s.setHardState({ term: 3, vote: 'n2', commit: 5 });
      await s.close();
      const r = await FileStorage.open(dir, { raftRules: false });
      expect(r.hardState()).toEqual({ term: 3, vote: 'n2', commit: 5 });
      expect([r.term(1), r.term(2)]).toEqual([3, 1]);
      await r.close();
      // The same directory is refused under Raft's rules.
      await expect(FileStorage.open(dir)).rejects.toBeInstanceOf(StorageCorruptionError);
    } finally {
      removeDir(dir);
    }
  });
});
