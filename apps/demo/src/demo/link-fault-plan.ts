import { InvalidArgumentError, type NodeId } from '@synod/core';
import type { LinkFault } from '@synod/protocol';

/**
 * The network faults the demo of real processes wants, and what each node
 * must inject for them (its `Cluster/SetLinkFaults`). Pure bookkeeping: the
 * caller checks node ids and pushes {@link faultsOf} to the nodes.
 *
 * A cut is set on both ends of a link: either end alone cuts both
 * directions (it drops what it sends and what it receives), and with both
 * the link stays cut while one end restarts without faults. A delay is set
 * on the lower id only, since one end delays both directions already.
 *
 * @example
 * ```ts
 * const plan = new LinkFaultPlan();
 * plan.isolate('n1');
 * plan.faultsOf('n2', ['n1', 'n2', 'n3']); // [{ peerId: 'n1', drop: true, delayMs: 0 }]
 * ```
 */
export class LinkFaultPlan {
  readonly #isolated = new Set<NodeId>();
  /** Partition groups as asked for; nodes in none of them form one more group. */
  #groups: readonly (readonly NodeId[])[] | undefined;
  /** Cut links, by {@link linkKey}. */
  readonly #cutLinks = new Set<string>();
  /** Delays in ms, by {@link linkKey}. */
  readonly #delays = new Map<string, number>();

  /** Cuts every link of `id`. */
  isolate(id: NodeId): void {
    this.#isolated.add(id);
  }

  /** Whether `id` was isolated (and not healed since). */
  isIsolated(id: NodeId): boolean {
    return this.#isolated.has(id);
  }

  /**
   * Splits the nodes into `groups` (nodes in none form one more group),
   * replacing an earlier partition; returns the non-empty groups.
   * @throws InvalidArgumentError for a node in two groups or no non-empty group
   */
  partition(groups: readonly (readonly NodeId[])[]): NodeId[][] {
    const seen = new Set<NodeId>();
    for (const group of groups) {
      for (const id of group) {
        if (seen.has(id)) throw new InvalidArgumentError(`node '${id}' is in two groups`);
        seen.add(id);
      }
    }
    const named = groups.filter((g) => g.length > 0).map((g) => [...g]);
    if (named.length === 0) throw new InvalidArgumentError('a partition needs at least one non-empty group');
    this.#groups = named;
    return named;
  }

  /** Cuts the link between `a` and `b`. @throws InvalidArgumentError when a = b */
  drop(a: NodeId, b: NodeId): void {
    this.#cutLinks.add(linkKey(a, b));
  }

  /** Delays the link between `a` and `b` by `ms` both ways; 0 removes the delay. @throws InvalidArgumentError for a = b or a delay not an integer from 0 to 10000 */
  delay(a: NodeId, b: NodeId, ms: number): void {
    const key = linkKey(a, b);
    if (!Number.isInteger(ms) || ms < 0 || ms > 10_000) throw new InvalidArgumentError(`delay must be an integer from 0 to 10000 ms, got ${ms}`);
    if (ms === 0) this.#delays.delete(key);
    else this.#delays.set(key, ms);
  }

  /** Removes every isolation, partition, cut and delay. */
  heal(): void {
    this.#isolated.clear();
    this.#groups = undefined;
    this.#cutLinks.clear();
    this.#delays.clear();
  }

  /** Whether the link between `a` and `b` is cut (both directions alike). */
  isCut(a: NodeId, b: NodeId): boolean {
    if (a === b) return false;
    if (this.#isolated.has(a) || this.#isolated.has(b)) return true;
    if (this.#cutLinks.has(linkKey(a, b))) return true;
    return this.#groups !== undefined && this.#groupOf(a) !== this.#groupOf(b);
  }

  /** The delay of the link between `a` and `b`, in ms (0 for none). */
  delayOf(a: NodeId, b: NodeId): number {
    if (a === b) return 0;
    return this.#delays.get(linkKey(a, b)) ?? 0;
  }

  /** What node `id` must inject, among `members` (itself included or not). */
  faultsOf(id: NodeId, members: readonly NodeId[]): LinkFault[] {
    const faults: LinkFault[] = [];
    for (const peer of members) {
      if (peer === id) continue;
      if (this.isCut(id, peer)) faults.push({ peerId: peer, drop: true, delayMs: 0 });
      else if (id < peer && this.delayOf(id, peer) > 0) faults.push({ peerId: peer, drop: false, delayMs: this.delayOf(id, peer) });
    }
    return faults;
  }

  #groupOf(id: NodeId): number {
    return this.#groups?.findIndex((group) => group.includes(id)) ?? -1;
  }
}

/** `a|b` with a < b. @throws InvalidArgumentError when a = b */
function linkKey(a: NodeId, b: NodeId): string {
  if (a === b) throw new InvalidArgumentError(`a link joins two different nodes, got ${a} twice`);
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}
