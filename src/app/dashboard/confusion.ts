/**
 * The confusion matrix of the current global model on the held-out rows: an HTML table (rows: true
 * class, columns: predicted class) whose cells are shaded by their share of the row, so the diagonal is
 * each class's recall; the per-class recall and the row's support stand beside it.
 */
import { h } from './dom.ts';
import { pct } from './format.ts';
import type { EvaluationJson } from './status.ts';

/** A cell's shade: its share of the true class's rows (0 for an empty row). */
export function rowShare(count: number, rowTotal: number): number {
  return rowTotal > 0 ? count / rowTotal : 0;
}

/** Background and text colour of a cell: green on the diagonal, red off it, stronger with the share. */
export function cellStyle(share: number, diagonal: boolean): { background: string; color: string | null } {
  const a = Math.max(0, Math.min(1, share));
  const rgb = diagonal ? '0, 114, 60' : '190, 30, 30';
  // Alpha never below 0.06 for a nonzero count, so a single error is still visible.
  const alpha = a === 0 ? 0 : 0.06 + 0.94 * a;
  return { background: `rgba(${rgb}, ${alpha.toFixed(3)})`, color: alpha > 0.55 ? '#fff' : null };
}

export function renderConfusion(container: HTMLElement, e: EvaluationJson | null, round: number): void {
  if (!e || e.classes.length === 0 || e.confusion.length === 0) {
    container.dataset.classes = '0';
    container.replaceChildren(h('p', {}, 'No global model has been evaluated yet.'));
    return;
  }
  container.dataset.classes = String(e.classes.length);
  const head = h(
    'tr',
    {},
    h('td', { class: 'corner' }, h('span', { class: 'visually-hidden' }, 'true class ↓, predicted →')),
    ...e.classes.map((c) => h('th', { scope: 'col', class: 'predicted' }, h('span', {}, c))),
    h('th', { scope: 'col' }, 'recall'),
    h('th', { scope: 'col' }, 'rows'),
  );
  const rows = e.classes.map((name, i) => {
    const row = e.confusion[i] ?? [];
    const total = row.reduce((a, b) => a + b, 0);
    return h(
      'tr',
      {},
      h('th', { scope: 'row' }, name),
      ...e.classes.map((pred, j) => {
        const n = row[j] ?? 0;
        const style = cellStyle(rowShare(n, total), i === j);
        const cell = h(
          'td',
          {
            class: i === j ? 'diag' : null,
            title: `true ${name}, predicted ${pred}: ${n} of ${total} rows (${pct(rowShare(n, total))})`,
          },
          String(n),
        );
        cell.style.background = style.background;
        if (style.color) cell.style.color = style.color;
        return cell;
      }),
      h('td', { class: 'recall' }, pct(e.perClassRecall[name] ?? (total > 0 ? (row[i] ?? 0) / total : null))),
      h('td', {}, String(total)),
    );
  });
  container.replaceChildren(
    h(
      'table',
      { class: 'confusion' },
      h(
        'caption',
        {},
        `Global model after round ${round}: rows are the true class, columns the predicted class; cells are shaded by their share of the row, so the diagonal is the recall.`,
      ),
      h('thead', {}, head),
      h('tbody', {}, ...rows),
    ),
  );
}
