/**
 * The dashboard: one self-contained page (no external assets) that polls
 * /api/status and offers buttons to crash, restart and isolate nodes.
 */
export const dashboardHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Synod demo</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 24px; background: #f6f7f9; color: #1d2430; }
  h1 { font-size: 20px; margin: 0 0 4px; }
  .sub { color: #5b6575; margin-bottom: 16px; }
  .nodes { display: flex; gap: 12px; flex-wrap: wrap; }
  .node { background: #fff; border: 2px solid #d5dae2; border-radius: 8px; padding: 12px; width: 170px; }
  .node.leader { border-color: #1f9d55; }
  .node.candidate, .node.pre-candidate { border-color: #d69e2e; }
  .node.down { opacity: .5; border-style: dashed; }
  .node.isolated { border-color: #c53030; }
  .role { font-weight: 600; text-transform: uppercase; font-size: 12px; }
  .stats { margin: 16px 0; display: flex; gap: 24px; }
  .stat b { display: block; font-size: 20px; }
  button { margin: 4px 4px 0 0; font-size: 12px; }
  pre { background: #fff; border: 1px solid #d5dae2; border-radius: 8px; padding: 12px; max-height: 280px; overflow: auto; }
</style>
</head>
<body>
<h1>Synod: Raft on the in-memory network</h1>
<div class="sub">Crash the leader or cut it off, and watch the cluster elect another and keep committing.</div>
<div class="nodes" id="nodes"></div>
<div class="stats" id="stats"></div>
<button id="heal">Heal network</button>
<h2>Events</h2>
<pre id="events"></pre>
<script>
  const el = (tag, attrs = {}, text = '') => { const e = document.createElement(tag); Object.assign(e, attrs); e.textContent = text; return e; };
  async function post(path) { await fetch(path, { method: 'POST' }); refresh(); }
  document.getElementById('heal').onclick = () => post('/api/heal');
  async function refresh() {
    const s = await (await fetch('/api/status')).json();
    const nodes = document.getElementById('nodes');
    nodes.replaceChildren(...s.nodes.map((n) => {
      const isolated = s.isolated.includes(n.id);
      const card = el('div', { className: 'node ' + n.role + (isolated ? ' isolated' : '') });
      card.append(el('div', {}, n.id), el('div', { className: 'role' }, n.role + (isolated ? ' (isolated)' : '')));
      card.append(el('div', {}, 'term ' + n.term), el('div', {}, 'commit ' + n.commitIndex + ' / applied ' + n.appliedIndex));
      if (n.up) {
        const crash = el('button', {}, 'crash'); crash.onclick = () => post('/api/crash/' + n.id);
        const iso = el('button', {}, 'isolate'); iso.onclick = () => post('/api/isolate/' + n.id);
        card.append(crash, iso);
      } else {
        const up = el('button', {}, 'restart'); up.onclick = () => post('/api/restart/' + n.id);
        card.append(up);
      }
      return card;
    }));
    const st = s.stats;
    document.getElementById('stats').replaceChildren(
      ...[['leader', s.leader ?? 'none'], ['writes/s', st.writesPerSecond], ['committed writes', st.committedWrites],
          ['failed ops', st.failedWrites], ['reads', st.reads], ['leader changes', st.leaderChanges]]
        .map(([k, v]) => { const d = el('div', { className: 'stat' }); d.append(el('b', {}, String(v)), el('span', {}, k)); return d; }));
    document.getElementById('events').textContent = s.events.slice().reverse().join('\\n');
  }
  refresh();
  setInterval(refresh, 500);
</script>
</body>
</html>
`;
