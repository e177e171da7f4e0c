/** One finished proposal or read: how long it took, and its error if it failed. */
export interface FinishedCall {
  readonly kind: 'proposal' | 'read';
  readonly seconds: number;
  /** `linearizable`, `lease` or `serializable` for reads. */
  readonly consistency?: string;
  readonly error?: unknown;
}

/**
 * Calls `observer` after every proposal and read of `node`, with its
 * duration and outcome, for `serve`'s metrics and logs.
 *
 * The server builds its node internally and its KV and Cluster handlers call
 * `node.propose` and `node.read` on that object, so wrapping the two methods
 * on the instance observes every client call (and the leader's own session
 * expiry proposals) without a hook in the library's request path. Returns a
 * function that puts the original methods back.
 *
 * @example
 * ```ts
 * const restore = observeNodeCalls(server.node, (call) => histogram.observe(call.seconds));
 * ```
 */
export function observeNodeCalls(node: object, observer: (call: FinishedCall) => void, now: () => number = () => performance.now()): () => void {
  const target = node as Record<'propose' | 'read', (...args: unknown[]) => Promise<unknown>>;
  const originals = { propose: target.propose, read: target.read };
  const timed =
    (kind: FinishedCall['kind'], original: (...args: unknown[]) => Promise<unknown>) =>
    async (...args: unknown[]): Promise<unknown> => {
      const started = now();
      const consistency = kind === 'read' ? consistencyOf(args[1]) : undefined;
      const finish = (error?: unknown): void => {
        observer({
          kind,
          seconds: (now() - started) / 1000,
          ...(consistency === undefined ? {} : { consistency }),
          ...(error === undefined ? {} : { error }),
        });
      };
      try {
        const result = await original.apply(node, args);
        finish();
        return result;
      } catch (error) {
        finish(error ?? new Error('rejected without a reason'));
        throw error;
      }
    };
  target.propose = timed('proposal', originals.propose);
  target.read = timed('read', originals.read);
  return () => {
    target.propose = originals.propose;
    target.read = originals.read;
  };
}

function consistencyOf(options: unknown): string {
  const consistency = (options as { consistency?: unknown } | undefined)?.consistency;
  return typeof consistency === 'string' ? consistency : 'linearizable';
}
