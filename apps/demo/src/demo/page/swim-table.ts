import type { DashboardFrame } from '../dashboard-types.js';
import { el } from './dom.js';

/**
 * SWIM membership as a matrix: one row per observing node, one column per
 * member, each cell the state that observer believes (alive, suspect, dead,
 * left). Disagreement between rows is gossip still on its way.
 */
export class SwimTable {
  readonly #root: HTMLTableElement;
  #shape = '';

  constructor(root: HTMLTableElement) {
    this.#root = root;
  }

  update(frame: DashboardFrame): void {
    const observers = [...new Set(frame.swim.map((s) => s.observer))].sort();
    const members = [...new Set(frame.swim.map((s) => s.member))].sort();
    const shape = `${observers.join(',')}|${members.join(',')}`;
    if (shape !== this.#shape) {
      this.#shape = shape;
      const head = el('tr');
      head.append(el('th', {}, 'seen by ↓'), ...members.map((m) => el('th', {}, m)));
      const rows = observers.map((observer) => {
        const row = el('tr', { dataset: { observer } });
        row.append(el('th', {}, observer), ...members.map((member) => el('td', { dataset: { member } })));
        return row;
      });
      this.#root.replaceChildren(el('thead'), el('tbody'));
      this.#root.tHead!.append(head);
      this.#root.tBodies[0]!.append(...rows);
    }
    const state = new Map(frame.swim.map((s) => [`${s.observer}>${s.member}`, s]));
    for (const row of this.#root.tBodies[0]?.rows ?? []) {
      const observer = row.dataset['observer']!;
      for (const cell of row.cells) {
        const member = cell.dataset['member'];
        if (member === undefined) continue;
        const seen = state.get(`${observer}>${member}`);
        const text = seen?.state ?? '–';
        if (cell.textContent !== text) cell.textContent = text;
        cell.className = `swim ${seen?.state ?? 'unknown'}`;
        cell.title = seen === undefined ? `${observer} does not know ${member}` : `${observer} sees ${member} ${seen.state} (incarnation ${seen.incarnation})`;
      }
    }
  }
}
