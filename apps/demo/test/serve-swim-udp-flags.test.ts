import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import { UsageError } from '../src/server/flags.js';
import { readKeyringFile, swimUdpSettings } from '../src/server/swim-over-udp.js';

const scratch = mkdtempSync(join(tmpdir(), 'synod-swim-udp-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const KEY_A = Buffer.alloc(32, 1).toString('base64');
const KEY_B = Buffer.alloc(32, 2).toString('base64');
const goodKeyring = join(scratch, 'good.keys');
writeFileSync(goodKeyring, `# primary first\n${KEY_A}\n\n${KEY_B}\n`);
const shortKey = join(scratch, 'short.keys');
writeFileSync(shortKey, `${KEY_A}\n${Buffer.alloc(16).toString('base64')}\n`);
const notBase64 = join(scratch, 'text.keys');
writeFileSync(notBase64, 'correct horse battery staple\n');
const empty = join(scratch, 'empty.keys');
writeFileSync(empty, '# nothing yet\n');

function capture(): { io: { stdout: (l: string) => void; stderr: (l: string) => void }; err: string[] } {
  const err: string[] = [];
  return { io: { stdout: () => undefined, stderr: (l) => err.push(l) }, err };
}

const serve = ['serve', '--id', 'n1', '--listen', '127.0.0.1:1', '--insecure'];
const udp = ['--swim-transport', 'udp', '--swim-listen', '127.0.0.1:7946'];

describe('synod serve --swim-transport udp: bad flags', () => {
  it.each([
    [['--swim-transport', 'carrier-pigeon'], /--swim-transport must be peer or udp, got 'carrier-pigeon'/],
    [['--swim-listen', '127.0.0.1:7946'], /--swim-listen needs --swim-transport udp/],
    [['--swim-seeds', '127.0.0.1:7947'], /--swim-seeds needs --swim-transport udp/],
    [['--swim-keyring', goodKeyring], /--swim-keyring needs --swim-transport udp/],
    [['--inject-udp-loss', '0.1'], /--inject-udp-loss needs --swim-transport udp/],
    [['--swim-tcp-fallback', 'off'], /--swim-tcp-fallback needs --swim-transport udp/],
    [[...udp, '--swim-tcp-fallback', 'maybe'], /--swim-tcp-fallback must be on or off, got 'maybe'/],
    [['--swim-transport', 'udp'], /--swim-listen is required with --swim-transport udp/],
    [['--swim', 'off', ...udp], /--swim-transport udp needs SWIM on/],
    [['--swim-transport', 'udp', '--swim-listen', 'localhost'], /--swim-listen must be host:port, got 'localhost'/],
    [[...udp, '--swim-seeds', '127.0.0.1:7947,seed'], /--swim-seeds must be host:port, got 'seed'/],
    [[...udp, '--swim-seeds', '127.0.0.1:7947,127.0.0.1:7947'], /--swim-seeds lists an address twice/],
    [[...udp, '--swim-seeds', '127.0.0.1:7946'], /must not list this node's own --swim-listen/],
    [[...udp, '--inject-udp-loss', '1'], /--inject-udp-loss must be a fraction from 0 to below 1, got '1'/],
    [[...udp, '--inject-udp-loss', 'some'], /--inject-udp-loss must be a fraction/],
    [[...udp, '--swim-keyring', shortKey], /line 2 is not a base64-encoded 32-byte key/],
    [[...udp, '--swim-keyring', notBase64], /line 1 is not a base64-encoded 32-byte key/],
    [[...udp, '--swim-keyring', empty], /holds no key/],
  ])('%j exits 64 with a message', async (flags, message) => {
    const { io, err } = capture();
    expect(await main([...serve, '--data', join(scratch, 'data'), ...flags], io)).toBe(64);
    expect(err.join('\n')).toMatch(message);
    expect(err.join('\n')).not.toMatch(/\n\s+at /);
  });

  it('a missing keyring file exits 66 naming the flag and the file', async () => {
    const { io, err } = capture();
    const missing = join(scratch, 'nope.keys');
    expect(await main([...serve, '--data', join(scratch, 'data'), ...udp, '--swim-keyring', missing], io)).toBe(66);
    expect(err.join('\n')).toContain(`--swim-keyring ${missing}: no such file`);
  });

  it('--help lists the datagram-path flags and the loss injection', async () => {
    const out: string[] = [];
    expect(await main(['serve', '--help'], { stdout: (l) => out.push(l), stderr: () => undefined })).toBe(0);
    for (const flag of ['--swim-transport', '--swim-listen', '--swim-seeds', '--swim-keyring', '--swim-tcp-fallback', '--inject-udp-loss']) expect(out.join('\n')).toContain(flag);
  });
});

describe('swimUdpSettings', () => {
  it('is undefined for the peer transport (the default)', () => {
    expect(swimUdpSettings({}, true)).toBeUndefined();
    expect(swimUdpSettings({ 'swim-transport': 'peer' }, true)).toBeUndefined();
  });

  it('reads the address, the seeds, the keys (primary first) and the loss rate', () => {
    const settings = swimUdpSettings(
      { 'swim-transport': 'udp', 'swim-listen': '127.0.0.1:7946', 'swim-seeds': '127.0.0.1:7947,[::1]:7948', 'swim-keyring': goodKeyring, 'inject-udp-loss': '0.25' },
      true,
    );
    expect(settings).toMatchObject({ listen: '127.0.0.1:7946', seeds: ['127.0.0.1:7947', '[::1]:7948'], udpLossRate: 0.25, tcpFallback: true });
    expect(swimUdpSettings({ 'swim-transport': 'udp', 'swim-listen': '127.0.0.1:7946', 'swim-tcp-fallback': 'off' }, true)?.tcpFallback).toBe(false);
    expect(settings?.keys?.map((key) => key.toString('base64'))).toEqual([KEY_A, KEY_B]);
  });

  it('without a keyring the messages travel in the clear (keys undefined), and no seeds means waiting to be joined', () => {
    expect(swimUdpSettings({ 'swim-transport': 'udp', 'swim-listen': '127.0.0.1:7946' }, true)).toEqual({ listen: '127.0.0.1:7946', seeds: [], keys: undefined, tcpFallback: true, udpLossRate: 0 });
  });

  it('throws UsageError (typed) for bad values', () => {
    expect(() => swimUdpSettings({ 'swim-transport': 'udp', 'swim-listen': '127.0.0.1:7946', 'inject-udp-loss': '-0.1' }, true)).toThrow(UsageError);
    expect(() => readKeyringFile(shortKey)).toThrow(UsageError);
  });
});
