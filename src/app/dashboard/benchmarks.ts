/**
 * The dashboard's "Browser benchmarks" section: the crowd-sourced results of the `/bench` page
 * (`GET /api/benchmarks`), newest first, one row per browser with each configuration's training samples/s
 * and the crypto speed. Refreshed every 30 s; it keeps its last table while the server is unreachable.
 */
import {
  BENCH_CONFIG_IDS,
  BENCH_CONFIGS,
  type BenchConfigId,
  type BenchResult,
} from '../../core/benchmark-result.ts';
import { browserName, rate } from '../bench/format.ts';
import { h, renderOnChange, setText } from './dom.ts';

/** Rows shown (the server keeps up to 500). */
const SHOWN = 50;
const REFRESH_MS = 30_000;

interface Entry {
  id: string;
  receivedAt: string;
  result: BenchResult;
}

function trainingCell(r: BenchResult, id: BenchConfigId): HTMLTableCellElement {
  const t = r.training.find((x) => x.id === id);
  if (!t) return h('td', {}, '–');
  if (t.status === 'measured') return h('td', { class: 'num' }, rate(t.samplesPerSec));
  return h('td', { title: t.reason }, t.status === 'unavailable' ? 'n/a' : t.status);
}

export function renderBenchmarks(slot: HTMLElement, entries: Entry[], total: number): void {
  if (entries.length === 0) {
    slot.replaceChildren(
      h(
        'p',
        {},
        'No browser has shared a result yet. Open ',
        h('a', { href: '/bench' }, '/bench'),
        ', run it and share it.',
      ),
    );
    return;
  }
  const newest = entries.slice(-SHOWN).reverse();
  const head = h(
    'tr',
    {},
    h('th', { scope: 'col' }, 'Received'),
    h('th', { scope: 'col' }, 'Browser'),
    h('th', { scope: 'col' }, 'Cores'),
    ...BENCH_CONFIG_IDS.map((id) => h('th', { scope: 'col' }, `${BENCH_CONFIGS[id].label} (samples/s)`)),
    h('th', { scope: 'col' }, 'X-Wing encaps/s'),
    h('th', { scope: 'col' }, 'ML-DSA-65 signs/s'),
    h('th', { scope: 'col' }, 'WebGPU adapter'),
  );
  const rows = newest.map((e) => {
    const r = e.result;
    return h(
      'tr',
      { 'data-id': e.id },
      h('td', {}, new Date(e.receivedAt).toLocaleString()),
      h('th', { scope: 'row', title: r.browser.userAgent }, browserName(r.browser.userAgent)),
      h('td', { class: 'num' }, String(r.browser.hardwareConcurrency)),
      ...BENCH_CONFIG_IDS.map((id) => trainingCell(r, id)),
      h('td', { class: 'num' }, r.crypto ? rate(r.crypto.xwingEncapsulatePerSec) : '–'),
      h('td', { class: 'num' }, r.crypto ? rate(r.crypto.mldsa65SignPerSec) : '–'),
      h('td', {}, r.adapter ?? '–'),
    );
  });
  const caption =
    total > newest.length
      ? `The newest ${newest.length} of ${total} shared results (batch sizes as each browser ran them)`
      : `${total} shared result${total === 1 ? '' : 's'}, newest first`;
  slot.replaceChildren(
    h(
      'table',
      { class: 'benchmarks' },
      h('caption', {}, caption),
      h('thead', {}, head),
      h('tbody', {}, ...rows),
    ),
  );
}

/** Adds the section to `main` (before the flow explanations) and keeps it up to date. */
export function mountBenchmarks(main: HTMLElement): void {
  const slot = h('div', {
    id: 'benchmarks-table',
    class: 'scroll',
    tabindex: 0,
    role: 'region',
    'aria-label': 'Browser benchmarks (scrollable)',
  });
  const note = h('p', { class: 'help', role: 'status' });
  const section = h(
    'section',
    { id: 'benchmarks', 'aria-labelledby': 'benchmarks-title' },
    h('h2', { id: 'benchmarks-title' }, 'Browser benchmarks'),
    h(
      'p',
      {},
      'Training speed of the default model and post-quantum crypto speed, as measured and shared by the ',
      h('a', { href: '/bench' }, 'benchmark page'),
      ' in visitors’ browsers.',
    ),
    slot,
    note,
  );
  slot.append(h('p', {}, 'Loading…'));
  const before = main.querySelector('#explain');
  main.insertBefore(section, before);

  const refresh = async () => {
    try {
      const r = await fetch('/api/benchmarks', { cache: 'no-store' });
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      const list = (await r.json()) as { entries: Entry[]; total: number };
      renderOnChange(slot, JSON.stringify(list.entries.map((e) => e.id)), () =>
        renderBenchmarks(slot, list.entries, list.total),
      );
      setText(note, '');
    } catch (e) {
      setText(note, `Could not load the shared results (${(e as Error).message}); showing the last ones.`);
    }
  };
  void refresh();
  setInterval(() => void refresh(), REFRESH_MS);
}
