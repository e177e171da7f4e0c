/**
 * Builds KV histories by really executing operations against a sequential
 * store: each operation takes effect at one instant between its invoke and
 * its completion. Such histories are linearizable by construction, which is
 * what the property and performance tests rely on.
 */
import type { HistoryEvent, KvInput, KvOutput } from '../../src/history/index.js';

/** One planned operation of one client. */
export interface PlannedOp {
  readonly client: number;
  readonly input: KvInput;
  /** Idle time before the invoke. */
  readonly gap: number;
  /** Time from invoke to completion, > 0. */
  readonly duration: number;
  /** Where in (invoke, completion) it takes effect, in [0, 1). */
  readonly at: number;
  /**
   * `ok`: applied and reported. `info`: applied (if `infoApplies`) but the
   * client never learned the result. `fail`: never applied.
   */
  readonly outcome: 'ok' | 'info' | 'fail' | 'open';
  /** For `info`/`open`: whether it actually took effect. */
  readonly infoApplies?: boolean;
}

function apply(store: Map<string, string>, input: KvInput): KvOutput {
  const current = store.get(input.key) ?? null;
  switch (input.f) {
    case 'get':
      return { f: 'get', value: current };
    case 'put':
      store.set(input.key, input.value);
      return { f: 'put' };
    case 'append':
      store.set(input.key, (current ?? '') + input.value);
      return { f: 'append' };
    case 'delete':
      store.delete(input.key);
      return { f: 'delete', existed: current !== null };
    case 'cas':
      if (current !== input.expected) return { f: 'cas', swapped: false };
      store.set(input.key, input.value);
      return { f: 'cas', swapped: true };
  }
}

/**
 * Runs the plan: each client does its operations one after another (a client
 * whose operation ended `info`/`open` keeps going, as a retrying client
 * would). Returns the history in real-time order.
 */
export function executePlan(plan: readonly PlannedOp[]): HistoryEvent<KvInput, KvOutput>[] {
  interface Timed {
    readonly time: number;
    /** 0 invoke, 1 effect, 2 completion: at equal times, in this order. */
    readonly phase: number;
    readonly id: number;
  }
  const timeline: Timed[] = [];
  const clientTime = new Map<number, number>();
  plan.forEach((op, id) => {
    const start = (clientTime.get(op.client) ?? 0) + op.gap;
    const end = start + op.duration;
    clientTime.set(op.client, end);
    timeline.push({ time: start, phase: 0, id }, { time: start + op.at * op.duration, phase: 1, id }, { time: end, phase: 2, id });
  });
  timeline.sort((a, b) => a.time - b.time || a.phase - b.phase || a.id - b.id);

  const store = new Map<string, string>();
  const outputs = new Map<number, KvOutput>();
  const events: HistoryEvent<KvInput, KvOutput>[] = [];
  for (const t of timeline) {
    const op = plan[t.id] as PlannedOp;
    if (t.phase === 0) {
      events.push({ type: 'invoke', id: t.id, client: op.client, time: t.time, input: op.input });
    } else if (t.phase === 1) {
      const applies = op.outcome === 'ok' || ((op.outcome === 'info' || op.outcome === 'open') && op.infoApplies === true);
      if (applies) outputs.set(t.id, apply(store, op.input));
    } else if (op.outcome === 'ok') {
      events.push({ type: 'ok', id: t.id, client: op.client, time: t.time, output: outputs.get(t.id) as KvOutput });
    } else if (op.outcome === 'info' || op.outcome === 'fail') {
      events.push({ type: op.outcome, id: t.id, client: op.client, time: t.time });
    }
  }
  return events;
}

/** A small seeded PRNG (mulberry32), so generated workloads are reproducible. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random concurrent workload of `ops` operations over `clients` clients and `keys` keys. */
export function randomPlan(options: {
  readonly seed: number;
  readonly ops: number;
  readonly clients: number;
  readonly keys: number;
  readonly infoRate?: number;
}): PlannedOp[] {
  const rand = seeded(options.seed);
  const pick = (n: number): number => Math.floor(rand() * n);
  const plan: PlannedOp[] = [];
  for (let i = 0; i < options.ops; i++) {
    const key = `k${pick(options.keys)}`;
    const value = `v${i}`;
    const roll = rand();
    const input: KvInput =
      roll < 0.45
        ? { f: 'get', key }
        : roll < 0.75
          ? { f: 'put', key, value }
          : roll < 0.85
            ? { f: 'delete', key }
            : { f: 'cas', key, expected: rand() < 0.3 ? null : `v${Math.max(0, i - 1 - pick(20))}`, value };
    const infoRoll = rand();
    plan.push({
      client: pick(options.clients),
      input,
      gap: rand() * 5,
      duration: 1 + rand() * 20,
      at: rand(),
      outcome: infoRoll < (options.infoRate ?? 0) ? 'info' : 'ok',
      infoApplies: rand() < 0.5,
    });
  }
  return plan;
}
