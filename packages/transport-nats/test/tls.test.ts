import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Envelope } from '@synod/core';
import { createCertificateAuthority, createNodeCertificate } from '@synod/transport-grpc/certificates';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsConnectError, NatsTransport, type NatsTlsOptions } from '../src/index.js';
import { NatsServer } from '../src/nats-server.js';
import { BYTE_PROTOCOLS, closeAll, settle } from './helpers.js';

describe('TLS to a nats-server that verifies client certificates', () => {
  let server: NatsServer;
  let dir: string;
  let ca: { certPem: string; keyPem: string };
  let client: NatsTlsOptions;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'synod-nats-tls-'));
    ca = await createCertificateAuthority();
    const [serverCert, clientCert] = await Promise.all([
      createNodeCertificate(ca, { clusterId: 'tls', nodeId: 'broker' }),
      createNodeCertificate(ca, { clusterId: 'tls', nodeId: 'n1' }),
    ]);
    for (const [name, pem] of Object.entries({ 'ca.pem': ca.certPem, 'server.pem': serverCert.certPem, 'server-key.pem': serverCert.keyPem })) {
      writeFileSync(join(dir, name), pem);
    }
    writeFileSync(join(dir, 'client.pem'), clientCert.certPem);
    writeFileSync(join(dir, 'client-key.pem'), clientCert.keyPem);
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

  it('carries envelopes with a client certificate, given as files or as PEM text', async () => {
    const n1 = transport('n1', client);
    const n2 = transport('n2', { ca: readFileSync(client.caFile!, 'utf8'), cert: readFileSync(client.certFile!, 'utf8'), key: readFileSync(client.keyFile!, 'utf8') });
    await Promise.all([n1.start(), n2.start()]);
    try {
      const received: Envelope[] = [];
      n2.setHandler((e) => received.push(e));
      n1.send('n2', { clusterId: 'tls', from: 'n1', to: 'n2', protocol: 'raft', payload: new Uint8Array([42]) });
      await settle([n1, n2]);
      expect(received.map((e) => Array.from(e.payload as Uint8Array))).toEqual([[42]]);
    } finally {
      await closeAll([n1, n2]);
    }
  });

  it('fails start with NatsConnectError without a client certificate, or when the server is not signed by the CA', async () => {
    const other = await createCertificateAuthority();
    for (const tls of [{ caFile: client.caFile! }, { ...client, caFile: undefined, ca: other.certPem }]) {
      const t = transport('n1', tls);
      const error = await t.start().catch((err: unknown) => err);
      expect(error).toBeInstanceOf(NatsConnectError);
      expect((error as Error).message).toContain(server.url);
      await t.close();
    }
  });
});
