/**
 * Small self-contained SVG charts for bench reports: no dependencies, no
 * scripts, readable on GitHub and in a browser. Two kinds are enough for our
 * reports: a line chart (a metric against a size or a rate) and a grouped bar
 * chart (a metric per scenario and system).
 */

/** One line of a {@link lineChart}. */
export interface LineSeries {
  readonly name: string;
  readonly points: readonly (readonly [x: number, y: number])[];
}

/** Options of a {@link lineChart}. */
export interface LineChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly LineSeries[];
  /** Logarithmic x axis (base 10), for sizes such as 10, 100, 1000. @default false */
  readonly logX?: boolean;
  /** Lower end of the y axis. @default 0 */
  readonly yMin?: number;
  /**
   * Where the x axis has labels: at every x value of the points (`values`,
   * for a few sizes) or at round numbers (`round`, for many points such as a
   * CDF; linear axes only). @default 'values'
   */
  readonly xTicks?: 'values' | 'round';
}

/** One colour per bar group; enough for four systems, and readable in greyscale by their order. */
export interface BarSeries {
  readonly name: string;
  /** One value per category. */
  readonly values: readonly number[];
}

/** Options of a {@link barChart}. */
export interface BarChartOptions {
  readonly title: string;
  readonly yLabel: string;
  readonly categories: readonly string[];
  readonly series: readonly BarSeries[];
  /** Logarithmic y axis (base 10); zero values are drawn as empty. @default false */
  readonly logY?: boolean;
}

const WIDTH = 720;
const HEIGHT = 400;
const MARGIN = { left: 70, right: 170, top: 40, bottom: 60 };
const COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmt(value: number): string {
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 1000) return `${Math.round(value / 100) / 10}k`;
  if (abs >= 10) return String(Math.round(value));
  if (abs >= 1) return String(Math.round(value * 10) / 10);
  return value.toPrecision(2);
}

/** About five round tick values covering [min, max]. */
function ticks(min: number, max: number): number[] {
  if (max <= min) return [min];
  const raw = (max - min) / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Math.round(v / step) * step);
  return out;
}

function frame(title: string, xLabel: string, yLabel: string, body: string[]): string {
  const plotBottom = HEIGHT - MARGIN.bottom;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escape(title)}</text>`,
    `<line x1="${MARGIN.left}" y1="${plotBottom}" x2="${WIDTH - MARGIN.right}" y2="${plotBottom}" stroke="black"/>`,
    `<line x1="${MARGIN.left}" y1="${MARGIN.top}" x2="${MARGIN.left}" y2="${plotBottom}" stroke="black"/>`,
    `<text x="${(MARGIN.left + WIDTH - MARGIN.right) / 2}" y="${HEIGHT - 15}" text-anchor="middle">${escape(xLabel)}</text>`,
    `<text x="18" y="${(MARGIN.top + plotBottom) / 2}" text-anchor="middle" transform="rotate(-90 18 ${(MARGIN.top + plotBottom) / 2})">${escape(yLabel)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

function legend(names: readonly string[]): string[] {
  const x = WIDTH - MARGIN.right + 15;
  return names.flatMap((name, i) => {
    const y = MARGIN.top + 10 + i * 20;
    return [
      `<rect x="${x}" y="${y - 9}" width="12" height="12" fill="${COLOURS[i % COLOURS.length]}"/>`,
      `<text x="${x + 18}" y="${y + 1}">${escape(name)}</text>`,
    ];
  });
}

/**
 * A line chart with markers, one line per series.
 *
 * @example
 * ```ts
 * const svg = lineChart({
 *   title: 'Messages per member per period', xLabel: 'members', yLabel: 'messages', logX: true,
 *   series: [{ name: 'SWIM', points: [[10, 2.1], [100, 2.1], [1000, 2.2]] }],
 * });
 * writeFileSync('load.svg', svg);
 * ```
 */
export function lineChart(options: LineChartOptions): string {
  const tx = (x: number): number => (options.logX === true ? Math.log10(Math.max(x, 1e-9)) : x);
  const all = options.series.flatMap((s) => s.points);
  const xs = all.map(([x]) => tx(x));
  const ys = all.map(([, y]) => y);
  let xMin = Math.min(...xs);
  let xMax = Math.max(...xs);
  if (!(xMax > xMin)) {
    xMin -= 1;
    xMax += 1;
  }
  const yMin = options.yMin ?? 0;
  const yTicks = ticks(yMin, Math.max(yMin + 1e-9, ...ys) * 1.1);
  const yMax = yTicks[yTicks.length - 1] ?? 1;
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const px = (x: number): number => MARGIN.left + ((tx(x) - xMin) / (xMax - xMin)) * plotW;
  const py = (y: number): number => HEIGHT - MARGIN.bottom - ((y - yMin) / (yMax - yMin || 1)) * plotH;
  const body: string[] = [];
  for (const t of yTicks) {
    body.push(`<line x1="${MARGIN.left}" y1="${py(t)}" x2="${WIDTH - MARGIN.right}" y2="${py(t)}" stroke="#ddd"/>`);
    body.push(`<text x="${MARGIN.left - 6}" y="${py(t) + 4}" text-anchor="end">${fmt(t)}</text>`);
  }
  const xValues =
    options.xTicks === 'round' && options.logX !== true
      ? ticks(xMin, xMax).filter((x) => x >= xMin && x <= xMax)
      : [...new Set(all.map(([x]) => x))].sort((a, b) => a - b);
  for (const x of xValues) {
    body.push(`<text x="${px(x)}" y="${HEIGHT - MARGIN.bottom + 18}" text-anchor="middle">${fmt(x)}</text>`);
  }
  options.series.forEach((series, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    const path = series.points.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
    body.push(`<path d="${path}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    for (const [x, y] of series.points) {
      body.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3.5" fill="${colour}"><title>${escape(`${series.name}: ${fmt(x)} → ${fmt(y)}`)}</title></circle>`);
    }
  });
  body.push(...legend(options.series.map((s) => s.name)));
  return frame(options.title, options.xLabel, options.yLabel, body);
}

/**
 * A grouped bar chart: one group per category, one bar per series.
 *
 * @example
 * ```ts
 * const svg = barChart({
 *   title: 'False positives', yLabel: 'per member-hour', categories: ['0 %', '5 %'],
 *   series: [{ name: 'SWIM', values: [3, 40] }, { name: 'SWIM+Lifeguard', values: [0, 1] }],
 * });
 * ```
 */
export function barChart(options: BarChartOptions): string {
  const logY = options.logY === true;
  const values = options.series.flatMap((s) => s.values);
  const positive = values.filter((v) => v > 0);
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  let yMin = 0;
  let yMax: number;
  let yTicks: number[];
  if (logY) {
    yMin = Math.floor(Math.log10(Math.min(...positive, 1)));
    yMax = Math.ceil(Math.log10(Math.max(...positive, 10)));
    yTicks = [];
    for (let e = yMin; e <= yMax; e++) yTicks.push(e);
  } else {
    yTicks = ticks(0, Math.max(1e-9, ...values) * 1.1);
    yMax = yTicks[yTicks.length - 1] ?? 1;
  }
  const ty = (v: number): number => (logY ? Math.log10(v) : v);
  const py = (v: number): number => HEIGHT - MARGIN.bottom - ((ty(v) - yMin) / (yMax - yMin || 1)) * plotH;
  const body: string[] = [];
  for (const t of yTicks) {
    const y = logY ? py(10 ** t) : py(t);
    body.push(`<line x1="${MARGIN.left}" y1="${y}" x2="${WIDTH - MARGIN.right}" y2="${y}" stroke="#ddd"/>`);
    body.push(`<text x="${MARGIN.left - 6}" y="${y + 4}" text-anchor="end">${fmt(logY ? 10 ** t : t)}</text>`);
  }
  const groupW = plotW / Math.max(1, options.categories.length);
  const barW = (groupW * 0.8) / Math.max(1, options.series.length);
  options.categories.forEach((category, c) => {
    const gx = MARGIN.left + c * groupW + groupW * 0.1;
    body.push(`<text x="${gx + groupW * 0.4}" y="${HEIGHT - MARGIN.bottom + 18}" text-anchor="middle">${escape(category)}</text>`);
    options.series.forEach((series, s) => {
      const value = series.values[c] ?? 0;
      if (logY && !(value > 0)) return;
      const top = py(value);
      const bottom = logY ? HEIGHT - MARGIN.bottom : py(0);
      body.push(
        `<rect x="${(gx + s * barW).toFixed(1)}" y="${top.toFixed(1)}" width="${(barW * 0.92).toFixed(1)}" height="${Math.max(0, bottom - top).toFixed(1)}" fill="${COLOURS[s % COLOURS.length]}"><title>${escape(`${series.name}, ${category}: ${fmt(value)}`)}</title></rect>`,
      );
    });
  });
  body.push(...legend(options.series.map((s) => s.name)));
  return frame(options.title, '', options.yLabel, body);
}
