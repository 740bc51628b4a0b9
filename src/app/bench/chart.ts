/**
 * Samples/s per measured configuration as a bar chart (uPlot, as on the dashboard). The canvas is hidden
 * from assistive technology: the results table beside it holds the same numbers, and the figure's caption
 * says which configuration was fastest.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { BENCH_CONFIGS, type BenchResult, type MeasuredBackend } from '../../core/benchmark-result.ts';

const HEIGHT = 240;
const BAR = '#0072B2'; // Okabe–Ito blue, as the dashboard's first series

export class BenchChart {
  private plot: uPlot | null = null;
  private readonly resize: ResizeObserver;

  constructor(private readonly canvas: HTMLElement) {
    this.resize = new ResizeObserver(() => this.plot?.setSize({ width: this.width(), height: HEIGHT }));
    this.resize.observe(canvas);
  }

  private width(): number {
    return Math.max(280, this.canvas.clientWidth || 560);
  }

  /** Draws the measured configurations of `r` (nothing when none was measured). */
  show(r: BenchResult | null): void {
    this.plot?.destroy();
    this.plot = null;
    this.canvas.replaceChildren();
    const measured = (r?.training ?? []).filter((t): t is MeasuredBackend => t.status === 'measured');
    if (measured.length === 0) return;
    const labels = measured.map((t) => BENCH_CONFIGS[t.id].label);
    const xs = measured.map((_, i) => i);
    const ys = measured.map((t) => t.samplesPerSec);
    const ink = getComputedStyle(document.body).color || '#222';
    const grid = 'rgba(128, 128, 128, 0.25)';
    const bars = uPlot.paths.bars!({ size: [0.6, 90] });
    const opts: uPlot.Options = {
      width: this.width(),
      height: HEIGHT,
      legend: { show: false },
      cursor: { show: false },
      scales: {
        x: { time: false, range: [-0.5, measured.length - 0.5] },
        y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.12 : 1] },
      },
      series: [
        {},
        { label: 'samples/s', stroke: BAR, fill: `${BAR}cc`, width: 1, paths: bars, points: { show: false } },
      ],
      axes: [
        {
          stroke: ink,
          grid: { show: false },
          ticks: { show: false },
          splits: () => xs,
          values: (_u, splits) => splits.map((v) => labels[v] ?? ''),
          size: 40,
        },
        {
          label: 'training samples/s',
          stroke: ink,
          grid: { stroke: grid },
          ticks: { stroke: grid },
          size: 70,
          values: (_u, splits) => splits.map((v) => Math.round(v).toLocaleString('en')),
        },
      ],
    };
    this.plot = new uPlot(opts, [xs, ys], this.canvas);
  }
}
