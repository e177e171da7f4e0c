import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Envelope } from '@synod/core';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsConnectError, NatsTransport, type NatsTlsOptions } from '../src/index.js';
import { NatsServer } from '../src/nats-server.js';
import { BYTE_PROTOCOLS, capturingLogger, closeAll, settle } from './helpers.js';

/** Makes `<name>.pem` and `<name>-key.pem` in `dir` with openssl: a CA when `ca` is undefined, else a certificate it signs. */
function makeCertificate(dir: string, name: string, ca?: string): void {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const key = `${name}-key.pem`;
  const subject = `/CN=${name}`;
  if (ca === undefined) {
    run('req', '-x509', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-keyout', key, '-out', `${name}.pem`, '-days', '2', '-subj', subject,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
    return;
  }
  run('req', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-keyout', key, '-out', `${name}.csr`, '-subj', subject);
  writeFileSync(join(dir, `${name}.ext`), 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n');
  run('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}-key.pem`, '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`);
}

describe('TLS to a nats-server that verifies client certificates', () => {
  let server: NatsServer;
  let dir: string;
  let client: NatsTlsOptions;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'synod-nats-tls-'));
    makeCertificate(dir, 'ca');
    makeCertificate(dir, 'other-ca');
    makeCertificate(dir, 'server', 'ca');
    makeCertificate(dir, 'client', 'ca');
    client = { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'client.pem'), keyFile: join(dir, 'client-key.pem') };
    server = await NatsServer.start({
      extraConfig: `tls { cert_file: "${join(dir, 'server.pem')}", key_file: "${join(dir, 'server-key.pem')}", ca_file: "${join(dir, 'ca.pem')}", verify: true }`,
    });
  });
  afterAll(async () => {
    await server.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const transport = (id: string, tls: NatsTlsOptions) =>
    new NatsTransport({ localId: id, clusterId: 'tls', peers: ['n1', 'n2'], servers: server.url, tls, payloadCodecs: BYTE_PROTOCOLS, connectTimeoutMs: 2_000 });

  it('carries envelopes with a client certificate, given as files or as PEM text, without the plaintext warning', async () => {
    const logger = capturingLogger();
    const n1 = new NatsTransport({ localId: 'n1', clusterId: 'tls', peers: ['n2'], servers: server.url, tls: client, payloadCodecs: BYTE_PROTOCOLS, logger });
    const n2 = transport('n2', { ca: readFileSync(client.caFile!, 'utf8'), cert: readFileSync(client.certFile!, 'utf8'), key: readFileSync(client.keyFile!, 'utf8') });
    await Promise.all([n1.start(), n2.start()]);
    try {
      const received: Envelope[] = [];
      n2.setHandler((e) => received.push(e));
      n1.send('n2', { clusterId: 'tls', from: 'n1', to: 'n2', protocol: 'raft', payload: new Uint8Array([42]) });
      await settle([n1, n2]);
      expect(received.map((e) => Array.from(e.payload as Uint8Array))).toEqual([[42]]);
      expect(logger.at('warn', 'plaintext')).toEqual([]);
    } finally {
      await closeAll([n1, n2]);
    }
  });

  it('fails start with NatsConnectError without a client certificate, or when the server is not signed by the CA', async () => {
    for (const tls of [{ caFile: client.caFile! }, { ...client, caFile: join(dir, 'other-ca.pem') }]) {
      const t = transport('n1', tls);
      const error = await t.start().catch((err: unknown) => err);
      expect(error).toBeInstanceOf(NatsConnectError);
      expect((error as Error).message).toContain(server.url);
      await t.close();
    }
  });
});
