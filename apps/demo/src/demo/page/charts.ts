import uPlot from 'uplot';

export interface SeriesSpec {
  readonly label: string;
  readonly stroke: string;
  readonly dash?: number[];
}

/** A palette that stays readable for up to nine series. */
export const PALETTE = ['#2b6cb0', '#dd6b20', '#38a169', '#805ad5', '#d53f8c', '#319795', '#b7791f', '#718096', '#e53e3e'];

/**
 * A uPlot line chart over the last `windowS` seconds. The x axis is
 * seconds since the demo started. Series can be replaced (the phi chart
 * shows other peers when the observer changes).
 */
export class RollingChart {
  readonly #root: HTMLElement;
  readonly #yLabel: string;
  readonly #yRange: [number, number] | undefined;
  #plot: uPlot | undefined;
  #labels = '';

  constructor(root: HTMLElement, options: { yLabel: string; yRange?: [number, number] }) {
    this.#root = root;
    this.#yLabel = options.yLabel;
    this.#yRange = options.yRange;
    new ResizeObserver(() => this.#plot?.setSize(this.#size())).observe(root);
  }

  #size(): { width: number; height: number } {
    return { width: Math.max(200, this.#root.clientWidth), height: 180 };
  }

  /** Draws `data` (x first, then one array per series); rebuilds the chart when the series change. */
  draw(series: readonly SeriesSpec[], data: readonly (readonly (number | null)[])[]): void {
    const labels = series.map((s) => s.label).join('|');
    if (this.#plot === undefined || labels !== this.#labels) {
      this.#plot?.destroy();
      this.#labels = labels;
      const range = this.#yRange;
      this.#plot = new uPlot(
        {
          ...this.#size(),
          legend: { show: true, live: false },
          cursor: { show: false },
          scales: { x: { time: false }, y: range === undefined ? { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } : { range } },
          axes: [{ label: 's', size: 30, labelSize: 12 }, { label: this.#yLabel, size: 45, labelSize: 14 }],
          series: [{ label: 't' }, ...series.map((s) => ({ label: s.label, stroke: s.stroke, width: 1.5, dash: s.dash, spanGaps: false, points: { show: false } }))],
        },
        data as uPlot.AlignedData,
        this.#root,
      );
    } else {
      this.#plot.setData(data as uPlot.AlignedData);
    }
  }
}

/** Samples of named series on a shared time axis, trimmed to the last `capacity` points. */
export class SeriesBuffer {
  readonly #capacity: number;
  readonly times: number[] = [];
  readonly #values = new Map<string, (number | null)[]>();

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** Adds one sample at `t`; series absent from `values` get a gap. */
  push(t: number, values: ReadonlyMap<string, number>): void {
    this.times.push(t);
    for (const name of values.keys()) {
      if (!this.#values.has(name)) this.#values.set(name, new Array<number | null>(this.times.length - 1).fill(null));
    }
    for (const [name, column] of this.#values) column.push(values.get(name) ?? null);
    if (this.times.length > this.#capacity) {
      this.times.shift();
      for (const [name, column] of this.#values) {
        column.shift();
        if (column.every((v) => v === null)) this.#values.delete(name);
      }
    }
  }

  names(): string[] {
    return [...this.#values.keys()];
  }

  column(name: string): (number | null)[] {
    return this.#values.get(name) ?? this.times.map(() => null);
  }
}
