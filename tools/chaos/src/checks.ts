import { operationsFromHistory, type History, type KvInput, type KvOutput, type Operation } from '@synod/testkit';
import type { ChaosCluster } from './chaos-cluster.js';

/** An acknowledged write that the final read of its key does not reflect. */
export interface LostWrite {
  readonly key: string;
  /** The acknowledged write: `put k=v`, `cas k v0->v`, `delete k`. */
  readonly write: string;
  /** What the final read returned. */
  readonly finalValue: string | null;
  readonly reason: string;
}

type KvOperation = Operation<KvInput, KvOutput>;

const describe = (op: KvOperation): string => {
  const input = op.input;
  switch (input.f) {
    case 'put':
      return `put ${input.key}=${input.value}`;
    case 'cas':
      return `cas ${input.key} ${input.expected ?? '(absent)'}->${input.value}`;
    case 'delete':
      return `delete ${input.key}`;
    default:
      return `${input.f} ${input.key}`;
  }
};

/** Whether `op` could have set its key (a cas that was seen to fail did not). */
function mayWrite(op: KvOperation): boolean {
  if (op.status === 'fail') return false;
  const f = op.input.f;
  if (f === 'put' || f === 'delete') return true;
  if (f === 'cas') return op.status !== 'ok' || (op.output?.f === 'cas' && op.output.swapped);
  return false;
}

/** What value `op` leaves its key with, if it writes. */
function valueWritten(op: KvOperation): string | null {
  const input = op.input;
  return input.f === 'put' || input.f === 'cas' ? input.value : null;
}

/**
 * Whether `a` took effect before `b` began, in the history's real-time
 * order. Only an acknowledged operation is known to have: one whose outcome
 * is unknown may take effect any time after its invoke, even after its
 * `info` completion (a client's session can still apply it).
 */
function precedes(a: KvOperation, b: KvOperation): boolean {
  return a.status === 'ok' && a.completeIndex !== undefined && a.completeIndex < b.invokeIndex;
}

/**
 * Acknowledged writes lost by the cluster, judged from the final reads.
 *
 * Values are unique, so the final value of a key names the write that
 * produced it (for "absent": any delete that may have run, or the initial
 * state). An acknowledged write W is lost when every write that could have
 * produced the final value finished before W began: the store then holds a
 * state older than W, which nothing may overwrite it with. A final value that
 * no write could have produced is reported too.
 *
 * This is a stricter, more readable sibling of the linearizability check: a
 * lost write also makes the history non-linearizable, but this names it.
 *
 * @example
 * ```ts
 * const lost = findLostWrites(recorder.history(), finalReads); // finalReads: Map key → value
 * ```
 */
export function findLostWrites(history: History<KvInput, KvOutput>, finalValues: ReadonlyMap<string, string | null>): LostWrite[] {
  const ops = operationsFromHistory(history);
  const lost: LostWrite[] = [];
  for (const [key, finalValue] of finalValues) {
    const writes = ops.filter((op) => op.input.key === key && mayWrite(op));
    const producers = writes.filter((op) => valueWritten(op) === finalValue);
    if (finalValue !== null && producers.length === 0) {
      lost.push({ key, write: '(none)', finalValue, reason: `no write of ${key} ever had the value ${finalValue}` });
      continue;
    }
    for (const write of writes) {
      if (write.status !== 'ok' || producers.includes(write)) continue;
      // The initial state (absent) precedes everything; a written value
      // precedes W only if every write that could have produced it did.
      const stale = finalValue === null && producers.length === 0 ? true : producers.every((producer) => precedes(producer, write));
      if (stale) {
        lost.push({
          key,
          write: describe(write),
          finalValue,
          reason:
            producers.length === 0
              ? `acknowledged, yet ${key} is absent as if never written`
              : `acknowledged after ${producers.map(describe).join(' / ')} finished, yet the final value is the older one`,
        });
      }
    }
  }
  return lost;
}

/** The outcome of comparing every node's state at one applied index. */
export interface StateHashCheck {
  readonly agreed: boolean;
  /** The index they were compared at (the last attempt's indexes when they never met). */
  readonly index: number | undefined;
  /** Node id → `index:hash-prefix`, for the report. */
  readonly byNode: ReadonlyMap<string, string>;
}

/**
 * Asks every node for the hash of its state until all report the same
 * applied index (the cluster is quiet, so they converge), then compares the
 * hashes. Gives up after `timeoutMs`. A node that answers without a hash
 * (a server that does not compute one) never agrees: an empty digest must
 * not pass for equal states.
 *
 * @example
 * ```ts
 * const check = await compareStateHashes(cluster, 20_000);
 * if (!check.agreed) console.log(check.byNode);
 * ```
 */
export async function compareStateHashes(cluster: ChaosCluster, timeoutMs: number): Promise<StateHashCheck> {
  const deadline = Date.now() + timeoutMs;
  let byNode = new Map<string, string>();
  for (;;) {
    const statuses = await Promise.all(cluster.ids.map(async (id) => [id, await cluster.status(id, { includeStateHash: true })] as const));
    byNode = new Map(statuses.map(([id, s]) => [id, s === undefined ? 'no answer' : s.stateHash ? `${s.stateIndex}:${s.stateHash.slice(0, 16)}` : 'no hash']));
    const answered = statuses.flatMap(([, s]) => (s === undefined || !s.stateHash ? [] : [s]));
    const indexes = new Set(answered.map((s) => s.stateIndex));
    if (answered.length === cluster.ids.length && indexes.size === 1) {
      const hashes = new Set(answered.map((s) => s.stateHash));
      return { agreed: hashes.size === 1, index: answered[0]!.stateIndex, byNode };
    }
    if (Date.now() >= deadline) return { agreed: false, index: undefined, byNode };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
