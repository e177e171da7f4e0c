import { AbortError, encodeKvCommandBatch, type KvResult } from '@synod/core';
import type { CallWait, KvRaftNode } from './kv-handlers.js';

/** Options of {@link WriteBatcher}. */
export interface WriteBatcherOptions {
  /** The most writes one proposal carries. @default 1024 */
  readonly maxCommands?: number;
  /** Queues a flush at the end of the current turn of the event loop. @default setImmediate */
  readonly schedule?: (flush: () => void) => void;
}

interface QueuedWrite {
  readonly command: Uint8Array;
  readonly wait: CallWait;
  readonly resolve: (result: KvResult) => void;
  readonly reject: (error: Error) => void;
  settled: boolean;
  onAbort: (() => void) | undefined;
}

/** Bytes a batch adds around its parts: header and count, and each part's length prefix. */
const BATCH_HEADER_BYTES = 3 + 8;
const PART_OVERHEAD_BYTES = 8;

/**
 * Folds the writes that reach a server in one turn of the event loop into
 * one proposal (a KV `batch` command): a burst of concurrent clients costs
 * one log entry, one frame per follower and one apply, instead of one each.
 * Each write still gets its own result, session and deadline: a write whose
 * caller gives up (its signal aborts) is answered at once with AbortError
 * while the batch goes on, exactly as a write proposed alone would be (its
 * outcome is unknown to the caller, and its session makes a retry safe).
 *
 * A lone write is proposed as it is, so one client pays nothing for the
 * batching but the wait for the end of the turn.
 *
 * @example
 * ```ts
 * const writes = new WriteBatcher(node);
 * const result = await writes.submit(encodeKvCommand({ type: 'put', key: 'a', value: '1' }), { timeoutMs: 5_000 });
 * ```
 */
export class WriteBatcher {
  readonly #node: KvRaftNode;
  readonly #maxCommands: number;
  readonly #schedule: (flush: () => void) => void;
  #queue: QueuedWrite[] = [];
  #bytes = BATCH_HEADER_BYTES;
  #scheduled = false;

  constructor(node: KvRaftNode, options: WriteBatcherOptions = {}) {
    this.#node = node;
    this.#maxCommands = options.maxCommands ?? 1024;
    this.#schedule = options.schedule ?? ((flush) => void setImmediate(flush));
  }

  /** Proposes an encoded put, delete or compare-and-swap with the other writes of this turn; resolves with its own result. */
  submit(command: Uint8Array, wait: CallWait): Promise<KvResult> {
    const signal = wait.signal;
    if (signal?.aborted) return Promise.reject(new AbortError('operation aborted', { cause: signal.reason }));
    const size = command.byteLength + PART_OVERHEAD_BYTES;
    if (this.#queue.length > 0 && (this.#queue.length >= this.#maxCommands || this.#bytes + size > this.#node.maxProposalBytes)) {
      this.#flush();
    }
    return new Promise<KvResult>((resolve, reject) => {
      const write: QueuedWrite = { command, wait, resolve, reject, settled: false, onAbort: undefined };
      if (signal !== undefined) {
        write.onAbort = () => this.#settle(write, new AbortError('operation aborted', { cause: signal.reason }));
        signal.addEventListener('abort', write.onAbort, { once: true });
      }
      this.#queue.push(write);
      this.#bytes += size;
      if (!this.#scheduled) {
        this.#scheduled = true;
        this.#schedule(() => {
          this.#scheduled = false;
          this.#flush();
        });
      }
    });
  }

  #flush(): void {
    const writes = this.#queue.filter((write) => !write.settled);
    this.#queue = [];
    this.#bytes = BATCH_HEADER_BYTES;
    if (writes.length === 0) return;
    if (writes.length === 1) {
      const [write] = writes as [QueuedWrite];
      this.#node.propose(write.command, { timeoutMs: write.wait.timeoutMs }).then(
        (result) => this.#settle(write, result),
        (error: unknown) => this.#settle(write, asError(error)),
      );
      return;
    }
    // The batch waits as long as its most patient write; the others end
    // earlier through their own signals (a gRPC deadline cancels the call).
    const timeoutMs = Math.max(...writes.map((write) => write.wait.timeoutMs));
    let batch: Uint8Array;
    try {
      batch = encodeKvCommandBatch(writes.map((write) => write.command));
    } catch (error) {
      for (const write of writes) this.#settle(write, asError(error));
      return;
    }
    this.#node.propose(batch, { timeoutMs }).then(
      (result) => {
        if (result.type !== 'batch' || result.results.length !== writes.length) {
          // The whole entry was refused (as malformed, say): so was each write.
          for (const write of writes) this.#settle(write, result);
          return;
        }
        for (const [i, write] of writes.entries()) this.#settle(write, result.results[i]!);
      },
      (error: unknown) => {
        const failure = asError(error);
        for (const write of writes) this.#settle(write, failure);
      },
    );
  }

  #settle(write: QueuedWrite, outcome: KvResult | Error): void {
    if (write.settled) return;
    write.settled = true;
    if (write.onAbort !== undefined) write.wait.signal?.removeEventListener('abort', write.onAbort);
    if (outcome instanceof Error) write.reject(outcome);
    else write.resolve(outcome);
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
