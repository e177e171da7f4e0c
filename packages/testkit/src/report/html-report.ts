import type { ClientId, Operation } from '../history/types.js';
import type { CheckResult, PartitionResult, Verdict } from '../linearizability/checker.js';
import { UNKNOWN_OUTPUT, type Model } from '../linearizability/model.js';

/** Options for {@link renderHtmlReport}. */
export interface HtmlReportOptions {
  /** @default 'Linearizability report' */
  readonly title?: string;
  /**
   * Which partitions get a section. Failing and undecided ones are always
   * shown first and expanded.
   * @default 'all'
   */
  readonly partitions?: 'all' | 'not-linearizable';
  /** Timeline width in pixels. @default 1100 */
  readonly width?: number;
}

/**
 * Escapes text for HTML and SVG content and attribute values. Every string
 * that comes from a history (keys, values, client ids, error text) passes
 * through it.
 *
 * @example
 * ```ts
 * escapeHtml('<script>'); // '&lt;script&gt;'
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

const VERDICT_TEXT: Record<Verdict, string> = {
  linearizable: 'linearizable',
  'not-linearizable': 'not linearizable',
  unknown: 'unknown',
};

const LANE_HEIGHT = 22;
const LABEL_WIDTH = 90;
const AXIS_HEIGHT = 24;

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2330;background:#fafbfc}
h1{font-size:22px;margin:0 0 8px}h2{font-size:17px;margin:0}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:600;font-size:12px}
.v-linearizable{background:#d8f3dc;color:#1b5e20}.v-not-linearizable{background:#ffd6d6;color:#8b0000}.v-unknown{background:#fff1c2;color:#6d5300}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #d5d9e0;padding:2px 8px;text-align:left;font-size:13px}
th{background:#eef1f5}tr.sel td{background:#fff3b0}
details{background:#fff;border:1px solid #d5d9e0;border-radius:6px;margin:12px 0;padding:8px 12px}
summary{cursor:pointer}summary h2{display:inline}
.legend span{margin-right:14px}.sw{display:inline-block;width:14px;height:10px;margin-right:4px;vertical-align:middle;border:1px solid #555}
svg{background:#fff;border:1px solid #e3e6eb;margin-top:8px;font:11px system-ui,sans-serif}
.lane-label{fill:#555}.grid{stroke:#eef0f3}
rect.op{stroke:#445;stroke-width:1;cursor:pointer}
.op-prefix{fill:#9be3a5}.op-other{fill:#d4d8de}.op-candidate{fill:#ffc46b}.op-failed{fill:#ff6b6b;stroke:#8b0000!important;stroke-width:2.5!important}
.op-open{stroke-dasharray:4 3}.op-hl{stroke:#0b57d0!important;stroke-width:3!important}
.op-label{pointer-events:none;fill:#1d2330}.cut{stroke:#c00;stroke-width:1.5;stroke-dasharray:5 3}.cut-label{fill:#c00;font-weight:600}
.sw.op-prefix{background:#9be3a5}.sw.op-other{background:#d4d8de}.sw.op-candidate{background:#ffc46b}.sw.op-failed{background:#ff6b6b}
code{background:#eef1f5;padding:0 3px;border-radius:3px}
`;

// Clicking an operation (a bar or a table row) highlights it everywhere.
const SCRIPT = `
document.addEventListener('click',function(e){
  var t=e.target.closest('[data-op]');if(!t)return;
  var sec=t.closest('details');var id=t.getAttribute('data-op');
  sec.querySelectorAll('.op-hl').forEach(function(n){n.classList.remove('op-hl')});
  sec.querySelectorAll('tr.sel').forEach(function(n){n.classList.remove('sel')});
  sec.querySelectorAll('[data-op="'+id+'"]').forEach(function(n){n.classList.add(n.tagName==='TR'?'sel':'op-hl')});
});
`;

function describe<S, I, O>(model: Model<S, I, O>, op: Operation<I, O>): string {
  return model.describeOperation(op.input, op.status === 'ok' ? (op.output as O) : UNKNOWN_OUTPUT);
}

function formatTime(t: number): string {
  return Number.isInteger(t) ? String(t) : t.toFixed(3);
}

function clientOrder(a: ClientId, b: ClientId): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

interface Placed<I, O> {
  readonly op: Operation<I, O>;
  readonly row: number;
}

/** One lane per client; a client with overlapping operations (a retry after a timeout) gets extra rows. */
function layout<I, O>(ops: readonly Operation<I, O>[], end: number): { placed: Placed<I, O>[]; labels: string[] } {
  const byClient = new Map<ClientId, Operation<I, O>[]>();
  for (const op of ops) {
    const list = byClient.get(op.client) ?? [];
    list.push(op);
    byClient.set(op.client, list);
  }
  const placed: Placed<I, O>[] = [];
  const labels: string[] = [];
  for (const client of [...byClient.keys()].sort(clientOrder)) {
    const rowEnds: number[] = [];
    const first = labels.length;
    for (const op of byClient.get(client) ?? []) {
      const stop = op.completeTime ?? end;
      let r = rowEnds.findIndex((e) => e < op.invokeTime);
      if (r === -1) {
        r = rowEnds.length;
        rowEnds.push(stop);
        labels.push(rowEnds.length === 1 ? `client ${String(client)}` : '');
      } else rowEnds[r] = stop;
      placed.push({ op, row: first + r });
    }
  }
  return { placed, labels };
}

function timeline<S, I, O>(model: Model<S, I, O>, p: PartitionResult<I, O>, width: number): string {
  const ops = p.operations;
  if (ops.length === 0) return '<p>No operations.</p>';
  const start = Math.min(...ops.map((o) => o.invokeTime));
  const lastSeen = Math.max(...ops.map((o) => o.completeTime ?? o.invokeTime));
  // Open operations run to the end of the history; draw that end a little
  // past the last event so they visibly stick out.
  const span = Math.max(lastSeen - start, 1);
  const end = lastSeen + span * 0.04;
  const { placed, labels } = layout(ops, end);
  const plot = width - LABEL_WIDTH - 10;
  const x = (t: number): number => LABEL_WIDTH + ((t - start) / (end - start)) * plot;
  const height = AXIS_HEIGHT + labels.length * LANE_HEIGHT + 6;

  const order = new Map(p.longestPrefix.map((id, i) => [id, i + 1]));
  const candidates = new Set(p.failure?.candidates.map((c) => c.opId) ?? []);
  const failedAt = p.failure?.opId;

  const parts: string[] = [];
  parts.push(`<svg width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img">`);
  labels.forEach((label, row) => {
    const y = AXIS_HEIGHT + row * LANE_HEIGHT;
    parts.push(`<line class="grid" x1="${LABEL_WIDTH}" x2="${width - 10}" y1="${y + LANE_HEIGHT - 1}" y2="${y + LANE_HEIGHT - 1}"/>`);
    if (label !== '') parts.push(`<text class="lane-label" x="4" y="${y + 15}">${escapeHtml(label)}</text>`);
  });
  parts.push(`<text x="${LABEL_WIDTH}" y="14">t=${escapeHtml(formatTime(start))}</text>`);
  parts.push(`<text x="${width - 10}" y="14" text-anchor="end">end of history</text>`);

  for (const { op, row } of placed) {
    const open = op.status !== 'ok';
    const stop = open ? end : (op.completeTime ?? end);
    const x0 = x(op.invokeTime);
    const w = Math.max(x(stop) - x0, 3);
    const y = AXIS_HEIGHT + row * LANE_HEIGHT + 3;
    const k = order.get(op.id);
    const cls =
      op.id === failedAt ? 'op-failed' : candidates.has(op.id) ? 'op-candidate' : k !== undefined ? 'op-prefix' : 'op-other';
    const text = describe(model, op);
    const times = `${formatTime(op.invokeTime)} → ${op.completeTime === undefined ? 'open' : formatTime(op.completeTime)}`;
    const tip = `op ${op.id} · client ${String(op.client)} · ${text} · ${op.status} · ${times}${
      k === undefined ? '' : ` · linearized #${k}`
    }${op.error === undefined ? '' : ` · ${op.error}`}`;
    parts.push(
      `<rect class="op ${cls}${open ? ' op-open' : ''}" data-op="${op.id}" x="${x0.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${
        LANE_HEIGHT - 6
      }" rx="3"><title>${escapeHtml(tip)}</title></rect>`,
    );
    const label = `${k === undefined ? '' : `#${k} `}${text}`;
    const room = Math.floor((w - 6) / 6);
    if (room >= 3) {
      const shown = label.length > room ? `${label.slice(0, room - 1)}…` : label;
      parts.push(`<text class="op-label" x="${(x0 + 3).toFixed(1)}" y="${y + 12}">${escapeHtml(shown)}</text>`);
    }
  }

  // The failing operation's completion is the point by which it had to take
  // effect; no order of the operations before it works.
  const failedOp = ops.find((o) => o.id === failedAt);
  if (failedOp?.completeTime !== undefined) {
    const cx = x(failedOp.completeTime).toFixed(1);
    parts.push(`<line class="cut" x1="${cx}" x2="${cx}" y1="${AXIS_HEIGHT - 4}" y2="${height - 2}"/>`);
    parts.push(`<text class="cut-label" x="${cx}" y="${AXIS_HEIGHT - 8}" text-anchor="middle">linearization impossible</text>`);
  }
  parts.push('</svg>');
  return parts.join('');
}

function prefixTable<S, I, O>(model: Model<S, I, O>, p: PartitionResult<I, O>): string {
  const byId = new Map(p.operations.map((o) => [o.id, o]));
  let state = model.init();
  const rows: string[] = [];
  p.longestPrefix.forEach((id, i) => {
    const op = byId.get(id);
    if (op === undefined) return;
    const step = model.step(state, op.input, op.status === 'ok' ? (op.output as O) : UNKNOWN_OUTPUT);
    if (step.ok) state = step.newState;
    rows.push(
      `<tr data-op="${op.id}"><td>${i + 1}</td><td>${op.id}</td><td>${escapeHtml(String(op.client))}</td><td><code>${escapeHtml(
        describe(model, op),
      )}</code></td><td>${escapeHtml(op.status)}</td><td><code>${escapeHtml(model.describeState(state))}</code></td></tr>`,
    );
  });
  if (rows.length === 0) return '<p>No operation could be linearized.</p>';
  return `<table><tr><th>#</th><th>op</th><th>client</th><th>operation</th><th>outcome</th><th>state after</th></tr>${rows.join('')}</table>`;
}

function failureBlock<S, I, O>(model: Model<S, I, O>, p: PartitionResult<I, O>): string {
  const f = p.failure;
  if (f === undefined) return '';
  const byId = new Map(p.operations.map((o) => [o.id, o]));
  const failed = byId.get(f.opId);
  const items = f.candidates.map((c) => {
    const op = byId.get(c.opId);
    const why =
      c.reason === 'rejected'
        ? 'the model rejects it in this state'
        : 'the model accepts it, but nothing can follow it';
    return `<li data-op="${c.opId}">op ${c.opId} (client ${escapeHtml(String(op?.client ?? '?'))}): <code>${escapeHtml(
      op === undefined ? '?' : describe(model, op),
    )}</code>: ${why}</li>`;
  });
  return `<p class="failure"><strong>Linearization becomes impossible at op ${f.opId}</strong>${
    failed === undefined
      ? ''
      : ` (client ${escapeHtml(String(failed.client))}: <code>${escapeHtml(describe(model, failed))}</code>, completed at t=${escapeHtml(
          formatTime(failed.completeTime ?? failed.invokeTime),
        )})`
  }: it had to take effect before completing, after the longest linearizable prefix (${p.longestPrefix.length} of ${
    p.operations.length
  } operations, state <code>${escapeHtml(f.stateAfterPrefix)}</code>). None of the operations that could come next works:</p><ul>${items.join(
    '',
  )}</ul>`;
}

/**
 * Renders a check result as one self-contained HTML page (inline CSS, SVG and
 * a few lines of script; no external assets), to open in a browser when a
 * history fails. Each partition (key) gets a timeline with one lane per
 * client: bars run from invoke to completion, and open operations run to the
 * end. The longest linearizable prefix is green and numbered in
 * linearization order; the operation where linearization becomes impossible
 * is red, with a line at its completion, and the other operations that could
 * have come next are orange.
 *
 * @example
 * ```ts
 * const result = checkLinearizability(kvModel, history);
 * if (result.verdict !== 'linearizable') {
 *   await writeFile('report.html', renderHtmlReport(kvModel, result, { title: 'seed 42' }));
 * }
 * ```
 */
export function renderHtmlReport<S, I, O>(
  model: Model<S, I, O>,
  result: CheckResult<I, O>,
  options: HtmlReportOptions = {},
): string {
  const title = options.title ?? 'Linearizability report';
  const width = options.width ?? 1100;
  const rank: Record<Verdict, number> = { 'not-linearizable': 0, unknown: 1, linearizable: 2 };
  const indexed = result.partitions.map((p, i) => ({ p, i }));
  const sorted = [...indexed].sort((a, b) => rank[a.p.verdict] - rank[b.p.verdict] || a.i - b.i);
  const shown = options.partitions === 'not-linearizable' ? sorted.filter(({ p }) => p.verdict === 'not-linearizable') : sorted;
  const keyLabel = (p: PartitionResult<I, O>): string => (p.key === '' ? '(whole history)' : p.key);

  const summaryRows = sorted.map(
    ({ p, i }) =>
      `<tr><td><a href="#partition-${i}">${escapeHtml(keyLabel(p))}</a></td><td><span class="badge v-${p.verdict}">${
        VERDICT_TEXT[p.verdict]
      }</span>${p.undecided === undefined ? '' : ` (${escapeHtml(p.undecided)})`}</td><td>${p.operations.length}</td><td>${
        p.removed
      }</td><td>${p.longestPrefix.length}</td><td>${p.explored}</td><td>${p.elapsedMs.toFixed(1)}</td></tr>`,
  );

  const sections = shown.map(({ p, i }) => {
    const open = p.verdict !== 'linearizable' ? ' open' : '';
    const undecided = p.undecided === undefined ? '' : `<p>Undecided: ${escapeHtml(p.undecided)}.</p>`;
    const prefixTitle = p.verdict === 'linearizable' ? 'A linearization (witness)' : 'Longest linearizable prefix';
    return `<details id="partition-${i}"${open}><summary><h2>Key ${escapeHtml(JSON.stringify(keyLabel(p)))}</h2> <span class="badge v-${
      p.verdict
    }">${VERDICT_TEXT[p.verdict]}</span> · ${p.operations.length} operations · prefix ${p.longestPrefix.length}</summary>${undecided}${failureBlock(
      model,
      p,
    )}${timeline(model, p, width)}<h3>${prefixTitle}</h3>${prefixTable(model, p)}</details>`;
  });

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(title)}</h1>
<p>Verdict: <span class="badge v-${result.verdict}">${VERDICT_TEXT[result.verdict]}</span> · model <code>${escapeHtml(
    result.model,
  )}</code> · ${result.partitions.length} partition(s) · checked in ${result.elapsedMs.toFixed(1)} ms</p>
<p class="legend"><span><i class="sw op-prefix"></i>in the longest linearizable prefix (#order)</span><span><i class="sw op-failed"></i>where linearization becomes impossible</span><span><i class="sw op-candidate"></i>could come next, but leads nowhere</span><span><i class="sw op-other"></i>other</span><span><i class="sw op-other" style="border-style:dashed"></i>outcome unknown (open to the end)</span></p>
<table><tr><th>key</th><th>verdict</th><th>ops</th><th>failed (removed)</th><th>prefix</th><th>configurations</th><th>ms</th></tr>${summaryRows.join(
    '',
  )}</table>
${sections.join('\n')}
<script>${SCRIPT}</script>
</body></html>
`;
}
