import type { NodeId } from '@synod/core';

/**
 * Which directed links are up. Three independent layers, all of which must
 * allow a link: the current partition, one-way cuts, and isolated nodes.
 * Keeping them apart lets a script isolate a node during a partition and
 * still heal everything with one call.
 */
export class Connectivity {
  // Group index per node named in the current partition; undefined when there
  // is no partition. Nodes not named share an implicit extra group.
  #groupOf: Map<NodeId, number> | undefined;
  // `${from}\u0000${to}`: node ids are arbitrary strings, NUL keeps keys unambiguous.
  #cuts = new Set<string>();
  #isolated = new Set<NodeId>();

  partition(groups: readonly (readonly NodeId[])[]): void {
    const groupOf = new Map<NodeId, number>();
    groups.forEach((group, index) => {
      for (const id of group) groupOf.set(id, index);
    });
    this.#groupOf = groupOf;
  }

  cut(from: NodeId, to: NodeId): void {
    this.#cuts.add(linkKey(from, to));
  }

  restore(from: NodeId, to: NodeId): void {
    this.#cuts.delete(linkKey(from, to));
  }

  isolate(id: NodeId): void {
    this.#isolated.add(id);
  }

  heal(): void {
    this.#groupOf = undefined;
    this.#cuts.clear();
    this.#isolated.clear();
  }

  allows(from: NodeId, to: NodeId): boolean {
    // A node always reaches itself: loopback does not cross the network.
    if (from === to) return true;
    if (this.#isolated.has(from) || this.#isolated.has(to)) return false;
    if (this.#cuts.has(linkKey(from, to))) return false;
    if (this.#groupOf !== undefined) {
      const a = this.#groupOf.get(from) ?? -1;
      const b = this.#groupOf.get(to) ?? -1;
      if (a !== b) return false;
    }
    return true;
  }
}

export function linkKey(from: NodeId, to: NodeId): string {
  return `${from}\u0000${to}`;
}
