/**
 * The comparison chart of `/simulate`: one uPlot line per configuration and the majority-class baseline
 * dashed in grey. The canvas is hidden from assistive technology; the page's round-by-round table is its
 * text alternative. The figure's `data-rounds` is the number of rounds on the x axis, `data-series` the
 * number of configurations drawn.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { PALETTE, roundAxes } from '../dashboard/charts.ts';
import type { ComparisonChart } from './results.ts';

/** Okabe–Ito (as the dashboard): distinguishable with the common colour-vision deficiencies. */
const BASELINE = '#777777';
const HEIGHT = 280;

export class ComparisonPlot {
  private plot: uPlot | null = null;
  private signature = '';
  private readonly resize: ResizeObserver;

  constructor(
    private readonly figure: HTMLElement,
    private readonly canvas: HTMLElement,
  ) {
    this.resize = new ResizeObserver(() => this.plot?.setSize({ width: this.width(), height: HEIGHT }));
    this.resize.observe(canvas);
  }

  private width(): number {
    return Math.max(260, this.canvas.clientWidth || this.figure.clientWidth || 560);
  }

  update(c: ComparisonChart): void {
    const lines = c.series.filter((s) => !s.dashed);
    this.figure.dataset.rounds = String(c.rounds.length);
    this.figure.dataset.series = String(lines.length);
    this.figure.dataset.metric = c.metric;
    const data = [c.rounds, ...c.series.map((s) => s.values)] as uPlot.AlignedData;
    const signature = `${c.metric}|${c.series.map((s) => s.label).join('\n')}|${c.rounds.length > 0}`;
    if (this.plot && signature === this.signature) {
      this.plot.setData(data);
      return;
    }
    this.plot?.destroy();
    this.canvas.replaceChildren();
    this.signature = signature;
    this.plot = c.rounds.length === 0 ? null : new uPlot(options(c, this.width()), data, this.canvas);
  }

  clear(): void {
    this.plot?.destroy();
    this.plot = null;
    this.signature = '';
    this.canvas.replaceChildren();
    this.figure.dataset.rounds = '0';
    this.figure.dataset.series = '0';
  }
}

function options(c: ComparisonChart, width: number): uPlot.Options {
  let colour = 0;
  const fmt = (v: number | null) => (v === null || !Number.isFinite(v) ? '–' : v.toFixed(3));
  return {
    width,
    height: HEIGHT,
    scales: { x: { time: false }, y: { range: [0, 1] } },
    legend: { show: true, live: false },
    cursor: { drag: { x: false, y: false } },
    series: [
      { label: 'round' },
      ...c.series.map(
        (s): uPlot.Series => ({
          label: s.label,
          stroke: s.dashed ? BASELINE : PALETTE[colour++ % PALETTE.length]!,
          width: s.dashed ? 1.5 : 2.5,
          ...(s.dashed && { dash: [6, 4] }),
          spanGaps: true,
          points: { show: !s.dashed, size: 6 },
          value: (_u, v) => fmt(v),
        }),
      ),
    ],
    axes: roundAxes(c.metric === 'macroF1' ? 'macro-F1 (0–1)' : 'accuracy (0–1)', 60, (v) => v.toFixed(1)),
  };
}
