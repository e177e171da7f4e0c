/**
 * The dashboard's HTML shell. Everything it shows is drawn by the bundled
 * script (src/demo/page, bundled with uPlot at build time into
 * /assets/app.js and /assets/app.css), from the frames pushed on
 * /api/events. Nothing is loaded from outside 127.0.0.1.
 */
export const dashboardHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Synod demo</title>
<link rel="stylesheet" href="/assets/app.css">
</head>
<body>
<header>
  <div>
    <h1>Synod <span id="algorithm"></span> <span id="network">on the in-memory network</span></h1>
    <div class="sub">Crash the leader, cut the network, slow a node: watch the detectors notice, the cluster elect, and the checker confirm that no answer was wrong.</div>
  </div>
  <div class="headline">
    <div class="stat"><b id="leader">none</b><span>leader</span></div>
    <div class="stat"><b id="verdict" class="verdict pending">pending</b><span id="verdict-detail">linearizability, recent window</span></div>
    <div class="stat"><a id="report-link" href="/report.html" target="_blank" rel="noopener">HTML report of the whole run</a><span id="connection">connecting…</span></div>
  </div>
</header>
<div id="message" role="status"></div>
<main>
  <section class="card wide">
    <h2>Nodes</h2>
    <table id="nodes"><thead><tr>
      <th>node</th><th>state</th><th>role</th><th id="term-header">term</th><th>leader</th><th>commit</th><th>applied</th><th>log</th><th>snapshot</th><th>controls</th>
    </tr></thead><tbody></tbody></table>
    <div class="controls">
      <button id="add-member">add member</button>
      <button id="workload-toggle">stop workload</button>
    </div>
    <p id="unavailable" class="note" hidden></p>
  </section>
  <section class="card">
    <h2>Traffic <small>messages/s per link; red: cut, orange: delayed</small></h2>
    <svg id="graph" viewBox="0 0 360 300" role="img" aria-label="nodes and links"></svg>
    <div class="controls">
      <span class="hint">Click nodes to put them in groups, then</span>
      <button id="partition">partition</button>
      <button id="clear-groups">clear groups</button>
      <button id="heal">heal network</button>
    </div>
    <div class="controls">
      link <select id="link-a"></select> – <select id="link-b"></select>
      <button id="link-drop">drop</button>
      <button id="link-delay">delay 300 ms</button>
      <button id="link-undelay">no delay</button>
    </div>
  </section>
  <section class="card">
    <h2>Detectors <small>phi of each peer as seen by</small> <select id="observer"></select></h2>
    <div id="phi-chart" class="chart"></div>
    <p id="detector-note" class="note"></p>
    <h2>SWIM membership <small>as each node sees every member</small></h2>
    <table id="swim"></table>
  </section>
  <section class="card">
    <h2>Workload throughput <small>operations/s</small></h2>
    <div id="throughput-chart" class="chart"></div>
  </section>
  <section class="card">
    <h2>Workload latency <small>ms</small></h2>
    <div id="latency-chart" class="chart"></div>
  </section>
  <section class="card wide">
    <h2>Timeline <small>elections, faults, membership</small></h2>
    <ol id="timeline"></ol>
  </section>
</main>
<script type="module" src="/assets/app.js"></script>
</body>
</html>
`;
