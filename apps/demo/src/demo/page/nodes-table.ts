import type { DashboardFrame, DemoControl, NodeFrame } from '../dashboard-types.js';
import { control } from './api.js';
import { el } from './dom.js';

interface Action {
  readonly name: string;
  readonly label: string;
  readonly path: (id: string) => string;
}

const ACTIONS: Record<string, Action> = {
  crash: { name: 'crash', label: 'crash', path: (id) => `crash/${id}` },
  restart: { name: 'restart', label: 'restart', path: (id) => `restart/${id}` },
  pause: { name: 'pause', label: 'pause 2 s', path: (id) => `pause/${id}` },
  isolate: { name: 'isolate', label: 'isolate', path: (id) => `isolate/${id}` },
  transfer: { name: 'transfer', label: 'make leader', path: (id) => `transfer/${id}` },
  remove: { name: 'remove', label: 'remove', path: (id) => `remove/${id}` },
};

function actionsFor(node: NodeFrame, leader: string | undefined): Action[] {
  switch (node.health) {
    case 'removed':
      return [];
    case 'down':
      return [ACTIONS['restart']!, ACTIONS['remove']!];
    default:
      return [ACTIONS['crash']!, ACTIONS['pause']!, ACTIONS['isolate']!, ...(node.id === leader ? [] : [ACTIONS['transfer']!]), ACTIONS['remove']!];
  }
}

const COLUMNS = ['health', 'role', 'term', 'leader', 'commitIndex', 'appliedIndex', 'logLength', 'snapshotIndex'] as const;

/**
 * The node table. Rows and buttons persist between frames (only their text
 * changes) so a click is never lost to a re-render.
 */
export class NodesTable {
  readonly #body: HTMLTableSectionElement;
  readonly #rows = new Map<string, { row: HTMLTableRowElement; cells: HTMLTableCellElement[]; controls: HTMLTableCellElement; actions: string }>();

  constructor(table: HTMLTableElement) {
    this.#body = table.tBodies[0]!;
  }

  update(frame: DashboardFrame): void {
    for (const node of frame.nodes) {
      let entry = this.#rows.get(node.id);
      if (entry === undefined) {
        const row = el('tr', { dataset: { node: node.id } });
        row.append(el('td', { className: 'id' }, node.id));
        const cells = COLUMNS.map((column) => el('td', { className: column === 'health' ? 'state' : column }));
        const controls = el('td', { className: 'controls' });
        row.append(...cells, controls);
        this.#body.append(row);
        entry = { row, cells, controls, actions: '' };
        this.#rows.set(node.id, entry);
      }
      entry.row.className = `${node.health} ${node.role}`;
      COLUMNS.forEach((column, i) => {
        const value = node[column];
        const text = value === undefined ? '–' : String(value);
        if (entry.cells[i]!.textContent !== text) entry.cells[i]!.textContent = text;
      });
      const actions = actionsFor(node, frame.leader).filter((action) => frame.unavailable[action.name as DemoControl] === undefined);
      const key = actions.map((a) => a.name).join(',');
      if (key !== entry.actions) {
        entry.actions = key;
        entry.controls.replaceChildren(
          ...actions.map((action) => {
            const button = el('button', { dataset: { action: action.name, id: node.id } }, action.label);
            button.onclick = () => void control(action.path(node.id));
            return button;
          }),
        );
      }
    }
  }
}
