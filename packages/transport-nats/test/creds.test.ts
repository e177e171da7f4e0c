import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Envelope } from '@synod/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsConnectError } from '../src/index.js';
import { NatsServer } from '../src/nats-server.js';
import { closeAll, settle, startTransport } from './helpers.js';
import { jwtSetup } from './jwt-creds.js';

const CLUSTER = 'test-cluster';

describe('a credentials file (.creds: user JWT and NKey seed) against a nats-server in operator/JWT mode', () => {
  const setup = jwtSetup();
  const dir = mkdtempSync(join(tmpdir(), 'synod-creds-'));
  let server: NatsServer;
  const credsOf = (id: string, permissions = { publish: [`synod.${CLUSTER}.*.${id}`], subscribe: [`synod.${CLUSTER}.${id}.>`] }): string => {
    const path = join(dir, `${id}.creds`);
    writeFileSync(path, setup.userCreds(id, permissions), { mode: 0o600 });
    return path;
  };

  beforeAll(async () => {
    server = await NatsServer.start({ extraConfig: setup.serverConfig });
  });
  afterAll(async () => {
    await server?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('nodes sign in with their .creds files and exchange envelopes within their JWT permissions', async () => {
    const a = await startTransport(server.url, 'a', ['a', 'b'], { clusterId: CLUSTER, auth: { credentialsFile: credsOf('a') } });
    const b = await startTransport(server.url, 'b', ['a', 'b'], { clusterId: CLUSTER, auth: { credentialsFile: credsOf('b') } });
    try {
      const received: Envelope[] = [];
      b.setHandler((e) => received.push(e));
      a.send('b', { clusterId: CLUSTER, from: 'a', to: 'b', protocol: 'raft', payload: new Uint8Array([7]) });
      await settle([a, b]);
      expect(received.map((e) => e.from)).toEqual(['a']);
      expect(a.stats().permissionViolations).toBe(0);
    } finally {
      await closeAll([a, b]);
    }
  });

  it('a .creds file the server does not trust fails start with NatsConnectError naming the server', async () => {
    const stranger = jwtSetup().userCreds('c', { publish: ['>'], subscribe: ['>'] });
    const path = join(dir, 'stranger.creds');
    writeFileSync(path, stranger, { mode: 0o600 });
    const error = await startTransport(server.url, 'c', ['a'], { clusterId: CLUSTER, auth: { credentialsFile: path } }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(NatsConnectError);
    expect((error as Error).message).toContain(server.url);
    expect((error as Error).message).toMatch(/authori[sz]ation/i);
  });
});
