import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SynodClient } from '@synod/transport-grpc';
import { afterAll, describe, expect, it } from 'vitest';
import { runServe } from '../src/server/serve.js';

const scratch = mkdtempSync(join(tmpdir(), 'synod-failstop-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('synod serve --inject-disk-faults', () => {
  it('fail-stops with exit code 74 when the disk starts failing, and a restart still has every acknowledged write', async () => {
    const data = join(scratch, 'n1');
    const trigger = join(scratch, 'n1.eio');
    const start = (): { exit: Promise<number>; address: Promise<string>; signals: EventEmitter; err: string[] } => {
      const signals = new EventEmitter();
      const err: string[] = [];
      let announce: (address: string) => void = () => undefined;
      const address = new Promise<string>((resolve) => (announce = resolve));
      const io = {
        stdout: (line: string) => {
          const match = / on (\S+:\d+) \(data /.exec(line);
          if (match) announce(match[1]!);
        },
        stderr: (line: string) => err.push(line),
      };
      const exit = runServe(['--id', 'n1', '--listen', '127.0.0.1:0', '--data', data, '--insecure', '--tick-ms', '20', '--inject-disk-faults', trigger], io, signals);
      return { exit, address, signals, err };
    };

    const first = start();
    const client = new SynodClient({ endpoints: [await first.address], security: { insecure: true }, timeoutMs: 5_000 });
    await client.put('kept', 'yes');
    writeFileSync(trigger, '');
    await expect(client.put('lost', 'no', { timeoutMs: 2_000 })).rejects.toThrow();
    expect(await first.exit).toBe(74);
    expect(first.err.join('\n')).toMatch(/n1 fail-stopped: writing .* failed.*: EIO/);
    client.close();

    rmSync(trigger);
    const second = start();
    const again = new SynodClient({ endpoints: [await second.address], security: { insecure: true }, timeoutMs: 5_000 });
    expect((await again.get('kept')).kv?.value).toBe('yes');
    again.close();
    second.signals.emit('SIGTERM');
    expect(await second.exit).toBe(0);
  });
});
