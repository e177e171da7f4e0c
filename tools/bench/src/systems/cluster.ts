import type { MemberProcess } from './process.js';

/** One connection of the load generator; all its calls go to the member it was opened on (the leader). */
export interface KvConnection {
  put(key: string, value: Buffer): Promise<void>;
  /** A linearizable read. */
  get(key: string): Promise<void>;
  close(): void;
}

/**
 * Three members of one system on loopback, each a process with a data
 * directory of its own, as the kv and failover suites drive them. The
 * same interface for Synod and etcd keeps the load generator and the
 * failover loop identical for both.
 */
export interface BenchCluster {
  /** `synod` or `etcd`, as it appears in result rows. */
  readonly system: string;
  /** The server's version, for the results. */
  readonly version: string;
  readonly members: readonly MemberProcess[];
  /** The client endpoint (`host:port`) of a member. */
  endpointOf(id: string): string;
  /** The id of the member that says it leads, asking the live members; undefined while there is none. */
  leader(): Promise<string | undefined>;
  /** A load connection on member `id` (the leader). */
  connect(id: string): KvConnection;
  /**
   * One put on member `id` with an absolute deadline (ms since the epoch),
   * no retries: the failover loop retries itself, the same way for both
   * systems.
   */
  putOnce(id: string, key: string, value: Buffer, deadline: number): Promise<void>;
  /** Stops every member (SIGTERM, then SIGKILL) and releases client channels. */
  stop(): Promise<void>;
}

/** Polls `leaderOf` until a leader is known, every 50 ms, for at most `timeoutMs`. */
export async function waitForLeader(cluster: BenchCluster, timeoutMs = 30_000): Promise<string> {
  const limit = Date.now() + timeoutMs;
  for (;;) {
    const leader = await cluster.leader();
    if (leader !== undefined) return leader;
    if (Date.now() > limit) throw new Error(`${cluster.system}: no leader within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
