import type { NodeId } from '@synod/core';

/**
 * How the simulation treats a member when scoring a detector: `healthy`
 * members run normally; `anomalous` ones are correct but stalled or slow at
 * times (a detector may be forgiven for doubting them, and they are the ones
 * that spread doubt about others); `crashed` ones failed for good.
 */
export type MemberClass = 'healthy' | 'anomalous' | 'crashed';

/** Mistakes split by who made them and about whom, e.g. `healthy>healthy`. */
export type MistakeBreakdown = Readonly<Record<`${'healthy' | 'anomalous'}>${'healthy' | 'anomalous'}`, number>>;

/**
 * Quality-of-service figures of a failure detector over one run, after Chen,
 * Toueg and Aguilera ("On the Quality of Service of Failure Detectors", 2002):
 *
 * - detection time T_D: from a crash until an observer suspects the crashed
 *   member for good (for SWIM: declares it dead and never takes it back);
 * - mistake rate λ_M: how often an observer starts wrongly suspecting a
 *   correct member, per monitored pair and hour;
 * - query accuracy P_A: the fraction of time an observer trusts a correct
 *   member, averaged over all pairs of correct members.
 */
export interface QosReport {
  /** Length of the measured window. */
  readonly windowMs: number;
  /** Ordered (observer, subject) pairs of correct members that were monitored. */
  readonly pairs: number;
  /** Wrong transitions to "down" (SWIM: dead) about correct members, by correct observers. */
  readonly mistakes: number;
  /** {@link QosReport.mistakes} split by observer and subject class. */
  readonly mistakesByClass: MistakeBreakdown;
  /** λ_M: mistakes per monitored pair per hour. */
  readonly mistakesPerPairHour: number;
  /** Mistakes per correct member per hour: how often a member is wrongly declared down by somebody. */
  readonly mistakesPerMemberHour: number;
  /** Distinct members that were wrongly declared down at least once. */
  readonly membersWronglyDown: number;
  /** P_A over every pair of correct members. */
  readonly queryAccuracy: number;
  /** P_A over pairs of healthy members only (an observer that is itself stalled does not count). */
  readonly queryAccuracyHealthy: number;
  /** Soft suspicions (SWIM `suspect`) of correct members by correct observers; 0 for detectors without one. */
  readonly suspicions: number;
  /** {@link QosReport.suspicions} split by observer and subject class. */
  readonly suspicionsByClass: MistakeBreakdown;
  /** T_D samples, one per (observer, crashed member) pair that detected the crash for good, in ms. */
  readonly detectionTimesMs: readonly number[];
  /** Per crashed member, the time until the first observer suspected it for good. */
  readonly firstDetectionMs: readonly number[];
  /** (observer, crashed member) pairs that never suspected the crash for good within the run. */
  readonly undetected: number;
}

interface PairState {
  downSinceMs: number;
}

function emptyBreakdown(): Record<keyof MistakeBreakdown, number> {
  return { 'healthy>healthy': 0, 'healthy>anomalous': 0, 'anomalous>healthy': 0, 'anomalous>anomalous': 0 };
}

/**
 * Collects what observers conclude about subjects, together with the ground
 * truth (who crashed when, who was anomalous), and turns it into a
 * {@link QosReport}. Detectors of every kind report through it: SWIM members
 * call {@link QosRecorder.down} on `dead` and {@link QosRecorder.up} on
 * `alive`, heartbeat detectors on `unavailable` and `available`.
 *
 * Only transitions are stored; a pair that was never doubted costs nothing,
 * which keeps 1,000-member runs cheap.
 *
 * @example
 * ```ts
 * const qos = new QosRecorder(clock.now());
 * qos.crashed('m3', clock.now());
 * // from the detectors' events:
 * qos.down('m1', 'm3', atMs);
 * // at the end:
 * const report = qos.report(clock.now(), ['m0', 'm1', 'm2', 'm3']);
 * report.detectionTimesMs; // [ … ]
 * ```
 */
export class QosRecorder {
  readonly startMs: number;
  readonly #crashedAt = new Map<NodeId, number>();
  readonly #anomalous = new Set<NodeId>();
  /** Pairs currently judged down, keyed `observer subject`. */
  readonly #down = new Map<string, PairState>();
  /** Accumulated down time of pairs of correct members, split healthy-pairs / all. */
  #downMsAll = 0;
  #downMsHealthy = 0;
  readonly #mistakes = emptyBreakdown();
  readonly #suspicions = emptyBreakdown();
  readonly #wronglyDown = new Set<NodeId>();
  /** Last transition to down of (observer, crashed subject), for T_D. */
  readonly #crashDown = new Map<string, number>();

  constructor(startMs: number) {
    this.startMs = startMs;
  }

  /** Ground truth: `id` crashed at `atMs` and stays down. */
  crashed(id: NodeId, atMs: number): void {
    if (this.#crashedAt.has(id)) return;
    this.#crashedAt.set(id, atMs);
    // An observer that already had it down detected the crash at once.
    for (const key of this.#down.keys()) if (key.endsWith(` ${id}`)) this.#crashDown.set(key, atMs);
  }

  /** Ground truth: `id` is correct but stalls or runs slow during the run. */
  anomalous(id: NodeId): void {
    this.#anomalous.add(id);
  }

  classOf(id: NodeId): MemberClass {
    if (this.#crashedAt.has(id)) return 'crashed';
    return this.#anomalous.has(id) ? 'anomalous' : 'healthy';
  }

  /** `observer` now considers `subject` failed (SWIM `dead`, a detector's `unavailable`). */
  down(observer: NodeId, subject: NodeId, atMs: number): void {
    if (observer === subject) return;
    const key = `${observer} ${subject}`;
    if (this.#down.has(key)) return;
    this.#down.set(key, { downSinceMs: Math.max(atMs, this.startMs) });
    const crashedAt = this.#crashedAt.get(subject);
    if (crashedAt !== undefined && atMs >= crashedAt) {
      this.#crashDown.set(key, atMs);
      return;
    }
    if (atMs < this.startMs || this.#crashedAt.has(observer)) return;
    const pair = this.#pairClass(observer, subject);
    if (pair === undefined) return;
    this.#mistakes[pair]++;
    this.#wronglyDown.add(subject);
  }

  /** `observer` trusts `subject` again (SWIM `alive` after suspect or dead, `available`). */
  up(observer: NodeId, subject: NodeId, atMs: number): void {
    const key = `${observer} ${subject}`;
    const state = this.#down.get(key);
    if (state === undefined) return;
    this.#down.delete(key);
    this.#crashDown.delete(key);
    this.#accumulate(observer, subject, state.downSinceMs, atMs);
  }

  /** `observer` started suspecting `subject` without declaring it failed yet (SWIM `suspect`). */
  suspected(observer: NodeId, subject: NodeId, atMs: number): void {
    if (observer === subject || atMs < this.startMs || this.#crashedAt.has(observer)) return;
    const crashedAt = this.#crashedAt.get(subject);
    if (crashedAt !== undefined && atMs >= crashedAt) return;
    const pair = this.#pairClass(observer, subject);
    if (pair !== undefined) this.#suspicions[pair]++;
  }

  /**
   * The figures for the window from the start to `endMs`. `members` are all
   * members that took part (crashed ones included); every correct member
   * observes every other one.
   */
  report(endMs: number, members: readonly NodeId[]): QosReport {
    const windowMs = Math.max(0, endMs - this.startMs);
    let downAll = this.#downMsAll;
    let downHealthy = this.#downMsHealthy;
    for (const [key, state] of this.#down) {
      const [observer, subject] = key.split(' ') as [NodeId, NodeId];
      const part = this.#partOf(observer, subject, state.downSinceMs, endMs);
      downAll += part.all;
      downHealthy += part.healthy;
    }
    const correct = members.filter((m) => !this.#crashedAt.has(m));
    const healthy = correct.filter((m) => !this.#anomalous.has(m));
    const pairs = correct.length * (correct.length - 1);
    const healthyPairs = healthy.length * (healthy.length - 1);
    const mistakes = Object.values(this.#mistakes).reduce((a, b) => a + b, 0);
    const suspicions = Object.values(this.#suspicions).reduce((a, b) => a + b, 0);
    const hours = windowMs / 3_600_000;

    const detectionTimesMs: number[] = [];
    const firstByCrashed = new Map<NodeId, number>();
    let undetected = 0;
    for (const [subject, crashedAt] of this.#crashedAt) {
      if (crashedAt < this.startMs) continue;
      for (const observer of correct) {
        const at = this.#crashDown.get(`${observer} ${subject}`);
        if (at === undefined || !this.#down.has(`${observer} ${subject}`)) {
          undetected++;
          continue;
        }
        const td = at - crashedAt;
        detectionTimesMs.push(td);
        firstByCrashed.set(subject, Math.min(firstByCrashed.get(subject) ?? Infinity, td));
      }
    }
    detectionTimesMs.sort((a, b) => a - b);
    return {
      windowMs,
      pairs,
      mistakes,
      mistakesByClass: { ...this.#mistakes },
      mistakesPerPairHour: pairs > 0 && hours > 0 ? mistakes / pairs / hours : 0,
      mistakesPerMemberHour: correct.length > 0 && hours > 0 ? mistakes / correct.length / hours : 0,
      membersWronglyDown: this.#wronglyDown.size,
      queryAccuracy: pairs > 0 && windowMs > 0 ? 1 - downAll / (pairs * windowMs) : 1,
      queryAccuracyHealthy: healthyPairs > 0 && windowMs > 0 ? 1 - downHealthy / (healthyPairs * windowMs) : 1,
      suspicions,
      suspicionsByClass: { ...this.#suspicions },
      detectionTimesMs,
      firstDetectionMs: [...firstByCrashed.values()].sort((a, b) => a - b),
      undetected,
    };
  }

  #pairClass(observer: NodeId, subject: NodeId): keyof MistakeBreakdown | undefined {
    const o = this.classOf(observer);
    const s = this.classOf(subject);
    if (o === 'crashed' || s === 'crashed') return undefined;
    return `${o}>${s}`;
  }

  #accumulate(observer: NodeId, subject: NodeId, fromMs: number, toMs: number): void {
    const part = this.#partOf(observer, subject, fromMs, toMs);
    this.#downMsAll += part.all;
    this.#downMsHealthy += part.healthy;
  }

  /** Down time of a pair between two instants that counts against P_A (pairs of correct members only). */
  #partOf(observer: NodeId, subject: NodeId, fromMs: number, toMs: number): { all: number; healthy: number } {
    if (this.#crashedAt.has(observer) || this.#crashedAt.has(subject)) return { all: 0, healthy: 0 };
    const ms = Math.max(0, toMs - Math.max(fromMs, this.startMs));
    const healthy = !this.#anomalous.has(observer) && !this.#anomalous.has(subject);
    return { all: ms, healthy: healthy ? ms : 0 };
  }
}
