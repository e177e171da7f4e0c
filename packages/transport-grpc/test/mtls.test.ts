import * as grpc from '@grpc/grpc-js';
import type { Envelope, NodeId } from '@synod/core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createChannelCredentials, type GrpcTransport } from '../src/index.js';
import { TestPki } from './certs.js';
import { capturingLogger, closeAll, eventually, startTransport, type Overrides } from './helpers.js';
import { RawPeer, batchFrame, helloFrame } from './raw-peer.js';

const pki = new TestPki();
const foreignPki = new TestPki();

function envelope(from: NodeId, to: NodeId, payload = new Uint8Array([1])): Envelope {
  return { clusterId: 'test-cluster', from, to, protocol: 'raft', payload };
}

describe('mutual TLS binds node ids to certificates', () => {
  let open: GrpcTransport[] = [];
  let raw: RawPeer | undefined;
  beforeAll(async () => {
    // Make the certificates before the first test's clock starts.
    await Promise.all([pki.node('n1'), pki.node('n2'), pki.node('n0'), foreignPki.node('n0')]);
  });
  afterEach(async () => {
    raw?.close();
    raw = undefined;
    await closeAll(open);
    open = [];
  });

  async function node(id: NodeId, overrides: Overrides = {}): Promise<GrpcTransport> {
    const transport = await startTransport(id, { security: await pki.security(id), ...overrides });
    open.push(transport);
    return transport;
  }

  /**
   * n2 (the victim) with an honest peer n3, and a suspicious dialer whose
   * id sorts before n2's, so it is the one that dials.
   */
  async function victimWithHonestPeer(): Promise<{ n2: GrpcTransport; n3: GrpcTransport; logger: ReturnType<typeof capturingLogger>; atN2: Envelope[] }> {
    const logger = capturingLogger();
    const n2 = await node('n2', { logger });
    const n3 = await node('n3');
    const atN2: Envelope[] = [];
    n2.setHandler((e) => atN2.push(e));
    return { n2, n3, logger, atN2 };
  }

  async function expectHonestLinkWorks(n2: GrpcTransport, n3: GrpcTransport, atN2: Envelope[]): Promise<void> {
    const peers = { ...Object.fromEntries([...n2.stats().peers.keys()].map((id) => [id, '127.0.0.1:1'])), n2: n2.boundAddress!, n3: n3.boundAddress! };
    n2.setPeers(peers);
    n3.setPeers({ n2: n2.boundAddress! });
    n3.send('n2', envelope('n3', 'n2', new Uint8Array([3])));
    await eventually(() => atN2.some((e) => e.from === 'n3'), 5_000, 'n3 to reach n2');
  }

  it('carries envelopes between two nodes with valid certificates', async () => {
    const n1 = await node('n1');
    const n2 = await node('n2');
    n1.setPeers({ n2: n2.boundAddress! });
    n2.setPeers({ n1: n1.boundAddress! });
    const atN1: Envelope[] = [];
    n1.setHandler((e) => atN1.push(e));
    n2.send('n1', envelope('n2', 'n1'));
    await eventually(() => atN1.length === 1, 5_000, 'delivery');
  });

  it('refuses a dialer whose certificate names another node than its hello', async () => {
    const { n2, n3, logger, atN2 } = await victimWithHonestPeer();
    // "n0" holds n1's certificate (n1 being a member) and says it is n0.
    const impostor = await startTransport('n0', { security: await pki.security('n1') });
    open.push(impostor);
    const unreachable: NodeId[] = [];
    impostor.onUnreachable((peer) => unreachable.push(peer));
    n2.setPeers({ n0: '127.0.0.1:1', n1: '127.0.0.1:1' });
    impostor.setPeers({ n2: n2.boundAddress! });
    impostor.send('n2', envelope('n0', 'n2'));
    await eventually(() => logger.warnings('refused a peer stream').length > 0, 5_000, 'the refusal');
    const [refusal] = logger.warnings('refused a peer stream');
    expect(refusal!.fields['code']).toBe('PERMISSION_DENIED');
    expect(refusal!.fields['reason']).toMatch(/claims node "n0" but the certificate is node "n1"'s/);
    await eventually(() => unreachable.includes('n2'), 5_000, 'the impostor to hear it was refused');
    expect(atN2).toEqual([]);
    await expectHonestLinkWorks(n2, n3, atN2);
  });

  it('refuses to dial a server whose certificate names another node than the one dialled', async () => {
    const logger = capturingLogger();
    const n1 = await node('n1', { logger });
    // This server says it is n3 but holds n2's certificate.
    const fake = await startTransport('n3', { security: await pki.security('n2') });
    open.push(fake);
    const atFake: Envelope[] = [];
    fake.setHandler((e) => atFake.push(e));
    fake.setPeers({ n1: n1.boundAddress! });
    const unreachable: NodeId[] = [];
    n1.onUnreachable((peer) => unreachable.push(peer));
    n1.setPeers({ n3: fake.boundAddress! });
    n1.send('n3', envelope('n1', 'n3'));
    await eventually(() => unreachable.includes('n3'), 5_000, 'n1 to give up on n3');
    const failure = logger.lines.find((line) => line.message === 'peer stream failed');
    expect(String(failure?.fields['reason'])).toMatch(/not node 'n3'.*node 'n2'/);
    expect(n1.stats().peers.get('n3')?.state).toBe('down');
    expect(atFake).toEqual([]);
  });

  it('refuses a dialer whose certificate another CA signed, in the TLS handshake', async () => {
    const { n2, n3, atN2 } = await victimWithHonestPeer();
    const stranger = await startTransport('n0', { security: await foreignPki.security('n0') });
    open.push(stranger);
    const unreachable: NodeId[] = [];
    stranger.onUnreachable((peer) => unreachable.push(peer));
    n2.setPeers({ n0: '127.0.0.1:1' });
    stranger.setPeers({ n2: n2.boundAddress! });
    stranger.send('n2', envelope('n0', 'n2'));
    await eventually(() => unreachable.includes('n2'), 5_000, 'the stranger to be refused');
    expect(n2.stats().peers.get('n0')?.state).toBe('down');
    expect(atN2).toEqual([]);
    await expectHonestLinkWorks(n2, n3, atN2);
  });

  it('refuses to dial a server whose certificate another CA signed', async () => {
    const n0 = await node('n0');
    const fake = await startTransport('n2', { security: await foreignPki.security('n2') });
    open.push(fake);
    const unreachable: NodeId[] = [];
    n0.onUnreachable((peer) => unreachable.push(peer));
    n0.setPeers({ n2: fake.boundAddress! });
    fake.setPeers({ n0: n0.boundAddress! });
    n0.send('n2', envelope('n0', 'n2'));
    await eventually(() => unreachable.includes('n2'), 5_000, 'n0 to give up on n2');
    expect(fake.stats().envelopesReceived).toBe(0);
  });

  it('refuses a node outside the membership even with a valid certificate', async () => {
    const { n2, n3, logger, atN2 } = await victimWithHonestPeer();
    const outsider = await startTransport('n0', { security: await pki.security('n0') });
    open.push(outsider);
    outsider.setPeers({ n2: n2.boundAddress! });
    outsider.send('n2', envelope('n0', 'n2'));
    await eventually(() => logger.warnings('refused a peer stream').length > 0, 5_000, 'the refusal');
    const refusals = logger.warnings('refused a peer stream');
    expect(refusals[0]!.fields['code']).toBe('PERMISSION_DENIED');
    expect(refusals[0]!.fields['reason']).toMatch(/"n0" is not a member/);
    expect(atN2).toEqual([]);
    await expectHonestLinkWorks(n2, n3, atN2);
  });

  it('refuses a node certificate of another cluster from the same CA', async () => {
    const { n2, logger, atN2 } = await victimWithHonestPeer();
    const other = await startTransport('n0', { security: await pki.security('n0', { clusterId: 'other-cluster' }) });
    open.push(other);
    n2.setPeers({ n0: '127.0.0.1:1' });
    other.setPeers({ n2: n2.boundAddress! });
    await eventually(() => logger.warnings('refused a peer stream').length > 0, 5_000, 'the refusal');
    expect(logger.warnings('refused a peer stream')[0]!.fields['reason']).toMatch(/certificate is for cluster "other-cluster"/);
    expect(atN2).toEqual([]);
  });

  it('lets a node that left the membership neither keep its stream nor reconnect', async () => {
    const logger = capturingLogger();
    const n1 = await node('n1');
    const n2 = await node('n2', { logger });
    n1.setPeers({ n2: n2.boundAddress! });
    n2.setPeers({ n1: n1.boundAddress! });
    const atN2: Envelope[] = [];
    n2.setHandler((e) => atN2.push(e));
    await eventually(() => n2.stats().peers.get('n1')?.state === 'open', 5_000, 'the link');
    n2.setPeers({});
    await eventually(() => logger.warnings('refused a peer stream').length > 0, 5_000, 'n1 to redial and be refused');
    n1.send('n2', envelope('n1', 'n2'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(atN2).toEqual([]);
    // Readmitted, it connects again.
    n2.setPeers({ n1: n1.boundAddress! });
    n1.send('n2', envelope('n1', 'n2'));
    await eventually(() => atN2.length > 0, 5_000, 'n1 to be readmitted');
  });

  describe('with client certificates optional (requireClientCert: false)', () => {
    it('refuses a peer stream without a certificate (UNAUTHENTICATED) and one with a client certificate (PERMISSION_DENIED)', async () => {
      const logger = capturingLogger();
      const n2 = await node('n2', { logger, security: await pki.security('n2', { requireClientCert: false }) });
      n2.setPeers({ n1: '127.0.0.1:1' });
      const ca = await pki.ca();
      raw = new RawPeer(n2.boundAddress!, createChannelCredentials({ tls: { ca: ca.certPem } }), { 'grpc.ssl_target_name_override': 'localhost' });
      raw.send(helloFrame({ nodeId: 'n1', peerId: 'n2' }));
      const anonymous = await raw.status;
      expect(grpc.status[anonymous.code]).toBe('UNAUTHENTICATED');
      raw.close();
      const client = await pki.client('alice');
      raw = new RawPeer(n2.boundAddress!, createChannelCredentials({ tls: { ca: ca.certPem, cert: client.certPem, key: client.keyPem } }));
      raw.send(helloFrame({ nodeId: 'n1', peerId: 'n2' }));
      raw.send(batchFrame({ from: 'n1', to: 'n2' }));
      const asClient = await raw.status;
      expect(grpc.status[asClient.code]).toBe('PERMISSION_DENIED');
      expect(asClient.details).toMatch(/names no Synod node/);
      expect(logger.warnings('refused a peer stream')).toHaveLength(2);
    });
  });

  it('refuses a plaintext dialer', async () => {
    const n2 = await node('n2');
    n2.setPeers({ n1: '127.0.0.1:1' });
    raw = new RawPeer(n2.boundAddress!);
    raw.send(helloFrame({ nodeId: 'n1', peerId: 'n2' }));
    expect(grpc.status[(await raw.status).code]).toBe('UNAVAILABLE');
    expect(n2.stats().envelopesReceived).toBe(0);
  });
});
