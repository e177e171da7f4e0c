import * as grpc from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCertificateAuthority, createClientCertificate } from '../../src/certificates.js';
import { SynodClient } from '../../src/index.js';
import { TestPki } from '../certs.js';
import { capturingLogger } from '../helpers.js';
import { RawPeer, batchFrame, helloFrame } from '../raw-peer.js';
import { startInProcessCluster, type InProcessCluster } from './in-process-cluster.js';

/**
 * A mutual-TLS cluster of createSynodServer nodes b and c, with a third
 * member a that never runs (so b and c still have a quorum, and a raw peer
 * holding a's certificate can play a hostile member). Refusals are checked
 * at the client API and on the peer stream of c.
 */

const MAX = 64 * 1024;
const pki = new TestPki('test-cluster');
const logger = capturingLogger();
let cluster: InProcessCluster;

beforeAll(async () => {
  cluster = await startInProcessCluster(['b', 'c'], {
    security: (id) => pki.security(id),
    overrides: { logger, maxMessageBytes: MAX },
    absentPeers: ['a'],
  });
}, 30_000);

afterAll(async () => {
  await cluster?.stop();
});

async function client(security: ConstructorParameters<typeof SynodClient>[0]['security']): Promise<SynodClient> {
  return new SynodClient({ endpoints: cluster.endpoints, security, timeoutMs: 1_500, attemptTimeoutMs: 500 });
}

describe('mTLS at the client API', () => {
  it('a client with a certificate of the cluster CA reads and writes', async () => {
    const ca = await pki.ca();
    const issued = await pki.client('alice');
    const alice = await client({ tls: { ca: ca.certPem, cert: issued.certPem, key: issued.keyPem } });
    try {
      await alice.put('k', 'v');
      expect((await alice.get('k')).kv?.value).toBe('v');
    } finally {
      alice.close();
    }
  });

  it('a client without a certificate is refused', async () => {
    const ca = await pki.ca();
    const anonymous = await client({ tls: { ca: ca.certPem } });
    try {
      await expect(anonymous.get('k')).rejects.toThrow(/no answer within the deadline; last failure: GRPC_UNAVAILABLE/);
    } finally {
      anonymous.close();
    }
  });

  it('a client whose certificate another CA signed is refused', async () => {
    const ca = await pki.ca();
    const otherCa = await createCertificateAuthority({ commonName: 'other CA' });
    const stranger = await createClientCertificate(otherCa, { clusterId: 'test-cluster', name: 'mallory' });
    const mallory = await client({ tls: { ca: ca.certPem, cert: stranger.certPem, key: stranger.keyPem } });
    try {
      await expect(mallory.put('k', 'evil')).rejects.toThrow(/GRPC_UNAVAILABLE/);
    } finally {
      mallory.close();
    }
  });

  it('a client that trusts another CA refuses the nodes', async () => {
    const otherCa = await createCertificateAuthority({ commonName: 'other CA' });
    const issued = await pki.client('alice');
    const wary = await client({ tls: { ca: otherCa.certPem, cert: issued.certPem, key: issued.keyPem } });
    try {
      await expect(wary.get('k')).rejects.toThrow(/GRPC_UNAVAILABLE/);
    } finally {
      wary.close();
    }
  });
});

describe('bad input on the peer stream of a server', () => {
  async function rawPeerAs(nodeId: string): Promise<RawPeer> {
    const ca = await pki.ca();
    const issued = await pki.node(nodeId);
    return new RawPeer(
      cluster.servers.find((s) => s.nodeId === 'c')!.boundAddress!,
      grpc.credentials.createSsl(Buffer.from(ca.certPem), Buffer.from(issued.keyPem), Buffer.from(issued.certPem)),
    );
  }

  const hello = helloFrame({ clusterId: 'test-cluster', nodeId: 'a', peerId: 'c' });
  const cases: { name: string; frames: () => Uint8Array[]; code: status; reason: RegExp }[] = [
    { name: 'a malformed frame', frames: () => [new Uint8Array([0xff, 0xff, 0xff])], code: status.INVALID_ARGUMENT, reason: /malformed frame/ },
    ...['nope', '__proto__'].map((protocol) => ({
      name: `an envelope of unknown protocol '${protocol}'`,
      frames: () => [hello, batchFrame({ from: 'a', to: 'c', protocol })],
      code: status.INVALID_ARGUMENT,
      reason: new RegExp(`unknown protocol "${protocol}"`),
    })),
    { name: 'a frame over the size limit', frames: () => [hello, batchFrame({ from: 'a', to: 'c', payload: new Uint8Array(MAX + 100) })], code: status.RESOURCE_EXHAUSTED, reason: /exceeds this node's limit/ },
    { name: 'a hello of another cluster', frames: () => [helloFrame({ clusterId: 'other', nodeId: 'a', peerId: 'c' })], code: status.PERMISSION_DENIED, reason: /cluster id "other"/ },
    { name: 'a hello whose node id is not the certificate\'s', frames: () => [helloFrame({ clusterId: 'test-cluster', nodeId: 'b', peerId: 'c' })], code: status.PERMISSION_DENIED, reason: /certificate/ },
  ];

  for (const { name, frames, code, reason } of cases) {
    it(`${name}: ${status[code]}, logged once, and the node keeps serving`, async () => {
      const before = logger.warnings('refused a peer stream').length;
      const raw = await rawPeerAs('a');
      try {
        for (const frame of frames()) raw.send(frame);
        const ended = await raw.status;
        expect(status[ended.code]).toBe(status[code]);
        expect(ended.details).toMatch(reason);
      } finally {
        raw.close();
      }
      expect(logger.warnings('refused a peer stream').length).toBe(before + 1);
      const ca = await pki.ca();
      const issued = await pki.client('alice');
      const alice = await client({ tls: { ca: ca.certPem, cert: issued.certPem, key: issued.keyPem } });
      try {
        await alice.put(`after ${name}`, 'ok', { timeoutMs: 5_000 });
        expect((await alice.get(`after ${name}`, { timeoutMs: 5_000 })).kv?.value).toBe('ok');
      } finally {
        alice.close();
      }
    });
  }
});
