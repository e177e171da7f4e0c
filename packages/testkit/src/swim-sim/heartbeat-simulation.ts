import { SeededRandom, VirtualClock, type FailureDetector, type NodeId } from '@synod/core';
import { MemoryNetwork, type LinkFaults } from '@synod/transport-memory';
import { QosRecorder } from './detection-metrics.js';
import { runSlowScript, runStallScript, type ScriptHost, type SlowScript, type StallScript } from './fault-scripts.js';
import { SimProcess } from './sim-process.js';

/** Options of a {@link HeartbeatSimulation}. */
export interface HeartbeatSimulationOptions {
  /** Members, named `m0` … `m(N-1)`; every one monitors every other one. */
  readonly members: number;
  /** A fresh detector for one member (it watches all the others). */
  readonly detector: () => FailureDetector;
  /** Seeds the network and the fault scripts. @default 1 */
  readonly seed?: number;
  /** Loss, delay, duplication and reordering on every link. @default 1 ms, no loss */
  readonly faults?: LinkFaults;
  /** Heartbeat period of every member. @default 1000 */
  readonly heartbeatIntervalMs?: number;
  /** How often each member re-evaluates its detector (`check`). @default 100 */
  readonly checkIntervalMs?: number;
}

/**
 * All-to-all heartbeats judged by a heartbeat-fed detector (fixed timeout or
 * phi accrual), on the same in-memory network, virtual clock, process model
 * and fault scripts as {@link SwimSimulation}, so that the detectors can be
 * compared under identical conditions. Every member sends a heartbeat to
 * every other one each interval and runs its own detector; availability
 * changes feed a {@link QosRecorder}.
 *
 * The message load is N·(N−1) per interval: this is the baseline SWIM's
 * constant per-member load is measured against.
 *
 * @example
 * ```ts
 * const sim = new HeartbeatSimulation({ members: 50, detector: () => new PhiAccrualDetector({ acceptableHeartbeatPauseMs: 3_000 }) });
 * sim.run(30_000); // warm-up: histories fill
 * const qos = sim.startMeasuring();
 * sim.crash('m7');
 * sim.run(120_000);
 * qos.report(sim.clock.now(), sim.ids).detectionTimesMs;
 * ```
 */
export class HeartbeatSimulation {
  readonly clock = new VirtualClock();
  readonly network: MemoryNetwork;
  readonly random: SeededRandom;
  readonly ids: readonly NodeId[];
  readonly heartbeatIntervalMs: number;
  readonly #processes = new Map<NodeId, SimProcess>();
  readonly #crashed = new Set<NodeId>();
  readonly #anomalous = new Set<NodeId>();
  readonly #scriptHost: ScriptHost;
  #qos: QosRecorder | undefined;

  constructor(options: HeartbeatSimulationOptions) {
    const seed = options.seed ?? 1;
    this.random = new SeededRandom(seed * 2654435761);
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 1000;
    const checkIntervalMs = options.checkIntervalMs ?? 100;
    this.network = new MemoryNetwork({
      clock: this.clock,
      random: new SeededRandom(seed),
      clusterId: 'hb-sim',
      faults: options.faults,
    });
    this.#scriptHost = {
      clock: this.clock,
      random: this.random,
      process: (id) => this.process(id),
      isCrashed: (id) => this.#crashed.has(id),
    };
    const phases = new SeededRandom(seed * 31 + 5);
    const ids = Array.from({ length: options.members }, (_, i) => `m${i}`);
    this.ids = ids;
    for (const id of ids) {
      const process = new SimProcess(id, this.clock);
      this.#processes.set(id, process);
      const transport = this.network.endpoint(id);
      const detector = options.detector();
      detector.onChange((change) => {
        if (change.available) this.#qos?.up(id, change.peer, change.atMs);
        else this.#qos?.down(id, change.peer, change.atMs);
      });
      transport.setHandler((envelope) =>
        process.deliver(() => {
          if (envelope.protocol === 'heartbeat') detector.heartbeat(envelope.from, process.now());
        }),
      );
      const beat = (): void => {
        if (this.#crashed.has(id)) return;
        for (const peer of ids) {
          if (peer !== id) transport.send(peer, { clusterId: 'hb-sim', from: id, to: peer, protocol: 'heartbeat', payload: null });
        }
        process.setTimeout(beat, this.heartbeatIntervalMs);
      };
      const check = (): void => {
        if (this.#crashed.has(id)) return;
        detector.check(process.now());
        process.setTimeout(check, checkIntervalMs);
      };
      // Random phases, as with processes started one by one; from their own
      // stream, so that the fault scripts draw the same sequence as in a
      // SwimSimulation with the same seed.
      process.setTimeout(beat, phases.int(this.heartbeatIntervalMs));
      process.setTimeout(check, phases.int(checkIntervalMs));
    }
  }

  process(id: NodeId): SimProcess {
    const process = this.#processes.get(id);
    if (process === undefined) throw new RangeError(`no member ${id}`);
    return process;
  }

  /** Moves virtual time forward by `ms`. */
  run(ms: number): void {
    this.clock.advance(ms);
  }

  /** Starts a measured window: availability changes feed a fresh recorder from now on. */
  startMeasuring(): QosRecorder {
    const qos = new QosRecorder(this.clock.now());
    for (const id of this.#crashed) qos.crashed(id, -1);
    for (const id of this.#anomalous) qos.anomalous(id);
    this.#qos = qos;
    this.network.resetStats();
    return qos;
  }

  /** The member's process dies; its heartbeats stop. */
  crash(id: NodeId): void {
    if (this.#crashed.has(id)) return;
    this.#crashed.add(id);
    this.network.crash(id);
    this.#qos?.crashed(id, this.clock.now());
  }

  /** Pauses the member's process for `durationMs` (see {@link SimProcess.stall}). */
  stall(id: NodeId, durationMs: number): void {
    this.#markAnomalous(id);
    this.process(id).stall(durationMs);
  }

  /** Runs a seeded stall script (see {@link runStallScript}). */
  stallRandomly(script: StallScript, untilMs = Number.POSITIVE_INFINITY): void {
    for (const id of script.members) this.#markAnomalous(id);
    runStallScript(this.#scriptHost, script, untilMs);
  }

  /** Runs a seeded script of slow episodes (see {@link runSlowScript}). */
  slowRandomly(script: SlowScript, untilMs = Number.POSITIVE_INFINITY): void {
    for (const id of script.members) this.#markAnomalous(id);
    runSlowScript(this.#scriptHost, script, untilMs);
  }

  #markAnomalous(id: NodeId): void {
    this.#anomalous.add(id);
    this.#qos?.anomalous(id);
  }
}
