/**
 * The dashboard page: subscribes to /api/events and draws each frame. Each
 * part of the page is one small module; this file wires them together.
 */
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import type { DashboardFrame, DemoControl } from '../dashboard-types.js';
import { control } from './api.js';
import { PALETTE, RollingChart, SeriesBuffer } from './charts.js';
import { byId, el } from './dom.js';
import { LinkGraph } from './link-graph.js';
import { NodesTable } from './nodes-table.js';
import { SwimTable } from './swim-table.js';
import { Timeline } from './timeline.js';

/** One minute of history at 5 frames a second. */
const HISTORY = 300;
/** phi is drawn up to this value; beyond it the peer is long suspected anyway. */
const PHI_CAP = 20;

const nodesTable = new NodesTable(byId<HTMLTableElement>('nodes'));
const graph = new LinkGraph(byId('graph') as unknown as SVGSVGElement);
const timeline = new Timeline(byId<HTMLOListElement>('timeline'));
const swimTable = new SwimTable(byId<HTMLTableElement>('swim'));
const phiChart = new RollingChart(byId('phi-chart'), { yLabel: 'phi', yRange: [0, PHI_CAP] });
const throughputChart = new RollingChart(byId('throughput-chart'), { yLabel: 'ops/s' });
const latencyChart = new RollingChart(byId('latency-chart'), { yLabel: 'ms' });
const phiHistory = new SeriesBuffer(HISTORY);
const workloadHistory = new SeriesBuffer(HISTORY);
const observer = byId<HTMLSelectElement>('observer');
const linkA = byId<HTMLSelectElement>('link-a');
const linkB = byId<HTMLSelectElement>('link-b');
let last: DashboardFrame | undefined;

function syncOptions(select: HTMLSelectElement, ids: readonly string[], preferred?: string): void {
  const current = [...select.options].map((o) => o.value).join(',');
  if (current === ids.join(',')) return;
  const chosen = select.value;
  select.replaceChildren(...ids.map((id) => el('option', { value: id }, id)));
  select.value = ids.includes(chosen) ? chosen : (preferred ?? ids[0] ?? '');
}

function drawPhi(frame: DashboardFrame): void {
  const prefix = `${observer.value}>`;
  const peers = phiHistory.names().filter((name) => name.startsWith(prefix)).sort();
  const series = [
    ...peers.map((name, i) => ({ label: name.slice(prefix.length), stroke: PALETTE[i % PALETTE.length]! })),
    { label: 'threshold', stroke: '#c53030', dash: [6, 4] },
  ];
  const data = [phiHistory.times, ...peers.map((name) => phiHistory.column(name)), phiHistory.times.map(() => frame.phiThreshold)];
  phiChart.draw(series, data);
}

const NETWORK_TEXT: Readonly<Record<DashboardFrame['transport'], string>> = {
  memory: 'on the in-memory network',
  grpc: 'as synod serve processes over gRPC',
  nats: 'as synod serve processes over NATS',
};

/** The page-wide buttons of each control, disabled (with the reason as tooltip) when the cluster cannot offer it. */
const CONTROL_BUTTONS: Readonly<Partial<Record<DemoControl, readonly string[]>>> = {
  add: ['add-member'],
  partition: ['partition', 'clear-groups'],
  heal: ['heal'],
  link: ['link-drop', 'link-delay', 'link-undelay'],
  workload: ['workload-toggle'],
};

function showUnavailable(frame: DashboardFrame): void {
  for (const [control, ids] of Object.entries(CONTROL_BUTTONS) as [DemoControl, readonly string[]][]) {
    const reason = frame.unavailable[control];
    for (const id of ids) {
      const button = byId<HTMLButtonElement>(id);
      button.disabled = reason !== undefined;
      button.title = reason ?? '';
    }
  }
  const note = byId('unavailable');
  const reasons = new Map<string, DemoControl[]>();
  for (const [control, reason] of Object.entries(frame.unavailable) as [DemoControl, string][]) reasons.set(reason, [...(reasons.get(reason) ?? []), control]);
  const text = [...reasons].map(([reason, controls]) => `Not available here: ${controls.join(', ')} (${reason}).`).join(' ');
  note.hidden = text === '';
  if (note.textContent !== text) note.textContent = text;
}

function render(frame: DashboardFrame): void {
  last = frame;
  const t = frame.atMs / 1000;
  byId('algorithm').textContent = frame.algorithm === 'raft' ? 'Raft' : 'Multi-Paxos';
  byId('network').textContent = NETWORK_TEXT[frame.transport];
  byId('detector-note').textContent = frame.detectorNote;
  showUnavailable(frame);
  byId('term-header').textContent = frame.algorithm === 'raft' ? 'term' : 'ballot';
  byId('leader').textContent = frame.leader ?? 'none';
  const verdict = byId('verdict');
  verdict.textContent = frame.verdict.verdict;
  verdict.className = `verdict ${frame.verdict.verdict}`;
  byId('verdict-detail').textContent =
    frame.verdict.verdict === 'pending'
      ? 'linearizability: waiting for operations'
      : `linearizability of the last ${frame.verdict.windowS} s (${frame.verdict.operations} ops, checked in ${frame.verdict.elapsedMs} ms)`;
  byId('workload-toggle').textContent = frame.workload.running ? 'stop workload' : 'start workload';

  nodesTable.update(frame);
  graph.update(frame);
  swimTable.update(frame);
  timeline.update(frame.timeline);

  const live = frame.nodes.filter((n) => n.health !== 'removed').map((n) => n.id);
  const observers = [...new Set(frame.phi.map((p) => p.observer))].sort();
  const follower = frame.nodes.find((n) => n.role === 'follower' && n.health === 'up')?.id;
  syncOptions(observer, observers.length > 0 ? observers : live, follower);
  syncOptions(linkA, live, live[0]);
  syncOptions(linkB, live, live[1]);

  phiHistory.push(t, new Map(frame.phi.map((p) => [`${p.observer}>${p.peer}`, Math.min(PHI_CAP, p.phi)])));
  drawPhi(frame);
  workloadHistory.push(
    t,
    new Map([
      ['ops', frame.workload.opsPerSecond],
      ['p50', frame.workload.p50Ms],
      ['p99', frame.workload.p99Ms],
    ]),
  );
  throughputChart.draw([{ label: 'ok ops/s', stroke: PALETTE[0]! }], [workloadHistory.times, workloadHistory.column('ops')]);
  latencyChart.draw(
    [
      { label: 'p50', stroke: PALETTE[2]! },
      { label: 'p99', stroke: PALETTE[1]! },
    ],
    [workloadHistory.times, workloadHistory.column('p50'), workloadHistory.column('p99')],
  );
}

function wireControls(): void {
  byId('heal').onclick = () => void control('heal');
  byId('partition').onclick = () => void control('partition', { groups: graph.groups() }).then(() => graph.clearGroups());
  byId('clear-groups').onclick = () => graph.clearGroups();
  byId('add-member').onclick = () => void control('add');
  byId('workload-toggle').onclick = () => void control(last?.workload.running === false ? 'workload/start' : 'workload/stop');
  byId('link-drop').onclick = () => void control('link/drop', { a: linkA.value, b: linkB.value });
  byId('link-delay').onclick = () => void control('link/delay', { a: linkA.value, b: linkB.value, ms: 300 });
  byId('link-undelay').onclick = () => void control('link/delay', { a: linkA.value, b: linkB.value, ms: 0 });
  observer.onchange = () => {
    if (last !== undefined) drawPhi(last);
  };
}

function connect(): void {
  const status = byId('connection');
  const events = new EventSource('/api/events');
  events.onopen = () => (status.textContent = 'live');
  events.onmessage = (message: MessageEvent<string>) => render(JSON.parse(message.data) as DashboardFrame);
  // EventSource reconnects by itself; say so meanwhile.
  events.onerror = () => (status.textContent = 'disconnected, retrying…');
}

wireControls();
connect();
