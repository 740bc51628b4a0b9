/**
 * The charts, drawn with uPlot (canvas, about 50 KB): one figure per `ChartData`, each with a visible
 * one-line summary of the latest values and a visually hidden data table (the text alternative; the
 * canvas itself is hidden from assistive technology). A figure's `data-rounds` says how many rounds it
 * shows. Plots are rebuilt only when their series change, otherwise their data is replaced.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { h, setText } from './dom.ts';
import { type ChartData, formatValue, summary } from './series.ts';

/** Okabe–Ito: distinguishable with the common colour-vision deficiencies, on light and dark. */
/** Okabe–Ito colours (distinguishable with colour-vision deficiencies), shared by every chart of the app. */
export const PALETTE = [
  '#0072B2',
  '#D55E00',
  '#009E73',
  '#CC79A7',
  '#E69F00',
  '#56B4E9',
  '#999933',
  '#882255',
];
const HEIGHT = 220;

/** Where a chart goes instead of the main container, and how tall it is (the dashboard's lead chart). */
export interface ChartSlot {
  container: HTMLElement;
  height?: number;
}

interface Mounted {
  figure: HTMLElement;
  canvas: HTMLElement;
  summary: HTMLElement;
  table: HTMLTableElement;
  plot: uPlot | null;
  signature: string;
  height: number;
}

export class Charts {
  private readonly mounted = new Map<string, Mounted>();
  private readonly resize: ResizeObserver;

  /** `slots`: charts (by id) drawn elsewhere than `container`, e.g. the accuracy chart beside the QR code. */
  constructor(
    private readonly container: HTMLElement,
    private readonly slots: Partial<Record<string, ChartSlot>> = {},
  ) {
    this.resize = new ResizeObserver(() => {
      for (const m of this.mounted.values()) m.plot?.setSize({ width: this.width(m), height: m.height });
    });
  }

  private width(m: Mounted): number {
    return Math.max(240, m.canvas.clientWidth || m.figure.clientWidth || 480);
  }

  update(charts: ChartData[]): void {
    for (const c of charts) this.updateOne(c);
  }

  private updateOne(c: ChartData): void {
    let m = this.mounted.get(c.id);
    if (!m) {
      const summary = h('p', { class: 'chart-summary' });
      const canvas = h('div', { class: 'chart-canvas', 'aria-hidden': 'true' });
      // The hidden table sits in a hidden box: a table is never narrower than its content, so hidden on
      // its own it would still widen the page (a chart of many clients at 1280 px).
      const table = h('table', { class: 'chart-data' });
      const figure = h(
        'figure',
        { class: 'chart', id: `chart-${c.id}`, 'aria-labelledby': `chart-${c.id}-title` },
        h('figcaption', {}, h('h3', { id: `chart-${c.id}-title` }, c.title), summary),
        canvas,
        h('div', { class: 'visually-hidden' }, table),
      );
      const slot = this.slots[c.id];
      (slot?.container ?? this.container).append(figure);
      this.resize.observe(canvas);
      m = { figure, canvas, summary, table, plot: null, signature: '', height: slot?.height ?? HEIGHT };
      this.mounted.set(c.id, m);
    }
    m.figure.dataset.rounds = String(c.rounds.length);
    m.figure.dataset.series = String(c.series.length);
    setText(m.summary, summary(c));
    renderTable(m.table, c);
    const data = [c.rounds, ...c.series.map((s) => s.values)] as uPlot.AlignedData;
    const signature = `${c.series.map((s) => s.label).join('\n')}|${c.rounds.length > 0}`;
    if (m.plot && signature === m.signature) {
      m.plot.setData(data);
      return;
    }
    m.plot?.destroy();
    m.canvas.replaceChildren();
    m.signature = signature;
    // Before the first round the summary says there is nothing to draw yet.
    m.plot = c.rounds.length === 0 ? null : new uPlot(options(c, this.width(m), m.height), data, m.canvas);
  }
}

function options(c: ChartData, width: number, height: number): uPlot.Options {
  // Lines take the palette in order; the k-th dashed baseline takes the k-th line's colour (its metric's).
  let colour = 0;
  let baseline = 0;
  const fmt = (v: number) => formatValue(c.series[0]?.kind ?? 'number', v);
  return {
    width,
    height,
    scales: { x: { time: false }, y: c.range ? { range: c.range } : { auto: true } },
    legend: { show: true, live: false },
    cursor: { drag: { x: false, y: false } },
    series: [
      { label: 'round' },
      ...c.series.map(
        (s): uPlot.Series => ({
          label: s.label,
          stroke: PALETTE[(s.dashed ? baseline++ : colour++) % PALETTE.length]!,
          width: s.dashed ? 1.5 : 2.5,
          ...(s.dashed && { dash: [6, 4] }),
          spanGaps: true,
          points: { show: true, size: 6 },
          value: (_u, v) => formatValue(s.kind, v),
        }),
      ),
    ],
    axes: roundAxes(c.unit, 70, fmt),
  };
}

function renderTable(table: HTMLTableElement, c: ChartData): void {
  const head = h(
    'tr',
    {},
    h('th', { scope: 'col' }, 'round'),
    ...c.series.map((s) => h('th', { scope: 'col' }, s.label)),
  );
  const rows = c.rounds.map((r, i) =>
    h(
      'tr',
      {},
      h('th', { scope: 'row' }, String(r)),
      ...c.series.map((s) => h('td', {}, formatValue(s.kind, s.values[i]))),
    ),
  );
  table.replaceChildren(h('caption', {}, `${c.title} (data)`), h('thead', {}, head), h('tbody', {}, ...rows));
}

/**
 * The axes of a chart over rounds, in the page's text colour: whole rounds on x, and `label` on y with
 * `size` pixels for its ticks, each written by `tick`. Shared by the dashboard and /simulate.
 */
export function roundAxes(label: string, size: number, tick: (v: number) => string): uPlot.Axis[] {
  const ink = getComputedStyle(document.body).color || '#222';
  const grid = 'rgba(128, 128, 128, 0.25)';
  return [
    {
      label: 'round',
      stroke: ink,
      grid: { stroke: grid },
      ticks: { stroke: grid },
      incrs: [1, 2, 5, 10, 20, 50, 100],
      values: (_u, splits) => splits.map((v) => (Number.isInteger(v) ? String(v) : '')),
    },
    {
      label,
      stroke: ink,
      grid: { stroke: grid },
      ticks: { stroke: grid },
      size,
      values: (_u, splits) => splits.map(tick),
    },
  ];
}
