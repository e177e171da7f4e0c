import { describe, expect, it } from 'vitest';
import { TransportProber } from '../../src/detection/transport-prober.js';
import { TestNetwork } from './test-network.js';

function pair(latencyMs = 10) {
  const net = new TestNetwork();
  net.latencyMs = latencyMs;
  const a = new TransportProber({ transport: net.endpoint('a'), clock: net.clock, clusterId: 'c', attachHandler: true });
  const b = new TransportProber({ transport: net.endpoint('b'), clock: net.clock, clusterId: 'c', attachHandler: true });
  return { net, a, b };
}

describe('TransportProber', () => {
  it('measures the round trip and feeds the RTT estimator', async () => {
    const { net, a } = pair(10);
    const result = a.probe('b', { deadlineMs: 500 });
    net.clock.advance(20);
    await expect(result).resolves.toEqual({ ok: true, rttMs: 20, attempts: 1 });
    expect(a.estimator('b').srttMs).toBe(20);
    expect(a.estimator('b').samples).toBe(1);
    expect(a.pendingProbes).toBe(0);
  });

  it('times out at the deadline and backs the RTO off once', async () => {
    const { net, a } = pair(10);
    net.crash('b');
    const rtoBefore = a.estimator('b').rtoMs;
    const result = a.probe('b', { deadlineMs: 300, retransmit: false });
    net.clock.advance(299);
    expect(a.pendingProbes).toBe(1);
    net.clock.advance(1);
    await expect(result).resolves.toEqual({ ok: false, reason: 'timeout' });
    expect(a.estimator('b').rtoMs).toBe(Math.min(60_000, rtoBefore * 2));
  });

  it("retransmits after the RTO and ignores the ambiguous RTT (Karn's rule)", async () => {
    const { net, a } = pair(10);
    // Learn a 20 ms RTT first: RTO = max(200, 20 + 4·10) = 200.
    const first = a.probe('b', { deadlineMs: 500 });
    net.clock.advance(20);
    await first;
    net.cut('a', 'b', true);
    const result = a.probe('b', { deadlineMs: 2000 }); // first ping at t=20 is lost
    net.clock.advance(100);
    net.heal('a', 'b');
    net.clock.advance(120); // RTO expires at t=220: retransmit; its pong is back at t=240
    net.clock.advance(5000); // past the deadline, so a wrong outcome cannot hang the test
    const outcome = await result;
    expect(outcome).toMatchObject({ ok: true, attempts: 2 });
    expect(a.estimator('b').samples).toBe(1);
    expect(a.estimator('b').backoffs).toBe(1);
  });

  it('reports unreachable when the transport says so, and aborted on the signal', async () => {
    const { net, a } = pair(10);
    net.crash('b');
    const unreachable = a.probe('b', { deadlineMs: 1000 });
    net.reportUnreachable('a', 'b');
    await expect(unreachable).resolves.toEqual({ ok: false, reason: 'unreachable' });

    const controller = new AbortController();
    const aborted = a.probe('b', { deadlineMs: 1000, signal: controller.signal });
    controller.abort();
    await expect(aborted).resolves.toEqual({ ok: false, reason: 'aborted' });
    await expect(a.probe('b', { signal: controller.signal })).resolves.toEqual({ ok: false, reason: 'aborted' });
    expect(net.clock.pendingTimers).toBe(0);
  });

  it('reports unreachable when the transport refuses the send, and aborts pending probes on close', async () => {
    const { a } = pair(10);
    const pending = a.probe('b', { deadlineMs: 1000 });
    a.close();
    await expect(pending).resolves.toEqual({ ok: false, reason: 'aborted' });
    const net2 = new TestNetwork();
    const transport = net2.endpoint('x');
    const prober = new TransportProber({ transport, clock: net2.clock, clusterId: 'c' });
    await transport.close();
    await expect(prober.probe('y', { deadlineMs: 100 })).resolves.toEqual({ ok: false, reason: 'unreachable' });
  });

  it('ignores pongs from the wrong peer and envelopes of other protocols or clusters', () => {
    const { a } = pair(10);
    void a.probe('b', { deadlineMs: 100 });
    expect(a.handleEnvelope({ clusterId: 'c', from: 'b', to: 'a', protocol: 'swim', payload: {} })).toBe(false);
    expect(a.handleEnvelope({ clusterId: 'c', from: 'z', to: 'a', protocol: 'probe', payload: { type: 'pong', nonce: 1 } })).toBe(true);
    expect(a.handleEnvelope({ clusterId: 'x', from: 'b', to: 'a', protocol: 'probe', payload: { type: 'pong', nonce: 1 } })).toBe(true);
    expect(a.handleEnvelope({ clusterId: 'c', from: 'b', to: 'a', protocol: 'probe', payload: 'junk' })).toBe(true);
    expect(a.pendingProbes).toBe(1);
  });
});
