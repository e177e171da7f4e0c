import type { Entry, NodeId, Storage } from '@synod/core';

/** One broken safety or liveness property, with enough context to debug it. */
export interface Violation {
  readonly invariant:
    | 'election-safety'
    | 'log-matching'
    | 'leader-completeness'
    | 'state-machine-safety'
    | 'commit-monotonic'
    | 'liveness'
    | 'linearizability'
    /** FileStorage failed to open a disk a simulated crash left (file mode). */
    | 'storage-recovery'
    /** A node's commit index is beyond the log its storage holds: committed entries were lost. */
    | 'log-durability'
    /** A serializable read showed a value that no node had committed. */
    | 'serializable-read'
    /** A leader advanced its commit index to an entry of an older term (Raft §5.4.2, Figure 8). */
    | 'leader-commit-rule';
  readonly message: string;
  /** Virtual time at which it was detected. */
  readonly atMs: number;
}

/** A cheap, stable fingerprint of entry bytes (FNV-1a). Collisions only weaken a check, never fake a violation. */
export function fingerprint(data: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < data.length; i++) {
    hash ^= data[i]!;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return (hash ^ data.length) >>> 0;
}

function termAt(storage: Storage, index: number): number | undefined {
  if (index === 0) return 0;
  try {
    return storage.term(index);
  } catch {
    return undefined;
  }
}

/**
 * Checks the Raft safety properties (Raft paper, Figure 3) incrementally, so
 * that they can run after every simulator step:
 *
 * - Election Safety: at most one leader per term.
 * - Log Matching: if two logs hold an entry with the same index and term, the
 *   entries are identical and so are the logs up to it. Checked by induction:
 *   every (index, term) ever written must always carry the same bytes and the
 *   same previous term.
 * - Leader Completeness: a leader's log holds every entry committed before.
 * - State Machine Safety: no two nodes apply different entries at an index.
 * - Commit monotonic: a node's commit index never decreases while it runs,
 *   and what is committed never changes.
 * - Leader commit rule (§5.4.2, Figure 8): while a node leads a term, every
 *   index it advances its commit index to holds an entry of that term.
 *   Entries of older terms become committed only below such an entry.
 *   Breaking the rule is unsafe only when a later election goes a
 *   particular way (Figure 8), which random faults rarely produce, so the
 *   rule is checked where it applies.
 */
export class RaftInvariants {
  readonly violations: Violation[] = [];
  readonly #now: () => number;
  readonly #leaderOfTerm = new Map<number, NodeId>();
  readonly #written = new Map<string, { readonly prevTerm: number | undefined; readonly print: number }>();
  /**
   * index → term and fingerprint of the committed entry, and the lowest term
   * in which any node reported it committed (an upper bound of the term in
   * which it really became committed).
   */
  readonly #committed: { term: number; print: number; committedBy: number }[] = [];
  readonly #applied: number[] = [];
  readonly #lastCommit = new Map<NodeId, number>();
  readonly #lastApplied = new Map<NodeId, number>();
  #highestCommit = 0;
  /** For each node while it leads: the term it leads and its commit index when last observed. */
  readonly #leaderCommit = new Map<NodeId, { readonly term: number; readonly commit: number }>();

  constructor(now: () => number) {
    this.#now = now;
  }

  get committedIndex(): number {
    return this.#committed.length;
  }

  /** The highest commit index any node has reported so far. */
  get highestCommit(): number {
    return this.#highestCommit;
  }

  #fail(invariant: Violation['invariant'], message: string): void {
    // Keep the first few; one broken invariant tends to cascade.
    if (this.violations.length < 20) this.violations.push({ invariant, message, atMs: this.#now() });
  }

  /** Log Matching, for entries just written to `node`'s log. */
  onAppend(node: NodeId, entries: readonly Entry[], storage: Storage): void {
    let prevTerm = termAt(storage, entries[0]!.index - 1);
    for (const entry of entries) {
      const key = `${entry.index}:${entry.term}`;
      const print = fingerprint(entry.data);
      const seen = this.#written.get(key);
      if (seen === undefined) {
        this.#written.set(key, { prevTerm, print });
      } else if (seen.print !== print) {
        this.#fail('log-matching', `${node} wrote different data at index ${entry.index} term ${entry.term}`);
      } else if (seen.prevTerm !== undefined && prevTerm !== undefined && seen.prevTerm !== prevTerm) {
        this.#fail(
          'log-matching',
          `${node} has entry ${entry.index}@${entry.term} after term ${prevTerm}, another log after term ${seen.prevTerm}`,
        );
      }
      prevTerm = entry.term;
    }
  }

  /** Called when a node restarts: its volatile commit and applied indexes start over. */
  onRestart(node: NodeId): void {
    this.#leaderCommit.delete(node);
    this.#lastCommit.delete(node);
    this.#lastApplied.delete(node);
  }

  /** Election Safety, Leader Completeness and commit bookkeeping, from a node's current status. */
  observe(node: NodeId, role: string, term: number, commit: number, storage: Storage): void {
    if (role === 'leader') {
      const leader = this.#leaderOfTerm.get(term);
      if (leader === undefined) {
        this.#leaderOfTerm.set(term, node);
        this.#checkLeaderCompleteness(node, term, storage);
      } else if (leader !== node) {
        this.#fail('election-safety', `two leaders in term ${term}: ${leader} and ${node}`);
      }
    }
    this.#checkLeaderCommitRule(node, role, term, commit, storage);
    const last = this.#lastCommit.get(node) ?? 0;
    if (commit < last) this.#fail('commit-monotonic', `${node} commit went from ${last} to ${commit}`);
    if (commit > last) {
      this.#lastCommit.set(node, commit);
      if (commit > this.#highestCommit) this.#highestCommit = commit;
      this.#recordCommitted(node, term, Math.max(last + 1, 1), commit, storage);
    }
  }

  #checkLeaderCommitRule(node: NodeId, role: string, term: number, commit: number, storage: Storage): void {
    if (role !== 'leader') {
      this.#leaderCommit.delete(node);
      return;
    }
    const before = this.#leaderCommit.get(node);
    this.#leaderCommit.set(node, { term, commit });
    // The first observation in a term is the baseline: what it had committed as a follower.
    if (before === undefined || before.term !== term || commit <= before.commit) return;
    const committedTerm = termAt(storage, commit);
    if (committedTerm !== undefined && committedTerm !== term) {
      this.#fail(
        'leader-commit-rule',
        `leader ${node} of term ${term} advanced its commit index from ${before.commit} to ${commit}, an entry of term ${committedTerm}`,
      );
    }
  }

  #recordCommitted(node: NodeId, term: number, from: number, to: number, storage: Storage): void {
    const stored = storage.lastIndex();
    if (to > stored) {
      // Committed entries the node's own storage lacks were lost (after a
      // crash, say): a durability bug, reported rather than thrown.
      this.#fail('log-durability', `${node} has commit index ${to} but its stored log ends at ${stored}`);
      to = stored;
    }
    const first = Math.max(from, storage.firstIndex());
    if (first > to) return;
    const entries = storage.entries(first, to + 1);
    for (const entry of entries) {
      const print = fingerprint(entry.data);
      const known = this.#committed[entry.index - 1];
      if (known === undefined) {
        // A gap (an earlier index not yet seen committed) fills in when a node reports it.
        this.#committed[entry.index - 1] = { term: entry.term, print, committedBy: term };
      } else if (known.term !== entry.term || known.print !== print) {
        this.#fail(
          'state-machine-safety',
          `${node} committed ${entry.index}@${entry.term} but ${entry.index}@${known.term} was committed before`,
        );
      } else if (term < known.committedBy) {
        this.#committed[entry.index - 1] = { ...known, committedBy: term };
      }
    }
  }

  /**
   * Leader Completeness concerns leaders of higher terms only: a leader of
   * term L must hold every entry committed in a term below L. (A candidate
   * can win a lower term late, from delayed votes, after a higher term has
   * committed more; it steps down as soon as it hears of that term.)
   */
  #checkLeaderCompleteness(node: NodeId, term: number, storage: Storage): void {
    const first = storage.firstIndex();
    for (let index = first; index <= this.#committed.length; index++) {
      const known = this.#committed[index - 1];
      if (known === undefined || known.committedBy >= term) continue;
      const have = termAt(storage, index);
      if (have !== known.term) {
        this.#fail(
          'leader-completeness',
          `leader ${node} of term ${term} lacks committed entry ${index}@${known.term} (has ${have ?? 'nothing'})`,
        );
        return;
      }
    }
  }

  /**
   * State Machine Safety: every node applies the same command at each index,
   * in increasing index order. (Leader no-ops never reach the state machine,
   * so indexes may skip.)
   */
  onApply(node: NodeId, index: number, command: Uint8Array): void {
    const print = fingerprint(command);
    const last = this.#lastApplied.get(node) ?? 0;
    if (index <= last) this.#fail('state-machine-safety', `${node} applied index ${index} after ${last}`);
    this.#lastApplied.set(node, index);
    const known = this.#applied[index - 1];
    if (known === undefined) this.#applied[index - 1] = print;
    else if (known !== print) this.#fail('state-machine-safety', `${node} applied a different entry at index ${index}`);
  }
}
