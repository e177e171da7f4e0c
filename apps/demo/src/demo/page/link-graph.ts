import type { DashboardFrame, LinkFrame, NodeFrame } from '../dashboard-types.js';

const SVG = 'http://www.w3.org/2000/svg';
const GROUP_COLOURS = ['#2b6cb0', '#b7791f', '#6b46c1', '#2c7a7b'];

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value));
  return element;
}

/** Both directions of a link, as one edge of the drawing. */
interface Edge {
  readonly a: string;
  readonly b: string;
  readonly perSecond: number;
  readonly cut: boolean;
  readonly delayed: boolean;
}

function edgesOf(links: readonly LinkFrame[]): Edge[] {
  const edges = new Map<string, Edge>();
  for (const link of links) {
    const [a, b] = link.from < link.to ? [link.from, link.to] : [link.to, link.from];
    const key = `${a}|${b}`;
    const seen = edges.get(key);
    edges.set(key, {
      a,
      b,
      perSecond: (seen?.perSecond ?? 0) + link.perSecond,
      cut: (seen?.cut ?? false) || link.cut,
      delayed: (seen?.delayed ?? false) || link.delayMs > 0,
    });
  }
  return [...edges.values()];
}

interface NodeShape {
  readonly group: SVGGElement;
  readonly ring: SVGCircleElement;
  readonly circle: SVGCircleElement;
  readonly label: SVGTextElement;
  readonly title: SVGTitleElement;
}

/**
 * The nodes on a circle and a line for every link, as thick as its traffic
 * (log scale) and red when cut. Clicking a node moves it to the next
 * partition group; {@link groups} gives the groups chosen so far.
 */
export class LinkGraph {
  readonly #edges: SVGGElement;
  readonly #nodesLayer: SVGGElement;
  readonly #shapes = new Map<string, NodeShape>();
  readonly #group = new Map<string, number>();
  #last: DashboardFrame | undefined;

  constructor(root: SVGSVGElement) {
    this.#edges = svg('g', { class: 'edges' });
    this.#nodesLayer = svg('g', { class: 'nodes' });
    root.replaceChildren(this.#edges, this.#nodesLayer);
  }

  /** The groups clicked so far, each a list of node ids. */
  groups(): string[][] {
    const groups: string[][] = [];
    for (const [id, group] of this.#group) (groups[group] ??= []).push(id);
    return groups.filter((g) => g !== undefined && g.length > 0);
  }

  clearGroups(): void {
    this.#group.clear();
    if (this.#last !== undefined) this.update(this.#last);
  }

  #cycle(id: string): void {
    const current = this.#group.get(id);
    const next = current === undefined ? 0 : current + 1;
    if (next >= GROUP_COLOURS.length) this.#group.delete(id);
    else this.#group.set(id, next);
    if (this.#last !== undefined) this.update(this.#last);
  }

  update(frame: DashboardFrame): void {
    this.#last = frame;
    const nodes = frame.nodes.filter((n) => n.health !== 'removed');
    const position = new Map<string, { x: number; y: number }>();
    nodes.forEach((node, i) => {
      const angle = (2 * Math.PI * i) / nodes.length - Math.PI / 2;
      position.set(node.id, { x: 180 + 110 * Math.cos(angle), y: 150 + 110 * Math.sin(angle) });
    });
    const edges: SVGElement[] = [];
    for (const edge of edgesOf(frame.links)) {
      const p = position.get(edge.a);
      const q = position.get(edge.b);
      if (p === undefined || q === undefined) continue;
      const strokeWidth = edge.cut ? 2 : 1 + 1.5 * Math.log2(1 + edge.perSecond / 10);
      const line = svg('line', {
        x1: p.x,
        y1: p.y,
        x2: q.x,
        y2: q.y,
        'stroke-width': strokeWidth.toFixed(1),
        class: `edge${edge.cut ? ' cut' : ''}${edge.delayed ? ' delayed' : ''}${edge.perSecond === 0 ? ' idle' : ''}`,
        'data-link': `${edge.a}-${edge.b}`,
      });
      const title = svg('title', {});
      title.textContent = `${edge.a} – ${edge.b}: ${edge.perSecond} msg/s${edge.cut ? ', cut' : ''}${edge.delayed ? ', delayed' : ''}`;
      line.append(title);
      edges.push(line);
      if (!edge.cut && edge.perSecond > 0) {
        const label = svg('text', { x: (p.x + q.x) / 2, y: (p.y + q.y) / 2 - 3, class: 'edge-label' });
        label.textContent = String(edge.perSecond);
        edges.push(label);
      }
    }
    this.#edges.replaceChildren(...edges);
    // Node shapes persist across frames, so a click is never lost to a redraw.
    for (const [id, shape] of this.#shapes) {
      if (!position.has(id)) {
        shape.group.remove();
        this.#shapes.delete(id);
      }
    }
    for (const node of nodes) this.#drawNode(node, position.get(node.id)!, frame.leader);
  }

  #drawNode(node: NodeFrame, at: { x: number; y: number }, leader: string | undefined): void {
    let shape = this.#shapes.get(node.id);
    if (shape === undefined) {
      const group = svg('g', { 'data-graph-node': node.id });
      const ring = svg('circle', { r: 27, class: 'group-ring' });
      const circle = svg('circle', { r: 21 });
      const label = svg('text', { 'text-anchor': 'middle' });
      label.textContent = node.id;
      const title = svg('title', {});
      group.append(ring, circle, label, title);
      group.addEventListener('click', () => this.#cycle(node.id));
      this.#nodesLayer.append(group);
      shape = { group, ring, circle, label, title };
      this.#shapes.set(node.id, shape);
    }
    shape.group.setAttribute('class', `node ${node.health} ${node.id === leader ? 'leader' : node.role}`);
    for (const circle of [shape.ring, shape.circle]) {
      circle.setAttribute('cx', String(at.x));
      circle.setAttribute('cy', String(at.y));
    }
    shape.label.setAttribute('x', String(at.x));
    shape.label.setAttribute('y', String(at.y + 4));
    const chosen = this.#group.get(node.id);
    shape.ring.style.stroke = chosen === undefined ? 'none' : GROUP_COLOURS[chosen]!;
    shape.title.textContent = `${node.id}: ${node.role}, ${node.health}. Click to put it in a partition group.`;
  }
}
