import type { TimelineEntry } from '../dashboard-types.js';
import { el, seconds } from './dom.js';

/** The timeline under the charts, newest first; only new entries are added. */
export class Timeline {
  readonly #root: HTMLOListElement;
  #shownUpTo = -1;

  constructor(root: HTMLOListElement) {
    this.#root = root;
  }

  update(entries: readonly TimelineEntry[]): void {
    for (const entry of entries) {
      if (entry.atMs < this.#shownUpTo) continue;
      const key = `${entry.atMs}|${entry.text}`;
      if (this.#root.querySelector(`[data-key="${CSS.escape(key)}"]`) !== null) continue;
      this.#shownUpTo = entry.atMs;
      const item = el('li', { className: entry.kind, dataset: { key } });
      item.append(el('time', {}, seconds(entry.atMs)), el('span', { className: 'kind' }, entry.kind), el('span', {}, entry.text));
      this.#root.prepend(item);
    }
    while (this.#root.children.length > 200) this.#root.lastElementChild!.remove();
  }
}
